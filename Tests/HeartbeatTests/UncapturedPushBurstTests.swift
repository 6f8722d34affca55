import Core
import Records
import Testing

@testable import Heartbeat

/// A push connection's bytes the capture missed (a stretch between files, the interface down, packets lost) are
/// stamped when they were acknowledged: a "burst" of lost bytes alone, with no byte captured, is no check-in,
/// and the gap around it is not judged when it may hold the check-in those bytes were.
@Suite struct UncapturedPushBurstTests {
    private let model: ReferenceModel = {
        do { return try ReferenceModel.builtIn.withServer("198.51.100.1") } catch { return .builtIn }
    }()

    static let intervalCodes: [FindingCode] = [.missedHeartbeat, .intervalLate, .intervalEarly, .acceleratedHeartbeat]

    /// A push connection with bursts at `bursts` seconds and, at `lostAt`, an exchange of lost bytes alone (the
    /// keep-alive's acknowledgement of a burst the capture did not see).
    private func report(bursts: [Double], lostAt: Double, silence: CaptureSilence? = nil) -> HeartbeatReport {
        var f = RecordFactory()
        var c = f.push(start: epoch, bursts: bursts)
        var lost = Exchange(index: 0, kind: .tls, start: at(lostAt), end: at(lostAt))
        lost.missingBytes = 4_200
        c.exchanges.append(lost)
        c.exchanges.sort { $0.start < $1.start }
        for i in c.exchanges.indices { c.exchanges[i].index = i }
        var b = SessionBuilder(model: model)
        b.ingest(c)
        if let silence { b.noteCaptureSilences([silence]) }
        return b.finish()
    }

    private func intervalFindings(_ r: HeartbeatReport) -> [Finding] {
        r.findings.filter { Self.intervalCodes.contains($0.code) }
    }

    @Test func afterAStretchBetweenFilesTheGapAcrossItIsNotObserved() {
        // The burst at 900 s fell between two files (850-1000 s); its bytes were acknowledged at 1000 s.
        let silence = CaptureSilence(start: at(850), end: at(1_000), betweenFiles: true)
        let r = report(bursts: [0, 300, 600, 1_200, 1_500], lostAt: 1_000, silence: silence)
        #expect(r.sessions.count == 5)
        #expect(r.counts.uncapturedBursts == 1)
        #expect(!r.sessions.contains { $0.start == at(1_000) })
        #expect(intervalFindings(r).isEmpty)
        #expect(r.clients.first?.notObserved == 1)
        let audit = FleetAudit(report: r, model: model).clients.first
        #expect(audit?.health == .healthy)
        #expect(audit?.notObserved == 1 && audit?.early == 0 && audit?.late == 0)
    }

    @Test func aStretchTakenAsQuietTimeMissesNothing() {
        // No silence is known (a gap between files shorter than the pull interval is taken as quiet time): the
        // bytes acknowledged at 1000 s were the check-in the 600-1200 s gap lacks, sent at an unknown time.
        let r = report(bursts: [0, 300, 600, 1_200, 1_500], lostAt: 1_000)
        #expect(r.sessions.count == 5)
        #expect(intervalFindings(r).isEmpty)
        #expect(r.clients.first?.missed == 0)
        let audit = FleetAudit(report: r, model: model).clients.first
        #expect(audit?.health == .healthy)
        #expect(audit?.missed == 0 && audit?.early == 0 && audit?.late == 0)
    }

    @Test func aLostTailAcknowledgedByTheNextKeepAliveMakesNoEarlyGaps() {
        // The tail of the 600 s burst's answer, lost, is acknowledged at the keep-alive 100 s later.
        let r = report(bursts: [0, 300, 600, 900, 1_200], lostAt: 700)
        #expect(r.sessions.count == 5)
        #expect(r.counts.uncapturedBursts == 1)
        #expect(intervalFindings(r).isEmpty)
        #expect(FleetAudit(report: r, model: model).clients.first?.health == .healthy)
    }

    @Test func aMissedCheckInBesideALostBurstIsStillMissed() {
        // Two check-ins lacking (at 900 and 1200 s), one burst of lost bytes: the gap is judged.
        let r = report(bursts: [0, 300, 600, 1_500, 1_800], lostAt: 1_000)
        #expect(r.codes(.missedHeartbeat).count == 1)
        #expect(r.clients.first?.missed == 2)
        #expect(FleetAudit(report: r, model: model).clients.first?.missed == 2)
    }

    @Test func aBurstWithBytesCapturedIsStillACheckIn() {
        // An answer that lost a segment but showed the rest keeps its check-in.
        var f = RecordFactory()
        var c = f.push(start: epoch, bursts: [0, 300, 600, 900])
        let last = c.exchanges.count - 1
        c.exchanges[last].missingBytes = 1_400
        let r = analyze([c], model: model)
        #expect(r.sessions.count == 4)
        #expect(r.counts.uncapturedBursts == 0)
    }
}
