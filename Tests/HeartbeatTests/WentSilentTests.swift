import Core
import Records
import Testing

@testable import Heartbeat

/// A client that stops checking in while the others go on is a `went-silent` warning, is degraded in the audit
/// and counted in its fleet summary; a fleet that stops at once, a short silence, or time the capture did not
/// cover makes none.
@Suite struct WentSilentTests {
    /// The built-in model at a 20 s interval (tolerance 2 s).
    static let model: ReferenceModel = {
        do { return try ReferenceModel.builtIn.withServer("198.51.100.1").withInterval(seconds: 20) } catch {
            return .builtIn
        }
    }()

    /// Four clients every 20 s for 30 min; `quiet` of them (from .1 on) stop `stopsBefore` seconds before the
    /// end (1800 s), the others check in until it.
    static func report(quiet: Int = 1, stopsBefore: Double = 170, model: ReferenceModel = model,
                       silences: [CaptureSilence] = []) -> HeartbeatReport {
        var f = RecordFactory()
        var b = SessionBuilder(model: model)
        for k in 0..<90 {
            for n in 0..<4 {
                let t = Double(k * 20 + n)
                if n < quiet, t > 1800 - stopsBefore { continue }
                b.ingest(f.idle(client: "10.0.3.\(n + 1)", start: at(t)))
            }
        }
        b.noteCaptureSpan(first: at(0), last: at(1800))
        if !silences.isEmpty { b.noteCaptureSilences(silences) }
        return b.finish()
    }

