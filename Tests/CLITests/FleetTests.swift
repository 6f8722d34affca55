import Core
import Foundation
import Heartbeat
import Records
import Reports
import Testing

/// A fleet with known injected faults, built from hand-made connection records: the audit must
/// name exactly the faulty clients, and validation must fail for exactly the injected reasons.
@Suite struct FleetTests {
    static let hour = 3_600.0

    /// 10.0.0.1 healthy; .2 two check-ins missed; .3 TLS 1.0 on time; .4 every 450 s; .5 appears
    /// after 30 min and vanishes after 45 (healthy); .6 one refused connect among on-time check-ins;
    /// .7 jitter of ±40 s (late and early, none missed).
    static func fleet() -> (HeartbeatReport, ReferenceModel, Timestamp, Timestamp) {
        var f = FleetRecords()
        for k in 0...12 { f.idle("10.0.0.1", at: Double(k) * 300 + 0.25 * Double(k % 3)) }
        for k in 0...12 where k != 5 && k != 6 { f.idle("10.0.0.2", at: Double(k) * 300 + 7) }
        for k in 0...12 { f.idle("10.0.0.3", at: Double(k) * 300 + 11, tls: 0x0301) }
        for k in 0...8 { f.idle("10.0.0.4", at: Double(k) * 450 + 13) }
        for k in 6...9 { f.idle("10.0.0.5", at: Double(k) * 300 + 17) }
        for k in 0...12 {
            let t = Double(k) * 300 + 19
            if k == 4 { f.refused("10.0.0.6", at: t) } else { f.idle("10.0.0.6", at: t) }
        }
        let jitter = [0.0, 40, -40, 40, -40, 0, 0, 40, -40, 0, 0, 0, 0]
        for k in 0...12 { f.idle("10.0.0.7", at: Double(k) * 300 + 23 + jitter[k]) }
        let model = ReferenceModel.builtIn
        var builder = SessionBuilder(model: model)
        for r in f.records.sorted(by: { $0.end < $1.end }) { builder.ingest(r) }
        let start = FleetRecords.origin
        let end = FleetRecords.origin.adding(seconds: hour + 60)
        builder.noteCaptureSpan(first: start, last: end)
        return (builder.finish(), model, start, end)
    }

    /// `matchesExpected` says what the median was judged to be: unknown (nil) with fewer regular gaps than
    /// `interval.mismatchMinIntervals`, even when the few gaps are far off the interval.
    @Test func matchesExpectedIsNilUntilEnoughGapsAreJudged() throws {
        var f = FleetRecords()
        for k in 0...2 { f.idle("10.0.0.8", at: Double(k) * 100) }
        for k in 0...3 { f.idle("10.0.0.9", at: Double(k) * 300 + 5) }
        var builder = SessionBuilder(model: ReferenceModel.builtIn)
        for r in f.records.sorted(by: { $0.end < $1.end }) { builder.ingest(r) }
        let start = FleetRecords.origin
        let end = FleetRecords.origin.adding(seconds: 1_000)
        builder.noteCaptureSpan(first: start, last: end)
        let audit = FleetAudit(report: builder.finish(), model: .builtIn, captureStart: start, captureEnd: end)
        let byClient = Dictionary(uniqueKeysWithValues: audit.clients.map { ($0.client.description, $0) })
        let few = try #require(byClient["10.0.0.8"])
        #expect(few.spread?.count == 2)
        #expect(few.matchesExpected == nil)
        #expect(try #require(byClient["10.0.0.9"]).matchesExpected == true)
        let (report, model, fleetStart, fleetEnd) = Self.fleet()
        let fleet = FleetAudit(report: report, model: model, captureStart: fleetStart, captureEnd: fleetEnd)
        #expect(fleet.clients.first { $0.client.description == "10.0.0.5" }?.matchesExpected == true)
    }

