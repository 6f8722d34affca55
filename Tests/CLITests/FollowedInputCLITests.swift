import CLI
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A capture followed on standard input or through a FIFO (`tcpdump -w - | sepbeat analyze -`): the first
/// SIGINT, SIGTERM or SIGHUP ends the input and the report is written, as for a live capture; a second one
/// stops the process. A regular file, also given as standard input, is stopped by the first signal as before.
@Suite(.serialized) struct FollowedInputCLITests {
    /// A `sepbeat` process and the files its standard output and error go to.
    struct Run {
        let process: Process
        let folder: String

        var stdoutPath: String { folder + "/stdout" }
        var stderrPath: String { folder + "/stderr" }
        var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
        var stdout: Data { FileManager.default.contents(atPath: stdoutPath) ?? Data() }

        /// Starts the built binary with `arguments`, reading `input` (nil: no standard input) and writing to
        /// `output` (nil: a file in `folder`).
        init(_ arguments: [String], input: Int32?, output: Int32? = nil, folder: String) throws {
            self.folder = folder
            process = Process()
            process.executableURL = URL(fileURLWithPath: try CLIRun.builtBinary())
            process.arguments = arguments
            if let input { process.standardInput = FileHandle(fileDescriptor: input, closeOnDealloc: false) }
            _ = FileManager.default.createFile(atPath: folder + "/stdout", contents: nil)
            _ = FileManager.default.createFile(atPath: folder + "/stderr", contents: nil)
            process.standardOutput = output.map { FileHandle(fileDescriptor: $0, closeOnDealloc: false) }
                ?? FileHandle(forWritingAtPath: folder + "/stdout")
            process.standardError = FileHandle(forWritingAtPath: folder + "/stderr")
            try CLIRun.runWithSignalsUnblocked(process)
        }

        /// Waits until `condition` holds or the process ends (at most 30 s); whether it held.
        @discardableResult func wait(until condition: () -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(30)
            while !condition(), process.isRunning, Date() < deadline { usleep(2_000) }
            return condition()
        }

        /// Sends `signal`; false when the process has ended already.
        func send(_ signal: Int32) -> Bool {
            process.isRunning && kill(process.processIdentifier, signal) == 0
        }

