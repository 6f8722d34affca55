import Foundation
import Testing
import TestSupport

/// The same packets given in two files (a capture and an excerpt of it): said once, naming both files, since
/// their bytes count twice in connections and check-ins.
@Suite struct CopiedFileWarningTests {
    /// Records `range` of the classic pcap `path`, with its file header, written as `name`.
    static func excerpt(_ path: String, _ range: Range<Int>, into dir: TemporaryFolder, name: String) throws -> String {
        let (header, records) = try classicPcapRecords(path)
        try #require(records.count >= range.upperBound)
        let out = dir.path + "/" + name
        try Data(header + records[range].flatMap { $0 }).write(to: URL(fileURLWithPath: out))
        return out
    }

    @Test func anExcerptGivenWithItsCaptureIsNamed() throws {
        let dir = try TemporaryFolder()
        let whole = try dir.simulatedCapture("whole.pcap", ["--clients", "20", "--duration", "1h", "--seed", "5"])
        let part = try Self.excerpt(whole, 3_000..<4_000, into: dir, name: "part.pcap")
        let run = CLIRun(["analyze", "-q", "-F", "json", "-o", dir.path + "/r.json", whole, part])
        #expect(run.status == 0 || run.status == 1)
        let text = CLIRun(["analyze", "--color", "never", whole, part])
        let lines = text.stderr.split(separator: "\n").filter { $0.contains("exact copies of packets of") }
        #expect(lines.count == 1, "\(text.stderr)")
        #expect(lines.first?.contains("part.pcap: 1000 packets are exact copies of packets of \(whole)") == true,
                "\(text.stderr)")
        // Each file alone, or two different captures: no such warning.
        let alone = CLIRun(["analyze", "--color", "never", whole])
        #expect(!alone.stderr.contains("exact copies of packets of"), "\(alone.stderr)")
        let other = try dir.simulatedCapture("other.pcap", ["--clients", "20", "--duration", "1h", "--seed", "6"])
        let two = CLIRun(["analyze", "--color", "never", whole, other])
        #expect(!two.stderr.contains("exact copies of packets of"), "\(two.stderr)")
    }
}
