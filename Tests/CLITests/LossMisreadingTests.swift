import Capture
import Core
import Foundation
import Testing
import TestSupport

/// Simulated check-ins with packets lost where the loss used to be misread: the SYN-ACK with the first answer
/// segment (the loss not reported, the size rules applied to what was left), a TLS 1.3 client's FIN after its
/// close_notify (the alert taken for one more exchange), and a push answer's last segment with its ACK (the gap
/// stamped at the next burst, which then merged with it).
@Suite struct LossMisreadingTests {
    typealias Packet = ProxyPacketLossTests.Packet

    struct Verdict {
        var checkIns = 0
        var codes: [String] = []
        var messages: [String] = []
        /// The evidence of every step of every check-in.
        var steps: [String] = []
    }

    /// Analyses `packets` but those at `dropping`, with `model` (a file) when given.
    static func judge(_ packets: [Packet], dropping: Set<Int>, model: String?, in dir: TemporaryFolder) throws
        -> Verdict {
        let path = dir.path + "/lost.pcap"
        let writer = try PcapFileWriter(path: path, linkType: .ethernet)
        for (i, p) in packets.enumerated() where !dropping.contains(i) {
            try writer.append(timestamp: p.time, bytes: p.bytes)
        }
        try writer.close()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = CLIRun(["analyze", "-q", "-F", "json"] + (model.map { ["--model", $0] } ?? []) + [path])
        try #require(run.status == 0 || run.status == 1, "analyze: \(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        var v = Verdict()
        let sessions = report["sessions"] as? [[String: Any]] ?? []
        v.checkIns = sessions.count { $0["failed"] as? Bool == false }
        for s in sessions {
            for step in s["steps"] as? [[String: Any]] ?? [] { v.steps.append(step["evidence"] as? String ?? "") }
        }
        for f in report["findings"] as? [[String: Any]] ?? [] {
            v.codes.append(f["code"] as? String ?? "")
            v.messages.append(f["message"] as? String ?? "")
        }
        return v
    }

    /// The reference model with `change` made to it, written into `dir`.
    static func model(in dir: TemporaryFolder, _ change: (inout [String: Any]) -> Void) throws -> String {
        let run = CLIRun(["model"])
        try #require(run.status == 0)
        var m = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        change(&m)
        let path = dir.path + "/model.json"
        try JSONSerialization.data(withJSONObject: m).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The TCP flags of `p` (an Ethernet/IPv4/TCP packet).
    static func flags(_ p: Packet) -> UInt8 {
        let tcp = 14 + Int(p.bytes[14] & 0x0f) * 4
        return p.bytes[tcp + 13]
    }

    @Test func theSynAckAndTheFirstAnswerSegmentLostAreAGapNotAShortIdleCheckIn() throws {
        let dir = try TemporaryFolder()
        let path = try dir.simulatedCapture("http.pcap", [
            "--clients", "2", "--duration", "20m", "--seed", "9", "--push-share", "0", "--http-share", "1",
        ])
        let all = try ProxyPacketLossTests.packets(path)
        // The second connection's SYN-ACK, and the first segment of its answer.
        let synAcks = all.indices.filter { Self.flags(all[$0]) & 0x12 == 0x12 }
        try #require(synAcks.count >= 2)
        let synAck = synAcks[1]
        let server = all[synAck].source
        let first = try #require(all.indices.first { $0 > synAck && all[$0].source == server && all[$0].payload > 0 })
        let clean = try Self.judge(all, dropping: [], model: nil, in: dir)
        try #require(!clean.codes.contains("capture-gap"))
        let v = try Self.judge(all, dropping: [synAck, first], model: nil, in: dir)
        #expect(v.codes.contains("capture-gap"))
        #expect(v.messages.contains { $0.contains("\(all[first].payload) bytes not captured") }, "\(v.messages)")
        #expect(!v.codes.contains("idle-size-out-of-range"))
        #expect(v.checkIns == clean.checkIns)
    }

    @Test func aTLS13ClientsFinLostAfterItsCloseNotifyLeavesTheAlertNoStep() throws {
        let dir = try TemporaryFolder()
        let model = try Self.model(in: dir) { m in
            var tls = m["tls"] as? [String: Any] ?? [:]
            tls["minimumVersion"] = "1.3"
            m["tls"] = tls
        }
        let path = try dir.simulatedCapture("tls13.pcap", [
            "--model", model, "--clients", "2", "--duration", "20m", "--seed", "9", "--push-share", "0",
            "--http-share", "0",
        ])
        let all = try ProxyPacketLossTests.packets(path)
        // The first client FIN right after a client segment of at most 64 bytes (the encrypted close_notify).
        func before(_ i: Int) -> Int? {
            all[..<i].lastIndex { $0.source == all[i].source && $0.sourcePort == all[i].sourcePort }
        }
        let fin = try #require(all.indices.first { i in
            Self.flags(all[i]) & 0x01 != 0 && all[i].payload == 0 && all[i].destinationPort == 443
                && before(i).map { all[$0].payload > 0 && all[$0].payload <= 64 } == true
        })
        let record = try #require(before(fin))
        let alert = "\(all[record].payload) bytes up in 1 record, 0 down in 0 records"
        let clean = try Self.judge(all, dropping: [], model: model, in: dir)
        try #require(!clean.steps.contains { $0.contains(alert) })
        let v = try Self.judge(all, dropping: [fin], model: model, in: dir)
        #expect(!v.steps.contains { $0.contains(alert) }, "\(v.steps)")
        #expect(v.checkIns == clean.checkIns)
    }

    @Test func aPushAnswersLastSegmentLostWithItsAcknowledgementStaysWithItsBurst() throws {
        let dir = try TemporaryFolder()
        let model = try Self.model(in: dir) { m in
            var push = m["push"] as? [String: Any] ?? [:]
            push["heartbeatSeconds"] = 30
            m["push"] = push
        }
        let path = try dir.simulatedCapture("push.pcap", [
            "--model", model, "--clients", "2", "--duration", "10m", "--seed", "9", "--push-share", "1",
            "--http-share", "0",
        ])
        let all = try ProxyPacketLossTests.packets(path)
        let client = try #require(all.first?.source)
        let port = try #require(all.first { $0.syn && $0.source == client }?.sourcePort)
        // The client's third request on its push connection; the last answer segment before it and the client's
        // ACK of that segment.
        let requests = all.indices.filter {
            all[$0].source == client && all[$0].sourcePort == port && all[$0].payload > 0
        }
        let later = try #require(requests.dropFirst(4).first)
        let last = try #require(all[..<later].lastIndex { $0.destinationPort == port && $0.payload > 0 })
        let ack = try #require(all[..<later].lastIndex { $0.sourcePort == port && $0.payload == 0 })
        try #require(ack > last && all[later].time.seconds(since: all[last].time) > 20)
        let clean = try Self.judge(all, dropping: [], model: model, in: dir)
        try #require(!clean.codes.contains("missed-heartbeat"))
        let v = try Self.judge(all, dropping: [last, ack], model: model, in: dir)
        #expect(v.checkIns == clean.checkIns)
        #expect(!v.codes.contains("missed-heartbeat"), "\(v.messages)")
        #expect(v.codes.contains("capture-gap"))
    }
}
