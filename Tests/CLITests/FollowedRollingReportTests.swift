import Analysis
import Capture
import Foundation
import Synchronization
import Testing
import TestSupport

@testable import CLI

#if canImport(Glibc)
import Glibc
#endif

/// `--every` with a followed input (`ssh sensor tcpdump -U -w - | sepbeat analyze - --every 60 -o now.json`): the
/// report so far replaces the -o file while the input goes on, as for a live capture; with regular files only it
/// stays refused.
@Suite(.serialized) struct FollowedRollingReportTests {
    /// The check-in capture (6 check-ins five minutes apart, 101 packets) cut after its fifth check-in's packets.
    static func parts() throws -> (header: [UInt8], first: [ArraySlice<UInt8>], second: [ArraySlice<UInt8>]) {
        let (header, records) = try classicPcapRecords(heartbeatCapture("https-idle"))
        try #require(records.count == 101)
        return (header, Array(records[..<84]), Array(records[84...]))
    }

    static func report(at path: String) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    static func checkIns(_ report: [String: Any]?) -> Int? {
        (report?["summary"] as? [String: Any])?["checkIns"] as? Int
    }

    static func packets(_ report: [String: Any]?) -> Int? {
        (report?["captures"] as? [[String: Any]])?.first?["packets"] as? Int
    }

