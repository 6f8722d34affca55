import Core
import Foundation
import Records
import Testing
import TestSupport

@testable import Heartbeat
@testable import Reports

/// A newcomer's read of a simulated fleet's reports: one median everywhere, one meaning of
/// `expectedIntervalSeconds`, an observed median gap beside the expected interval (with a hint when every gap is
/// accelerated), and a `manager-priority` detail that names its client and managers.
@Suite struct FleetReadingTests {
    private static let model: ReferenceModel = {
        do { return try ReferenceModel.builtIn.withServer("198.51.100.1") } catch { return .builtIn }
    }()

    private static func report(_ times: [String: [Double]], model: ReferenceModel = model,
                               server: [String: String] = [:]) -> HeartbeatReport {
        var f = FleetRecords()
        for (client, list) in times {
            for t in list { f.idle(client, at: t, server: server[client] ?? "198.51.100.1") }
        }
        var builder = SessionBuilder(model: model)
        for r in f.records.sorted(by: { $0.end < $1.end }) { builder.ingest(r) }
        let last = times.values.flatMap { $0 }.max() ?? 0
        builder.noteCaptureSpan(first: FleetRecords.origin, last: FleetRecords.origin.adding(seconds: last + 1))
        return builder.finish()
    }

    @Test func medianIsHalfwayBetweenTheMiddleTwo() {
        #expect(Median.of(sorted: [Int64]([1, 2, 3, 4])) == 2)
        #expect(Median.of(sorted: [Int64]([2, 4, 7, 9])) == 5)
        #expect(Median.of(sorted: [Int64]([5, 6, 100])) == 6)
        #expect(Median.of(sorted: [Int64]([])) == 0)
        // No overflow at the ends of the range.
        #expect(Median.of(sorted: [Int64.min, Int64.max]) == -1)
        #expect(Median.of(sorted: [Int64.max - 2, Int64.max]) == Int64.max - 1)
        #expect(Median.of(sorted: [590.0, 600, 605, 610]) == 602.5)
    }

