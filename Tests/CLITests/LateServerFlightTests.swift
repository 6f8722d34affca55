import Capture
import Core
import Foundation
import Testing
import TestSupport

/// A full HTTPS check-in whose server data the sensor missed and saw only retransmitted after the server's
/// FIN (the first full check-in of `https-full.pcap`, TLS 1.2 between real stacks, or of a simulated TLS 1.3
/// capture, its server segments moved there): in stream order every answer comes after every request, and
/// turn-taking in time alone ran the exchanges together into one (in `https-full.pcap`, steps 3, 4 and 6
/// missing, `step-missing`, and the uploads' bytes over the cap in one step). The client's acknowledgement
/// numbers say which answer came before which request: the check-in reads as sent.
@Suite struct LateServerFlightTests {
    typealias Packet = MidstreamCutTests.Packet

    /// One check-in of `analyze -F json`: steps (number, bytes up, bytes down) and finding codes.
    struct CheckIn: Equatable {
        var steps: [[Int64]]
        var findings: [String]
    }

    /// One TLS exchange of `flows --tls -F json`: bytes up, bytes down, records up, records down.
    struct Sizes: Equatable {
        var up: Int64
        var down: Int64
        var recordsUp: Int64
        var recordsDown: Int64
    }

    /// Which server segments of the check-in the sensor missed.
    enum Missed: CaseIterable {
        /// Those carrying application data (the answers), from the client's first request on.
        case answers
        /// Every one carrying bytes, from the ServerHello on (the handshake's flight too).
        case everything
    }

    /// The capture the check-in is taken from.
    enum Source: CaseIterable {
        /// `https-full.pcap`: TLS 1.2.
        case tls12
        /// `sepbeat simulate` under a model whose minimum TLS version is 1.3: the server's flight travels in
        /// application-data records, and a late one must stay handshake.
        case tls13

        var packets: [Packet] {
            switch self {
            case .tls12: LateServerFlightTests.https
            case .tls13: LateServerFlightTests.simulated13
            }
        }
    }

    static let https: [Packet] = (try? MidstreamCutTests.packets(heartbeatCapture("https-full"))) ?? []

    /// One pull client's full check-ins over TLS 1.3 for 20 minutes.
    static let simulated13: [Packet] = {
        guard let dir = try? TemporaryFolder() else { return [] }
        let model = dir.write("m13.json", #"{"schema":"sepbeat-model/1","tls":{"minimumVersion":"1.3"}}"#)
        let capture = try? dir.simulatedCapture("tls13.pcap", [
            "--model", model, "--clients", "1", "--duration", "20m", "--http-share", "0", "--push-share", "0",
            "--full-share", "1", "--seed", "3",
        ])
        return capture.flatMap { try? MidstreamCutTests.packets($0) } ?? []
    }()

    /// The client port of the capture's first full check-in (the first connection with over 100 packets).
    static func fullCheckInPort(_ packets: [Packet]) throws -> UInt16 {
        var counts: [UInt16: Int] = [:]
        var order: [UInt16] = []
        for p in packets {
            let t = try tcp(p)
            let port = t.destinationPort == 443 ? t.sourcePort : t.destinationPort
            if counts[port] == nil { order.append(port) }
            counts[port, default: 0] += 1
        }
        return try #require(order.first { counts[$0, default: 0] > 100 })
    }

    /// The capture with the full check-in's server segments that carry bytes (`missed`) moved after the
    /// server's FIN, 200 ms later, 10 µs apart, in their order: the sensor saw them only retransmitted then.
    /// The client's acknowledgements stay as sent (it had them).
    static func lateCapture(_ clean: [Packet], _ missed: Missed) throws
        -> (packets: [Packet], moved: Int, fin: Timestamp) {
        let port = try fullCheckInPort(clean)
        var kept: [Packet] = []
        var late: [Packet] = []
        var requested = false
        var fin: Timestamp?
        for p in clean {
            let t = try tcp(p)
            guard t.sourcePort == port || t.destinationPort == port else {
                kept.append(p)
                continue
            }
            let fromServer = t.destinationPort == port
            if !fromServer, t.payload.first == 23 { requested = true }
            if fromServer, !t.payload.isEmpty, missed == .everything || requested {
                late.append(p)
                continue
            }
            if fromServer, t.flags & 0x01 != 0 { fin = p.time }
            kept.append(p)
        }
        let finTime = try #require(fin)
        for i in late.indices { late[i].time = finTime.adding(nanoseconds: 200_000_000 + Int64(i) * 10_000) }
        let all = (kept + late).enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }
        return (all.map(\.element), late.count, finTime)
    }

