import Foundation
import FuzzTargets
import Testing

/// Check-ins through an explicit HTTP proxy (`simulate --proxy`), end to end: reported with their
/// manager as the server, the same steps and counts as the same fleet checking in directly.
@Suite struct ProxyCheckInTests {
    static let fleet = ["--clients", "4", "--duration", "1h", "--seed", "5", "--http-share", "0.5",
                        "--push-share", "0.5", "--full-share", "0.3"]

    private func json(_ run: CLIRun) throws -> [String: Any] {
        try #require(run.status == 0, "\(run.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    }

    private func sessions(_ report: [String: Any]) -> [[String: Any]] {
        report["sessions"] as? [[String: Any]] ?? []
    }

    @Test func proxiedCheckInsAreReportedAgainstTheirManagers() throws {
        let dir = try TemporaryFolder()
        let direct = try dir.simulatedCapture("direct.pcap", Self.fleet)
        let proxied = try dir.simulatedCapture("proxied.pcap", Self.fleet + ["--proxy", "10.5.5.5:8080"])
        let a = try json(sepbeat("analyze", "-q", "-F", "json", direct))
        let b = try json(sepbeat("analyze", "-q", "-F", "json", proxied))
        let counts = b["counts"] as? [String: Int]
        #expect(counts?["connections"] == (a["counts"] as? [String: Int])?["connections"])
        #expect(counts?["managerConnections"] == counts?["connections"])
        #expect(counts?["ignoredConnections"] == 0 && counts?["otherServerConnections"] == 0)
        let (x, y) = (sessions(a), sessions(b))
        #expect(!y.isEmpty && x.count == y.count)
        func shape(_ s: [String: Any]) -> String {
            let steps = (s["steps"] as? [[String: Any]] ?? []).compactMap { $0["step"] as? Int }
            return "\(s["server"] ?? ""):\(s["serverPort"] ?? "") \(s["mode"] ?? "") \(s["transport"] ?? "") \(steps)"
        }
        #expect(x.map(shape) == y.map(shape))
        for s in y {
            let steps = s["steps"] as? [[String: Any]] ?? []
            guard let select = steps.first(where: { $0["step"] as? Int == 1 })?["evidence"] as? String else { continue }
            #expect(select.hasPrefix("SYN to proxy 10.5.5.5:8080 for \(s["server"] ?? ""):"))
            let connect = steps.first { $0["step"] as? Int == 2 }?["evidence"] as? String
            #expect(connect?.contains("with proxy 10.5.5.5:8080, ") == true)
            // HTTPS through a CONNECT tunnel; plain HTTP in absolute form, with no CONNECT.
            if s["serverPort"] as? Int == 443 {
                #expect(connect?.contains(" → 200") == true)
            } else {
                #expect(connect?.contains("CONNECT") == false)
                #expect(connect?.hasSuffix("requests in absolute form for the proxy to forward") == true)
            }
        }
        #expect((b["summary"] as? [String: Any])?["verdict"] as? String == "pass")
    }

    @Test func flowsNameTheTunnel() throws {
        let dir = try TemporaryFolder()
        let proxied = try dir.simulatedCapture("proxied.pcap", Self.fleet + ["--proxy", "10.5.5.5:8080"])
        let flows = try json(sepbeat("flows", "-q", "-F", "json", proxied))
        let connections = flows["connections"] as? [[String: Any]] ?? []
        #expect(!connections.isEmpty)
        for c in connections {
            #expect(c["server"] as? String == "10.5.5.5" && c["serverPort"] as? Int == 8080)
            let tunnel = c["tunnel"] as? [String: Any]
            #expect((tunnel?["host"] as? String)?.hasPrefix("10.1.0.") == true)
            // Plain HTTP goes in absolute form (no CONNECT, no set-up), HTTPS through a tunnel.
            let tls = c["application"] as? String == "tls"
            #expect(tunnel?["port"] as? Int == (tls ? 443 : 8014))
            #expect(tunnel?["kind"] as? String == (tls ? "connect" : "forward"))
            #expect((tunnel?["setUp"] as? [Any])?.count == (tls ? 1 : 0))
        }
        let text = sepbeat("flows", "-q", proxied)
        #expect(text.stdout.contains("tls via CONNECT 10.1.0.1"))
        #expect(text.stdout.contains("http via proxy for 10.1.0.1"))
        #expect(!text.stdout.contains("http via CONNECT"))
    }

    /// `CONNECT 10.1.0.10_443` (no port): not silent; flows names the target, the capture summary counts it.
    @Test func aConnectTargetWithoutAPortIsNamed() throws {
        let dir = try TemporaryFolder()
        let proxied = try dir.simulatedCapture("proxied.pcap", ["--clients", "2", "--duration", "30m", "--seed", "3",
                                                               "--http-share", "0", "--proxy", "10.5.5.5:8080"])
        let (broken, replaced) = try dir.patchedCapture(
            proxied, replacing: ":443 HTTP/1.1\r\nHost", with: "_443 HTTP/1.1\r\nHost", as: "noport.pcap")
        let flows = sepbeat("flows", "-q", "--http", broken)
        #expect(flows.stdout.contains("up: CONNECT target without a usable port: 10.1.0.1"))
        #expect(flows.stdout.contains("odd: proxy tunnels to a target without a usable port \(replaced)"))
        let report = try json(sepbeat("analyze", "-q", "-F", "json", broken))
        let captures = report["captures"] as? [[String: Any]]
        #expect(captures?.first?["unusableTunnelTargets"] as? Int == replaced)
        #expect(sessions(report).isEmpty)
        // A capture without the problem has no such member.
        let fine = try json(sepbeat("analyze", "-q", "-F", "json", proxied))
        #expect((fine["captures"] as? [[String: Any]])?.first?["unusableTunnelTargets"] == nil)
    }

    /// `CONNECT 010.1.0.1:443` and `GET http://010.1.0.1:8014/...` (a leading zero: octal to inet_aton): not
    /// read as an address, and not silent: an anomaly in flows, a count on the summary's `odd:` line.
    @Test func aTargetWithALeadingZeroIsCountedAsOdd() throws {
        let dir = try TemporaryFolder()
        let proxied = try dir.simulatedCapture("proxied.pcap", ["--clients", "2", "--duration", "30m", "--seed", "3",
                                                               "--http-share", "0.5", "--proxy", "10.5.5.5:8080"])
        var bytes = try #require(FileManager.default.contents(atPath: proxied))
        var replaced: [String: Int] = [:]
        for (from, to) in [("CONNECT 10.1.0.1", "CONNECT 010.1.0."), ("GET http://10.1.0.1", "GET http://010.1.0."),
                           ("POST http://10.1.0.1", "POST http://010.1.0.")] {
            while let r = bytes.range(of: Data(from.utf8)) {
                bytes.replaceSubrange(r, with: Data(to.utf8))
                replaced[from, default: 0] += 1
            }
        }
        try #require(replaced["CONNECT 10.1.0.1"] ?? 0 > 0 && replaced["GET http://10.1.0.1"] ?? 0 > 0)
        let broken = dir.path + "/octal.pcap"
        _ = FileManager.default.createFile(atPath: broken, contents: bytes)
        let flows = sepbeat("flows", "-q", "--http", "-F", "json", broken)
        let connections = try #require(try json(flows)["connections"] as? [[String: Any]])
        let odd = connections.filter {
            (($0["tunnel"] as? [String: Any])?["host"] as? String)?.hasPrefix("010.") == true
        }
        try #require(!odd.isEmpty)
        for c in odd {
            let kind = (c["tunnel"] as? [String: Any])?["kind"] as? String
            let anomalies = (c["protocolAnomalies"] as? [String]) ?? []
            let word = kind == "forward" ? "absolute-form request host" : "CONNECT target host"
            #expect(anomalies.contains {
                $0.hasPrefix("up: \(word) \"010.1.0.") && $0.hasSuffix("not taken as an address")
            }, "\(anomalies)")
        }
        let report = try json(sepbeat("analyze", "-q", "-F", "json", broken))
        let captures = report["captures"] as? [[String: Any]]
        #expect(captures?.first?["nonDecimalTunnelTargets"] as? Int == odd.count)
        let text = sepbeat("analyze", "-q", broken)
        #expect(text.stdout.contains("odd: proxy targets not taken as an address (numeric, not dotted decimal) "
            + "\(odd.count)"))
        let fine = try json(sepbeat("analyze", "-q", "-F", "json", proxied))
        #expect((fine["captures"] as? [[String: Any]])?.first?["nonDecimalTunnelTargets"] == nil)
    }

    /// A proxy at a client's or a manager's own address is refused in one line naming the clash; an address
    /// just outside the fleet is fine.
    @Test func aProxyAtAnAddressOfTheFleetIsRefused() throws {
        let dir = try TemporaryFolder()
        let cases = [("10.20.0.1", "a client"), ("10.20.0.4", "a client"), ("10.20.1.1", "a client"),
                     ("10.1.0.10", "a manager"), ("10.1.0.11", "a manager")]
        for (address, what) in cases {
            let run = CLIRun(["simulate", "-q", "-o", dir.path + "/x.pcap", "--clients", "251", "--duration", "10m",
                              "--managers", "2", "--proxy", address + ":8080"])
            #expect(run.status == 2, "\(address): \(run.stderr)")
            #expect(run.stderr == "sepbeat simulate: --proxy \(address):8080: \(address) is the address of \(what) "
                + "of the simulated fleet: give the proxy an address of its own\n", "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.path + "/x.pcap"))
        }
        for address in ["10.20.1.2", "10.20.0.251", "10.1.0.12", "10.20.0.0"] {
            let run = CLIRun(["simulate", "-q", "-o", dir.path + "/y.pcap", "--clients", "251", "--duration", "10m",
                              "--managers", "2", "--proxy", address + ":8080"])
            #expect(run.status == 0, "\(address): \(run.stderr)")
        }
    }

    /// no host has the unspecified, the broadcast or a multicast address.
    @Test func aProxyAtAnAddressNoHostHasIsRefused() throws {
        let dir = try TemporaryFolder()
        for (address, kind) in [("0.0.0.0", "the unspecified address"), ("255.255.255.255", "the broadcast address"),
                                ("224.0.0.1", "a multicast address"), ("239.255.255.250", "a multicast address")] {
            let run = CLIRun(["simulate", "-q", "-o", dir.path + "/x.pcap", "--clients", "2", "--duration", "10m",
                              "--proxy", address + ":3128"])
            #expect(run.status == 2, "\(address): \(run.stderr)")
            #expect(run.stderr == "sepbeat simulate: --proxy \(address) is \(kind), no host's: give a unicast "
                + "IPv4 address, e.g. 10.5.5.5:8080\n", "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.path + "/x.pcap"))
        }
        let fine = CLIRun(["simulate", "-q", "-o", dir.path + "/y.pcap", "--clients", "2", "--duration", "10m",
                           "--proxy", "223.255.255.254:3128"])
        #expect(fine.status == 0, "\(fine.stderr)")
    }

    /// A loopback address (127.0.0.0/8) never goes on a wire between hosts, so no capture of a client and its
    /// proxy holds it: refused in the same style, with nothing written; 126.x and 128.x are fine.
    @Test func aProxyAtALoopbackAddressIsRefused() throws {
        let dir = try TemporaryFolder()
        for address in ["127.0.0.1", "127.0.0.0", "127.255.255.255", "127.1.2.3"] {
            let run = CLIRun(["simulate", "-q", "-o", dir.path + "/x.pcap", "--clients", "2", "--duration", "10m",
                              "--proxy", address + ":3128"])
            #expect(run.status == 2, "\(address): \(run.stderr)")
            #expect(run.stderr == "sepbeat simulate: --proxy \(address) is a loopback address (127.0.0.0/8), never "
                + "on a wire between hosts: give the proxy's address on the network, e.g. 10.5.5.5:8080\n",
                "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.path + "/x.pcap"))
        }
        for address in ["126.255.255.254", "128.0.0.1"] {
            let run = CLIRun(["simulate", "-q", "-o", dir.path + "/y.pcap", "--clients", "2", "--duration", "10m",
                              "--proxy", address + ":3128"])
            #expect(run.status == 0, "\(address): \(run.stderr)")
        }
    }

    @Test(arguments: [["--proxy", "10.5.5.5"], ["--proxy", "proxy:8080"], ["--proxy", "10.5.5.5:0"],
                      ["--proxy", "10.5.5.5:+8080"],
                      ["--proxy", "10.5.5.5:8080", "--fault", "failover"]])
    func refusedProxyOptions(_ extra: [String]) throws {
        let dir = try TemporaryFolder()
        let run = CLIRun(["simulate", "-q", "-o", dir.path + "/x.pcap", "--clients", "2", "--duration", "30m"] + extra)
        #expect(run.status == 2, "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/x.pcap"))
    }
}

/// The capture fuzz target's tunnel sample is read as a tunnel, so its mutations exercise that path.
@Suite struct TunnelFuzzSampleTests {
    @Test func captureSampleCarriesATunnel() throws {
        let dir = try TemporaryFolder()
        let samples = FuzzTarget.capture.samples
        try #require(samples.count >= 2)
        let path = dir.path + "/tunnel.pcap"
        _ = FileManager.default.createFile(atPath: path, contents: Data(samples[1]))
        let run = sepbeat("flows", "-q", "--tls", path)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("tls via CONNECT sepm.example.test:443"))
        #expect(run.stdout.contains("SNI sepm.example.test"))
    }
}