    @Test func auditNamesExactlyTheFaultyClients() throws {
        let (report, model, start, end) = Self.fleet()
        let audit = FleetAudit(report: report, model: model, captureStart: start, captureEnd: end)
        let health = Dictionary(uniqueKeysWithValues: audit.clients.map { ($0.client.description, $0) })
        #expect(audit.summary.clients == 7)
        #expect(Set(audit.clients.filter { $0.health == .unhealthy }.map(\.client.description))
                == ["10.0.0.2", "10.0.0.4", "10.0.0.6"])
        #expect(audit.clients.filter { $0.health == .degraded }.map(\.client.description) == ["10.0.0.7"])
        #expect(Set(audit.clients.filter { $0.health == .healthy }.map(\.client.description))
                == ["10.0.0.1", "10.0.0.3", "10.0.0.5"])
        #expect(audit.clients.prefix(3).allSatisfy { $0.health == .unhealthy }, "worst clients first")
        #expect(audit.exitStatus == 1)

        let missed = try #require(health["10.0.0.2"])
        #expect(missed.missed == 2)
        #expect(missed.reasons.first == "2 missed")
        let slow = try #require(health["10.0.0.4"])
        #expect(slow.matchesExpected == false)
        #expect(slow.spread?.median == 450)
        let failed = try #require(health["10.0.0.6"])
        #expect(failed.failed == 1)
        #expect(failed.checkIns == 12)
        #expect(failed.missed == 0)
        let edge = try #require(health["10.0.0.5"])
        #expect(edge.missed == 0, "no false missed at the capture's edges")
        #expect(edge.appearedLate && edge.vanishedEarly)
        let jittery = try #require(health["10.0.0.7"])
        #expect(jittery.late == 5 && jittery.early == 3 && jittery.missed == 0)
        let steady = try #require(health["10.0.0.1"])
        #expect(steady.score == 100)
        #expect(abs((steady.spread?.median ?? 0) - 300) < 0.5)
        #expect((jittery.score ?? 100) < (steady.score ?? 0))
        #expect((slow.score ?? 100) < 70)
    }

    @Test func validationFailsForExactlyTheInjectedReasons() {
        let (report, model, start, end) = Self.fleet()
        let audit = FleetAudit(report: report, model: model, captureStart: start, captureEnd: end)
        let v = DeploymentValidation(report: report, audit: audit)
        let failed = Dictionary(uniqueKeysWithValues: v.checks.filter { !$0.passed }.map { ($0.id, $0) })
        #expect(Set(failed.keys) == ["tls-version", "interval", "interval-jitter", "connectivity"])
        #expect(failed["tls-version"]?.examples == ["10.0.0.3"])
        #expect(failed["connectivity"]?.examples == ["10.0.0.6"])
        #expect(Set(failed["interval"]?.examples ?? []) == ["10.0.0.2", "10.0.0.4", "10.0.0.6"])
        #expect(failed["interval-jitter"]?.examples == ["10.0.0.7"])
        #expect(v.verdict == "fail")
        #expect(v.exitStatus == 1)
    }

    @Test func warningThresholdDecidesAWarningOnlyFleet() {
        var f = FleetRecords()
        let jitter = [0.0, 40, -40, 0, 0, 0, 0, 0, 0]
        for k in 0...8 { f.idle("10.0.1.1", at: Double(k) * 300 + jitter[k]) }
        var builder = SessionBuilder(model: .builtIn)
        for r in f.records { builder.ingest(r) }
        let report = builder.finish()
        let audit = FleetAudit(report: report, model: .builtIn)
        #expect(audit.clients.map(\.health) == [.degraded])
        #expect(DeploymentValidation(report: report, audit: audit).verdict == "pass")
        #expect(DeploymentValidation(report: report, audit: audit, failOn: .warning).verdict == "fail")
    }

    @Test func fleetRendersInEveryFormat() throws {
        let (report, model, _, _) = Self.fleet()
        let bundle = ReportBundle(kind: .audit, heartbeat: report, captures: [], model: model)
        let html = try bundle.render(.html)
        #expect(html.contains("10.0.0.4"))
        #expect(html.components(separatedBy: "class=\"m-failed\"").count == 2)
        let csv = try bundle.render(.csv, per: .client)
        #expect(csv.components(separatedBy: "\r\n").filter { !$0.isEmpty }.count == 8)
        let text = try bundle.render(.text)
        let lines = text.split(separator: "\n").map(String.init)
        let names = ["10.0.0.2", "10.0.0.4", "10.0.0.6", "10.0.0.1"]
        let order = lines.compactMap { l in names.first { l.contains("  \($0) ") } }
        #expect(order.first != "10.0.0.1")
        if let dir = ProcessInfo.processInfo.environment["SEPBEAT_FLEET_HTML"] {
            _ = FileManager.default.createFile(atPath: dir, contents: Data(html.utf8))
        }
    }
}
