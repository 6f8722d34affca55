import Core
import Heartbeat
import Records
import Reports
import Testing

/// Heartbeat storms: a client checking in every few seconds for hours was `healthy`
/// (every gap inside the accelerated range of 0-60 s), and one polling every second was one check-in of hours.
/// An accelerated run now lasts at most `interval.acceleratedRunMaxSeconds` (300 s), and a check-in joined
/// from several connections spans at most `checkIn.joinMaxSeconds` (30 s).
@Suite struct HeartbeatStormTests {
    private static let model: ReferenceModel = {
        do { return try ReferenceModel.builtIn.withServer("198.51.100.1") } catch { return .builtIn }
    }()

    private struct Run {
        var report: HeartbeatReport
        var audit: FleetAudit
        var validation: DeploymentValidation
        var client: FleetAudit.Client? { audit.clients.first }
        func codes(_ code: FindingCode) -> Int { report.findings.count { $0.code == code } }
        func check(_ id: String) -> DeploymentValidation.Check? { validation.checks.first { $0.id == id } }
    }

    /// One client's idle check-ins at `times` (seconds after the origin), audited and validated.
    private static func run(_ times: [Double]) -> Run {
        var f = FleetRecords()
        for t in times { f.idle("10.0.0.1", at: t) }
        var builder = SessionBuilder(model: model)
        for r in f.records.sorted(by: { $0.end < $1.end }) { builder.ingest(r) }
        let start = FleetRecords.origin
        let end = FleetRecords.origin.adding(seconds: (times.last ?? 0) + 1)
        builder.noteCaptureSpan(first: start, last: end)
        let report = builder.finish()
        let audit = FleetAudit(report: report, model: model, captureStart: start, captureEnd: end)
        return Run(report: report, audit: audit, validation: DeploymentValidation(report: report, audit: audit))
    }

    /// Check-ins every `gap` seconds for `hours`.
    private static func every(_ gap: Double, hours: Double = 1) -> [Double] {
        (0..<Int(hours * 3_600 / gap)).map { Double($0) * gap }
    }

    @Test(arguments: [5.0, 30, 59])
    func stormOverTheWholeCaptureIsUnhealthy(gap: Double) throws {
        let r = Self.run(Self.every(gap))
        let c = try #require(r.client)
        #expect(c.health == .unhealthy)
        #expect(c.storms == 1)
        #expect(c.stormSeconds > 3_000)
        #expect(c.reasons.first?.hasPrefix("1 heartbeat storm") == true)
        #expect(r.codes(.heartbeatStorm) == 1)
        #expect(r.codes(.acceleratedHeartbeat) == 0)
        #expect(r.codes(.intervalMismatch) == 1)
        #expect(r.report.counts.joinSplits == 0)
        #expect(r.check("interval")?.passed == false)
    }

    /// Polling every second: connections 0.88 s apart are joined into check-ins of at most 30 s, not into one of an
    /// hour; the check-ins left are a storm.
    @Test func oneSecondPollingIsSplitAndAStorm() throws {
        let r = Self.run(Self.every(1))
        #expect(r.report.summary.checkIns == 120)
        #expect(r.report.counts.joinSplits == 119)
        #expect(r.report.sessions.allSatisfy { $0.end.seconds(since: $0.start) <= 30 })
        let c = try #require(r.client)
        #expect(c.health == .unhealthy)
        #expect(c.storms == 1)
        #expect(r.codes(.heartbeatStorm) == 1)
        #expect(r.check("interval")?.passed == false)
    }

    /// Just above the accelerated range: regular gaps far below the interval, unhealthy as before (no storm).
    @Test(arguments: [61.0, 90])
    func slowerThanAcceleratedIsAMismatch(gap: Double) throws {
        let r = Self.run(Self.every(gap))
        let c = try #require(r.client)
        #expect(c.health == .unhealthy)
        #expect(c.storms == 0)
        #expect(r.codes(.heartbeatStorm) == 0)
        #expect(r.codes(.intervalMismatch) == 1)
        #expect(r.check("interval")?.passed == false)
    }

    /// Check-ins every 300 s up to 600 s, then `run` more `gap` seconds apart, then every 300 s again from the last
    /// one until `hours` have passed.
    private static func episode(_ run: Int, gap: Double, hours: Double = 4) -> [Double] {
        var times: [Double] = [0, 300, 600]
        for _ in 0..<run { times.append((times.last ?? 0) + gap) }
        while let last = times.last, last + 300 < hours * 3_600 { times.append(last + 300) }
        return times
    }

    /// The accelerated heartbeat after a change: a few check-ins 20 s apart, then the 300 s interval again.
    @Test func shortAcceleratedRunStaysHealthy() throws {
        let r = Self.run(Self.episode(4, gap: 20, hours: 2))
        let c = try #require(r.client)
        #expect(c.health == .healthy)
        #expect(c.accelerated == 4 && c.acceleratedRuns == 1 && c.storms == 0)
        #expect(r.codes(.acceleratedHeartbeat) == 1)
        #expect(r.codes(.heartbeatStorm) == 0)
        #expect(r.check("interval")?.passed == true && r.check("interval-jitter")?.passed == true)
    }

    /// A run just at the bound is accelerated; just past it (and short against the capture), a storm that degrades.
    @Test func stormBoundAndDegradedShortStorm() throws {
        // 15 gaps of 20 s: 300 s, at the bound.
        let atBound = Self.run(Self.episode(15, gap: 20))
        #expect(atBound.client?.health == .healthy)
        #expect(atBound.client?.accelerated == 15)
        #expect(atBound.codes(.heartbeatStorm) == 0)
        // 16 gaps of 20 s: 320 s.
        let past = Self.run(Self.episode(16, gap: 20))
        let c = try #require(past.client)
        #expect(c.storms == 1 && c.stormSeconds == 320)
        #expect(c.health == .degraded)
        #expect(c.reasons == ["1 heartbeat storm (320 s of check-ins at most 60 s apart)"])
        #expect(past.codes(.heartbeatStorm) == 1)
        #expect(past.codes(.intervalMismatch) == 0)
        #expect(past.check("interval")?.passed == true)
        #expect(past.check("interval-jitter")?.passed == false)
    }

    @Test func boundsFollowAShortIntervalAndAreValidated() throws {
        let m = try ReferenceModel.builtIn.withInterval(seconds: 60)
        #expect(m.interval.acceleratedRunMaxSeconds == 60)
        #expect(try ReferenceModel.builtIn.withInterval(seconds: 900).interval.acceleratedRunMaxSeconds == 300)
        var bad = ReferenceModel.builtIn
        bad.interval.acceleratedRunMaxSeconds = 30
        #expect(throws: ModelError.self) { try bad.validate(file: "m.json") }
        bad = .builtIn
        bad.checkIn.joinMaxSeconds = 0
        #expect(throws: ModelError.self) { try bad.validate(file: "m.json") }
    }
}