        /// Waits for the end (30 s at most, then the process is killed); the status a shell reports.
        func finish() -> Int32 {
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning, Date() < deadline { usleep(2_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            let status = process.terminationStatus
            return process.terminationReason == .uncaughtSignal ? 128 + status : status
        }

        /// The JSON report on standard output.
        func report() throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: stdout) as? [String: Any], "stderr: \(stderr)")
        }
    }

    /// Bytes in the pipe or FIFO `descriptor` belongs to that its reader has not taken yet.
    static func unread(_ descriptor: Int32) -> Int32 {
        var count: Int32 = 0
        return ioctl(descriptor, UInt(FIONREAD), &count) == 0 ? count : -1
    }

    static func write(_ bytes: [UInt8], to descriptor: Int32) throws {
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        try #require(written == bytes.count)
    }

    /// The check-in capture followed in these tests, and the first 30 bytes of its first record again: a
    /// record the stop cuts part-way (47 KiB in all, under a pipe's 64 KiB, so it is written at once).
    static func capture() throws -> (bytes: [UInt8], packets: Int) {
        let (header, records) = try classicPcapRecords(heartbeatCapture("https-idle"))
        let first = try #require(records.first)
        return (header + records.flatMap { Array($0) } + Array(first.prefix(30)), records.count)
    }

    /// What the whole capture gives when read as a file.
    static func wholeReport() throws -> [String: Any] {
        let run = CLIRun(["analyze", "-F", "json", heartbeatCapture("https-idle")])
        return try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    }

    /// The report of an input the signal `name` ended after `packets` packets: the whole capture's check-ins,
    /// the summary saying so, and no truncation claimed for the record the stop cut.
    static func expectEndedReport(_ report: [String: Any], name: String, packets: Int, capture: Int = 0) throws {
        let whole = try wholeReport()
        let summary = try #require(report["summary"] as? [String: Any])
        let expected = try #require(whole["summary"] as? [String: Any])
        #expect(summary["checkIns"] as? Int == expected["checkIns"] as? Int)
        #expect(summary["sessions"] as? Int == expected["sessions"] as? Int)
        let captures = try #require(report["captures"] as? [[String: Any]])
        let followed = try #require(captures.indices.contains(capture) ? captures[capture] : nil)
        #expect(followed["packets"] as? Int == packets)
        #expect(followed["endedBy"] as? String == name)
        #expect((followed["warnings"] as? [String])?.isEmpty == true, "\(followed["warnings"] ?? "")")
        let findings = try #require(report["findings"] as? [[String: Any]])
        #expect(!findings.contains { $0["code"] as? String == "capture-truncated" })
    }

    @Test(arguments: [(SIGINT, "SIGINT"), (SIGHUP, "SIGHUP")])
    func theFirstSignalEndsAFollowedStandardInputAndTheReportIsWritten(signal: Int32, name: String) throws {
        let folder = try TemporaryFolder()
        let (bytes, packets) = try Self.capture()
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        defer { close(ends[1]) }
        let run = try Run(["analyze", "-F", "json", "-"], input: ends[0], folder: folder.path)
        close(ends[0])
        try Self.write(bytes, to: ends[1])
        // Every byte taken: the packets are read, and the next read waits on the silent pipe.
        #expect(run.wait { Self.unread(ends[1]) == 0 })
        #expect(run.send(signal))
        #expect(run.finish() == ExitStatus.ok, "stderr: \(run.stderr)")
        try Self.expectEndedReport(try run.report(), name: name, packets: packets)
        #expect(run.stderr == "sepbeat: -: input ended by \(name) after \(packets) packets; the report covers them "
            + "(a second signal stops sepbeat without a report)\n")
    }

    @Test func aFIFOEndsTheSameWay() throws {
        let folder = try TemporaryFolder()
        let fifo = folder.path + "/capture.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let (bytes, packets) = try Self.capture()
        let run = try Run(["analyze", "-q", "-F", "json", fifo], input: nil, folder: folder.path)
        // Open for reading and writing: no wait for the reader, and the FIFO keeps a writer.
        let writer = open(fifo, O_RDWR)
        try #require(writer >= 0)
        defer { close(writer) }
        try Self.write(bytes, to: writer)
        #expect(run.wait { Self.unread(writer) == 0 })
        #expect(run.send(SIGTERM))
        #expect(run.finish() == ExitStatus.ok, "stderr: \(run.stderr)")
        try Self.expectEndedReport(try run.report(), name: "SIGTERM", packets: packets)
        #expect(run.stderr.isEmpty, "-q: no note")
    }

    /// Standard input and a file: the signal ends standard input; the file is read to its end and reported.
    @Test func aFileNamedWithAFollowedInputIsReadToItsEnd() throws {
        let folder = try TemporaryFolder()
        let (bytes, packets) = try Self.capture()
        let other = heartbeatCapture("http-plain")
        let otherPackets = try classicPcapRecords(other).records.count
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        defer { close(ends[1]) }
        let run = try Run(["analyze", "-F", "json", "-", other], input: ends[0], folder: folder.path)
        close(ends[0])
        try Self.write(bytes, to: ends[1])
        #expect(run.wait { Self.unread(ends[1]) == 0 })
        #expect(run.send(SIGINT))
        let status = run.finish()
        #expect(status == ExitStatus.ok || status == ExitStatus.findings, "stderr: \(run.stderr)")
        let report = try run.report()
        let captures = try #require(report["captures"] as? [[String: Any]])
        try #require(captures.count == 2)
        #expect(captures[0]["packets"] as? Int == packets)
        #expect(captures[0]["endedBy"] as? String == "SIGINT")
        #expect(captures[1]["packets"] as? Int == otherPackets)
        #expect(captures[1]["endedBy"] == nil)
    }

    /// The report cannot be written (its pipe is full): a second signal stops the process, 128 + signal.
    @Test func aSecondSignalStopsTheProcess() throws {
        let folder = try TemporaryFolder()
        let (bytes, _) = try Self.capture()
        var input: [Int32] = [-1, -1]
        var output: [Int32] = [-1, -1]
        try #require(pipe(&input) == 0 && pipe(&output) == 0)
        defer { for end in input + output { close(end) } }
        // Fill the report's pipe, then give it back its blocking mode (the process shares it).
        let flags = fcntl(output[1], F_GETFL)
        _ = fcntl(output[1], F_SETFL, flags | O_NONBLOCK)
        let filler = [UInt8](repeating: 0x2E, count: 4096)
        while filler.withUnsafeBytes({ Glibc.write(output[1], $0.baseAddress, $0.count) }) > 0 {}
        _ = fcntl(output[1], F_SETFL, flags)
        let run = try Run(["analyze", "-"], input: input[0], output: output[1], folder: folder.path)
        try Self.write(bytes, to: input[1])
        #expect(run.wait { Self.unread(input[1]) == 0 })
        #expect(run.send(SIGINT))
        // The input ended and the run went on to its report, which waits on the full pipe.
        #expect(run.wait { run.stderr.contains("input ended by SIGINT") }, "stderr: \(run.stderr)")
        #expect(run.send(SIGINT))
        #expect(run.finish() == 128 + SIGINT, "stderr: \(run.stderr)")
    }

    /// A regular file given as standard input ends by itself: the first signal stops the process, no report.
    @Test func aRegularFileOnStandardInputIsStoppedAsBefore() throws {
        let folder = try TemporaryFolder()
        let capture = try folder.simulatedCapture(
            "fleet.pcap", ["--clients", "40", "--duration", "2h", "--push-share", "0", "--seed", "3"])
        var interrupted = 0
        for attempt in 0..<5 where interrupted == 0 {
            let file = open(capture, O_RDONLY)
            try #require(file >= 0)
            defer { close(file) }
            let dir = folder.path + "/\(attempt)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let run = try Run(["analyze", "-"], input: file, folder: dir)
            // Reading has begun once the shared file position has moved.
            let fdinfo = "/proc/\(run.process.processIdentifier)/fdinfo/0"
            run.wait {
                let info = (try? String(contentsOfFile: fdinfo, encoding: .utf8)) ?? ""
                return info.hasPrefix("pos:") && !info.hasPrefix("pos:\t0\n")
            }
            let sent = run.send(SIGINT)
            let status = run.finish()
            guard sent, status != ExitStatus.ok else { continue }
            interrupted += 1
            #expect(status == 130, "stderr: \(run.stderr)")
            #expect(run.stdout.isEmpty)
            #expect(run.stderr.isEmpty)
        }
        #expect(interrupted == 1, "every run finished before the signal")
    }
}
