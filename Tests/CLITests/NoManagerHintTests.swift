import Foundation
import Testing
import TestSupport

@testable import CLI
@testable import Heartbeat
@testable import Reports

/// Clients on a timer other than the model's, with no server named: nothing is recognised as a
/// manager, and the text reports say why instead of a bare "0 clients".
@Suite struct NoManagerHintTests {
    /// Three HTTPS clients on a 450 s timer for 2 h (48 connections to 10.1.0.10 and 10.1.0.11).
    static func otherTimerFleet(in dir: TemporaryFolder) throws -> String {
        let capture = dir.path + "/i450.pcap"
        let made = CLIRun(["simulate", "-q", "-o", capture, "--interval", "450", "--clients", "3", "--duration", "2h",
                           "--http-share", "0", "--push-share", "0", "--seed", "4"])
        try #require(made.status == 0, "\(made.stderr)")
        return capture
    }

    @Test func fleetOnAnotherTimerGetsAHintUntilTheServerIsNamed() throws {
        let dir = try TemporaryFolder()
        let capture = try Self.otherTimerFleet(in: dir)
        let hint = "No management server recognised among"
        let analyze = CLIRun(["analyze", "-q", capture])
        let lines = analyze.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let first = try #require(lines.firstIndex { $0.hasPrefix(hint) }, "\(analyze.stdout)")
        let paragraph = lines[first...].prefix { !$0.isEmpty && !$0.hasPrefix("Findings") }
        #expect(paragraph.allSatisfy { $0.count <= 100 })
        let joined = paragraph.joined(separator: " ")
        #expect(joined.contains(hint + " 48 connections on management ports"), "\(joined)")
        #expect(joined.contains("reached every 300 s") && joined.hasSuffix("with --interval."), "\(joined)")
        // An audit that saw no client judged nothing: it fails rather than passing.
        let audit = CLIRun(["audit", "-q", "--color", "never", capture])
        #expect(audit.stdout.contains(hint), "\(audit.stdout)")
        #expect(audit.stdout.contains("Verdict: fail (no client seen)"), "\(audit.stdout)")
        #expect(audit.status == ExitStatus.findings)
        let auditJSON = CLIRun(["audit", "-q", "-F", "json", capture])
        #expect(auditJSON.stdout.contains("\"verdict\" : \"fail\""))
        #expect(auditJSON.status == ExitStatus.findings)
        // A format with no room for the reason says it on stderr (unless --quiet).
        let auditCSV = CLIRun(["audit", "-F", "csv", capture])
        #expect(auditCSV.status == ExitStatus.findings)
        let why = "sepbeat audit: warning: no client seen, nothing was judged (the verdict fails); "
            + "the text report says why\n"
        #expect(auditCSV.stderr.hasSuffix(why), "\(auditCSV.stderr)")
        #expect(!auditJSON.stderr.contains("no client seen"))
        // With the servers named, the clients are seen and judged (on the wrong timer: unhealthy).
        let namedAudit = CLIRun(["audit", "-q", "--color", "never", "--server", "10.1.0.10", "--server", "10.1.0.11",
                                 capture])
        #expect(!namedAudit.stdout.contains("no client seen"))
        // Named, the server's check-ins are found and the hint goes away.
        let named = CLIRun(["analyze", "-q", "--server", "10.1.0.10", "--server", "10.1.0.11", capture])
        #expect(!named.stdout.contains(hint))
        #expect(!named.stdout.contains("(0 clients"))
    }

