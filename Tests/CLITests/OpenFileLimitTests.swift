import Foundation
import Testing
import TestSupport

@testable import CLI

/// Many capture files under a low open-file limit (`ulimit -n`): files that follow each other in time
/// are opened one after the other, and when the limit is reached anyway the message says so instead
/// of blaming a file.
@Suite struct OpenFileLimitTests {
    /// Cuts the classic pcap at `path` (little-endian, nanoseconds, as `simulate` writes it) into `pieces` files of
    /// consecutive records, as `tcpdump -C` rotation writes them; returns their paths in order.
    static func rotate(_ path: String, into pieces: Int, in dir: TemporaryFolder) throws -> [String] {
        let (header, records) = try classicPcapRecords(path)
        try #require(header[2] == 0xB2 && header[3] == 0xA1)
        try #require(records.count >= pieces)
        var paths: [String] = []
        for n in 0..<pieces {
            var file = header
            for record in records[(n * records.count / pieces)..<((n + 1) * records.count / pieces)] {
                file += record
            }
            let name = dir.path + "/p" + String(format: "%05d", n) + ".pcap"
            try Data(file).write(to: URL(fileURLWithPath: name))
            paths.append(name)
        }
        return paths
    }

    static func json(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// 300 rotated files under `ulimit -n 40`: the merged report, in order and with `--jobs 2`, is the
    /// one of the same files read without the limit (it failed with "Too many open files" at the
    /// 30-odd-th file), with every check-in of the whole capture.
    @Test func rotatedFilesBeyondTheLimitAreRead() throws {
        let binary = try CLIRun.builtBinary()
        let dir = try TemporaryFolder()
        let whole = try dir.simulatedCapture("whole.pcap", ["--clients", "6", "--duration", "1h", "--seed", "4",
                                                            "--push-share", "0.3"])
        let pieces = try Self.rotate(whole, into: 300, in: dir)
        #expect(pieces.count == 300)
        let one = CLIRun(["analyze", "-q", "-F", "json", "-o", dir.path + "/one.json", whole])
        let free = CLIRun(["analyze", "-q", "-F", "json", "-o", dir.path + "/free.json"] + pieces)
        #expect([ExitStatus.ok, ExitStatus.findings].contains(free.status), "\(free.stderr)")
        let expected = try Self.json(dir.path + "/free.json")
        let checkIns = (try Self.json(dir.path + "/one.json")["summary"] as? [String: Any])?["checkIns"] as? Int
        #expect(one.status == ExitStatus.ok && (checkIns ?? 0) > 50)
        for jobs in ["1", "2"] {
            let report = dir.path + "/many\(jobs).json"
            let (reason, status, stderr) = try OutputSafetyTests.runWithFileSizeLimit(
                binary, ["analyze", "-q", "-j", jobs, "-F", "json", "-o", report] + pieces, ulimit: "-n 40")
            #expect(reason == .exit)
            #expect(status == free.status, "-j \(jobs): \(stderr)")
            #expect(stderr.isEmpty, "-j \(jobs): \(stderr)")
            let got = try Self.json(report)
            #expect(NSDictionary(dictionary: got) == NSDictionary(dictionary: expected), "-j \(jobs)")
            #expect((got["captures"] as? [Any])?.count == 300)
            #expect((got["summary"] as? [String: Any])?["checkIns"] as? Int == checkIns)
        }
    }

    /// A file the own classic pcap reader hands to libpcap part way (two captures joined with `cat`), read with
    /// another that overlaps it in time, under each open-file limit from too low to start up to one with room
    /// to spare: every run that completes reads every packet of both. The hand-over took a further descriptor
    /// (a copy of the reader's), so at the lowest limit that opens both files it stopped the joined file half
    /// way ("libpcap could not take the file over from the own pcap reader (Too many open files)"), where
    /// libpcap alone reads it whole.
    @Test func aHandOverToLibpcapNeedsNoFurtherOpenFile() throws {
        let binary = try CLIRun.builtBinary()
        let dir = try TemporaryFolder()
        let whole = try dir.simulatedCapture("whole.pcap", ["--clients", "2", "--duration", "10m", "--seed", "4"])
        let packets = try classicPcapRecords(whole).records.count
        var data = try Data(contentsOf: URL(fileURLWithPath: whole))
        let joined = dir.path + "/joined.pcap"
        try (data + data).write(to: URL(fileURLWithPath: joined))
        // The header's unused sigfigs field tells the copy apart (a copy with the same bytes would be read once).
        data[12] = 1
        let copy = dir.path + "/copy.pcap"
        try data.write(to: URL(fileURLWithPath: copy))
        var completed = 0
        for limit in 3...16 {
            let report = dir.path + "/report\(limit).json"
            let (_, status, stderr) = try OutputSafetyTests.runWithFileSizeLimit(
                binary, ["analyze", "-F", "json", "-o", report, joined, copy], ulimit: "-n \(limit)")
            // Too low a limit to start, or to open both files, is said as such (other tests).
            guard [ExitStatus.ok, ExitStatus.findings].contains(status) else { continue }
            completed += 1
            #expect(!stderr.contains("could not take the file over"), "ulimit -n \(limit): \(stderr)")
            let captures = try #require(try Self.json(report)["captures"] as? [[String: Any]])
            #expect(captures.map { $0["packets"] as? Int } == [2 * packets, packets], "ulimit -n \(limit)")
        }
        #expect(completed > 0)
    }

    /// Files that all overlap in time must be open together: past the limit, one line says that the
    /// open-file limit was reached (with its value) and names the file only as where it happened.
    @Test func overlappingFilesPastTheLimitSayWhy() throws {
        let binary = try CLIRun.builtBinary()
        let dir = try TemporaryFolder()
        let whole = try dir.simulatedCapture("whole.pcap", ["--clients", "2", "--duration", "10m", "--seed", "4"])
        var data = try Data(contentsOf: URL(fileURLWithPath: whole))
        var copies: [String] = []
        for n in 0..<60 {
            let copy = dir.path + "/c\(n).pcap"
            // The same packets; the header's unused sigfigs field tells the files apart (a copy with the
            // same bytes would be read once).
            data[12] = UInt8(n)
            try data.write(to: URL(fileURLWithPath: copy))
            copies.append(copy)
        }
        for jobs in ["1", "2"] {
            let (_, status, stderr) = try OutputSafetyTests.runWithFileSizeLimit(
                binary, ["analyze", "-q", "-j", jobs] + copies, ulimit: "-n 30")
            #expect(status == ExitStatus.unreadableInput, "\(stderr)")
            let lines = stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(stderr)")
            #expect(stderr.hasPrefix("sepbeat analyze: too many files open at once: the open-file limit "
                + "(ulimit -n 30) is reached; raise it"), "\(stderr)")
            #expect(stderr.contains("(opening \(dir.path)/c"), "\(stderr)")
            #expect(!stderr.contains("Too many open files"), "\(stderr)")
        }
    }
}
