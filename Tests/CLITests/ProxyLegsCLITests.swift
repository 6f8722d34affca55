import Capture
import Core
import Foundation
import Testing

/// A capture taken on the proxy holds both legs: the clients' connections to the proxy and the proxy's
/// own connections to the managers. The report is the clients' side alone, with the legs counted apart.
@Suite struct ProxyLegsCLITests {
    static let fleet = ["--clients", "4", "--duration", "1h", "--seed", "7", "--http-share", "0.5",
                        "--push-share", "0.3"]
    static let proxy: [UInt8] = [10, 5, 5, 5]

    /// Copies `direct` (the same fleet checking in directly) as the proxy's own leg: every client address
    /// (10.20.x.y) becomes the proxy's (`from`, the address its clients reach by default), with the client's ports
    /// moved apart per client, 2 ms later.
    static func proxyLeg(_ direct: String, to output: String, from upstream: [UInt8] = proxy) throws {
        let source = try CaptureReader.open(path: direct)
        var writer: PcapFileWriter?
        while let p = try source.next() {
            if writer == nil { writer = try PcapFileWriter(path: output, linkType: p.linkType) }
            var frame = [UInt8](p.bytes)
            // Ethernet, then IPv4 (the simulator writes no other).
            guard frame.count >= 34, frame[12] == 0x08, frame[13] == 0x00 else { continue }
            let tcp = 14 + Int(frame[14] & 0x0f) * 4
            guard frame.count >= tcp + 4 else { continue }
            for (address, port) in [(26, tcp), (30, tcp + 2)] where frame[address] == 10 && frame[address + 1] == 20 {
                let k = Int(frame[address + 3]) + 256 * Int(frame[address + 2])
                let old = Int(frame[port]) << 8 | Int(frame[port + 1])
                let new = (old + k * 997) % 64_000 + 1_024
                frame[port] = UInt8(new >> 8)
                frame[port + 1] = UInt8(new & 0xff)
                frame.replaceSubrange(address..<address + 4, with: upstream)
            }
            try writer?.append(timestamp: p.timestamp.adding(nanoseconds: 2_000_000), bytes: frame,
                               originalLength: p.originalLength)
        }
        try writer?.close()
    }

