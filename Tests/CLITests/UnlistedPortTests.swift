import Foundation
import Testing
import TestSupport

/// Check-ins to the right manager addresses on a port the configuration does not list (`--server ADDR`
/// takes the model's ports, 443 and 8014/80): counted apart from other servers, and the text reports name
/// the ports and how to have them judged, rather than blaming the addresses.
@Suite struct UnlistedPortTests {
    /// Six HTTPS clients for an hour to 10.1.0.10 and 10.1.0.11 on 443.
    static func fleet(in dir: TemporaryFolder) throws -> String {
        let capture = dir.path + "/https.pcap"
        let made = CLIRun(["simulate", "-q", "-o", capture, "--clients", "6", "--duration", "1h", "--http-share", "0",
                           "--push-share", "0", "--seed", "4"])
        try #require(made.status == 0, "\(made.stderr)")
        return capture
    }

    /// `path` (a little-endian Ethernet/IPv4 pcap) with TCP port `from` changed to `to` on the frames whose
    /// client (source or destination in 10.20/16) is one of `clients` (last octets; nil: every client).
    static func movePort(_ path: String, from: UInt16, to: UInt16, clients: Set<UInt8>?, into dir: TemporaryFolder,
                         name: String) throws -> String {
        var bytes = [UInt8](try #require(FileManager.default.contents(atPath: path)))
        func u32(_ at: Int) -> Int {
            Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24
        }
        var at = 24
        while at + 16 <= bytes.count {
            let frame = at + 16
            let length = u32(at + 8)
            at = frame + length
            guard length >= 54, bytes[frame + 12] == 0x08, bytes[frame + 13] == 0x00, bytes[frame + 23] == 6 else {
                continue
            }
            let source = Array(bytes[(frame + 26)..<(frame + 30)])
            let destination = Array(bytes[(frame + 30)..<(frame + 34)])
            let client = source.starts(with: [10, 20]) ? source : destination
            guard clients.map({ $0.contains(client[3]) }) ?? true else { continue }
            let tcp = frame + 14 + Int(bytes[frame + 14] & 0x0f) * 4
            for p in [tcp, tcp + 2] where UInt16(bytes[p]) << 8 | UInt16(bytes[p + 1]) == from {
                bytes[p] = UInt8(to >> 8)
                bytes[p + 1] = UInt8(to & 0xff)
            }
        }
        let out = dir.path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: out))
        return out
    }

    static func json(_ run: CLIRun) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    }

    static let servers = ["--server", "10.1.0.10", "--server", "10.1.0.11"]

    @Test func everyCheckInOnAnUnlistedPortNamesThePortNotTheAddresses() throws {
        let dir = try TemporaryFolder()
        let whole = try Self.fleet(in: dir)
        let moved = try Self.movePort(whole, from: 443, to: 8443, clients: nil, into: dir, name: "https8443.pcap")
        let analyze = CLIRun(["analyze", "-q", "--color", "never"] + Self.servers + [moved])
        let joined = analyze.stdout.replacingOccurrences(of: "\n", with: " ")
        #expect(!joined.contains("Check the --server addresses"), "\(analyze.stdout)")
        #expect(joined.contains("No connection went to a manager on a port the configuration lists: the "))
        #expect(joined.contains("to the managers' addresses went to port 8443 of 10.1.0.10 ("))
        #expect(joined.contains("If they are check-ins, give each manager with its port (--server 10.1.0.10:8443 "
            + "--server 10.1.0.11:8443; a bare --server ADDRESS takes the model's ports) or add the port to the "
            + "model's ports.https"), "\(joined)")
        #expect(analyze.stdout.contains(" 0 to other servers on management ports, "))
        let counts = try #require(try Self.json(CLIRun(["analyze", "-q", "-F", "json"] + Self.servers + [moved]))[
            "counts"] as? [String: Any])
        let unlisted = try #require(counts["unlistedPortConnections"] as? Int)
        #expect(unlisted > 0 && counts["otherServerConnections"] as? Int == 0)
        #expect(counts["managerConnections"] as? Int == 0)
        let validate = CLIRun(["validate", "-q", "--color", "never"] + Self.servers + [moved])
        #expect(validate.stdout.replacingOccurrences(of: "\n", with: " ").contains("went to port 8443 of 10.1.0.10"))

        // Either remedy judges them: the port with each address, or the port in the model.
        let summary = { (args: [String]) throws -> [String: Any] in
            try #require(try Self.json(CLIRun(["analyze", "-q", "-F", "json"] + args))["summary"] as? [String: Any])
        }
        let expected = try summary(Self.servers + [whole])["checkIns"] as? Int
        #expect(try summary(["--server", "10.1.0.10:8443", "--server", "10.1.0.11:8443", moved])["checkIns"] as? Int
            == expected)
        let model = dir.path + "/ports.json"
        try Data(#"{"ports": {"https": [443, 8443]}}"#.utf8).write(to: URL(fileURLWithPath: model))
        #expect(try summary(["--model", model] + Self.servers + [moved])["checkIns"] as? Int == expected)
    }

    @Test func clientsLeftOutOnAnUnlistedPortAreCountedAndNoted() throws {
        let dir = try TemporaryFolder()
        let whole = try Self.fleet(in: dir)
        let mixed = try Self.movePort(whole, from: 443, to: 4443, clients: [1, 2], into: dir, name: "mixed.pcap")
        let note = "went to managers on port 4443 of 10.1.0.10 ("
        for command in ["analyze", "audit", "validate"] {
            let run = CLIRun([command, "-q", "--color", "never"] + Self.servers + [mixed])
            let joined = run.stdout.replacingOccurrences(of: "\n", with: " ")
            #expect(joined.contains(" connections from 2 clients (none of them with a check-in judged) " + note),
                    "\(command): \(run.stdout)")
            #expect(joined.contains("If they are check-ins, give each manager with its port (--server 10.1.0.10:4443"))
        }
        let analyze = CLIRun(["analyze", "-q", "--color", "never"] + Self.servers + [mixed])
        #expect(analyze.stdout.contains(" to managers on ports the configuration does not list, "))
        #expect(!analyze.stdout.contains("Client 10.20.0.1:") && analyze.stdout.contains("Client 10.20.0.3:"))
        // The whole fleet on listed ports: no note.
        let plain = CLIRun(["analyze", "-q", "--color", "never"] + Self.servers + [whole])
        #expect(!plain.stdout.contains("configuration does not list"))
    }

    /// A capture of `count` short connections from other hosts (192.0.2.1-50) to 10.1.0.10, each on its own port
    /// from 10000, during the first `count` seconds of `fleet`: set up and closed with no payload, or (every
    /// tenth) carrying a few bytes of neither HTTP nor TLS, as RPC, file sharing or a port scan to a manager host.
    static func otherServices(count: Int, during fleet: String, into dir: TemporaryFolder) throws -> String {
        let fleetBytes = [UInt8](try #require(FileManager.default.contents(atPath: fleet)))
        let first = UInt32(fleetBytes[24]) | UInt32(fleetBytes[25]) << 8 | UInt32(fleetBytes[26]) << 16
            | UInt32(fleetBytes[27]) << 24
        var pcap = PcapBuilder()
        for k in 0..<count {
            let host: [UInt8] = [192, 0, 2, UInt8(1 + k % 50)]
            let manager: [UInt8] = [10, 1, 0, 10]
            let port = UInt16(10_000 + k)
            let clientPort = UInt16(50_000 + k % 10_000)
            let payload: [UInt8] = k % 10 == 0 ? [0x05, 0x00, 0x0b, 0x03, 0x10, 0x00, 0x00, 0x00] : []
            let p = UInt32(payload.count)
            // (from the host, flags, sequence, acknowledgement, payload): SYN, SYN-ACK, ACK, data, FINs.
            let frames: [(Bool, UInt16, UInt32, UInt32, [UInt8])] = [
                (true, 0x002, 1, 0, []), (false, 0x012, 9, 2, []), (true, 0x010, 2, 10, []),
                (true, 0x018, 2, 10, payload), (true, 0x011, 2 + p, 10, []), (false, 0x011, 10, 3 + p, []),
            ]
            for (n, (up, flags, sequence, ack, data)) in frames.enumerated() where flags != 0x018 || !data.isEmpty {
                let tcp = PacketBuilder.tcp(sourcePort: up ? clientPort : port, destinationPort: up ? port : clientPort,
                                            sequence: sequence, acknowledgement: ack, flags: flags, payload: data)
                let ip = PacketBuilder.ipv4(source: up ? host : manager, destination: up ? manager : host, payload: tcp)
                pcap.record(seconds: first + UInt32(k), fraction: UInt32(n * 1_000),
                            data: PacketBuilder.ethernet(type: 0x0800, payload: ip))
            }
        }
        let out = dir.path + "/other-services.pcap"
        try Data(pcap.data).write(to: URL(fileURLWithPath: out))
        return out
    }

    /// Connections to a manager's address on unlisted ports that carried no HTTP or TLS are not check-ins kept
    /// out by the configuration: counted as on other ports, no note and no remedy in any report.
    @Test func connectionsWithoutHTTPOrTLSOnUnlistedPortsAreNotBlamedOnTheConfiguration() throws {
        let dir = try TemporaryFolder()
        let whole = try Self.fleet(in: dir)
        let other = try Self.otherServices(count: 300, during: whole, into: dir)
        let alone = try Self.json(CLIRun(["analyze", "-q", "-F", "json"] + Self.servers + [whole]))
        let both = try Self.json(CLIRun(["analyze", "-q", "-F", "json"] + Self.servers + [whole, other]))
        let counts = try #require(both["counts"] as? [String: Any])
        let aloneCounts = try #require(alone["counts"] as? [String: Any])
        #expect(counts["unlistedPortConnections"] == nil, "\(counts)")
        #expect(counts["ignoredConnections"] as? Int == (aloneCounts["ignoredConnections"] as? Int ?? -1) + 300)
        #expect(counts["otherServerConnections"] as? Int == aloneCounts["otherServerConnections"] as? Int)
        #expect(counts["connections"] as? Int == (aloneCounts["connections"] as? Int ?? -1) + 300)
        #expect((both["summary"] as? [String: Any])?["checkIns"] as? Int
            == (alone["summary"] as? [String: Any])?["checkIns"] as? Int)
        for command in ["analyze", "audit", "validate"] {
            for format in command == "analyze" ? ["text", "html", "csv"] : ["text"] {
                let run = CLIRun([command, "-q", "--color", "never", "-F", format] + Self.servers + [whole, other])
                #expect(!run.stdout.contains("does not list") && !run.stdout.contains("10.1.0.10:100"),
                        "\(command) \(format): \(run.stdout)")
            }
        }
        // Alone: nothing to judge, and no word of the configuration's ports.
        let only = CLIRun(["analyze", "-q", "--color", "never"] + Self.servers + [other])
        #expect(!only.stdout.contains("port the configuration lists") && !only.stdout.contains("--server 10.1.0.10:"),
                "\(only.stdout)")
        #expect(only.stdout.contains(" 300 on other ports"), "\(only.stdout)")
    }

    /// Check-ins on many unlisted ports: the note names the four ports with the most connections, then how many
    /// more, and its remedy the busiest servers and ports.
    @Test func manyUnlistedPortsAreNamedBusiestFirstAndCapped() throws {
        let dir = try TemporaryFolder()
        var moved = try Self.fleet(in: dir)
        // Clients 1-5 each on a port of their own, client 6 on 443.
        for client in UInt8(1)...5 {
            moved = try Self.movePort(moved, from: 443, to: 5_000 + UInt16(client), clients: [client], into: dir,
                                      name: "moved\(client).pcap")
        }
        let analyze = CLIRun(["analyze", "-q", "--color", "never"] + Self.servers + [moved])
        let joined = analyze.stdout.replacingOccurrences(of: "\n", with: " ")
        #expect(joined.contains("went to managers on ports 5005, 5001, 5002, 5003 and 1 more port: 10.1.0.10:5005 "
            + "(13 connections), 10.1.0.10:5001 (12), 10.1.0.10:5003 (12), 10.1.0.11:5002 (12) and 1 more, which"),
                "\(analyze.stdout)")
        #expect(joined.contains("If they are check-ins, give each manager with its port (--server 10.1.0.10:5005 "
            + "--server 10.1.0.10:5001 ...; a bare --server ADDRESS takes the model's ports) or add the ports"))
        for command in ["audit", "validate"] {
            let run = CLIRun([command, "-q", "--color", "never"] + Self.servers + [moved])
            #expect(run.stdout.replacingOccurrences(of: "\n", with: " ").contains(
                "ports 5005, 5001, 5002, 5003 and 1 more port: 10.1.0.10:5005 (13 connections),"), "\(run.stdout)")
        }
    }

    /// Nothing configured, every check-in on 8443: no manager is found (8443 is no model port), and every text report
    /// names the servers clients reach there at the heartbeat interval, with how to have them judged; given so,
    /// they are judged and the note goes.
    @Test func tlsAtTheIntervalOnAPortNothingListsIsNamedWithNothingConfigured() throws {
        let dir = try TemporaryFolder()
        let whole = try Self.fleet(in: dir)
        let moved = try Self.movePort(whole, from: 443, to: 8443, clients: nil, into: dir, name: "https8443.pcap")
        let note = "Note: clients reach 10.1.0.10:8443 (3 clients, 37 connections) and 10.1.0.11:8443 (3, 36) over "
            + "TLS at the heartbeat interval, on a port neither the model nor --server lists, so those connections "
            + "are not judged. If they are check-ins, give each server with its port (--server 10.1.0.10:8443 "
            + "--server 10.1.0.11:8443) or add the port to the model's ports.https in a --model file."
        for command in ["analyze", "audit", "validate"] {
            let run = CLIRun([command, "-q", "--color", "never", moved])
            #expect(run.stdout.replacingOccurrences(of: "\n", with: " ").contains(note), "\(command): \(run.stdout)")
        }
        let json = try Self.json(CLIRun(["analyze", "-q", "-F", "json", moved]))
        #expect((json["summary"] as? [String: Any])?["checkIns"] as? Int == 0)
        #expect((json["counts"] as? [String: Any])?["periodicOtherPortConnections"] as? Int == 73)
        // JSON names the servers as the note does, the same in every command's report.
        let servers = try #require(json["periodicOtherServers"] as? [[String: Any]])
        #expect(servers.map { $0["server"] as? String } == ["10.1.0.10:8443", "10.1.0.11:8443"])
        #expect(servers.map { $0["clients"] as? Int } == [3, 3])
        #expect(servers.map { $0["connections"] as? Int } == [37, 36])
        #expect(servers.allSatisfy { s in
            s["port"] as? Int == 8443 && s["portListed"] as? Bool == false && s["addressIsManager"] as? Bool == false
                && abs((s["intervalSeconds"] as? Double ?? 0) - 300) < 1
        }, "\(servers)")
        for command in ["audit", "validate"] {
            let other = try Self.json(CLIRun([command, "-q", "-F", "json", moved]))
            #expect((other["periodicOtherServers"] as? NSArray) == (servers as NSArray), "\(command)")
        }
        let html = CLIRun(["analyze", "-q", "-F", "html", moved]).stdout
        #expect(html.contains("<p class=\"note\">" + note.replacingOccurrences(of: "'", with: "&#39;") + "</p>"),
                "\(html)")

        // Half the clients on 8443: the servers are managers by their check-ins on 443, and the note says so.
        let half = try Self.movePort(whole, from: 443, to: 8443, clients: [1, 2, 3], into: dir, name: "half.pcap")
        let mixed = CLIRun(["analyze", "-q", "--color", "never", half]).stdout.replacingOccurrences(of: "\n", with: " ")
        #expect(mixed.contains("are not judged (10.1.0.10 and 10.1.0.11 are managers on listed ports). If they are "
                               + "check-ins"), "\(mixed)")
        let mixedJSON = try Self.json(CLIRun(["analyze", "-q", "-F", "json", half]))
        #expect((mixedJSON["periodicOtherServers"] as? [[String: Any]])?.map { $0["addressIsManager"] as? Bool }
            == [true, true])

        let given = CLIRun(["analyze", "-q", "--color", "never", "--server", "10.1.0.10:8443", "--server",
                            "10.1.0.11:8443", moved])
        #expect(!given.stdout.contains("over TLS at the heartbeat interval"), "\(given.stdout)")
        #expect(given.stdout.contains("73 read: 73 to managers"), "\(given.stdout)")
        let givenJSON = try Self.json(CLIRun(["analyze", "-q", "-F", "json", "--server", "10.1.0.10:8443", moved]))
        #expect((givenJSON["counts"] as? [String: Any])?["periodicOtherPortConnections"] == nil)
        #expect((givenJSON["counts"] as? [String: Any])?["otherServerConnections"] as? Int == 36)

        // One of the two given: the other answers TLS at the interval on the listed 8443, is no manager (with a
        // manager configured periodicity makes none), and is named with how to have it judged.
        let listedNote = "Note: clients reach 10.1.0.11:8443 (3 clients, 36 connections) over TLS at the heartbeat "
            + "interval, on a management port, but it is not a configured manager, so those connections are not "
            + "judged. If it is a manager, name it too (--server 10.1.0.11:8443)."
        for command in ["analyze", "audit", "validate"] {
            let run = CLIRun([command, "-q", "--color", "never", "--server", "10.1.0.10:8443", moved])
            #expect(run.stdout.replacingOccurrences(of: "\n", with: " ").contains(listedNote),
                    "\(command): \(run.stdout)")
            let listed = try Self.json(CLIRun([command, "-q", "-F", "json", "--server", "10.1.0.10:8443", moved]))
            let entries = try #require(listed["periodicOtherServers"] as? [[String: Any]], "\(command)")
            #expect(entries.map { $0["server"] as? String } == ["10.1.0.11:8443"])
            #expect(entries.first?["portListed"] as? Bool == true && entries.first?["connections"] as? Int == 36)
        }
        let listedHTML = CLIRun(["validate", "-q", "-F", "html", "--server", "10.1.0.10:8443", moved]).stdout
        #expect(listedHTML.contains("<p class=\"note\">" + listedNote + "</p>"), "\(listedHTML)")

        // The same fleet on 443: its servers are managers (`inferred-tls`), and no note.
        let plain = CLIRun(["analyze", "-q", "--color", "never", whole])
        #expect(!plain.stdout.contains("over TLS at the heartbeat interval"), "\(plain.stdout)")
    }
}