    @Test func aClientThatStopsWhileTheOthersGoOnIsNamed() throws {
        let r = Self.report()
        let found = r.codes(.wentSilent)
        #expect(found.count == 1)
        let f = try #require(found.first)
        #expect(f.severity == .warning)
        #expect(f.client == IPAddress("10.0.3.1"))
        // Its last check-in at 1620 s: 180 s to the end, 8 intervals of 20 s owed beyond the tolerance.
        #expect(f.time == at(1620))
        #expect(f.message == "last check-in at \(at(1620).rfc3339(fractionDigits: 3)), then none for 3 min 0 s to "
            + "the capture's end at \(at(1800).rfc3339(fractionDigits: 3)): 8 intervals of 20 s ± 2 s with no "
            + "check-in, while other clients checked in until \(at(1783).rfc3339(fractionDigits: 3)): it stopped "
            + "checking in (switched off, or cut off from its managers)")
        // Stamped on that check-in, which carries it too.
        let session = try #require(r.sessions.first { $0.id == f.session })
        #expect(session.client == IPAddress("10.0.3.1") && session.start == at(1620))
        #expect(session.findings.map(\.code) == [.wentSilent])
        #expect(r.wentSilent.map(\.client) == [IPAddress("10.0.3.1")])
        #expect(r.summary.warnings == 1)
    }

    @Test func theAuditCallsItDegradedAndCountsIt() throws {
        let r = Self.report(quiet: 2)
        let audit = FleetAudit(report: r, model: Self.model, captureStart: at(0), captureEnd: at(1800))
        #expect(audit.summary.wentSilent == 2)
        #expect(audit.summary.degraded == 2)
        #expect(audit.summary.healthy == 2)
        // A warning: the default verdict passes.
        #expect(audit.summary.verdict == "pass")
        let quiet = try #require(audit.clients.first { $0.client == IPAddress("10.0.3.2") })
        #expect(quiet.health == .degraded)
        #expect(quiet.reasons == ["went silent after \(at(1621).rfc3339(fractionDigits: 3)) (8 intervals of 20 s)"])
        // Its gaps were all on time: not interval jitter.
        #expect(quiet.jitter.isEmpty)
        let other = try #require(audit.clients.first { $0.client == IPAddress("10.0.3.3") })
        #expect(other.health == .healthy && other.wentSilent == nil)
    }

    @Test func fewerIntervalsThanTheModelSaysAreOnlyAnEdge() throws {
        // 2 intervals owed (60 s): the audit's edge note only.
        let r = Self.report(stopsBefore: 50)
        #expect(r.codes(.wentSilent).isEmpty)
        let audit = FleetAudit(report: r, model: Self.model, captureStart: at(0), captureEnd: at(1800))
        let quiet = try #require(audit.clients.first { $0.client == IPAddress("10.0.3.1") })
        #expect(quiet.health == .healthy)
        #expect(quiet.reasons == ["silent before the capture ended"])
        // The model's setting decides: 8 intervals are not enough for 9.
        var nine = Self.model
        nine.interval.silentMinIntervals = 9
        #expect(Self.report(model: nine).codes(.wentSilent).isEmpty)
        nine.interval.silentMinIntervals = 8
        #expect(Self.report(model: nine).codes(.wentSilent).count == 1)
    }

    @Test func aClientIsJudgedAgainstItsOwnInterval() throws {
        // 10.0.3.9 checks in every 35 s (its median, not 20 s ± 2 s: judged against 35 s) and stops 84 s before
        // the end: 2 of its intervals owed, an edge; 20 s would have owed 4.
        var f = RecordFactory()
        var b = SessionBuilder(model: Self.model)
        for k in 0..<90 {
            b.ingest(f.idle(client: "10.0.3.1", start: at(Double(k * 20))))
            if k * 35 <= 1715 { b.ingest(f.idle(client: "10.0.3.9", start: at(Double(k * 35) + 1))) }
        }
        b.noteCaptureSpan(first: at(0), last: at(1800))
        let r = b.finish()
        let own = try #require(r.clients.first { $0.client == IPAddress("10.0.3.9") })
        #expect(own.judgedAgainstSeconds == 35)
        #expect(r.codes(.wentSilent).isEmpty)
    }

    @Test func theEndIsNeverBeforeTheOthersLastCheckIn() throws {
        // The last packet stamped at 1770 s (a small step back of the clock, not detected) while others checked in
        // until 1783 s: the silence runs to 1783 s, which the text gives as the capture's end.
        var f = RecordFactory()
        var b = SessionBuilder(model: Self.model)
        for k in 0..<90 {
            for n in 0..<4 where n > 0 || k * 20 <= 1620 {
                b.ingest(f.idle(client: "10.0.3.\(n + 1)", start: at(Double(k * 20 + n))))
            }
        }
        b.noteCaptureSpan(first: at(0), last: at(1770))
        let found = b.finish().codes(.wentSilent)
        let w = try #require(found.first)
        #expect(found.count == 1)
        #expect(w.message.contains("then none for 2 min 43 s to the capture's end at "
            + "\(at(1783).rfc3339(fractionDigits: 3)): 8 intervals of 20 s ± 2 s with no check-in, while other "
            + "clients checked in until \(at(1783).rfc3339(fractionDigits: 3)): "))
    }

    @Test func aFleetThatStopsAtOnceNamesNoClient() {
        // Every client's last check-in within one interval of the others': nobody went on checking in.
        let r = Self.report(quiet: 4, stopsBefore: 600)
        #expect(r.codes(.wentSilent).isEmpty)
        #expect(r.findings.isEmpty)
    }

    @Test func timeTheCaptureDidNotCoverIsNoSilence() {
        // Between capture files from 1623 s to 1780 s: 23 s covered after the last check-in, 1 interval owed.
        let gap = CaptureSilence(start: at(1623), end: at(1780), betweenFiles: true)
        #expect(Self.report(silences: [gap]).codes(.wentSilent).isEmpty)
        // A silence the capture ran through (no packets, not between files) is time it covered.
        let pause = CaptureSilence(start: at(1700), end: at(1760))
        #expect(Self.report(silences: [pause]).codes(.wentSilent).count == 1)
    }

    @Test func theModelSettingIsChecked() {
        var m = ReferenceModel.builtIn
        #expect(m.interval.silentMinIntervals == 3)
        m.interval.silentMinIntervals = 0
        #expect(throws: ModelError.self) { try m.validate(file: "model.json") }
    }
}
