import Core
import Foundation
import Testing
import TestSupport

@testable import CLI
@testable import Heartbeat
@testable import Reports

/// Simulated fleets rewritten the way real deployments differ from them: a manager down for the whole
/// capture, another agent on the clients polling an HTTPS server every 5 minutes, and a manager name on
/// two addresses.
@Suite struct ManagerInferenceCLITests {
    typealias Packet = MidstreamCutTests.Packet

    /// An Ethernet/IPv4/TCP frame's addresses and ports (the simulator writes no other kind).
    struct Frame {
        var source: [UInt8]
        var destination: [UInt8]
        var sourcePort: UInt16
        var destinationPort: UInt16
        var sequence: UInt32
        var flags: UInt8

        init?(_ b: [UInt8]) {
            guard b.count >= 54, b[12] == 0x08, b[13] == 0x00, b[23] == 6 else { return nil }
            let tcp = 14 + Int(b[14] & 0x0f) * 4
            guard b.count >= tcp + 20 else { return nil }
            func u16(_ at: Int) -> UInt16 { UInt16(b[at]) << 8 | UInt16(b[at + 1]) }
            source = Array(b[26..<30])
            destination = Array(b[30..<34])
            sourcePort = u16(tcp)
            destinationPort = u16(tcp + 2)
            sequence = b[(tcp + 4)..<(tcp + 8)].reduce(0) { $0 << 8 | UInt32($1) }
            flags = b[tcp + 13]
        }
    }

    static let managerA: [UInt8] = [10, 1, 0, 10]
    static let managerB: [UInt8] = [10, 1, 0, 11]

    /// A pull-only HTTPS fleet of `clients` clients for an hour, checking in with 10.1.0.10 and 10.1.0.11.
    static func fleet(in dir: TemporaryFolder, clients: Int = 6) throws -> [Packet] {
        let path = dir.path + "/fleet.pcap"
        let made = CLIRun(["simulate", "-q", "-o", path, "--clients", String(clients), "--duration", "1h",
                           "--http-share", "0", "--push-share", "0", "--seed", "3"])
        try #require(made.status == 0, "\(made.stderr)")
        let packets = try MidstreamCutTests.packets(path)
        try #require(packets.allSatisfy { Frame($0.bytes) != nil })
        return packets
    }

    /// `frame` with its IPv4 source or destination address `from` replaced by `to`.
    static func readdressed(_ frame: [UInt8], from: [UInt8], to: [UInt8]) -> [UInt8] {
        var out = frame
        if Array(frame[26..<30]) == from { out.replaceSubrange(26..<30, with: to) }
        if Array(frame[30..<34]) == from { out.replaceSubrange(30..<34, with: to) }
        return out
    }

    // MARK: - A manager down for the whole capture

    /// `packets` with every connection to `server` cut to its client's SYN, answered by a RST when `refused`.
    static func down(_ packets: [Packet], server: [UInt8], refused: Bool) -> [Packet] {
        var out: [Packet] = []
        for p in packets {
            guard let f = Frame(p.bytes), f.source == server || f.destination == server else {
                out.append(p)
                continue
            }
            guard f.destination == server, f.flags & 0x12 == 0x02 else { continue }
            out.append(p)
            guard refused else { continue }
            let tcp = PacketBuilder.tcp(sourcePort: f.destinationPort, destinationPort: f.sourcePort, sequence: 0,
                                        acknowledgement: f.sequence &+ 1, flags: 0x14, window: 0)
            let rst = PacketBuilder.ethernet(type: 0x0800,
                                             payload: PacketBuilder.ipv4(source: server, destination: f.source,
                                                                         payload: tcp))
            out.append(Packet(time: p.time.adding(seconds: 0.0004), linkType: p.linkType, bytes: rst))
        }
        return out
    }

    /// Every manager down: no check-in set up, so the checks of what check-ins carry are `n/a`, not passes
    /// that say nothing.
    @Test func withNoCheckInSetUpTheChecksOfCheckInsAreNotChecked() throws {
        let dir = try TemporaryFolder()
        let capture = dir.path + "/alldown.pcap"
        let fleet = try Self.fleet(in: dir)
        let down = Self.down(Self.down(fleet, server: Self.managerB, refused: true), server: Self.managerA,
                             refused: true)
        try MidstreamCutTests.write(down, to: capture)
        let validate = CLIRun(["validate", "-q", "--color", "never", capture])
        #expect(validate.status == ExitStatus.findings, "\(validate.stdout)")
        let rows = validate.stdout.split(separator: "\n").map(String.init)
        for id in ["failover", "transport", "http-status", "sizes", "known-managers"] {
            let row = try #require(rows.first { $0.contains(" \(id) ") }, "\(id): \(validate.stdout)")
            #expect(row.hasPrefix("  n/a"), "\(row)")
        }
        #expect(validate.stdout.contains("not checked: no check-in was set up"))
        #expect(try #require(rows.first { $0.contains(" check-ins-seen ") }).hasPrefix("  FAIL"))
        #expect(try #require(rows.first { $0.contains(" connectivity ") }).hasPrefix("  FAIL"))
    }