    /// A FIFO or a pipe on standard input fed the capture in two parts with a pause between: a report so far
    /// holding the first part's check-ins (those its own packets' clock ended: the capture is old, so the
    /// system's clock is not followed) replaces the -o file before the second part is written; the final report
    /// replaces it when the writer ends the input.
    @Test(arguments: [true, false]) func aFollowedInputFedInTwoPartsReportsTheFirstBeforeTheSecond(fifo: Bool) throws {
        let folder = try TemporaryFolder()
        let (header, first, second) = try Self.parts()
        let report = folder.path + "/now.json"
        let writer: Int32
        let run: FollowedInputCLITests.Run
        if fifo {
            let path = folder.path + "/capture.fifo"
            try #require(mkfifo(path, 0o600) == 0)
            run = try FollowedInputCLITests.Run(["analyze", "-q", "-F", "json", "--every", "1", "-o", report, path],
                                                input: nil, folder: folder.path)
            // Open for reading and writing: no wait for the reader.
            writer = open(path, O_RDWR)
        } else {
            var ends: [Int32] = [-1, -1]
            try #require(pipe(&ends) == 0)
            run = try FollowedInputCLITests.Run(["analyze", "-q", "-F", "json", "--every", "1", "-o", report, "-"],
                                                input: ends[0], folder: folder.path)
            close(ends[0])
            writer = ends[1]
        }
        try #require(writer >= 0)
        var writing = true
        defer { if writing { close(writer) } }
        try FollowedInputCLITests.write(header + first.flatMap { Array($0) }, to: writer)
        // The first part's report so far, while the writer is quiet and the process goes on.
        #expect(run.wait { Self.packets(Self.report(at: report)) == 84 }, "stderr: \(run.stderr)")
        let soFar = Self.report(at: report)
        #expect(run.process.isRunning)
        // Check-ins 1 to 3 ended on the packets' clock; 4 and 5 are not ended on it yet, and are in it as the
        // capture's end would make them (the final report of the capture cut there has 5).
        #expect(Self.checkIns(soFar) == 5)
        try FollowedInputCLITests.write(second.flatMap { Array($0) }, to: writer)
        close(writer)
        writing = false
        #expect(run.finish() == ExitStatus.ok, "stderr: \(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.isEmpty)
        let final = Self.report(at: report)
        #expect(Self.checkIns(final) == 6)
        #expect(Self.packets(final) == 101)
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix(".") }
        #expect(left.isEmpty, "no temporary report is left: \(left)")
    }

    /// A report so far says it is one in each format that has a capture summary (JSON `soFar`, a line of the
    /// text report, a note of the HTML one), so that a reader of the -o file does not take it for the final
    /// report; the final report says nothing of it.
    @Test(arguments: [("json", #""soFar" : true"#), ("text", "report so far: the input is still being read"),
                      ("html", "Report so far: the input is still being read")])
    func aReportSoFarSaysItIsOne(format: String, mark: String) throws {
        let folder = try TemporaryFolder()
        let (header, first, second) = try Self.parts()
        let report = folder.path + "/now." + format
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        let run = try FollowedInputCLITests.Run(
            ["analyze", "-q", "-F", format, "--color", "never", "--every", "1", "-o", report, "-"],
            input: ends[0], folder: folder.path)
        close(ends[0])
        var writing = true
        defer { if writing { close(ends[1]) } }
        try FollowedInputCLITests.write(header + first.flatMap { Array($0) }, to: ends[1])
        let read = { (try? String(contentsOfFile: report, encoding: .utf8)) ?? "" }
        #expect(run.wait { read().contains(mark) }, "stderr: \(run.stderr)")
        #expect(read().components(separatedBy: mark).count == 2, "marked once")
        try FollowedInputCLITests.write(second.flatMap { Array($0) }, to: ends[1])
        close(ends[1])
        writing = false
        #expect(run.finish() == ExitStatus.ok, "stderr: \(run.stderr)")
        #expect(!read().isEmpty)
        #expect(!read().contains(mark))
        #expect(!read().contains("so far"))
    }

    /// A report so far made after the file header but before the first packet lists the input, marked, with
    /// nothing read yet (it listed no capture, so a reader could not tell it from an empty final report).
    @Test func aReportSoFarBeforeTheFirstPacketListsTheInput() throws {
        let folder = try TemporaryFolder()
        let (header, first, second) = try Self.parts()
        let report = folder.path + "/now.json"
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        let run = try FollowedInputCLITests.Run(["analyze", "-q", "-F", "json", "--every", "1", "-o", report, "-"],
                                                input: ends[0], folder: folder.path)
        close(ends[0])
        var writing = true
        defer { if writing { close(ends[1]) } }
        try FollowedInputCLITests.write(header, to: ends[1])
        let read = { (try? String(contentsOfFile: report, encoding: .utf8)) ?? "" }
        #expect(run.wait { !read().isEmpty }, "stderr: \(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(read().utf8)) as? [String: Any])
        let captures = try #require(json["captures"] as? [[String: Any]])
        #expect(captures.count == 1)
        #expect(captures.first?["path"] as? String == "-")
        #expect(captures.first?["packets"] as? Int == 0)
        #expect(captures.first?["soFar"] as? Bool == true)
        try FollowedInputCLITests.write((first + second).flatMap { Array($0) }, to: ends[1])
        close(ends[1])
        writing = false
        #expect(run.finish() == ExitStatus.ok, "stderr: \(run.stderr)")
        #expect(!read().contains("soFar"))
    }

    @Test func everyIsRefusedWithRegularFilesOnlyAndWantsAnOutputFile() throws {
        let folder = try TemporaryFolder()
        let capture = heartbeatCapture("https-idle")
        var run = CLIRun(["analyze", "--every", "60", "-o", folder.path + "/r.json", capture])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr == "sepbeat analyze: --every goes with -i (a live capture) or a followed input (standard "
            + "input that is not a regular file, or a FIFO named as a capture); capture files are read whole\n")
        // A regular file given as standard input is read whole too.
        let file = open(capture, O_RDONLY)
        try #require(file >= 0)
        defer { close(file) }
        var output = Output()
        output.capture = true
        output.inputFD = file
        let status = SepbeatCommand.run(arguments: ["validate", "--every", "60", "-o", folder.path + "/r.json", "-"],
                                        output: &output)
        #expect(status == ExitStatus.usage)
        #expect(output.standardError.hasPrefix("sepbeat validate: --every goes with -i (a live capture) or a followed "
            + "input"))
        // A FIFO is followed: --every goes with it, given an -o FILE it can replace (refused before the FIFO is
        // opened, which would wait for a writer).
        let fifo = folder.path + "/capture.fifo"
        try #require(mkfifo(fifo, 0o600) == 0)
        run = CLIRun(["audit", "--every", "60", fifo])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr == "sepbeat audit: --every writes the report so far to the -o FILE it replaces each "
            + "time; give -o FILE\n")
        run = CLIRun(["analyze", "--every", "60", "-o", fifo, fifo])
        #expect(run.status == ExitStatus.usage)
        // The other options of a live capture still go with -i only.
        run = CLIRun(["analyze", "--every", "60", "--duration", "5", "-o", folder.path + "/r.json", fifo])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr == "sepbeat analyze: --duration goes with -i (a live capture); capture files are read "
            + "whole\n")
    }

    /// The capture's records from `start` on, their times moved by `shift` seconds.
    static func shifted(_ records: [ArraySlice<UInt8>], by shift: Int) -> [UInt8] {
        var out: [UInt8] = []
        for record in records {
            var bytes = Array(record)
            let seconds = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
            let moved = UInt32(truncatingIfNeeded: seconds + shift)
            for i in 0..<4 { bytes[i] = UInt8(truncatingIfNeeded: moved >> (8 * i)) }
            out += bytes
        }
        return out
    }

    /// Reads the two parts through a pipe followed with rolling reports, the second written after a pause of
    /// `pause` seconds; the connections handed out before it was written, and the packets of the reports so far.
    static func readInTwoParts(recent: Bool, pause: Double) throws -> (before: Int, all: Int, reports: [Int]) {
        let (header, first, second) = try Self.parts()
        // Recent: the first part's last packet stamped now, as a sensor's packets captured now.
        let lastSecond = first.last.map { Int($0[$0.startIndex]) | Int($0[$0.startIndex + 1]) << 8
            | Int($0[$0.startIndex + 2]) << 16 | Int($0[$0.startIndex + 3]) << 24 } ?? 0
        let shift = recent ? Int(Date().timeIntervalSince1970) - lastSecond : 0
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]) }
        try FollowedInputCLITests.write(header + shifted(first, by: shift), to: ends[1])
        var configuration = AnalysisConfiguration()
        configuration.streamLimits.idleTimeout = 2_000_000_000
        configuration.streamLimits.closeLinger = 500_000_000
        var run = CaptureRun(paths: ["/dev/fd/\(ends[0])"], configuration: configuration)
        run.stop = LiveStopRequest()
        var reports: [Int] = []
        run.rolling = RollingReports(intervalNanoseconds: 500_000_000) { soFar in
            reports.append(soFar.files.first?.packets ?? -1)
        }
        let delivered = Atomic<Int>(0)
        let before = Atomic<Int>(-1)
        let secondPart = shifted(second, by: shift)
        let writeEnd = ends[1]
        let writer = Thread {
            usleep(UInt32(pause * 1e6))
            before.store(delivered.load(ordering: .sequentiallyConsistent), ordering: .sequentiallyConsistent)
            _ = secondPart.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) }
            close(writeEnd)
        }
        let source = try run.open()
        writer.start()
        _ = try run.run(source) { _ in delivered.add(1, ordering: .sequentiallyConsistent) }
        return (before.load(ordering: .sequentiallyConsistent), delivered.load(ordering: .sequentiallyConsistent),
                reports)
    }

    /// Recent packets: while the input is quiet the connection clock follows the system's, so the first part's
    /// last connection (idle past the table's timeout) is handed out before the second part comes.
    @Test func aQuietInputOfRecentPacketsFollowsTheSystemsClock() throws {
        let (before, all, reports) = try Self.readInTwoParts(recent: true, pause: 6)
        #expect(before == 5)
        #expect(all == 6)
        #expect(reports.contains(84), "reports so far were made while the input was quiet: \(reports)")
    }

    /// Old packets (a capture of long ago followed): the system's clock says nothing of theirs, so only the
    /// packets' clock moves the table: the first part's last two connections wait for the second part (the last
    /// is open on the packets' clock, and the clock's step of five minutes to it awaits a second flow to confirm
    /// it, `ConnectionTable`, so the one before has not timed out on it yet).
    @Test func aQuietInputOfOldPacketsKeepsThePacketsClock() throws {
        let (before, all, reports) = try Self.readInTwoParts(recent: false, pause: 6)
        #expect(before == 3)
        #expect(all == 6)
        #expect(reports.contains(84), "reports so far were made while the input was quiet: \(reports)")
    }
}
