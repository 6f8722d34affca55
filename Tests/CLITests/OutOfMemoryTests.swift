import CLI
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Running out of an address-space limit (`ulimit -v`) ends with one line and exit status 5, not a
/// crash report: from the smallest limit the program starts under up to one it completes under,
/// every run ends in a documented way.
@Suite struct OutOfMemoryTests {
    @Test func everyAddressSpaceLimitEndsInADocumentedWay() throws {
        try everyLimitEndsInADocumentedWay(flag: "-v", name: "the address-space limit", from: 100_000, to: 400_000)
    }

    /// The same for a data-size limit (`ulimit -d`), which counts the heap (and the heap arenas) but not the
    /// mapped libraries: the program starts under far less.
    @Test func everyDataSizeLimitEndsInADocumentedWay() throws {
        try everyLimitEndsInADocumentedWay(flag: "-d", name: "the data-size limit", from: 4_000, to: 100_000)
    }

    /// Runs `analyze` under `ulimit FLAG N` for N from `from` up in steps of 1 MB (the shell's unit is KiB)
    /// until a run completes: every run before it ends in a documented way, and at least one runs out.
    private func everyLimitEndsInADocumentedWay(flag: String, name: String, from: Int, to: Int) throws {
        let binary = try CLIRun.builtBinary()
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture("fleet.pcap", ["--clients", "40", "--duration", "2h", "--seed", "3"])
        var outOfMemory = 0
        var finished = false
        let report = dir.path + "/report.json"
        for limit in stride(from: from, through: to, by: 1_000) {
            unlink(report)
            let (reason, status, stderr) = try OutputSafetyTests.runWithFileSizeLimit(
                "/usr/bin/timeout", ["-s", "KILL", "120", binary, "analyze", "-q", "-F", "json", "-o", report, capture],
                ulimit: "\(flag) \(limit)")
            if reason != .exit, try Self.cannotStart(binary, limit: "\(flag) \(limit)") { continue }
            #expect(reason == .exit, "ulimit \(flag) \(limit): \(stderr)")
            // A report file is there only when the run completed: none is left cut short.
            let completed = [ExitStatus.ok, ExitStatus.findings].contains(status)
            #expect(FileManager.default.fileExists(atPath: report) == completed,
                    "ulimit \(flag) \(limit): status \(status)")
            switch status {
            case 127:
                // The dynamic loader could not map the program's libraries: it never started.
                continue
            case ExitStatus.outOfMemory:
                outOfMemory += 1
                // One line of ours; the others are the runtime's own, one per thread that ran out (README),
                // in whatever order the threads got there, and at a limit just above the least the program
                // starts under, the runtime's note that it could not set up its crash handler.
                let lines = stderr.split(separator: "\n")
                let line = "sepbeat: out of memory: \(name) (ulimit \(flag) \(limit)) was reached"
                let handler = "swift runtime: crash handler installation failed; disabling backtracing."
                #expect(lines.count { $0.hasPrefix(line) } == 1, "ulimit \(flag) \(limit): \(stderr)")
                #expect(lines.allSatisfy { $0.hasPrefix(line) || $0.contains("failed to allocate") || $0 == handler },
                        "ulimit \(flag) \(limit): \(stderr)")
            case ExitStatus.ok, ExitStatus.findings:
                finished = true
            default:
                Issue.record("ulimit \(flag) \(limit): status \(status): \(stderr)")
            }
            if finished { break }
        }
        #expect(finished)
        #expect(outOfMemory > 0)
    }

    /// Whether the program cannot even start under `limit` (README, exit status 5: the loader or the runtime
    /// stops it before sepbeat runs, status 127 or 132, in a window of about a megabyte whose place moves
    /// with the binary's size): `sepbeat --version`, which does nothing but print, fails there too. A run
    /// killed by a signal at a limit where `--version` works is a failure of sepbeat's, not of the start.
    static func cannotStart(_ binary: String, limit: Int) throws -> Bool {
        try cannotStart(binary, limit: "-v \(limit)")
    }

    /// The same under `ulimit LIMIT` (a flag and its value, "-d 5000").
    static func cannotStart(_ binary: String, limit: String) throws -> Bool {
        let (reason, status, _) = try OutputSafetyTests.runWithFileSizeLimit(
            "/usr/bin/timeout", ["-s", "KILL", "60", binary, "--version"], ulimit: limit)
        return reason != .exit || status != 0
    }

    /// `simulate` stopped by running out of memory leaves no capture or truth file behind; a run that
    /// completes leaves both.
    @Test func simulateOutOfMemoryLeavesNoFiles() throws {
        let binary = try CLIRun.builtBinary()
        let dir = try TemporaryFolder()
        let capture = dir.path + "/fleet.pcap"
        let truth = capture + ".truth.json"
        var outOfMemory = 0
        var finished = false
        for limit in stride(from: 100_000, through: 600_000, by: 1_000) {
            unlink(capture)
            unlink(truth)
            let (reason, status, stderr) = try OutputSafetyTests.runWithFileSizeLimit(
                "/usr/bin/timeout", ["-s", "KILL", "120", binary, "simulate", "-q", "-o", capture, "--clients", "200",
                                     "--duration", "2h"],
                ulimit: "-v \(limit)")
            if reason != .exit, try Self.cannotStart(binary, limit: limit) { continue }
            #expect(reason == .exit, "ulimit -v \(limit): \(stderr)")
            let files = [capture, truth].filter { FileManager.default.fileExists(atPath: $0) }
            switch status {
            case 127:
                continue
            case ExitStatus.outOfMemory:
                outOfMemory += 1
                #expect(files.isEmpty, "ulimit -v \(limit): \(files) left: \(stderr)")
            case ExitStatus.ok:
                finished = true
                #expect(files.count == 2)
            default:
                Issue.record("ulimit -v \(limit): status \(status): \(stderr)")
            }
            if finished { break }
        }
        #expect(finished)
        #expect(outOfMemory > 0)
    }
}