    @Test func aServerNoConnectionReachesGetsItsOwnHint() throws {
        let dir = try TemporaryFolder()
        let capture = try Self.otherTimerFleet(in: dir)
        let r = CLIRun(["analyze", "-q", "--server", "10.9.9.9", capture])
        let joined = r.stdout.replacingOccurrences(of: "\n", with: " ")
        #expect(joined.contains("No connection went to a manager: the 48 connections on management ports go to "
                                + "other servers than 10.9.9.9."), "\(r.stdout)")
        #expect(!joined.contains("No management server recognised"))
        let simulateOverModel = CLIRun(["simulate", "-q", "--model", dir.path + "/none.json", "-o", capture])
        #expect(simulateOverModel.status == 2)  // the model file does not exist: a usage error, nothing written
    }

    /// `simulate -o` naming its `--model` file (or making a truth file of that name) is refused.
    @Test func simulateOutputNamingTheModelFileIsRefused() throws {
        let dir = try TemporaryFolder()
        let model = dir.path + "/t.truth.json"
        #expect(CLIRun(["model", "-o", model]).status == 0)
        let direct = CLIRun(["simulate", "-q", "--model", model, "-o", model])
        #expect(direct.status == 2)
        #expect(direct.stderr.hasPrefix("sepbeat simulate: \(model) is the --model file;"), "\(direct.stderr)")
        let truth = CLIRun(["simulate", "-q", "--model", model, "-o", dir.path + "/t", "--clients", "2"])
        #expect(truth.status == 2, "\(truth.stderr)")
        #expect(try String(contentsOfFile: model, encoding: .utf8).contains("checkIn"))
    }

    /// Nothing recognised is nothing judged: analyze says `n/a`, not `pass`, in every format that gives
    /// a verdict, and still exits 0 (it describes; audit and validate fail there).
    @Test func analyzeThatRecognisedNoCheckInGivesNoPass() throws {
        let dir = try TemporaryFolder()
        let capture = try Self.otherTimerFleet(in: dir)
        let text = CLIRun(["analyze", "-q", "--color", "never", capture])
        #expect(text.status == ExitStatus.ok)
        #expect(text.stdout.hasSuffix("\nVerdict: n/a (no check-ins recognised)\n"), "\(text.stdout)")
        #expect(!text.stdout.contains("Verdict: pass"))
        let json = CLIRun(["analyze", "-q", "-F", "json", capture])
        #expect(json.status == ExitStatus.ok)
        let summary = try #require(
            (try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])?["summary"]
                as? [String: Any])
        #expect(summary["verdict"] as? String == "n/a")
        let html = CLIRun(["analyze", "-q", "-F", "html", capture])
        #expect(html.status == ExitStatus.ok)
        #expect(html.stdout.contains("<title>sepbeat analyze: n/a</title>"))
        #expect(html.stdout.contains("<span class=\"verdict v-na\">n/a</span> no check-ins recognised"))
        // A filter that keeps no packet is the same: nothing judged.
        let filtered = CLIRun(["analyze", "-q", "--color", "never", "-f", "port 8014",
                               heartbeatCapture("https-idle")])
        #expect(filtered.status == ExitStatus.ok)
        #expect(filtered.stdout.contains("Verdict: n/a (no check-ins recognised)"), "\(filtered.stdout)")
        // Named, the check-ins are judged again.
        let named = CLIRun(["analyze", "-q", "--color", "never", "--server", "10.1.0.10", "--server", "10.1.0.11",
                            capture])
        #expect(!named.stdout.contains("Verdict: n/a"), "\(named.stdout)")
        #expect(SessionBuilder.verdict(errors: 1, settled: 0) == "fail")
        #expect(SessionBuilder.verdict(errors: 0, settled: 0) == "n/a")
        #expect(SessionBuilder.verdict(errors: 0, settled: 1) == "pass")
    }

    @Test func noHintWithoutConnectionsOnManagementPorts() {
        let r = CLIRun(["analyze", "-q", heartbeatCapture("https-idle")])
        #expect(!r.stdout.contains("No management server recognised"))
    }

    @Test func wrappingKeepsEveryWordAndTheWidth() {
        let text = "one two three four five six seven eight nine ten eleven twelve"
        let w = AnalyzeReport.wrapped(text, width: 14)
        #expect(w.split(separator: "\n").allSatisfy { $0.count <= 14 })
        #expect(w.replacingOccurrences(of: "\n", with: " ").trimmingCharacters(in: .whitespaces) == text)
        #expect(AnalyzeReport.wrapped("", width: 10) == "")
    }
}
