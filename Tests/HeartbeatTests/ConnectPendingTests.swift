import Core
import Records
import Testing

@testable import Heartbeat

/// A lone unanswered connect at the capture's end: pending up to the connect timeout, failed past it.
@Suite struct ConnectPendingTests {
    private let model: ReferenceModel = {
        do { return try ReferenceModel.builtIn.withServer("198.51.100.1") } catch { return .builtIn }
    }()

    private func report(captureEnd seconds: Double, nanos: Int64 = 0, refused: Bool = false) -> HeartbeatReport {
        var f = RecordFactory()
        let c = f.failed(server: "198.51.100.1", start: epoch, refused: refused, syns: 3)
        return analyze([c], model: model, captureEnd: at(seconds).adding(nanoseconds: nanos))
    }

    @Test func atTheTimeoutTheConnectIsPendingNotFailed() {
        let r = report(captureEnd: 30)
        #expect(r.findings.isEmpty)
        // Nothing set up and nothing failed: nothing was judged, which is no pass (exit status 0 still).
        #expect(r.summary.verdict == "n/a" && r.exitStatus == 0)
        #expect(r.summary.failed == 0 && r.summary.checkIns == 0 && r.summary.pending == 1)
        #expect(r.clients.first?.pending == 1 && r.clients.first?.failed == 0 && r.clients.first?.checkIns == 0)
        let s = r.sessions.first
        #expect(s?.pending == true && s?.failed == false)
        #expect(s?.steps.first?.evidence == "connect to 198.51.100.1:443 unanswered when the capture ended (3 SYNs, "
            + "30 s after the first; not judged before the 30 s timeout); no connection set up before the capture "
            + "ended")
        let audit = FleetAudit(report: r, model: model)
        // Not failed either in the audit; its one client has too few check-ins to judge, and an audit that
        // judged no client fails (as with none seen).
        #expect(audit.summary.failed == 0 && audit.summary.insufficient == 1 && audit.summary.verdict == "fail")
        #expect(audit.summary.verdictReason == "no client judged: 1 client seen, with fewer than 2 check-ins")
    }

    @Test func oneNanosecondPastTheTimeoutTheConnectTimedOut() {
        let r = report(captureEnd: 30, nanos: 1)
        #expect(r.findings.map(\.code) == [.connectTimeout])
        #expect(r.findings.first?.severity == .error)
        #expect(r.summary.verdict == "fail" && r.summary.failed == 1 && r.summary.pending == nil)
        #expect(r.sessions.first?.pending == false && r.sessions.first?.failed == true)
        #expect(FleetAudit(report: r, model: model).summary.verdict == "fail")
    }

    @Test func aRefusedConnectFailsAtOnce() {
        let r = report(captureEnd: 0.5, refused: true)
        #expect(r.findings.map(\.code) == [.connectFailed])
        #expect(r.summary.verdict == "fail" && r.summary.failed == 1)
    }

    @Test func anEarlierConnectTheClientMovedOnFromIsStillJudged() {
        var f = RecordFactory()
        let first = f.failed(server: "198.51.100.1", start: epoch, refused: false, syns: 2)
        let second = f.failed(server: "198.51.100.1", start: at(10), refused: false, syns: 1)
        let r = analyze([first, second], model: model, captureEnd: at(15))
        #expect(r.findings.map(\.code) == [.connectTimeout])
        #expect(r.sessions.first?.failed == true && r.sessions.first?.pending == false)
        #expect(r.sessions.first?.steps.first?.evidence.hasPrefix("1 failed connect: 198.51.100.1:443 unanswered, then "
            + "connect to 198.51.100.1:443 unanswered when the capture ended") == true)
    }
}
