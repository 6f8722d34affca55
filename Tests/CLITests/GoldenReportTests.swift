import Foundation
import Testing
import TestSupport

/// Every format of analyze, audit and validate on a recorded capture, against golden files in
/// `Captures/expected/cli/` (`SEPBEAT_UPDATE_GOLDEN=1 swift test --filter GoldenReportTests` rewrites them).
@Suite struct GoldenReportTests {
    /// Command, capture (in `Captures/heartbeat/`), expected exit status.
    static let cases: [(command: String, capture: String, status: Int32)] = [
        ("analyze", "https-idle", 0),
        ("audit", "server-error", 0),
        ("validate", "old-tls", 1),
    ]

    static let formats = ["text", "json", "jsonl", "csv", "html"]

    static func ext(_ format: String) -> String { format == "text" ? "txt" : format }

    @Test(arguments: cases.indices, formats)
    func reportMatchesGolden(_ index: Int, _ format: String) throws {
        let c = Self.cases[index]
        let path = heartbeatCapture(c.capture)
        try #require(FileManager.default.fileExists(atPath: path), "missing capture \(path)")
        let run = CLIRun([c.command, "--quiet", "--format", format, path])
        #expect(run.status == c.status, "\(run.stderr)")
        #expect(run.stderr.isEmpty)
        #expect(!run.stdout.contains("\u{1b}["), "no escape codes when stdout is not a terminal")
        Golden.check(run.stdout, "\(c.command)-\(c.capture).\(Self.ext(format))")
    }

    /// `flows --http --tls` in both its formats: the rows (with their detail lines) as connections end, in id
    /// order, then the count and the capture summary.
    @Test(arguments: ["text", "json"])
    func flowsMatchGolden(_ format: String) throws {
        let run = CLIRun(["flows", "-q", "--http", "--tls", "-F", format, heartbeatCapture("failover")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.isEmpty)
        Golden.check(run.stdout, "flows-failover.\(Self.ext(format))")
    }

    @Test func perClientRowsMatchGolden() throws {
        let path = heartbeatCapture("server-error")
        let csv = CLIRun(["audit", "-q", "-F", "csv", "--per", "client", path])
        #expect(csv.status == 0)
        Golden.check(csv.stdout, "audit-server-error.clients.csv")
        let jsonl = CLIRun(["audit", "-q", "-F", "jsonl", "--per", "client", path])
        #expect(jsonl.stdout.split(separator: "\n").count == 1)
        Golden.check(jsonl.stdout, "audit-server-error.clients.jsonl")
    }

    @Test func jsonLinesHoldOneObjectPerCheckIn() throws {
        let run = CLIRun(["analyze", "-q", "-F", "jsonl", heartbeatCapture("server-error")])
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.count == 8)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["type"] as? String == "check-in")
            #expect(object?["steps"] is [Any])
            #expect(object?["findings"] is [Any])
            #expect(object?["client"] as? String == "192.0.2.24")
        }
    }

    @Test func csvHasOneRowPerCheckInWithCRLF() {
        let run = CLIRun(["validate", "-q", "-F", "csv", "--per", "checkin", heartbeatCapture("old-tls")])
        let lines = run.stdout.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(lines.count == 6)
        #expect(lines.first?.hasPrefix("type,session,client,clientPort,server") == true)
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix("check-in,") })
    }

    @Test func eachCommandsRowsByDefault() {
        // validate: one row per check (13 checks); audit: one row per client; analyze: per check-in.
        let validate = CLIRun(["validate", "-q", "-F", "csv", heartbeatCapture("old-tls")])
        let checks = validate.stdout.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(checks.first == "type,check,title,severity,result,failingClients,examples,detail")
        #expect(checks.count == 14 && checks.dropFirst().allSatisfy { $0.hasPrefix("check,") })
        #expect(checks.contains { $0.hasPrefix("check,tls-version,") && $0.contains(",error,fail,1,") })
        let audit = CLIRun(["audit", "-q", "-F", "jsonl", heartbeatCapture("old-tls")])
        #expect(audit.stdout.split(separator: "\n").count == 1 && audit.stdout.hasPrefix("{\"type\":\"client\""))
        let analyze = CLIRun(["analyze", "-q", "-F", "jsonl", heartbeatCapture("old-tls")])
        #expect(analyze.stdout.split(separator: "\n").count == 5)
        let wrong = CLIRun(["audit", "-q", "-F", "csv", "--per", "check", heartbeatCapture("old-tls")])
        #expect(wrong.status == 2 && wrong.stdout.isEmpty)
    }

    @Test func htmlIsSelfContained() {
        let html = CLIRun(["audit", "-q", "-F", "html", heartbeatCapture("server-error")]).stdout
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        for banned in ["<script", "http://", "https://", "src=", "href=", "@import", "url("] {
            #expect(!html.lowercased().contains(banned), "HTML report contains \(banned)")
        }
        #expect(html.contains("<svg"))
        #expect(html.contains("Intervals between check-ins"))
        #expect(html.contains("Check-in sizes"))
    }

    @Test(arguments: ["analyze", "audit", "validate", "flows", "model", "simulate"])
    func helpMatchesGolden(_ command: String) {
        let run = CLIRun([command, "--help"])
        #expect(run.status == 0)
        Golden.check(run.stdout, "help-\(command).txt")
    }

    @Test func overviewAndVersion() {
        let overview = CLIRun(["--help"])
        #expect(overview.status == 0)
        Golden.check(overview.stdout, "help.txt")
        for args in [["--version"], ["audit", "--version"], ["validate", "-V"]] {
            let run = CLIRun(args)
            #expect(run.status == 0)
            #expect(run.stdout.hasPrefix("sepbeat "))
        }
    }
}
