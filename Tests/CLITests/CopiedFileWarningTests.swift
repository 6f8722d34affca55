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

    /// A second sensor's copy of the same capture, each packet 1 µs after its original: the copies are the
    /// second file's, warned of once by name; the first file is not said to hold copies of its own.
    @Test func aCopyMomentsLaterIsTheCopyingFilesNotTheOriginals() throws {
        let dir = try TemporaryFolder()
        let whole = try dir.simulatedCapture("a.pcap", ["--clients", "5", "--duration", "30m", "--seed", "7"])
        let (header, records) = try classicPcapRecords(whole)
        var later = header
        for record in records {
            var r = Array(record)
            // Nanosecond timestamps (as simulate writes them): 1,000 ns more, carried into the seconds.
            var nanos = UInt32(r[4]) | UInt32(r[5]) << 8 | UInt32(r[6]) << 16 | UInt32(r[7]) << 24
            var seconds = UInt32(r[0]) | UInt32(r[1]) << 8 | UInt32(r[2]) << 16 | UInt32(r[3]) << 24
            nanos += 1_000
            if nanos >= 1_000_000_000 { nanos -= 1_000_000_000; seconds += 1 }
            for k in 0..<4 { r[k] = UInt8(seconds >> (8 * k) & 0xff); r[4 + k] = UInt8(nanos >> (8 * k) & 0xff) }
            later += r
        }
        let copy = dir.path + "/b.pcap"
        try Data(later).write(to: URL(fileURLWithPath: copy))
        let run = CLIRun(["analyze", "--color", "never", whole, copy])
        let lines = run.stderr.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.contains("b.pcap: \(records.count) packets are exact copies of packets of") }.count
                == 1, "\(run.stderr)")
        #expect(!lines.contains { $0.contains("a.pcap:") && $0.contains("exact copies") }, "\(run.stderr)")
        #expect(!lines.contains { $0.contains("are exact copies of one just before") }, "\(run.stderr)")
        let json = CLIRun(["analyze", "-q", "-F", "json", whole, copy])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let captures = try #require(report["captures"] as? [[String: Any]])
        #expect(captures.count == 2)
        #expect(captures.first?["duplicatePackets"] == nil)
        #expect(captures.last?["duplicatePackets"] as? Int == records.count)
    }
}
