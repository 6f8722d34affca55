import CLI
import Foundation
import Testing
import TestSupport

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
        var completed = false
        // In steps of 1 MB (the shell's unit is KiB) from below what the program needs to start.
        for limit in stride(from: 100_000, through: 400_000, by: 1_000) {
            let (reason, status, stderr) = try OutputSafetyTests.runWithFileSizeLimit(
                "/usr/bin/timeout", ["-s", "KILL", "120", binary, "analyze", "-q", "-F", "json", "-o", "/dev/null",
                                     capture],
                ulimit: "-v \(limit)")
            #expect(reason == .exit, "ulimit -v \(limit): \(stderr)")
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
                completed = true
            default:
                Issue.record("ulimit -v \(limit): status \(status): \(stderr)")
            }
            if completed { break }
        }
        #expect(completed)
        #expect(outOfMemory > 0)
    }
}
