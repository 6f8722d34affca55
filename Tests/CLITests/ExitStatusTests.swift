import Capture
import Foundation
import Testing
import TestSupport

@testable import CLI

/// Exit statuses of analyze, audit and validate: 0 pass, 1 fail, 2 usage, 3 unreadable, 4 unwritable.
@Suite struct ExitStatusTests {
    static let commands = ["analyze", "audit", "validate"]

    @Test(arguments: commands)
    func usageErrorsExitTwo(_ command: String) {
        let path = heartbeatCapture("https-idle")
        for args in [[command], [command, "--bogus", path], [command, "-F", "xml", path],
                     [command, "--color", "sometimes", path], [command, "--per", "packet", path],
                     [command, "--fail-on", "info", path], [command, "-f", "not a ( filter", path]] {
            let run = CLIRun(args)
            #expect(run.status == 2, "\(args): \(run.stderr)")
            #expect(run.stderr.hasPrefix("sepbeat"))
            #expect(run.stderr.split(separator: "\n").count == 1)
        }
    }

    @Test(arguments: commands)
    func unreadableInputExitsThree(_ command: String) throws {
        let folder = try TemporaryFolder()
        let junk = folder.write("junk.pcap", "this is not a capture file at all")
        for path in [folder.path + "/missing.pcap", folder.path, junk] {
            let run = CLIRun([command, "-q", path])
            #expect(run.status == 3, "\(path): \(run.stderr)")
        }
    }

    @Test func unwritableOutputExitsFour() {
        let run = CLIRun(["audit", "-q", "-o", "/nonexistent-dir/report.html", "-F", "html",
                          heartbeatCapture("https-idle")])
        #expect(run.status == 4)
    }

    @Test func passAndFail() {
        #expect(CLIRun(["analyze", "-q", heartbeatCapture("https-idle")]).status == 0)
        #expect(CLIRun(["audit", "-q", heartbeatCapture("https-idle")]).status == 0)
        #expect(CLIRun(["validate", "-q", heartbeatCapture("https-idle")]).status == 0)
        #expect(CLIRun(["analyze", "-q", heartbeatCapture("old-tls")]).status == 1)
        #expect(CLIRun(["validate", "-q", heartbeatCapture("old-tls")]).status == 1)
        // A 200 s expectation makes every 300 s gap a mismatch: unhealthy.
        #expect(CLIRun(["audit", "-q", "--interval", "200", heartbeatCapture("https-idle")]).status == 1)
    }

    @Test func failOnWarningIsStricter() throws {
        // With a 1.5 s tolerance some of the recorded gaps (298.3-302.6 s) are late or early: warnings only.
        let folder = try TemporaryFolder()
        let model = folder.write("tight.json", """
            {"interval": {"seconds": 300, "toleranceSeconds": 1.5, "acceleratedMaxSeconds": 60,
                          "mismatchMinIntervals": 3, "pinned": false}}
            """)
        let path = heartbeatCapture("https-idle")
        for command in ["audit", "validate"] {
            let lenient = CLIRun([command, "-q", "--model", model, path])
            #expect(lenient.status == 0, "\(command): \(lenient.stderr)")
            let strict = CLIRun([command, "-q", "--model", model, "--fail-on", "warning", path])
            #expect(strict.status == 1, "\(command) --fail-on warning")
        }
    }

    @Test func flowsRefusesReportOnlyFormats() {
        let run = CLIRun(["flows", "-F", "html", heartbeatCapture("https-idle")])
        #expect(run.status == 2)
    }

    @Test func byteCountingSourceEstimatesTheFileSize() throws {
        let path = heartbeatCapture("https-idle")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        var calls = 0
        let source = ByteCountingSource(try CaptureReader.open(path: path), files: 1) { _, _ in calls += 1 }
        while try source.next() != nil {}
        #expect(source.packets == 101)
        #expect(source.bytes == Int64(size), "classic pcap: 24 + sum(16 + captured length)")
        #expect(calls == 0, "fewer than 1024 packets: no redraw requested")
    }
}