    @Test(arguments: Source.allCases, Missed.allCases)
    func aCheckInWhoseServerDataCameAfterItsFinReadsAsSent(_ source: Source, _ missed: Missed) throws {
        let clean = source.packets
        let (packets, moved, _) = try Self.lateCapture(clean, missed)
        #expect(moved > 30)
        let sent = try Self.checkIns(clean)
        let got = try Self.checkIns(packets)
        try #require(sent.count >= 4 && got.count == sent.count)
        // The full check-in: index, URLs, log upload and sensor uploads, as sent; no finding.
        let full = source == .tls12 ? 1 : 0
        #expect(sent[full].steps.map { $0[0] } == [1, 2, 3, 4, 5, 6, 7])
        #expect(got[full] == sent[full])
        #expect(got[full].findings.isEmpty)
        #expect(got == sent)
    }

    @Test(arguments: Source.allCases, Missed.allCases)
    func theExchangesSplitAsSentAndTheAnswersKeepTheirCaptureTimes(_ source: Source, _ missed: Missed) throws {
        let clean = source.packets
        let (packets, _, fin) = try Self.lateCapture(clean, missed)
        let port = try Self.fullCheckInPort(clean)
        let sent = try Self.exchanges(clean, port: port)
        let got = try Self.exchanges(packets, port: port)
        #expect(sent.count >= 5)
        #expect(got.map(\.sizes) == sent.map(\.sizes))
        // Requests at the times they were sent; answers at the time the capture showed them, after the FIN.
        #expect(got.map(\.start) == sent.map(\.start))
        let finOfDay = fin.nanoseconds % 86_400_000_000_000
        #expect(got.allSatisfy { $0.responseStart.map { $0 > finOfDay } ?? true })
    }

    // MARK: - Helpers

    struct TCP {
        var sourcePort: UInt16
        var destinationPort: UInt16
        var flags: UInt8
        var payload: ArraySlice<UInt8>
    }

    /// The TCP header fields the test needs of an Ethernet/IPv4 packet.
    static func tcp(_ p: Packet) throws -> TCP {
        let ip = try GapPlacementTests.ipv4Header(p)
        let s = ip.startIndex
        let ihl = Int(ip[s] & 0x0f) * 4
        let total = Int(ip[s + 2]) << 8 | Int(ip[s + 3])
        try #require(ip.count >= ihl + 20 && total <= ip.count)
        let t = s + ihl
        let header = Int(ip[t + 12] >> 4) * 4
        return TCP(sourcePort: UInt16(ip[t]) << 8 | UInt16(ip[t + 1]),
                   destinationPort: UInt16(ip[t + 2]) << 8 | UInt16(ip[t + 3]), flags: ip[t + 13],
                   payload: ip[(t + header)..<(s + total)])
    }

    static func analyzed(_ packets: [Packet], _ arguments: [String]) throws -> [String: Any] {
        let dir = try TemporaryFolder()
        let path = dir.path + "/late.pcap"
        try MidstreamCutTests.write(packets, to: path)
        let run = CLIRun(arguments + ["-q", "-F", "json", path])
        try #require(run.status == 0 || run.status == 1, "\(arguments): \(run.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    }

    static func checkIns(_ packets: [Packet]) throws -> [CheckIn] {
        let report = try analyzed(packets, ["analyze"])
        let sessions = try #require(report["sessions"] as? [[String: Any]])
        return sessions.map { s in
            CheckIn(
                steps: (s["steps"] as? [[String: Any]] ?? []).map { step in
                    [step["step"], step["bytesUp"], step["bytesDown"]].map { ($0 as? NSNumber)?.int64Value ?? -1 }
                },
                findings: (s["findings"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String })
        }
    }

    /// The TLS exchanges of the connection from client port `port`: sizes, start and answer start (nanoseconds
    /// of the day).
    static func exchanges(_ packets: [Packet], port: UInt16) throws
        -> [(sizes: Sizes, start: Int64?, responseStart: Int64?)] {
        let report = try analyzed(packets, ["flows", "--tls"])
        let connections = try #require(report["connections"] as? [[String: Any]])
        let c = try #require(connections.first { ($0["clientPort"] as? NSNumber)?.intValue == Int(port) })
        return (c["exchanges"] as? [[String: Any]] ?? []).map { e in
            func n(_ key: String) -> Int64 { (e[key] as? NSNumber)?.int64Value ?? -1 }
            func t(_ key: String) -> Int64? { (e[key] as? String).flatMap(MidstreamCutTests.nanosecondsOfDay) }
            return (Sizes(up: n("bytesUp"), down: n("bytesDown"), recordsUp: n("recordsUp"),
                          recordsDown: n("recordsDown")), t("start"), t("responseStart"))
        }
    }
}