    private func json(_ run: CLIRun) throws -> [String: Any] {
        try #require(run.status == 0, "\(run.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    }

    @Test func bothLegsGiveTheClientsReportWithTheLegsCounted() throws {
        let dir = try TemporaryFolder()
        let direct = try dir.simulatedCapture("direct.pcap", Self.fleet)
        let proxied = try dir.simulatedCapture("proxied.pcap", Self.fleet + ["--proxy", "10.5.5.5:8080"])
        let leg = dir.path + "/leg.pcap"
        try Self.proxyLeg(direct, to: leg)
        var alone = try json(sepbeat("analyze", "-q", "-F", "json", proxied))
        var both = try json(sepbeat("analyze", "-q", "-F", "json", proxied, leg))
        let a = try #require(alone["counts"] as? [String: Int])
        var b = try #require(both["counts"] as? [String: Int])
        let removed = b.removeValue(forKey: "proxyLegConnections")
        let legs = try #require(removed)
        #expect(a["proxyLegConnections"] == nil)
        #expect(legs > 0 && b["connections"] == (a["connections"] ?? 0) + legs)
        b["connections"] = a["connections"]
        #expect(a == b)
        // Everything else is the same: check-ins (but the numbers of their connections, which count the legs
        // too), clients, findings, managers, summary.
        func withoutConnectionNumbers(_ report: inout [String: Any]) {
            report["sessions"] = (report["sessions"] as? [[String: Any]])?.map { s in
                var s = s
                s["connections"] = nil
                return s
            }
        }
        withoutConnectionNumbers(&alone)
        withoutConnectionNumbers(&both)
        for key in ["sessions", "clients", "findings", "managers", "summary"] {
            let x = try JSONSerialization.data(withJSONObject: alone.removeValue(forKey: key) ?? NSNull(),
                                               options: [.sortedKeys, .fragmentsAllowed])
            let y = try JSONSerialization.data(withJSONObject: both.removeValue(forKey: key) ?? NSNull(),
                                               options: [.sortedKeys, .fragmentsAllowed])
            #expect(x == y, "\(key) differs")
        }
        let text = sepbeat("analyze", "-q", proxied, leg).stdout
        #expect(text.contains(" to managers, \(legs) from proxies (their own legs of tunnelled check-ins), "))
        let audit = sepbeat("audit", "-q", proxied, leg)
        #expect(audit.status == 0 && !audit.stdout.contains("10.5.5.5"), "\(audit.stdout)")
    }

    /// A proxy with two interfaces: its legs come from its upstream address, one no tunnel went to. They carry the
    /// tunnels' very bytes, so they are its legs all the same, not a client checking in twice as often.
    @Test func legsFromTheProxysOtherAddressAreCountedAsLegs() throws {
        let dir = try TemporaryFolder()
        // HTTPS only: a plain-HTTP check-in's requests are rewritten by the proxy (absolute form), not the same bytes.
        let fleet = ["--clients", "4", "--duration", "1h", "--seed", "7", "--http-share", "0", "--push-share", "0.3"]
        let direct = try dir.simulatedCapture("direct.pcap", fleet)
        let proxied = try dir.simulatedCapture("proxied.pcap", fleet + ["--proxy", "10.5.5.5:8080"])
        let leg = dir.path + "/leg.pcap"
        try Self.proxyLeg(direct, to: leg, from: [10, 9, 9, 5])
        let alone = try json(sepbeat("analyze", "-q", "-F", "json", proxied))
        let both = try json(sepbeat("analyze", "-q", "-F", "json", proxied, leg))
        let a = try #require(alone["counts"] as? [String: Int])
        let b = try #require(both["counts"] as? [String: Int])
        let legs = try #require(b["proxyLegConnections"])
        #expect(legs > 0 && b["connections"] == (a["connections"] ?? 0) + legs)
        #expect(b["managerConnections"] == a["managerConnections"])
        let clients = { (r: [String: Any]) in
            (r["clients"] as? [[String: Any]])?.compactMap { $0["client"] as? String }
        }
        #expect(clients(both) == clients(alone) && clients(both)?.contains("10.9.9.5") == false)
    }

    /// The same for plain HTTP, which the proxy forwards from requests in absolute form: its legs carry the
    /// requests rewritten (origin form), so they are known by their requests and answers, not their bytes.
    /// Before, the proxy's other address was a client of 48 check-ins, its legs all taken for its own.
    @Test func forwardingLegsFromTheProxysOtherAddressAreCountedAsLegs() throws {
        let dir = try TemporaryFolder()
        let fleet = ["--clients", "4", "--duration", "1h", "--seed", "7", "--http-share", "1"]
        let direct = try dir.simulatedCapture("direct.pcap", fleet)
        let proxied = try dir.simulatedCapture("proxied.pcap", fleet + ["--proxy", "10.5.5.5:8080"])
        let leg = dir.path + "/leg.pcap"
        try Self.proxyLeg(direct, to: leg, from: [10, 9, 9, 5])
        let alone = try json(sepbeat("analyze", "-q", "-F", "json", proxied))
        let both = try json(sepbeat("analyze", "-q", "-F", "json", proxied, leg))
        let a = try #require(alone["counts"] as? [String: Int])
        var b = try #require(both["counts"] as? [String: Int])
        let removed = b.removeValue(forKey: "proxyLegConnections")
        let legs = try #require(removed)
        #expect(legs == a["connections"] && b["connections"] == (a["connections"] ?? 0) + legs)
        b["connections"] = a["connections"]
        #expect(a == b)
        // The clients and the findings are the clients' side alone.
        for key in ["clients", "findings"] {
            let same = (alone[key] as? NSArray)?.isEqual(to: both[key] as? [Any] ?? [])
            #expect(same == true, "\(key)")
        }
    }
}
