import Capture
import Core
import Foundation
import Testing
import TestSupport

/// One proxied check-in (HTTPS through `CONNECT`) with each of its packets lost in turn:
/// the lost `CONNECT` or 2xx must not turn the check-in into plain HTTP to the proxy (a false missed
/// heartbeat), and the bytes lost are counted as a capture gap on that check-in.
@Suite struct ProxyPacketLossTests {
    /// One TCP packet of the capture: where it sits and what it carries.
    struct Packet {
        var bytes: [UInt8]
        var time: Timestamp
        var source: String
        var sourcePort: UInt16
        var destinationPort: UInt16
        var syn: Bool
        var payload: Int
    }

    /// The TCP packets of an Ethernet/IPv4 capture, in file order.
    static func packets(_ path: String) throws -> [Packet] {
        var out: [Packet] = []
        for p in try MidstreamCutTests.packets(path) {
            let b = p.bytes
            try #require(b.count >= 54 && b[12] == 0x08 && b[13] == 0x00 && b[23] == 6, "not Ethernet/IPv4/TCP")
            let ip = 14, ihl = Int(b[ip] & 0x0f) * 4, tcp = ip + ihl
            let total = Int(b[ip + 2]) << 8 | Int(b[ip + 3])
            let offset = Int(b[tcp + 12] >> 4) * 4
            out.append(Packet(
                bytes: b, time: p.time, source: b[(ip + 12)..<(ip + 16)].map(String.init).joined(separator: "."),
                sourcePort: UInt16(b[tcp]) << 8 | UInt16(b[tcp + 1]),
                destinationPort: UInt16(b[tcp + 2]) << 8 | UInt16(b[tcp + 3]),
                syn: b[tcp + 13] & 0x12 == 0x02, payload: total - ihl - offset))
        }
        return out
    }

    struct Verdict {
        var checkIns: [String: Int] = [:]
        var codes: [String] = []
        /// Capture-gap messages of the client.
        var gaps: [String] = []
    }

    static func judge(
        _ packets: [Packet], dropping k: Int?, client: String, in dir: TemporaryFolder
    ) throws -> Verdict {
        let path = dir.path + "/drop\(k ?? -1).pcap"
        let writer = try PcapFileWriter(path: path, linkType: .ethernet)
        for (i, p) in packets.enumerated() where i != k { try writer.append(timestamp: p.time, bytes: p.bytes) }
        try writer.close()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = sepbeat("analyze", "-q", "-F", "json", path)
        try #require(run.status == 0 || run.status == 1, "analyze: \(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        var v = Verdict()
        for s in report["sessions"] as? [[String: Any]] ?? [] where s["failed"] as? Bool == false {
            v.checkIns[s["client"] as? String ?? "", default: 0] += 1
        }
        for f in report["findings"] as? [[String: Any]] ?? [] {
            let code = f["code"] as? String ?? ""
            v.codes.append(code)
            if code == "capture-gap", f["client"] as? String == client { v.gaps.append(f["message"] as? String ?? "") }
        }
        return v
    }

    @Test func eachPacketOfAProxiedCheckInLostInTurn() throws {
        let dir = try TemporaryFolder()
        let path = try dir.simulatedCapture("proxied.pcap", [
            "--clients", "2", "--duration", "20m", "--seed", "9", "--proxy", "10.5.5.5:3128",
            "--push-share", "0", "--http-share", "0",
        ])
        let all = try Self.packets(path)
        // The second connection of the first client: its name is tied by the tunnels before it.
        let client = try #require(all.first?.source)
        let syns = all.filter { $0.syn && $0.source == client }
        try #require(syns.count >= 3)
        let port = syns[1].sourcePort
        let members = all.indices.filter {
            (all[$0].source == client && all[$0].sourcePort == port) || all[$0].destinationPort == port
        }
        try #require(members.count >= 20)
        let clean = try Self.judge(all, dropping: nil, client: client, in: dir)
        try #require(!clean.checkIns.isEmpty && clean.gaps.isEmpty)
        for k in members {
            let v = try Self.judge(all, dropping: k, client: client, in: dir)
            let lost = all[k].payload
            #expect(v.checkIns == clean.checkIns, "packet \(k) (\(lost) bytes) lost: \(v.checkIns)")
            for code in ["missed-heartbeat", "idle-size-out-of-range", "step-missing"] {
                #expect(!v.codes.contains(code), "packet \(k) (\(lost) bytes) lost: \(code)")
            }
            if lost > 0 {
                #expect(v.gaps.contains { $0.contains("\(lost) bytes not captured") },
                        "packet \(k) (\(lost) bytes) lost: \(v.gaps)")
            }
        }
    }
}
