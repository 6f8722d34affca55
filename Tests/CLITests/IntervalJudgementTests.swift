import Core
import Foundation
import Heartbeat
import Records
import Testing

@testable import Reports

/// The interval judgement agrees across `analyze`, `audit` and `validate`: a client on another interval is judged
/// against its own median everywhere (no missed check-ins for a slow timer), push check-ins get a tolerance and
/// accelerated range derived from the push interval, nothing judged never passes, the jitter check counts every
/// client with late or early gaps, and a step of the sensor's clock is named.
@Suite struct IntervalJudgementTests {
    private static let model: ReferenceModel = {
        do { return try ReferenceModel.builtIn.withServer("198.51.100.1") } catch { return .builtIn }
    }()

    private struct Run {
        var report: HeartbeatReport
        var audit: FleetAudit
        var validation: DeploymentValidation
        func check(_ id: String) -> DeploymentValidation.Check? { validation.checks.first { $0.id == id } }
        func client(_ text: String) -> FleetAudit.Client? { audit.clients.first { $0.client.description == text } }
        var clockShifts: [Finding] {
            report.findings.filter { $0.code == .captureGap && $0.message.hasPrefix(SessionBuilder.clockShiftPrefix) }
        }
    }

    /// Idle check-ins per client at the given times (seconds after the origin), plus refused connects.
    private static func run(_ times: [String: [Double]], refused: [String: [Double]] = [:]) -> Run {
        var f = FleetRecords()
        for (client, list) in times { for t in list { f.idle(client, at: t) } }
        for (client, list) in refused { for t in list { f.refused(client, at: t) } }
        var builder = SessionBuilder(model: model)
        for r in f.records.sorted(by: { $0.end < $1.end }) { builder.ingest(r) }
        let last = (times.values.flatMap { $0 } + refused.values.flatMap { $0 }).max() ?? 0
        let start = FleetRecords.origin
        let end = FleetRecords.origin.adding(seconds: last + 1)
        builder.noteCaptureSpan(first: start, last: end)
        let report = builder.finish()
        let audit = FleetAudit(report: report, model: model, captureStart: start, captureEnd: end)
        return Run(report: report, audit: audit, validation: DeploymentValidation(report: report, audit: audit))
    }

    private static func every(_ gap: Double, count: Int, from: Double = 0) -> [Double] {
        (0..<count).map { from + Double($0) * gap }
    }

    // MARK: - Another interval: one count of missed check-ins