    /// 10.20.0.115 of the newcomer's fleet: an even number of gaps on another interval. The finding, the reason,
    /// the statistics and the level judged against all give the one median, halfway between the middle two gaps.
    @Test func aClientOnAnotherIntervalHasOneMedianEverywhere() throws {
        var times = [0.0]
        for gap in [590.0, 610, 600, 605] { times.append((times.last ?? 0) + gap) }
        let report = Self.report(["10.0.0.1": times])
        let finding = try #require(report.findings.first { $0.code == .intervalMismatch })
        #expect(finding.message == "pull check-ins every 602.5 s (median of 4), expected 300 s ± 30 s; its gaps are "
            + "judged against 602.5 s", "\(finding.message)")
        let summary = try #require(report.clients.first)
        #expect(summary.intervalSeconds?.median == 602.5)
        // The configured interval, as audit's; the level judged against under its own key.
        #expect(summary.expectedIntervalSeconds == 300)
        #expect(summary.judgedAgainstSeconds == 602.5)
        let audit = FleetAudit(report: report, model: Self.model)
        let client = try #require(audit.clients.first)
        #expect(client.spread?.median == 602.5)
        #expect(client.judgedAgainst == 602.5)
        #expect(client.expectedIntervalSeconds == 300)
        #expect(client.reasons.first
            == "median 602.5 s, expected 300 s ± 30 s (another interval: gaps judged against 602.5 s)")
        #expect(client.missed == 0 && client.onTime == 4)
        // analyze's JSON gives both keys; audit's JSON the same two.
        let analyze = try ReportBundle(kind: .analyze, heartbeat: report, captures: [], model: Self.model).render(.json)
        #expect(analyze.contains("\"expectedIntervalSeconds\" : 300"), "\(analyze)")
        #expect(analyze.contains("\"judgedAgainstSeconds\" : 602.5"), "\(analyze)")
        let auditJSON = try ReportBundle(kind: .audit, heartbeat: report, captures: [], model: Self.model)
            .render(.json)
        #expect(auditJSON.contains("\"expectedIntervalSeconds\" : 300"), "\(auditJSON)")
        #expect(auditJSON.contains("\"judgedAgainstSeconds\" : 602.5"), "\(auditJSON)")
    }

    /// A client on the expected interval has no `judgedAgainstSeconds`.
    @Test func aClientOnTheExpectedIntervalIsJudgedAgainstIt() throws {
        let report = Self.report(["10.0.0.1": (0..<6).map { Double($0) * 300 }])
        let summary = try #require(report.clients.first)
        #expect(summary.expectedIntervalSeconds == 300)
        #expect(summary.judgedAgainstSeconds == nil)
        let json = try ReportBundle(kind: .analyze, heartbeat: report, captures: [], model: Self.model).render(.json)
        #expect(!json.contains("judgedAgainstSeconds"))
    }

    /// A live capture of clients every 20 s judged against the model's 300 s: every gap accelerated, every client
    /// insufficient. The audit gives the observed median gap under the expected interval, and a hint.
    @Test func aFleetWithEveryGapAcceleratedGetsTheObservedMedianAndAHint() throws {
        let report = Self.report(["10.0.0.1": (0..<10).map { Double($0) * 20 },
                                  "10.0.0.2": (0..<10).map { 7 + Double($0) * 20.5 }])
        let bundle = ReportBundle(kind: .audit, heartbeat: report, captures: [], model: Self.model)
        #expect(bundle.audit.summary.insufficient == 2)
        #expect(bundle.audit.summary.observedMedianGapSeconds == 20.25)
        let text = try bundle.render(.text)
        let lines = text.split(separator: "\n").map(String.init)
        let expected = try #require(lines.firstIndex { $0.hasPrefix("Expected interval 300 s (from model)") })
        #expect(lines[expected + 1] == "Observed median gap 20.25 s (18 gaps between a client's check-ins, "
            + "accelerated ones included)", "\(text)")
        #expect(text.contains("Hint: the fleet's median gap, 20.25 s, is in the accelerated range (0-60 s) of the "
            + "expected 300 s interval (from model): if the clients run a shorter interval, give it with --interval "
            + "SECONDS (here --interval 20), or give the SyLink.xml that sets it with --sylink\n"), "\(text)")
        let json = try bundle.render(.json)
        #expect(json.contains("\"observedMedianGapSeconds\" : 20.25"), "\(json)")
        #expect(json.contains("\"observedGaps\" : 18"), "\(json)")
        #expect(json.contains("\"observedMedianInAcceleratedRange\" : true"), "\(json)")
        // validate's text and every HTML report give the hint too.
        let validate = try ReportBundle(kind: .validate, heartbeat: report, captures: [], model: Self.model)
            .render(.text)
        #expect(validate.contains("Hint: the fleet's median gap, 20.25 s, is in the accelerated range"), "\(validate)")
        let html = try ReportBundle(kind: .audit, heartbeat: report, captures: [], model: Self.model).render(.html)
        #expect(html.contains("<p class=\"note\">Hint: the fleet&#39;s median gap, 20.25 s, is in the accelerated "
            + "range"), "\(html)")
    }

    /// A fleet on its interval gets the observed line, and no hint.
    @Test func aFleetOnItsIntervalGetsNoHint() throws {
        let report = Self.report(["10.0.0.1": (0..<6).map { Double($0) * 300 }])
        let text = try ReportBundle(kind: .audit, heartbeat: report, captures: [], model: Self.model).render(.text)
        #expect(text.contains("\nObserved median gap 300 s (5 gaps between a client's check-ins, accelerated ones "
            + "included)\n"), "\(text)")
        #expect(!text.contains("accelerated range (0-60 s) of the expected"))
        let json = try ReportBundle(kind: .audit, heartbeat: report, captures: [], model: Self.model).render(.json)
        #expect(!json.contains("observedMedianInAcceleratedRange"))
        // The HTML summary gives it under the expected interval too.
        let html = try ReportBundle(kind: .analyze, heartbeat: report, captures: [], model: Self.model).render(.html)
        #expect(html.contains("<p>Observed median gap 300 s (5 gaps between a client&#39;s check-ins, accelerated "
            + "ones included).</p>"), "\(html)")
    }

    /// `manager-priority` names the first check-in's client and manager, and the best manager, as the other checks
    /// name their first finding's; that client comes first among the examples.
    @Test func managerPriorityNamesTheClientAndTheManagers() throws {
        var model = Self.model
        model.servers = [.init(host: "198.51.100.1", priority: 1), .init(host: "198.51.100.2", priority: 2)]
        let report = Self.report(["10.0.0.1": [0, 300, 600], "10.0.0.9": [100, 400, 700], "10.0.0.5": [250, 550]],
                                 model: model, server: ["10.0.0.9": "198.51.100.2", "10.0.0.5": "198.51.100.2"])
        let check = try #require(DeploymentValidation(report: report, audit: FleetAudit(report: report, model: model))
            .checks.first { $0.id == "manager-priority" })
        #expect(check.result == "fail")
        #expect(check.examples == ["10.0.0.9", "10.0.0.5"])
        #expect(check.detail == "5 check-ins reached a manager of lower priority than 1; first (client 10.0.0.9): "
            + "2026-01-01T00:01:40.000Z to 198.51.100.2 (priority 2); the priority-1 manager 198.51.100.1 answered "
            + "other check-ins in this capture", "\(check.detail)")
    }

    /// The help says what the README says: the audit's `failed` counts failed check-ins, and a failover fails both
    /// `failover` and `connectivity`.
    @Test func helpSaysWhatFailedAndFailoverMean() {
        let audit = CLIRun(["audit", "--help"]).stdout
        #expect(audit.contains("failed check-ins (every connect failed, or the connection got no whole"))
        #expect(!audit.contains("failed connects"))
        let validate = CLIRun(["validate", "--help"]).stdout
        #expect(validate.contains("A failover fails two checks: failover (a warning) for the"))
        let folder = Fixtures.captures + "/heartbeat"
        let json = CLIRun(["validate", "-q", "-F", "json", "--sylink", folder + "/failover.sylink.xml",
                           folder + "/failover.pcap"]).stdout
        #expect(json.contains("; the connect that failed before each failover fails the error check connectivity "
            + "too\""), "\(json)")
    }

    /// README's Formats section names validate's JSON keys beside the JSON Lines ones.
    @Test func readmeNamesValidateJSONKeys() throws {
        let readme = try String(contentsOfFile: Fixtures.packageRoot + "/README.md", encoding: .utf8)
        #expect(readme.contains("each of `checks` is `id`, `title`, `severity`, `result`, `failingClients`, "
            + "`examples`, `detail`"))
        #expect(readme.contains("`-F json` gives the same check as an object of `checks` with no `type` and its "
            + "`check` keyed `id`"))
    }
}
