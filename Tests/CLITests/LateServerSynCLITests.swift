import Foundation
import Testing
import TestSupport

/// A SYN from the manager (the end that sent the SYN-ACK) with a new sequence number, on its connection still open.
/// Before, it started a connection of its own: the manager read as a client of the client's port, and the check-in
/// lost its close (the FINs went to the new connection). Now it is left out and counted on the `odd:` line.
@Suite struct LateServerSynCLITests {
    @Test func aManagerSynOnAnOpenConnectionIsCountedAndLeftOut() throws {
        let folder = try TemporaryFolder()
        let request = SimultaneousOpenCLITests.request, answer = SimultaneousOpenCLITests.answer
        let a: UInt32 = 1_000, b: UInt32 = 5_000, up = UInt32(request.count), down = UInt32(answer.count)
        let path = try SimultaneousOpenCLITests.write([
            (true, a, 0, 0x02, []), (false, b, a + 1, 0x12, []), (true, a + 1, b + 1, 0x10, []),
            (true, a + 1, b + 1, 0x18, request), (false, b + 1, a + 1 + up, 0x18, answer),
            (false, 9_000, 0, 0x02, []),
            (true, a + 1 + up, b + 1 + down, 0x11, []), (false, b + 1 + down, a + 2 + up, 0x11, []),
            (true, a + 2 + up, b + 2 + down, 0x10, []),
        ], clientPort: 40_000, name: "late-syn.pcap", into: folder)
        let text = CLIRun(["analyze", path]).stdout
        #expect(text.contains("  odd: late server SYNs 1 (the end that answered a handshake sent a SYN"), "\(text)")
        #expect(text.contains("Connections: 1 read: 1 to managers,"), "\(text)")
        #expect(text.contains("7 disconnect     up 0 B, down 0 B, confidence 0.95: FIN from client, FIN from server"))
        let json = try #require(try JSONSerialization.jsonObject(
            with: Data(CLIRun(["analyze", "-q", "-F", "json", path]).stdout.utf8)) as? [String: Any])
        let capture = try #require((json["captures"] as? [[String: Any]])?.first)
        #expect(capture["lateServerSyns"] as? Int == 1)
        let sessions = try #require(json["sessions"] as? [[String: Any]])
        #expect(sessions.map { $0["client"] as? String } == ["10.20.0.1"])
    }
}