    @Test(arguments: [true, false])
    func aManagerRefusingOrIgnoringEveryConnectFailsTheDeployment(refused: Bool) throws {
        let dir = try TemporaryFolder()
        let capture = dir.path + "/down.pcap"
        try MidstreamCutTests.write(Self.down(try Self.fleet(in: dir), server: Self.managerB, refused: refused),
                                    to: capture)
        let validate = CLIRun(["validate", "-q", "--color", "never", capture])
        #expect(validate.status == ExitStatus.findings, "\(validate.stdout)")
        let connectivity = try #require(validate.stdout.split(separator: "\n").first { $0.contains(" connectivity ") })
        #expect(connectivity.hasPrefix("  FAIL    error     connectivity"), "\(connectivity)")
        #expect(validate.stdout.contains(refused ? "refused (SYN answered by RST)" : "unanswered (1 SYN)"),
                "\(validate.stdout)")

        let analyze = CLIRun(["analyze", "-q", "--color", "never", capture])
        #expect(analyze.status == ExitStatus.findings)
        #expect(analyze.stdout.contains("10.1.0.11  inferred-connects"), "\(analyze.stdout)")
        #expect(analyze.stdout.contains("source inferred-connects: seen: a client tried it at the expected interval, "
                                        + "every connect refused or unanswered"))
        #expect(analyze.stdout.contains(" 0 to other servers on management ports"))

        let audit = CLIRun(["audit", "-q", "--color", "never", capture])
        #expect(audit.status == ExitStatus.findings)
        #expect(audit.stdout.contains(" unhealthy "), "\(audit.stdout)")
        #expect(!audit.stdout.contains(", 0 failed,"), "\(audit.stdout)")

        // Configured managers turn the inference off: the down one must then be named too, as a note says.
        let noted = CLIRun(["audit", "-q", "--color", "never", "--server", "10.1.0.10", capture])
        #expect(noted.stdout.replacingOccurrences(of: "\n", with: " ").contains(
            "Note: clients tried 10.1.0.11 (3 clients) on a management port at the expected interval, every connect "
                + "refused or unanswered; it is not a configured manager, so those failed check-ins are not judged. "
                + "If it is a manager, name it too (--server or --sylink)."), "\(noted.stdout)")
        #expect(CLIRun(["validate", "-q", "--server", "10.1.0.10", capture]).stdout.contains("Note: clients tried"))
        #expect(!CLIRun(["analyze", "-q", "--server", "10.1.0.10", "--server", "10.1.0.11", capture]).stdout
            .contains("Note:"))
        let oneNamed = CLIRun(["analyze", "-q", "-F", "json", "--server", "10.1.0.10", capture])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(oneNamed.stdout.utf8)) as? [String: Any])
        let managers = try #require(json["managers"] as? [[String: Any]])
        #expect(managers.compactMap { $0["address"] as? String } == ["10.1.0.10"])
        let counts = try #require(json["counts"] as? [String: Any])
        #expect((counts["otherServerConnections"] as? Int ?? 0) > 0)
        let bothNamed = CLIRun(["validate", "-q", "--server", "10.1.0.10", "--server", "10.1.0.11", capture])
        #expect(bothNamed.status == ExitStatus.findings)
    }

    @Test func oneRefusedConnectToAnotherServerMakesNoManager() throws {
        let dir = try TemporaryFolder()
        var packets = try Self.fleet(in: dir)
        // One client's first SYN to 10.1.0.11 copied to 10.1.0.99 and refused there; the fleet is as before.
        let syn = try #require(packets.first {
            Frame($0.bytes).map { $0.destination == Self.managerB && $0.flags == 0x02 } ?? false
        })
        let stray = Self.readdressed(syn.bytes, from: Self.managerB, to: [10, 1, 0, 99])
        let refusedStray = Self.down([Packet(time: syn.time.adding(seconds: 1), linkType: syn.linkType, bytes: stray)],
                                     server: [10, 1, 0, 99], refused: true)
        packets = (packets + refusedStray).sorted { $0.time < $1.time }
        let capture = dir.path + "/stray.pcap"
        try MidstreamCutTests.write(packets, to: capture)
        let analyze = CLIRun(["analyze", "-q", "--color", "never", capture])
        #expect(!analyze.stdout.contains("10.1.0.99"), "\(analyze.stdout)")
        #expect(analyze.stdout.contains(" 1 to other servers on management ports"), "\(analyze.stdout)")
        #expect(analyze.status == ExitStatus.ok, "\(analyze.stdout)")
    }

    // MARK: - Another agent polling an HTTPS server

    /// `packets` plus a copy of every manager connection 100 s later to 203.0.113.5, its ClientHello asking
    /// for `telem.example.test`: an agent on every client polling its own HTTPS server at the heartbeat's 300 s.
    static func withPoller(_ packets: [Packet]) -> [Packet] {
        let poller: [UInt8] = [203, 0, 113, 5]
        let names = ["sepm1.example.test", "sepm2.example.test"].map { Array($0.utf8) }
        let own = Array("telem.example.test".utf8)
        var copies: [Packet] = []
        for p in packets {
            var bytes = Self.readdressed(p.bytes, from: Self.managerA, to: poller)
            bytes = Self.readdressed(bytes, from: Self.managerB, to: poller)
            for name in names {
                var i = 0
                while i + name.count <= bytes.count {
                    if bytes[i..<(i + name.count)].elementsEqual(name) {
                        bytes.replaceSubrange(i..<(i + name.count), with: own)
                    }
                    i += 1
                }
            }
            copies.append(Packet(time: p.time.adding(seconds: 100), linkType: p.linkType, bytes: bytes))
        }
        return (packets + copies).sorted { $0.time < $1.time }
    }

    @Test func aPollerIsNoManagerOnceTheManagersAreNamed() throws {
        let dir = try TemporaryFolder()
        let capture = dir.path + "/poller.pcap"
        try MidstreamCutTests.write(Self.withPoller(try Self.fleet(in: dir)), to: capture)
        let note = "Note: managers found only by periodic TLS took turns in the check-ins of the same clients:"

        // Unnamed, the poller is taken for a manager, and the text reports say what to suspect.
        let unnamed = CLIRun(["audit", "-q", "--color", "never", capture])
        #expect(unnamed.status == ExitStatus.findings)
        #expect(unnamed.stdout.contains(note), "\(unnamed.stdout)")
        let joined = unnamed.stdout.replacingOccurrences(of: "\n", with: " ")
        #expect(joined.contains("10.1.0.10 (SNI sepm1.example.test) and 203.0.113.5 (SNI telem.example.test): "),
                "\(unnamed.stdout)")
        #expect(joined.contains("name the managers with --server or --sylink"))
        #expect(CLIRun(["analyze", "-q", "--color", "never", capture]).stdout.contains(note))
        #expect(CLIRun(["validate", "-q", "--color", "never", capture]).stdout.contains(note))

        // Named, with --server or SyLink.xml: the fleet is healthy and the poller is another server.
        let sylink = dir.path + "/SyLink.xml"
        try (#"<?xml version="1.0" encoding="UTF-8"?><ServerSettings><CommConf><ServerList Name="L">"#
            + #"<ServerPriorityBlock Name="Priority1"><Server Address="10.1.0.10"/><Server Address="10.1.0.11"/>"#
            + "</ServerPriorityBlock></ServerList></CommConf></ServerSettings>")
            .write(toFile: sylink, atomically: true, encoding: .utf8)
        for given in [["--server", "10.1.0.10", "--server", "10.1.0.11"], ["--sylink", sylink]] {
            let audit = CLIRun(["audit", "-q", "--color", "never"] + given + [capture])
            #expect(audit.status == ExitStatus.ok, "\(given): \(audit.stdout)")
            #expect(audit.stdout.contains("Fleet: 6 clients seen, 6 healthy (100%)"), "\(audit.stdout)")
            #expect(!audit.stdout.contains("Note:"))
            let validate = CLIRun(["validate", "-q"] + given + [capture])
            #expect(validate.status == ExitStatus.ok, "\(given): \(validate.stdout)")
            let analyze = CLIRun(["analyze", "-q", "-F", "json"] + given + [capture])
            let json = try #require(try JSONSerialization.jsonObject(with: Data(analyze.stdout.utf8)) as? [String: Any])
            let managers = try #require(json["managers"] as? [[String: Any]])
            #expect(managers.compactMap { $0["address"] as? String } == ["10.1.0.10", "10.1.0.11"])
            let counts = try #require(json["counts"] as? [String: Any])
            #expect(counts["otherServerConnections"] as? Int == counts["managerConnections"] as? Int)
        }
    }

    /// Two managers found by periodic TLS whose check-ins from each client come in the order `order`
    /// (A = 198.51.100.1, B = 198.51.100.2, `spacing` seconds apart), asked for `sniA` and `sniB`.
    static func turnTaking(_ order: String, spacing: Double = 150, clients: Int = 2,
                           sniA: String = "sepm.example.test", sniB: String = "poll.example.test") -> String? {
        var f = FleetRecords()
        for c in 1...clients {
            for (i, m) in order.enumerated() {
                let a = m == "A"
                f.idle("10.0.0.\(c)", at: Double(i) * spacing, server: a ? "198.51.100.1" : "198.51.100.2",
                       sni: a ? sniA : sniB)
            }
        }
        var b = SessionBuilder(model: .builtIn)
        for r in f.records { b.ingest(r) }
        return AnalyzeReport.turnTakingHint(b.finish())
    }

    @Test func theNoteNamesTwoTLSManagersTakingTurnsWithTheirServerNames() throws {
        let note = try #require(Self.turnTaking("ABABABAB"))
        #expect(note.split(separator: "\n").allSatisfy { $0.count <= 100 })
        let joined = note.replacingOccurrences(of: "\n", with: " ")
        #expect(joined.hasPrefix("Note: managers found only by periodic TLS took turns in the check-ins of the same "
                                 + "clients: 198.51.100.1 (SNI sepm.example.test) and 198.51.100.2 (SNI "
                                 + "poll.example.test): 2 clients. A SEP client checks in with one manager at a "
                                 + "time, so one of them may be another agent"), "\(joined)")
        // Failing over and back is two switches: no note. Nor for one service on two addresses (one name).
        #expect(Self.turnTaking("AAAABBBBAAAA", spacing: 300) == nil)
        #expect(Self.turnTaking("AAAABBBBAAAABBBB", spacing: 300) != nil)
        #expect(Self.turnTaking("ABABABAB", sniB: "sepm.example.test") == nil)
        // Control characters of a server name are not printed.
        let odd = try #require(Self.turnTaking("ABABABAB", sniB: "poll\u{1b}[2J.test"))
        #expect(!odd.contains("\u{1b}") && odd.contains("poll?[2J.test"))
    }

    // MARK: - A manager name on two addresses

    @Test func aNamedManagerBehindRoundRobinIsBothAddresses() throws {
        let dir = try TemporaryFolder()
        // Every other connection to 10.1.0.11 goes to 10.1.0.12 instead (its SNI still names sepm2).
        var moved: Set<[UInt8]> = []
        var seen: Set<[UInt8]> = []
        var packets: [Packet] = []
        for p in try Self.fleet(in: dir) {
            guard let f = Frame(p.bytes), f.destination == Self.managerB || f.source == Self.managerB else {
                packets.append(p)
                continue
            }
            let key = f.destination == Self.managerB ? f.source + Packet.be16(f.sourcePort)
                : f.destination + Packet.be16(f.destinationPort)
            if !seen.contains(key) {
                seen.insert(key)
                if seen.count % 2 == 0 { moved.insert(key) }
            }
            let bytes = moved.contains(key) ? Self.readdressed(p.bytes, from: Self.managerB, to: [10, 1, 0, 12])
                : p.bytes
            packets.append(Packet(time: p.time, linkType: p.linkType, bytes: bytes))
        }
        let capture = dir.path + "/rr.pcap"
        try MidstreamCutTests.write(packets, to: capture)
        let names = ["--server", "sepm1.example.test", "--server", "sepm2.example.test"]
        let analyze = CLIRun(["analyze", "-q", "-F", "json"] + names + [capture])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(analyze.stdout.utf8)) as? [String: Any])
        let managers = try #require(json["managers"] as? [[String: Any]])
        #expect(managers.compactMap { $0["address"] as? String } == ["10.1.0.10", "10.1.0.11", "10.1.0.12"])
        #expect(managers.allSatisfy { $0["source"] as? String == "option" && $0["resolution"] as? String == "tls-sni" })
        #expect(managers.compactMap { $0["hostName"] as? String }
            == ["sepm1.example.test", "sepm2.example.test", "sepm2.example.test"])
        let validate = CLIRun(["validate", "-q", "--color", "never"] + names + [capture])
        #expect(validate.status == ExitStatus.ok, "\(validate.stdout)")
        #expect(validate.stdout.contains("  pass    warning   known-managers"), "\(validate.stdout)")
        let audit = CLIRun(["audit", "-q", "--color", "never"] + names + [capture])
        #expect(audit.stdout.contains("Fleet: 6 clients seen, 6 healthy (100%)"), "\(audit.stdout)")
    }
}

extension MidstreamCutTests.Packet {
    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
}