    @Test func clientOnAnotherIntervalIsNotCountedAsMissedByTheAudit() throws {
        let r = Self.run(["10.0.0.1": Self.every(600, count: 12), "10.0.0.2": Self.every(300, count: 24, from: 7)])
        let slow = try #require(r.client("10.0.0.1"))
        let summary = try #require(r.report.clients.first { $0.client.description == "10.0.0.1" })
        // analyze and audit give the same count: the slow timer is another interval, not 11 missed check-ins.
        #expect(summary.missed == 0)
        #expect(slow.missed == 0)
        #expect(slow.onTime == 11)
        #expect(slow.judgedAgainst == 600)
        #expect(slow.expectedIntervalSeconds == 300)
        #expect(slow.health == .unhealthy)
        #expect(slow.reasons.first
            == "median 600 s, expected 300 s ± 30 s (another interval: gaps judged against 600 s)")
        #expect(r.audit.summary.missed == 0)
        #expect(r.report.findings.contains {
            $0.code == .intervalMismatch && $0.message.hasSuffix("judged against 600 s")
        })
        #expect(!r.report.findings.contains { $0.code == .missedHeartbeat })
        // The other client is judged against the expected interval.
        #expect(r.client("10.0.0.2")?.judgedAgainst == nil)
        #expect(r.client("10.0.0.2")?.health == .healthy)
        let interval = try #require(r.check("interval"))
        #expect(!interval.passed)
        #expect(interval.detail.contains("another interval"))
        #expect(!interval.detail.contains("missed"))
    }

    /// A real missed check-in of a client on another interval is still counted, against its own interval.
    @Test func missedCheckInOfAClientOnAnotherIntervalCounts() throws {
        var times = Self.every(600, count: 12)
        times.remove(at: 6)
        let r = Self.run(["10.0.0.1": times])
        let c = try #require(r.client("10.0.0.1"))
        #expect(c.missed == 1)
        #expect(r.report.clients.first?.missed == 1)
    }

    @Test func analyzeAuditAndPerClientRowsAgreeOnASimulatedSlowFleet() throws {
        let dir = try TemporaryFolder()
        let capture = dir.path + "/i600.pcap"
        let made = sepbeat("simulate", "-q", "-o", capture, "--clients", "3", "--duration", "2h", "--interval", "600",
                           "--http-share", "1", "--seed", "4")
        #expect(made.status == 0, "\(made.stderr)")
        let analyze = sepbeat("analyze", "-q", "-F", "json", capture)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(analyze.stdout.utf8)) as? [String: Any])
        let clients = try #require(json["clients"] as? [[String: Any]])
        #expect(clients.count == 3)
        for c in clients { #expect(c["missed"] as? Int == 0) }
        let rows = sepbeat("analyze", "-q", "-F", "jsonl", "--per", "client", capture)
        let perClient = rows.stdout.split(separator: "\n").filter { $0.contains("\"type\":\"client\"") }
        #expect(perClient.count == 3)
        for row in perClient { #expect(row.contains("\"missed\":0,")) }
        let audit = sepbeat("audit", "-q", capture)
        #expect(audit.stdout.contains("0 failed (no connect, TLS handshake or answer), "
            + "0 answered with HTTP errors, 0 connects refused, 0 missed"))
        #expect(audit.stdout.contains("another interval: gaps judged against"))
    }

    // MARK: - Push heartbeat rules

    @Test func pushRulesAreDerivedFromThePushInterval() {
        let m = ReferenceModel.builtIn
        let short = m.intervalRules(forSeconds: 30)
        #expect(short == IntervalRules(toleranceSeconds: 3, acceleratedMaxSeconds: 6, acceleratedRunMaxSeconds: 30))
        let usual = m.intervalRules(forSeconds: 300)
        #expect(usual == IntervalRules(toleranceSeconds: 30, acceleratedMaxSeconds: 60, acceleratedRunMaxSeconds: 300))
        #expect(m.intervalRules(forSeconds: 900) == usual)
    }

    /// `--interval 60` fits the pull rules to 60 s (± 6 s); the 300 s push heartbeat keeps the model's own 30 s.
    @Test func aShorterPullIntervalLeavesThePushRulesTheModels() throws {
        let m = try ReferenceModel.builtIn.withInterval(seconds: 60)
        #expect(m.interval.toleranceSeconds == 6)
        #expect(m.intervalRules(forSeconds: 300)
            == IntervalRules(toleranceSeconds: 30, acceleratedMaxSeconds: 60, acceleratedRunMaxSeconds: 300))
        #expect(m.intervalRules(forSeconds: 60)
            == IntervalRules(toleranceSeconds: 6, acceleratedMaxSeconds: 12, acceleratedRunMaxSeconds: 60))
        let dir = try TemporaryFolder()
        let capture = dir.path + "/push.pcap"
        // Push clients on the model's 300 s with its jitter (up to 15 s), judged with a 60 s pull interval.
        let made = sepbeat("simulate", "-q", "-o", capture, "--clients", "6", "--duration", "1h",
                           "--http-share", "0", "--push-share", "1", "--seed", "3")
        #expect(made.status == 0, "\(made.stderr)")
        let audit = sepbeat("audit", "-q", "--interval", "60", capture)
        #expect(audit.status == 0, "\(audit.stdout)")
        #expect(audit.stdout.contains("Fleet: 6 clients seen, 6 healthy (100%), 0 degraded, 0 unhealthy"))
        #expect(audit.stdout.contains("0 failed (no connect, TLS handshake or answer), "
            + "0 answered with HTTP errors, 0 connects refused, 0 missed"))
    }

    @Test func fleetSimulatedWithAShortPushHeartbeatJudgesClean() throws {
        let dir = try TemporaryFolder()
        let modelFile = dir.write("push30.json", #"{"schema":"sepbeat-model/1","push":{"heartbeatSeconds":30}}"#)
        let capture = dir.path + "/push30.pcap"
        let made = sepbeat("simulate", "-q", "--model", modelFile, "-o", capture, "--clients", "4", "--duration", "30m",
                           "--http-share", "0", "--push-share", "1", "--seed", "2")
        #expect(made.status == 0, "\(made.stderr)")
        let audit = sepbeat("audit", "-q", "--model", modelFile, capture)
        #expect(audit.status == 0, "\(audit.stdout)")
        #expect(audit.stdout.contains(
            "± 30 s, accelerated 0-60 s for at most 300 s; push 30 s ± 3 s, accelerated 0-6 s for at most 30 s\n"))
        #expect(audit.stdout.contains("Fleet: 4 clients seen, 4 healthy (100%), 0 degraded, 0 unhealthy"))
        let analyze = sepbeat("analyze", "-q", "-F", "json", "--model", modelFile, capture)
        #expect(analyze.status == 0)
        #expect(!analyze.stdout.contains("heartbeat-storm"))
        #expect(!analyze.stdout.contains("interval-mismatch"))
        #expect(!analyze.stdout.contains("interval-early"))
        #expect(!analyze.stdout.contains("interval-late"))
        let validate = sepbeat("validate", "-q", "-F", "json", "--model", modelFile, capture)
        #expect(validate.status == 0, "\(validate.stdout)")
        #expect(validate.stdout.contains("\"pushToleranceSeconds\""))
    }

    /// The usual push interval of 300 s keeps the pull interval's rules: nothing changes, nothing is added to JSON.
    @Test func usualPushIntervalKeepsThePullRules() {
        let r = Self.run(["10.0.0.1": Self.every(300, count: 4)])
        #expect(!r.report.expectations.pushRulesDiffer)
        #expect(r.report.expectations.rules(for: .push) == r.report.expectations.rules(for: .pull))
    }

    // MARK: - Nothing judged does not pass

    @Test func clientWithOnlyAcceleratedGapsIsNotJudged() throws {
        let r = Self.run(["10.0.0.1": [0, 30, 60], "10.0.0.2": [100]])
        let c = try #require(r.client("10.0.0.1"))
        #expect(c.health == .insufficient)
        #expect(c.accelerated == 2)
        #expect(c.reasons.first == "not judged: no regular interval (every gap in the accelerated range)")
        #expect(r.audit.summary.onlyAccelerated == 1)
        #expect(r.audit.summary.verdict == "fail")
        #expect(r.audit.exitStatus == 1)
        #expect(r.audit.summary.verdictReason == "no client judged: 2 clients seen, 1 with fewer than 2 check-ins, "
            + "1 with no regular interval (accelerated gaps only)")
        #expect(r.check("interval")?.passed == false)
        #expect(r.validation.verdict == "fail")
    }

    @Test func acceleratedOnlyClientBesideAJudgedOneLetsTheVerdictPass() {
        let r = Self.run(["10.0.0.1": [0, 30, 60], "10.0.0.2": Self.every(300, count: 5, from: 10)])
        #expect(r.audit.summary.verdict == "pass")
        #expect(r.client("10.0.0.2")?.health == .healthy)
        #expect(r.client("10.0.0.1")?.health == .insufficient)
    }

    // MARK: - validate's interval checks

    @Test func jitterCheckCountsUnhealthyClientsWithLateGaps() throws {
        // 10.0.0.1: one missed (unhealthy) and one late gap; 10.0.0.2 on time.
        let r = Self.run(["10.0.0.1": [0, 300, 600, 1200, 1550, 1850, 2150],
                          "10.0.0.2": Self.every(300, count: 8, from: 5)])
        let c = try #require(r.client("10.0.0.1"))
        #expect(c.health == .unhealthy)
        #expect(c.late == 1)
        #expect(c.jitter == ["1 late"])
        let jitter = try #require(r.check("interval-jitter"))
        #expect(!jitter.passed)
        #expect(jitter.failingClients == 1)
        #expect(jitter.examples == ["10.0.0.1"])
        #expect(jitter.detail == "1 client; worst: 10.0.0.1: 1 late")
    }

    @Test func intervalExamplesAreWorstFirstAsTheDetailNamesThem() throws {
        // 10.0.0.9 misses three check-ins, 10.0.0.1 one: the worse one comes first, whatever its address.
        let r = Self.run(["10.0.0.1": [0, 300, 900, 1200, 1500], "10.0.0.9": [0, 300, 600, 1800, 2100],
                          "10.0.0.5": Self.every(300, count: 6, from: 3)])
        let interval = try #require(r.check("interval"))
        #expect(interval.failingClients == 2)
        #expect(interval.examples == ["10.0.0.9", "10.0.0.1"])
        #expect(interval.detail.hasPrefix("2 clients; worst: 10.0.0.9: 3 missed"))
    }

    @Test func verdictLineCountsOnlyClientsWithCheckIns() throws {
        let r = Self.run([:], refused: ["10.0.0.1": [0, 300, 600], "10.0.0.2": [10, 310]])
        #expect(r.report.summary.checkIns == 0)
        #expect(r.validation.clients == 0)
        #expect(ValidationText.verdictCounts(r.validation).hasSuffix("; 0 clients with check-ins"))
        let mixed = Self.run(["10.0.0.3": [0, 300]], refused: ["10.0.0.1": [0, 300]])
        #expect(mixed.validation.clients == 1)
    }

    // MARK: - A step of the sensor's clock

    /// Four clients every 300 s, phases 0, 60, 130, 200 s; every time after 1250 s moved by `step`.
    private static func stepped(_ step: Double, only: Set<String>? = nil) -> Run {
        var times: [String: [Double]] = [:]
        for (n, phase) in [0.0, 60, 130, 200].enumerated() {
            let client = "10.0.0.\(n + 1)"
            times[client] = every(300, count: 10, from: phase).map { t in
                t > 1_250 && (only?.contains(client) ?? true) ? t + step : t
            }
        }
        return run(times)
    }

    @Test func clockSteppedForwardIsNamed() throws {
        let r = Self.stepped(120)
        let f = try #require(r.clockShifts.first)
        #expect(r.clockShifts.count == 1)
        #expect(f.severity == .warning)
        #expect(f.message.contains("(4 clients) checked in late across it, by about 120 s"))
        #expect(f.message.contains("the sensor's clock may have been stepped forward by about 120 s there"))
        #expect(f.time == FleetRecords.origin.adding(seconds: 1_200))
        #expect(r.audit.clients.allSatisfy { $0.late == 1 })
    }

    @Test func clockSetBackIsNamed() throws {
        let r = Self.stepped(-90)
        let f = try #require(r.clockShifts.first)
        #expect(r.clockShifts.count == 1)
        #expect(f.message.contains("checked in early across it, by about 90 s"))
        #expect(f.message.contains("the sensor's clock may have been set back by about 90 s there"))
    }

    @Test func oneLateClientIsNoClockStep() {
        #expect(Self.stepped(120, only: ["10.0.0.1"]).clockShifts.isEmpty)
        #expect(Self.stepped(120, only: ["10.0.0.1", "10.0.0.2", "10.0.0.3"]).clockShifts.isEmpty)
        #expect(Self.stepped(0).clockShifts.isEmpty)
    }
}
