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
}
