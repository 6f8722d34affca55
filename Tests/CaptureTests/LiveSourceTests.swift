import Capture
import Core
import Foundation
import Testing
import TestSupport

/// Whether this process may capture on the loopback interface (root, or CAP_NET_RAW): the tests that
/// capture real packets run only then.
let canCaptureLoopback: Bool = (try? LiveSource(interface: "lo")) != nil

@Suite struct LiveSourceTests {
    @Test func anInterfaceThatDoesNotExistIsNamedWithExitStatus3() {
        do {
            _ = try LiveSource(interface: "sepbeat-none0")
            Issue.record("opened an interface that does not exist")
        } catch {
            #expect(error.exitStatus == 3)
            #expect(error.message == "sepbeat-none0: no such network interface (`ip link` lists them)")
        }
    }

    @Test(.enabled(if: canCaptureLoopback)) func aBadFilterIsAUsageError() throws {
        let source = try LiveSource(interface: "lo")
        do {
            try source.setFilter("tcp port ((")
            Issue.record("a filter that does not compile was taken")
        } catch {
            #expect(error.exitStatus == 2)
            #expect(error.isFilterError)
        }
    }

    /// An idle interface still ends on time: a blocking read on Linux would wait for a packet forever.
    @Test(.enabled(if: canCaptureLoopback)) func anIdleCaptureEndsAtItsDuration() throws {
        var settings = LiveCaptureSettings()
        settings.durationNanoseconds = 300_000_000
        settings.readTimeoutMilliseconds = 50
        let source = try LiveSource(interface: "lo", settings: settings)
        // Nothing on the loopback interface goes to this address.
        try source.setFilter("host 127.0.0.254 and tcp port 9")
        #expect(try source.next() == nil)
        #expect(try source.next() == nil)
        let stats = try #require(source.statistics.first)
        #expect(stats.packets == 0)
        #expect(stats.format == .live)
        #expect(stats.path == "lo")
        #expect(stats.droppedByKernel == 0)
        #expect(stats.droppedByInterface == 0)
        #expect(stats.warnings.isEmpty)
    }

    @Test(.enabled(if: canCaptureLoopback)) func aStopRequestEndsTheCapture() throws {
        var settings = LiveCaptureSettings()
        settings.readTimeoutMilliseconds = 50
        let stop = LiveStopRequest()
        settings.stop = stop
        let source = try LiveSource(interface: "lo", settings: settings)
        try source.setFilter("host 127.0.0.254 and tcp port 9")
        #expect(!stop.wouldEndCapture)
        let asker = Thread {
            usleep(200_000)
            stop.request()
        }
        asker.start()
        #expect(try source.next() == nil)
        #expect(stop.isRequested)
        #expect(!stop.wouldEndCapture)
    }

    @Test(.enabled(if: canCaptureLoopback)) func packetsComeWithTheirLengthsAndTimesAndTheCountStops() throws {
        let server = try #require(LoopbackCheckIns())
        var settings = LiveCaptureSettings()
        settings.packetLimit = 4
        settings.durationNanoseconds = 20_000_000_000
        let source = try LiveSource(interface: "lo", settings: settings)
        try source.setFilter(server.filter)
        let client = Thread { server.checkIn(count: 2) }
        let before = Date()
        client.start()
        var packets: [(time: Double, length: Int, linkType: LinkType)] = []
        while let p = try source.next() {
            packets.append((Double(p.timestamp.nanoseconds) / 1e9, p.capturedLength, p.linkType))
            #expect(p.bytes.count == p.capturedLength)
            #expect(p.capturedLength == p.originalLength)
        }
        // The first four packets of the first check-in: SYN, SYN-ACK, ACK, then the request (54- to
        // 74-byte frames on the loopback's Ethernet header, with TCP options).
        #expect(packets.count == 4)
        #expect(packets.allSatisfy { $0.linkType == LinkType(rawValue: 1) })
        #expect(packets.allSatisfy { $0.length >= 54 })
        // Stamped by the system clock, in order, and now.
        #expect(zip(packets, packets.dropFirst()).allSatisfy { $0.time <= $1.time })
        #expect(abs((packets.first?.time ?? 0) - before.timeIntervalSince1970) < 60)
        let stats = try #require(source.statistics.first)
        #expect(stats.packets == 4)
        #expect(stats.filteredOut == 0)
    }

    /// A stretch the interface is still down is in the summary taken meanwhile (what a report so far is made
    /// from), ended at that moment as the capture's end would end it: a report so far then says the capture
    /// is blind, not only that no check-in came.
    @Test(.enabled(if: canCaptureLoopback && geteuid() == 0)) func aStretchStillDownIsInTheSummarySoFar() throws {
        let veth = try #require(TestVeth(prefix: "sbsf"))
        var settings = LiveCaptureSettings()
        settings.durationNanoseconds = 1_000_000_000
        settings.readTimeoutMilliseconds = 50
        let source = try LiveSource(interface: veth.name, settings: settings)
        veth.setUp(false)
        var soFar: CaptureStatistics?
        source.onIdle = { [unowned source] in soFar = source.statistics.first }
        while try source.next() != nil {}
        source.onIdle = nil
        let seen = try #require(soFar)
        #expect(seen.interfaceDown.count == 1)
        #expect(seen.warnings.filter { $0.code == .interfaceDown }.count == 1)
        // The end notes the stretch once, ending later.
        let final = try #require(source.statistics.first)
        #expect(final.interfaceDown.count == 1)
        let seenEnd = try #require(seen.interfaceDown.first?.end)
        let finalEnd = try #require(final.interfaceDown.first?.end)
        #expect(finalEnd >= seenEnd)
        #expect(final.warnings.filter { $0.code == .interfaceDown }.count == 1)
    }

    /// Packets the kernel dropped for a full buffer are in the summary taken while capturing with the warning
    /// the capture's end gives them, so a report so far says what the final report would.
    @Test(.enabled(if: canCaptureLoopback)) func dropsSoFarComeWithTheirWarning() throws {
        var settings = LiveCaptureSettings()
        settings.bufferBytes = 64 << 10
        settings.durationNanoseconds = 20_000_000_000
        let source = try LiveSource(interface: "lo", settings: settings)
        let port: UInt16 = 47_911
        try source.setFilter("udp and dst host 127.0.0.4 and dst port \(port)")
        // Far more than the buffer holds, sent before any is read.
        try #require(Self.sendDatagrams(4_000, bytes: 1_000, to: "127.0.0.4", port: port))
        #expect(try source.next() != nil)
        let soFar = try #require(source.statistics.first)
        #expect((soFar.droppedByKernel ?? 0) > 0)
        #expect(soFar.warnings.filter { $0.code == .packetsDropped }.count == 1)
    }

    /// Sends `count` UDP datagrams of `bytes` bytes each to `address`:`port`; false when no socket could be made.
    private static func sendDatagrams(_ count: Int, bytes: Int, to address: String, port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = port.bigEndian
        inet_pton(AF_INET, address, &remote.sin_addr)
        let payload = [UInt8](repeating: 0x5a, count: bytes)
        for _ in 0..<count {
            _ = withUnsafePointer(to: &remote) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        return true
    }
}
