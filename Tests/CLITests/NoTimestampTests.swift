import Foundation
import Testing
import TestSupport

@testable import CLI

/// A pcapng file of Simple Packet Blocks has no times: the reader warns about it, and the report
/// carries a `capture-gap` warning saying the check-ins' times and intervals are unknown, so such a
/// capture never passes `validate`'s capture-quality check silently.
@Suite struct NoTimestampTests {
    /// The records of the classic pcap at `path` (as `simulate` writes it) as Simple Packet Blocks.
    static func simplePackets(from path: String) throws -> [UInt8] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var file = PcapNGBuilder()
        file.section()
        file.interface(linkType: 1)
        var at = 24
        while at + 16 <= bytes.count {
            let length = Int(bytes[at + 8]) | Int(bytes[at + 9]) << 8 | Int(bytes[at + 10]) << 16
                | Int(bytes[at + 11]) << 24
            file.simplePacket(data: Array(bytes[(at + 16)..<(at + 16 + length)]))
            at += 16 + length
        }
        return file.data
    }

    @Test func simplePacketBlocksAreNotJudgedSilently() throws {
        let dir = try TemporaryFolder()
        let whole = try dir.simulatedCapture("whole.pcap", ["--clients", "3", "--duration", "20m", "--seed", "2"])
        let spb = dir.path + "/spb.pcapng"
        try Data(try Self.simplePackets(from: whole)).write(to: URL(fileURLWithPath: spb))
        let run = sepbeat("analyze", spb)
        let warning = run.stderr.split(separator: "\n").first { $0.contains("carry no time") }
        #expect(warning?.hasPrefix("sepbeat: warning: \(spb): ") == true, "\(run.stderr)")
        #expect(warning?.contains("packets carry no time (pcapng Simple Packet Blocks, or a time of exactly 0)") == true)
        #expect(run.stdout.contains("warning capture-gap: \(spb): "), "\(run.stdout)")
        let validate = sepbeat("validate", "-q", "--fail-on", "warning", spb)
        #expect(validate.status == ExitStatus.findings)
        #expect(validate.stdout.contains("FAIL    warning   capture-quality"), "\(validate.stdout)")
        // The same packets with their times: no such warning.
        let timed = sepbeat("analyze", whole)
        #expect(!timed.stderr.contains("carry no time"))
        #expect(!timed.stdout.contains("carry no time"))
    }
}
