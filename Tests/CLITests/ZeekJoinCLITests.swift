import Foundation
import Reports
import Testing

/// What the joins and checks of Zeek's logs give in the reports: a row far ahead in http.log, a conn.log
/// appended twice, a row dated decades away, and a folder without http.log.
@Suite struct ZeekJoinCLITests {
    func analyze(_ logs: String) -> CLIRun {
        CLIRun(["analyze", "--color", "never", "--zeek", logs])
    }

    /// The fleet's log named `name`, with `edit` applied to its text.
    func edit(_ logs: String, _ name: String, _ change: (String) -> String) throws {
        let path = logs + "/" + name
        try change(String(contentsOfFile: path, encoding: .utf8)).write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func aRowAheadInHTTPLogLeavesTheOthersJoined() throws {
        let folder = try TemporaryFolder()
        let logs = ZeekLogsCLITests.fleet(folder)
        try edit(logs, "http.log") { text in
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let ahead = "\(ZeekLogsCLITests.start + 10_000).0\tCZZZ\tGET\t10.1.0.10\t/x\t1.1\tSmc\t0\t0\t200\tOK"
            return (lines.prefix(3) + [Substring(ahead)] + lines.dropFirst(3)).joined(separator: "\n")
        }
        let run = analyze(logs)
        #expect(run.stdout.contains("  http.log: tsv, 7 rows, 1 unused (no conn.log row)\n"))
        #expect(!run.stdout.contains("step-missing"))
    }

    @Test func aConnLogAppendedTwiceGivesEachCheckInOnce() throws {
        let folder = try TemporaryFolder()
        let logs = ZeekLogsCLITests.fleet(folder)
        // Without the cut last line, then its rows once more, as `cat conn.log conn.log` of a closed log.
        try edit(logs, "conn.log") { text in
            let whole = text.split(separator: "\n").dropLast().joined(separator: "\n") + "\n"
            return whole + whole.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n") + "\n"
        }
        let run = analyze(logs)
        #expect(run.stdout.contains("11 repeated (a uid read before: a log given twice?)"))
        #expect(run.stdout.contains("Client 10.20.0.1: 6 check-ins"))
        #expect(!run.stdout.contains("accelerated-heartbeat"))
    }

    @Test func aRowDatedDecadesAwayGivesNoMissedCheckIns() throws {
        let folder = try TemporaryFolder()
        let logs = ZeekLogsCLITests.fleet(folder)
        try edit(logs, "conn.log") { text in
            text.replacingOccurrences(of: "\(ZeekLogsCLITests.start + 1200).100000\tCH4",
                                      with: "3990000000.100000\tCH4")
        }
        let run = analyze(logs)
        #expect(run.stdout.contains("Client 10.20.0.1: 6 check-ins"))
        #expect(!run.stdout.contains("missed-heartbeat 10.20.0.1"))
        #expect(!run.stdout.contains("went-silent"))
    }

    @Test func withoutHTTPLogPlainHTTPStepsAreNotJudged() throws {
        let folder = try TemporaryFolder()
        let logs = ZeekLogsCLITests.fleet(folder)
        try FileManager.default.removeItem(atPath: logs + "/http.log")
        let run = analyze(logs)
        #expect(run.stdout.contains("  not judged: " + LogSummaryReport.notInLogs + "; " + LogSummaryReport.noHTTPLog
            + "\n"))
        #expect(!run.stdout.contains("step-missing"))
        #expect(run.stdout.contains("Client 10.20.0.1: 6 check-ins"))
    }
}
