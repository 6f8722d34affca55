import Foundation
import Testing
import TestSupport

/// A capture rotated into many consecutive files (`tcpdump -C`, `editcap -c`): a quiet minute that falls
/// on a file boundary is the same quiet the files themselves hold, not time the capture missed, so the
/// intervals across it are judged as in the one file (a missed check-in there was hidden, and the
/// verdict passed).
@Suite struct RotatedFilesTests {
    /// `path` (a little-endian Ethernet pcap) cut into files of `perFile` packets each; their paths.
    static func rotated(_ path: String, perFile: Int, into folder: TemporaryFolder) throws -> [String] {
        let pcap = try #require(PcapFileRecords(path: path))
        let nanoseconds = pcap.nanoseconds
        var paths: [String] = []
        var file = PcapBuilder(nanoseconds: nanoseconds)
        var count = 0
        func flush() throws {
            guard count > 0 else { return }
            let out = folder.path + "/part-\(String(format: "%04d", paths.count)).pcap"
            try Data(file.data).write(to: URL(fileURLWithPath: out))
            paths.append(out)
            file = PcapBuilder(nanoseconds: nanoseconds)
            count = 0
        }
        for r in pcap.records {
            file.record(seconds: r.seconds, fraction: r.fraction, data: r.frame)
            count += 1
            if count == perFile { try flush() }
        }
        try flush()
        return paths
    }

    static func findings(_ run: CLIRun) throws -> [String] {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        return (json["findings"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
    }

    @Test func aFleetRotatedIntoSmallFilesIsJudgedAsTheOneFile() throws {
        let folder = try TemporaryFolder()
        let whole = Fixtures.captures + "/heartbeat/fleet.pcap"
        let parts = try Self.rotated(whole, perFile: 20, into: folder)
        #expect(parts.count > 50)
        let one = CLIRun(["analyze", "-q", "-F", "json", whole])
        let many = CLIRun(["analyze", "-q", "-F", "json"] + parts)
        #expect(many.status == one.status)
        #expect(try Self.findings(one).contains("missed-heartbeat"))
        #expect(try Self.findings(many).sorted() == Self.findings(one).sorted())
        let audit = CLIRun(["audit", "-q", "-F", "json"] + parts)
        #expect(audit.status == CLIRun(["audit", "-q", "-F", "json", whole]).status)
    }

    /// A file missing from the set (a stretch far longer than any quiet one inside the files) is still time
    /// the capture did not cover.
    @Test func aMissingFileIsStillNamed() throws {
        let folder = try TemporaryFolder()
        let parts = try Self.rotated(Fixtures.captures + "/heartbeat/fleet.pcap", perFile: 200, into: folder)
        try #require(parts.count >= 5)
        var kept = parts
        kept.remove(at: parts.count / 2)
        let run = CLIRun(["analyze", "-q", "--color", "never"] + kept)
        #expect(run.stdout.contains("the capture does not cover this time (between capture files)"), "\(run.stdout)")
    }
}
