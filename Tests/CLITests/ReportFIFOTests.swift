import Foundation
import Testing
import TestSupport

@testable import CLI

#if canImport(Glibc)
import Glibc
#endif

/// `-o` naming a FIFO: refused at once (exit status 4, one line) when no process reads it, as `-w` is,
/// instead of waiting for a reader forever; written to when one does.
@Suite struct ReportFIFOTests {
    /// Runs the built binary with `arguments`; nil (and the process killed) when it runs past 10 s.
    private func runBinary(_ arguments: [String]) throws -> (status: Int32, stderr: String)? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try CLIRun.builtBinary())
        process.arguments = arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { usleep(2_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        process.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, stderr)
    }

    @Test(arguments: [["analyze", "-q"], ["validate"], ["flows", "--http"], ["model"]])
    func aFIFOWithNoReaderIsRefusedAtOnce(_ command: [String]) throws {
        let dir = try TemporaryFolder()
        let fifo = dir.path + "/report.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let captures = command[0] == "model" ? [] : [heartbeatCapture("https-idle")]
        let run = try #require(try runBinary(command + ["-o", fifo] + captures), "waited for a reader")
        #expect(run.status == 4)
        #expect(run.stderr == "sepbeat \(command[0]): \(fifo): cannot write the report: no process is reading this "
            + "FIFO (start its reader first)\n")
    }

    @Test(arguments: ["analyze", "flows"])
    func aFIFOWithAReaderGetsTheReport(_ command: String) throws {
        let dir = try TemporaryFolder()
        let fifo = dir.path + "/report.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let capture = heartbeatCapture("fleet")
        let reader = FIFOReader(fifo)
        let run = CLIRun([command, "-q", "-F", "json", "-o", fifo, capture])
        let bytes = try #require(reader.wait())
        #expect(run.stdout.isEmpty && run.stderr.isEmpty, "\(run.stderr)")
        let direct = CLIRun([command, "-q", "-F", "json", capture])
        #expect(run.status == direct.status)
        #expect(String(decoding: bytes, as: UTF8.self) == direct.stdout)
        var info = stat()
        #expect(lstat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
    }

    /// A command that fails after opening the FIFO (a capture missing) closes it: the reader sees the end.
    @Test func aFailedRunLeavesTheReaderNotWaiting() throws {
        let dir = try TemporaryFolder()
        let fifo = dir.path + "/report.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let reader = FIFOReader(fifo)
        let run = CLIRun(["analyze", "-q", "-o", fifo, dir.path + "/missing.pcap"])
        #expect(run.status == 3)
        #expect(try #require(reader.wait()).isEmpty)
    }

    /// Mistakes on the command line are still said first (exit status 2), reader or not.
    @Test func aUsageErrorComesBeforeTheFIFO() throws {
        let dir = try TemporaryFolder()
        let fifo = dir.path + "/report.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let run = CLIRun(["analyze", "--per", "check", "-o", fifo, heartbeatCapture("https-idle")])
        #expect(run.status == 2)
    }
}
