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
        let binary = Fixtures.packageRoot + "/.build/debug/sepbeat"
        try #require(FileManager.default.isExecutableFile(atPath: binary))
        let dir = try TemporaryFolder()
        let capture = dir.path + "/fleet.pcap"
        let made = CLIRun(["simulate", "-q", "-o", capture, "--clients", "40", "--duration", "2h", "--seed", "3"])
        try #require(made.status == 0, "\(made.stderr)")
        var outOfMemory = 0
        var finished = false
        // In steps of 1 MB (the shell's unit is KiB) from below what the program needs to start.
        let report = dir.path + "/report.json"
        for limit in stride(from: 100_000, through: 400_000, by: 1_000) {
            unlink(report)
            let (reason, status, stderr) = try OutputSafetyTests.runWithFileSizeLimit(
                "/usr/bin/timeout", ["-s", "KILL", "120", binary, "analyze", "-q", "-F", "json", "-o", report, capture],
                ulimit: "-v \(limit)")
            #expect(reason == .exit, "ulimit -v \(limit): \(stderr)")
            // A report file is there only when the run completed: none is left cut short.
            let completed = [ExitStatus.ok, ExitStatus.findings].contains(status)
            #expect(FileManager.default.fileExists(atPath: report) == completed, "ulimit -v \(limit): status \(status)")
            switch status {
            case 127:
                // The dynamic loader could not map the program's libraries: it never started.
                continue
            case ExitStatus.outOfMemory:
                outOfMemory += 1
                let lines = stderr.split(separator: "\n")
                #expect(lines.last?.hasPrefix("sepbeat: out of memory: the address-space limit (ulimit -v) of ")
                        == true, "ulimit -v \(limit): \(stderr)")
                #expect(lines.count <= 2, "ulimit -v \(limit): \(stderr)")
            case ExitStatus.ok, ExitStatus.findings:
                finished = true
            default:
                Issue.record("ulimit -v \(limit): status \(status): \(stderr)")
            }
            if finished { break }
        }
        #expect(finished)
        #expect(outOfMemory > 0)
    }
}
