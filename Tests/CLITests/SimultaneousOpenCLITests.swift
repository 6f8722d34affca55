import Foundation
import Testing
import TestSupport

/// A plain-HTTP check-in on a connection opened simultaneously (both ends sent a SYN, then each a SYN-ACK): one
/// connection and one check-in to the manager, counted on the `odd:` line. Before, two connections, the second
/// with the roles reversed, so the client was taken for a manager.
@Suite struct SimultaneousOpenCLITests {
    /// A plain-HTTP check-in's request and answer, from client 10.20.0.1 to manager 10.1.0.10.
    static let request = Array(("GET /secars/secars.dll?h=00 HTTP/1.1\r\nHost: 10.1.0.10:8014\r\nUser-Agent: Smc\r\n"
        + "\r\n").utf8)
    static let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".utf8)

    /// One TCP segment of the client's (or the manager's) side. Flags: SYN 0x02, ACK 0x10, PSH 0x08, FIN 0x01.
    typealias Segment = (fromClient: Bool, seq: UInt32, ack: UInt32, flags: UInt16, payload: [UInt8])

    /// Writes `segments`, 1 ms apart, between the client's port `clientPort` and the manager's 8014, as `name` in
    /// `folder`; returns its path.
    static func write(
        _ segments: [Segment], clientPort: UInt16 = 8014, name: String, into folder: TemporaryFolder
    ) throws -> String {
        let client: [UInt8] = [10, 20, 0, 1], manager: [UInt8] = [10, 1, 0, 10]
        var file = PcapBuilder()
        for (i, s) in segments.enumerated() {
            let tcp = PacketBuilder.tcp(sourcePort: s.fromClient ? clientPort : 8014,
                                        destinationPort: s.fromClient ? 8014 : clientPort, sequence: s.seq,
                                        acknowledgement: s.ack, flags: s.flags, payload: s.payload)
            let ip = PacketBuilder.ipv4(source: s.fromClient ? client : manager,
                                        destination: s.fromClient ? manager : client, payload: tcp)
            file.record(seconds: 1_705_305_600, fraction: UInt32(1_000 * i),
                        data: PacketBuilder.ethernet(type: 0x0800, payload: ip))
        }
        let out = folder.path + "/" + name
        try Data(file.data).write(to: URL(fileURLWithPath: out))
        return out
    }

    static func capture(into folder: TemporaryFolder) throws -> String {
        let a: UInt32 = 1_000, b: UInt32 = 5_000, up = UInt32(request.count), down = UInt32(answer.count)
        return try write([
            (true, a, 0, 0x02, []), (false, b, 0, 0x02, []),
            (true, a, b + 1, 0x12, []), (false, b, a + 1, 0x12, []),
            (true, a + 1, b + 1, 0x18, request), (false, b + 1, a + 1 + up, 0x18, answer),
            (true, a + 1 + up, b + 1 + down, 0x11, []), (false, b + 1 + down, a + 2 + up, 0x11, []),
            (true, a + 2 + up, b + 2 + down, 0x10, []),
        ], name: "simultaneous.pcap", into: folder)
    }

    /// The request on the client's first SYN (data on SYN), as a normal open with data on SYN carries it: one
    /// check-in, answered. Before, the server's SYN started a connection of its own: a `connect-timeout` for the
    /// client, and the manager a client of the client's port.
    @Test func aSimultaneousOpenWithTheRequestOnItsSynIsOneCheckIn() throws {
        let folder = try TemporaryFolder()
        let request = Self.request, answer = Self.answer
        let a: UInt32 = 1_000, b: UInt32 = 5_000, up = UInt32(request.count), down = UInt32(answer.count)
        let path = try Self.write([
            (true, a, 0, 0x02, request), (false, b, 0, 0x02, []),
            (true, a, b + 1, 0x12, []), (false, b, a + 1 + up, 0x12, []),
            (false, b + 1, a + 1 + up, 0x18, answer),
            (true, a + 1 + up, b + 1 + down, 0x11, []), (false, b + 1 + down, a + 2 + up, 0x11, []),
            (true, a + 2 + up, b + 2 + down, 0x10, []),
        ], clientPort: 40_000, name: "data-on-syn.pcap", into: folder)
        let run = CLIRun(["analyze", path])
        #expect(run.stdout.contains("  odd: simultaneous opens 1 "), "\(run.stdout)")
        #expect(run.stdout.contains("Connections: 1 read: 1 to managers,"))
        #expect(run.stdout.contains("index-check    up 79 B, down 43 B") && !run.stdout.contains("connect-timeout"))
        #expect(run.status == 0, "\(run.stdout)")
    }

    @Test func aSimultaneousOpenIsOneCheckInCountedAsOdd() throws {
        let folder = try TemporaryFolder()
        let path = try Self.capture(into: folder)
        let text = CLIRun(["analyze", path]).stdout
        #expect(text.contains("  odd: simultaneous opens 1 (both ends sent a SYN, then each a SYN-ACK"), "\(text)")
        #expect(text.contains("Connections: 1 read: 1 to managers,"))
        let json = try #require(try JSONSerialization.jsonObject(
            with: Data(CLIRun(["analyze", "-q", "-F", "json", path]).stdout.utf8)) as? [String: Any])
        let capture = try #require((json["captures"] as? [[String: Any]])?.first)
        #expect(capture["simultaneousOpens"] as? Int == 1)
        let managers = (json["managers"] as? [[String: Any]])?.compactMap { $0["address"] as? String }
        #expect(managers == ["10.1.0.10"])
        let sessions = try #require(json["sessions"] as? [[String: Any]])
        #expect(sessions.count == 1 && sessions.first?["client"] as? String == "10.20.0.1")
    }
}
