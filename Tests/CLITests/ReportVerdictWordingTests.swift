import Foundation
import Testing
import TestSupport

/// A read of the reports: an audit that judged no client passed, a heading with nothing under it,
/// and a verb that did not agree with its subject.
@Suite struct ReportVerdictWordingTests {
    /// Two HTTPS clients over 5 minutes: each has one check-in, too few to judge an interval.
    func shortFleet(in dir: TemporaryFolder) throws -> String {
        try dir.simulatedCapture("short.pcap", ["--clients", "2", "--duration", "5m", "--http-share", "0"])
    }

    let servers = ["--server", "10.1.0.10", "--server", "10.1.0.11"]

    @Test func auditFailsWhenEveryClientIsInsufficient() throws {
        let dir = try TemporaryFolder()
        let capture = try shortFleet(in: dir)
        let text = CLIRun(["audit", "--color", "never"] + servers + [capture])
        #expect(text.stdout.contains("0 unhealthy, 2 insufficient (too few check-ins)"), "\(text.stdout)")
        #expect(text.stdout.contains(
            "Verdict: fail (no client judged: 2 clients seen, each with fewer than 2 check-ins)\n"), "\(text.stdout)")
        #expect(text.status == 1)
        let json = CLIRun(["audit", "-q", "-F", "json"] + servers + [capture])
        #expect(json.stdout.contains("\"verdict\" : \"fail\""))
        #expect(json.status == 1)
        // A format with no verdict line says why on stderr, unless --quiet.
        let csv = CLIRun(["audit", "-F", "csv"] + servers + [capture])
        #expect(csv.status == 1)
        #expect(csv.stderr.hasSuffix("sepbeat audit: warning: no client judged: 2 clients seen, each with fewer "
            + "than 2 check-ins, so nothing was judged (the verdict fails)\n"), "\(csv.stderr)")
        #expect(!json.stderr.contains("no client judged"))
        // The HTML page says why beside its verdict, and gives no share of healthy clients.
        let html = CLIRun(["audit", "-q", "-F", "html"] + servers + [capture])
        #expect(html.status == 1)
        #expect(html.stdout.contains("fail</span> no client judged: 2 clients seen, each with fewer than 2 check-ins"))
        #expect(html.stdout.contains("<div class=\"val\">-</div><div class=\"cap\">interval health"))
    }

    @Test func auditOfOneInsufficientClientAmongJudgedOnesStillPasses() {
        // server-error's one client is judged: healthy, a pass.
        let r = sepbeat("audit", "--color", "never", heartbeatCapture("server-error"))
        #expect(r.stdout.contains("Verdict: pass (0 unhealthy clients)"), "\(r.stdout)")
        #expect(r.status == 0)
    }

    @Test func validateFailsItsIntervalCheckWhenNoClientIsJudged() throws {
        let dir = try TemporaryFolder()
        let capture = try shortFleet(in: dir)
        let r = CLIRun(["validate", "--color", "never"] + servers + [capture])
        let lines = r.stdout.split(separator: "\n")
        let interval = try #require(lines.first { $0.contains("  interval  ") }, "\(r.stdout)")
        #expect(interval.hasPrefix("  FAIL "), "\(interval)")
        #expect(r.stdout.contains("  interval: no client judged: 2 clients seen, each with fewer than 2 check-ins\n"))
        let jitter = try #require(lines.first { $0.contains("  interval-jitter  ") })
        #expect(jitter.hasPrefix("  n/a "), "\(jitter)")
        #expect(jitter.contains("not checked: no client judged"))
        #expect(r.status == 1)
    }

    /// No client seen at all (no manager named): `check-ins-seen` fails, and neither interval check passes
    /// over nothing: both `n/a`.
    @Test func validateChecksNoIntervalWhenNoClientIsSeen() throws {
        let dir = try TemporaryFolder()
        let capture = try shortFleet(in: dir)
        let r = CLIRun(["validate", "--color", "never", capture])
        let lines = r.stdout.split(separator: "\n")
        for id in ["interval", "interval-jitter"] {
            let line = try #require(lines.first { $0.contains("  \(id)  ") }, "\(r.stdout)")
            #expect(line.hasPrefix("  n/a "), "\(line)")
            #expect(line.contains("not checked: no client seen"))
        }
        #expect(r.status == 1)
    }

    @Test func noStepsHeadingWithoutCheckIns() {
        let none = sepbeat("analyze", Fixtures.corpus + "/oracle/tls/ssl-v2.pcap")
        #expect(none.stdout.contains("Verdict: n/a"), "\(none.stdout)")
        #expect(!none.stdout.contains("Steps of each check-in"))
        let some = sepbeat("analyze", heartbeatCapture("https-idle"))
        #expect(some.stdout.contains("Steps of each check-in"))
    }

    @Test func bytesKeptAgreeWithTheirVerb() {
        let r = sepbeat("flows", Fixtures.corpus + "/robustness/802_15_4-data.pcap")
        #expect(r.stderr.contains("1 record captured more bytes than the snaplen of 13; only the first 13 bytes of it "
            + "were kept (at byte offset"), "\(r.stderr)")
    }
}

/// With `--fail-on warning` the printed verdict follows the exit status (it said `pass` and exited 1).
@Suite struct FailOnWarningVerdictTests {
    @Test func analyzeAndAuditPrintTheVerdictTheyExitWith() {
        let capture = heartbeatCapture("http-plain")
        let plain = CLIRun(["analyze", "--color", "never", capture])
        #expect(plain.status == 0)
        #expect(plain.stdout.contains("\nVerdict: pass ("))
        let strict = CLIRun(["analyze", "--color", "never", "--fail-on", "warning", capture])
        #expect(strict.status == 1)
        #expect(strict.stdout.contains("\nVerdict: fail (1 client, 5 check-ins; warnings fail the verdict)\n"),
                "\(strict.stdout)")
        let json = CLIRun(["analyze", "-F", "json", "--fail-on", "warning", capture])
        #expect(json.stdout.contains("\"verdict\" : \"fail\""))
    }
}

/// A model saved with `sepbeat model --interval N` carries `pinned`: reused with `--model`, its interval is
/// reported as the model's, not as from an option that was not given.
@Suite struct PinnedModelSourceTests {
    @Test func aPinnedModelFileIsTheModelsInterval() throws {
        let dir = try TemporaryFolder()
        let saved = CLIRun(["model", "--interval", "600"])
        #expect(saved.stdout.contains("\"pinned\" : true"))
        let model = dir.write("pinned.json", saved.stdout)
        let capture = heartbeatCapture("https-idle")
        let fromFile = CLIRun(["analyze", "-F", "json", "--model", model, capture])
        #expect(fromFile.stdout.contains("\"intervalSource\" : \"model\""), "\(fromFile.stdout.prefix(400))")
        let withOption = CLIRun(["analyze", "-F", "json", "--model", model, "--interval", "600", capture])
        #expect(withOption.stdout.contains("\"intervalSource\" : \"option\""))
    }
}
