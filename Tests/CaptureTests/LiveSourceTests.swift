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
}
