import Core
import Records
import Testing

@testable import Heartbeat

/// Intervals across a capture silence (the time between merged capture files) are not judged.
@Suite struct CaptureSilenceTests {
    private let model: ReferenceModel = {
        do { return try ReferenceModel.builtIn.withServer("198.51.100.1") } catch { return .builtIn }
    }()

    /// Check-ins at 0, 300 and 1500 s: the 1200 s gap hides 3 check-ins.
    private func report(silence: CaptureSilence?) -> HeartbeatReport {
        var f = RecordFactory()
        var b = SessionBuilder(model: model)
        for t in [0.0, 300, 1500] { b.ingest(f.idle(start: at(t))) }
        if let silence { b.noteCaptureSilences([silence]) }
        return b.finish()
    }

    @Test func silenceCoveringExactlyTheToleranceLeavesTheIntervalJudged() {
        let r = report(silence: CaptureSilence(start: at(600), end: at(630), betweenFiles: true))
        #expect(r.clients.first?.missed == 3)
        #expect(r.clients.first?.notObserved == 0)
        #expect(r.codes(.missedHeartbeat).count == 1)
        #expect(r.codes(.captureGap).isEmpty)
        #expect(r.clients.first?.intervalSeconds?.count == 2)
    }

    @Test func silenceOneNanosecondPastTheToleranceHidesTheInterval() {
        let silence = CaptureSilence(start: at(600), end: at(630).adding(nanoseconds: 1), betweenFiles: true)
        let r = report(silence: silence)
        let client = r.clients.first
        #expect(client?.missed == 0 && client?.notObserved == 1)
        #expect(r.codes(.missedHeartbeat).isEmpty && r.codes(.intervalLate).isEmpty)
        // The statistics hold only the observed gap.
        #expect(client?.intervalSeconds?.count == 1 && client?.intervalSeconds?.max == 300)
        let gaps = r.codes(.captureGap)
        #expect(gaps.count == 1)
        #expect(gaps.first?.severity == model.severity(of: .captureGap))
        #expect(gaps.first?.time == at(600))
        #expect(gaps.first?.message == "no packets from 2026-01-01T00:10:00.000Z to 2026-01-01T00:10:30.000Z (30 s): "
            + "the capture does not cover this time (between capture files); 3 expected check-ins not judged "
            + "(1 client)")
        #expect(r.summary.verdict == "pass")

        let audit = FleetAudit(report: r, model: model)
        let c = audit.clients.first
        #expect(c?.missed == 0 && c?.notObserved == 1 && c?.late == 0)
        #expect(c?.gaps == [300])
        #expect(c?.health == .healthy)
        #expect(c?.reasons.contains("1 interval not observed (capture silence)") == true)
    }

    /// A live capture's interface down: time the capture did not cover, named as such.
    @Test func anInterfaceDownHidesTheIntervalAcrossIt() {
        let r = report(silence: CaptureSilence(start: at(600), end: at(900), interfaceDown: true))
        #expect(r.clients.first?.missed == 0 && r.clients.first?.notObserved == 1)
        #expect(r.codes(.captureGap).first?.message == "no packets from 2026-01-01T00:10:00.000Z to "
            + "2026-01-01T00:15:00.000Z (5 min 0 s): the capture does not cover this time (the capturing interface "
            + "was down); 3 expected check-ins not judged (1 client)")
    }

    @Test func aClientWhoseEveryIntervalIsHiddenIsInsufficientNotHealthy() {
        // 10.0.0.5 checks in at 0 and 1500 s across the time between two files: nothing of it is judged.
        func audit(others: Bool) -> FleetAudit {
            var f = RecordFactory()
            var b = SessionBuilder(model: model)
            for t in [0.0, 1500] { b.ingest(f.idle(client: "10.0.0.5", start: at(t))) }
            if others {
                for t in [0.0, 300, 600, 1200, 1500] { b.ingest(f.idle(client: "10.0.0.6", start: at(t))) }
                b.ingest(f.idle(client: "10.0.0.7", start: at(10)))
            }
            b.noteCaptureSilences([CaptureSilence(start: at(600), end: at(1200), betweenFiles: true)])
            return FleetAudit(report: b.finish(), model: model)
        }
        let alone = audit(others: false)
        let c = alone.clients.first
        #expect(c?.health == .insufficient && c?.notObserved == 1 && c?.score == nil)
        #expect(c?.reasons == ["not judged", "1 interval not observed (capture silence)"])
        #expect(alone.summary.insufficient == 1 && alone.summary.unobserved == 1 && alone.summary.noneJudged)
        #expect(alone.summary.verdict == "fail")
        #expect(alone.summary.verdictReason
            == "no client judged: 1 client seen, 1 with no interval observed (capture silence)")

        // Beside a client judged healthy, and one with a single check-in: judged no more, counted apart.
        let fleet = audit(others: true)
        #expect(fleet.summary.healthy == 1 && fleet.summary.insufficient == 2 && fleet.summary.unobserved == 1)
        #expect(fleet.summary.verdict == "pass")
        #expect(fleet.clients.first { $0.client.description == "10.0.0.5" }?.health == .insufficient)
    }

    @Test func silenceInsideOneFileIsJudgedAsAQuietLink() {
        let r = report(silence: CaptureSilence(start: at(300.1), end: at(1499.9), betweenFiles: false))
        #expect(r.clients.first?.missed == 3)
        #expect(r.codes(.captureGap).isEmpty)
        #expect(FleetAudit(report: r, model: model).clients.first?.missed == 3)
    }

    @Test func oneFindingPerSilenceAcrossClientsAndNoneForASilenceNoIntervalSpans() {
        var f = RecordFactory()
        var b = SessionBuilder(model: model)
        for client in ["10.0.0.5", "10.0.0.6"] {
            for t in [0.0, 300, 86_400, 86_700] { b.ingest(f.idle(client: client, start: at(t))) }
        }
        b.noteCaptureSilences([CaptureSilence(start: at(301), end: at(86_399), betweenFiles: true),
                               CaptureSilence(start: at(90_000), end: at(99_000), betweenFiles: true)])
        let r = b.finish()
        let gaps = r.codes(.captureGap)
        #expect(gaps.count == 1)
        // floor((86100 + 30) / 300) - 1 = 286 per client.
        #expect(gaps.first?.message.hasSuffix("(23 h 54 min): the capture does not cover this time (between "
            + "capture files); 572 expected check-ins not judged (2 clients)") == true)
        #expect(r.clients.allSatisfy { $0.missed == 0 && $0.notObserved == 1 })
        #expect(r.summary.errors == 0)
    }

    @Test func spanLengthsReadInTheTwoLargestUnits() {
        #expect(formatSpan(nanoseconds: 45_000_000_000) == "45 s")
        #expect(formatSpan(nanoseconds: 1_304_000_000_000) == "21 min 44 s")
        #expect(formatSpan(nanoseconds: 516_890_981_000_000) == "5 d 23 h")
    }
}
