import Core
import Foundation
import Records
import Testing

@testable import Heartbeat

/// A request reset or TLS handshake refused, then retried by the client on a new connection: within
/// `checkIn.retryWindowSeconds` and answered, one check-in made with a `retried-and-answered` warning;
/// otherwise the failure stays a failed check-in with its error.
@Suite struct RetriedFailureTests {
    private let model: ReferenceModel = {
        do { return try ReferenceModel.builtIn.withServer("198.51.100.1") } catch { return .builtIn }
    }()

    /// A TLS connection the server closed after the hellos, with no application data either way.
    private func refusedHandshake(_ f: inout RecordFactory, server: String = "198.51.100.1",
                                  at start: Timestamp) -> ConnectionRecord {
        var c = f.connection(server: server, start: start, exchanges: [], close: .rstFromServer)
        c.bytesUp = 517
        c.bytesDown = 0
        c.tls?.negotiatedVersion = nil
        return c
    }

    /// A plain-HTTP secars request the manager reset.
    private func resetRequest(_ f: inout RecordFactory, server: String = "198.51.100.1",
                              at start: Timestamp) -> ConnectionRecord {
        f.connection(server: server, port: 8014, start: start, exchanges: [.http("GET", 133, 0, status: nil)],
                     close: .rstFromServer)
    }

    private func answered(_ f: inout RecordFactory, server: String = "198.51.100.1", port: UInt16 = 8014,
                          at start: Timestamp) -> ConnectionRecord {
        f.connection(server: server, port: port, start: start, exchanges: [.http("GET", 300, 3_700)])
    }

    /// Regular check-ins at 0 and 600 s around the one at 300 s under test, so intervals are judged too.
    private func around(_ f: inout RecordFactory, _ middle: [ConnectionRecord]) -> [ConnectionRecord] {
        [answered(&f, at: at(0))] + middle + [answered(&f, at: at(600))]
    }

    // MARK: - Within the window

    @Test func aResetRequestRetriedSecondsLaterAndAnsweredIsOneCheckInMade() throws {
        var f = RecordFactory()
        let failed = resetRequest(&f, at: at(300))
        let retry = answered(&f, at: failed.end.adding(seconds: 5))
        let r = analyze(around(&f, [failed, retry]), model: model)

        #expect(r.sessions.count == 3)
        #expect(r.summary.checkIns == 3)
        #expect(r.summary.failed == 0)
        #expect(r.codes(.noAnswer).isEmpty)
        let s = r.sessions[1]
        #expect(!s.failed)
        #expect(s.start == at(300))
        #expect(s.connections == [failed.id, retry.id])
        #expect(s.bytesUp == failed.bytesUp + retry.bytesUp)
        let w = try #require(r.codes(.retriedAndAnswered).first)
        #expect(r.codes(.retriedAndAnswered).count == 1)
        #expect(w.severity == .warning)
        #expect(w.session == 2)
        #expect(w.time == failed.exchanges.first?.start)
        #expect(w.message.hasPrefix("no-answer retried and answered: GET /secars/secars.dll #1 (133 bytes up) got "
            + "no answer from 198.51.100.1:8014 before the connection closed (RST from server"))
        #expect(w.message.hasSuffix("; retried 5 s later on a new connection to 198.51.100.1:8014, answered"))
        // One check-in at 300 s: no accelerated or early gap, and the client is healthy.
        #expect(r.codes(.acceleratedHeartbeat).isEmpty && r.codes(.intervalEarly).isEmpty)
        #expect(r.summary.verdict == "pass")
        let audit = FleetAudit(report: r, model: model)
        #expect(audit.clients.first?.failed == 0)
        #expect(audit.clients.first?.health == .healthy)
    }

    /// An answer the manager reset in the middle of its body (`answer-cut-short`), retried seconds later and
    /// answered whole: one check-in made, the failure a warning. Alone, it is a failed check-in.
    @Test func anAnswerCutShortRetriedAndAnsweredIsOneCheckInMade() throws {
        var f = RecordFactory()
        var cut = f.connection(port: 8014, start: at(300), exchanges: [.http("GET", 133, 1_000)], close: .rstFromServer)
        cut.exchanges[0].changeHTTP {
            $0.responseBodyLength = 919
            $0.responseCutShort = true
            $0.declaredResponseBodyLength = 3_600
        }
        let alone = analyze([cut], model: model)
        #expect(alone.sessions.first?.failed == true)
        let error = try #require(alone.codes(.answerCutShort).first)
        #expect(error.severity == .error)
        #expect(error.message == "GET /secars/secars.dll #1: answer 200 from 198.51.100.1:8014 cut short, 919 of 3600 "
            + "body bytes (Content-Length) came before the connection closed (RST from server)")
        let retry = answered(&f, at: cut.end.adding(seconds: 5))
        let r = analyze(around(&f, [cut, retry]), model: model)
        #expect(r.summary.checkIns == 3 && r.summary.failed == 0)
        #expect(r.codes(.answerCutShort).isEmpty)
        let w = try #require(r.codes(.retriedAndAnswered).first)
        #expect(w.message.hasPrefix("answer-cut-short retried and answered: GET /secars/secars.dll #1: answer 200"))
        #expect(r.summary.verdict == "pass")
    }

    /// An answer the client ended (its RST or FIN in the middle of the body, the manager closing nothing) is still
    /// an answer the check-in did not get, so the same error, but worded as the client's doing; with the manager's
    /// FIN or RST as well, who closed first is not known and the answer stays cut short by the connection's close.
    @Test func anAnswerTheClientEndedSaysTheClientEndedIt() throws {
        let closes: [(ConnectionState, String, Bool)] = [
            (.rstFromClient, "RST from client", true),
            ([.finFromClient, .rstFromClient], "FIN from client, RST from client", true),
            (.finFromClient, "FIN from client", true),
            ([.finFromClient, .finFromServer], "FIN from client, FIN from server", false),
            ([.rstFromClient, .rstFromServer], "RST from client, RST from server", false),
        ]
        for (close, how, ended) in closes {
            var f = RecordFactory()
            var cut = f.connection(port: 8014, start: at(300), exchanges: [.http("GET", 133, 1_000)], close: close)
            cut.exchanges[0].changeHTTP {
                $0.responseBodyLength = 919
                $0.responseCutShort = true
                $0.declaredResponseBodyLength = 3_600
            }
            let r = analyze([cut], model: model)
            #expect(r.sessions.first?.failed == true)
            let error = try #require(r.codes(.answerCutShort).first)
            #expect(error.severity == .error)
            #expect(error.message == "GET /secars/secars.dll #1: answer 200 from 198.51.100.1:8014 cut short"
                + (ended ? " by the client: 919 of 3600 body bytes (Content-Length) came before the client ended the "
                    + "connection (\(how))"
                    : ", 919 of 3600 body bytes (Content-Length) came before the connection closed (\(how))"),
                    "\(error.message)")
        }
    }

    /// An answer cut short on a connection with bytes the capture lost is not judged (a `capture-gap` instead).
    @Test func anAnswerCutShortWithBytesLostIsNotJudged() throws {
        var f = RecordFactory()
        var cut = f.connection(port: 8014, start: at(0), exchanges: [.http("GET", 133, 1_000)], close: .rstFromServer)
        cut.exchanges[0].missingBytes = 500
        cut.anomaliesDown.gaps = 1
        cut.anomaliesDown.gapBytes = 500
        cut.exchanges[0].changeHTTP { $0.responseCutShort = true }
        let r = analyze([cut], model: model)
        #expect(r.codes(.answerCutShort).isEmpty)
        #expect(r.sessions.first?.failed == false)
        #expect(!r.codes(.captureGap).isEmpty)
    }

    @Test func aRefusedHandshakeRetriedWithinTheJoinGapIsAWarningInTheSameCheckIn() throws {
        var f = RecordFactory()
        let failed = refusedHandshake(&f, at: at(0))
        let retry = f.idle(start: failed.end.adding(seconds: 0.5))
        let r = analyze([failed, retry], model: model)
        #expect(r.sessions.count == 1)
        #expect(r.sessions.first?.failed == false)
        #expect(r.codes(.tlsHandshakeFailed).isEmpty)
        let w = try #require(r.codes(.retriedAndAnswered).first)
        #expect(w.message.hasPrefix("tls-handshake-failed retried and answered: TLS handshake with 198.51.100.1:443 "
            + "failed: no ServerHello after the ClientHello; then RST from server; retried 0.51 s later"))
        #expect(w.message.hasSuffix("answered in the same check-in"))
    }

    @Test func aRetryToAnotherManagerIsAlsoAFailover() throws {
        var f = RecordFactory()
        let failed = refusedHandshake(&f, at: at(0))
        let retry = f.idle(server: "198.51.100.2", start: failed.end.adding(seconds: 8))
        let m = try model.withServer("198.51.100.2")
        let r = analyze([failed, retry], model: m)
        #expect(r.sessions.count == 1)
        let s = try #require(r.sessions.first)
        #expect(!s.failed)
        #expect(s.server == ip("198.51.100.2"))
        #expect(r.codes(.tlsHandshakeFailed).isEmpty)
        #expect(r.codes(.retriedAndAnswered).first?.message.contains("to 198.51.100.2:443, answered") == true)
        #expect(r.codes(.failover).first?.message
            == "reached 198.51.100.2:443 after a failed exchange with 198.51.100.1:443, retried")
        #expect(r.summary.errors == 0)
    }

    @Test func aRunOfFailuresEachRetriedInTheWindowEndsInTheAnsweredCheckIn() {
        var f = RecordFactory()
        let first = resetRequest(&f, at: at(300))
        let second = resetRequest(&f, at: first.end.adding(seconds: 10))
        let retry = answered(&f, at: second.end.adding(seconds: 10))
        let r = analyze(around(&f, [first, second, retry]), model: model)
        #expect(r.sessions.count == 3)
        #expect(r.summary.failed == 0)
        #expect(r.sessions[1].start == at(300))
        #expect(r.sessions[1].connections.count == 3)
        #expect(r.codes(.retriedAndAnswered).count == 2)
        #expect(r.codes(.noAnswer).isEmpty)
    }

    @Test func twoFoldsApartLeaveTheOtherCheckInsInTheirOrder() {
        var f = RecordFactory()
        let early = resetRequest(&f, at: at(100))
        let earlyRetry = answered(&f, at: early.end.adding(seconds: 10))
        let late = resetRequest(&f, at: at(400))
        let lateRetry = answered(&f, at: late.end.adding(seconds: 10))
        let r = analyze(around(&f, [early, earlyRetry, answered(&f, at: at(300)), late, lateRetry]), model: model)
        #expect(r.sessions.map(\.start) == [at(0), at(100), at(300), at(400), at(600)])
        #expect(r.sessions.map(\.connections.count) == [1, 2, 1, 2, 1])
        #expect(r.summary.failed == 0)
        #expect(r.codes(.retriedAndAnswered).count == 2)
    }

    // MARK: - Not retried and answered

    @Test func aRetryAfterTheWindowLeavesTheFailure() throws {
        var f = RecordFactory()
        let failed = resetRequest(&f, at: at(300))
        let late = answered(&f, at: failed.end.adding(seconds: 40))
        let r = analyze(around(&f, [failed, late]), model: model)
        #expect(r.sessions.count == 4)
        #expect(r.summary.failed == 1)
        #expect(r.sessions[1].failed)
        #expect(r.codes(.noAnswer).first?.severity == .error)
        #expect(r.codes(.retriedAndAnswered).isEmpty)
        #expect(r.summary.verdict == "fail")
    }

    @Test func aRetryThatAlsoFailsLeavesBothFailures() {
        var f = RecordFactory()
        let failed = resetRequest(&f, at: at(300))
        let again = resetRequest(&f, at: failed.end.adding(seconds: 5))
        let r = analyze(around(&f, [failed, again]), model: model)
        #expect(r.summary.failed == 2)
        #expect(r.codes(.noAnswer).count == 2)
        #expect(r.codes(.retriedAndAnswered).isEmpty)
    }

    /// An upload reset after the index check was answered on the same connection is no retried failure.
    @Test func aLaterRequestResetOnAnAnsweredConnectionStaysAnError() {
        var f = RecordFactory()
        let c = f.connection(port: 8014, start: epoch,
                             exchanges: [.http("GET", 900, 3_500), .http("POST", 9_000, 0, status: nil)],
                             close: .rstFromServer)
        let next = answered(&f, at: c.end.adding(seconds: 5))
        let r = analyze([c, next], model: model)
        #expect(r.codes(.noAnswer).count == 1)
        #expect(r.codes(.retriedAndAnswered).isEmpty)
    }

    // MARK: - The window

    @Test func theWindowIsTheModelsAndPairedAtItsLimit() throws {
        var m = model
        m.checkIn.retryWindowSeconds = 5
        for (delay, retried) in [(5.0, true), (5.001, false)] {
            var f = RecordFactory()
            let failed = resetRequest(&f, at: at(300))
            let retry = answered(&f, at: failed.end.adding(seconds: delay))
            let r = analyze(around(&f, [failed, retry]), model: m)
            #expect(r.codes(.retriedAndAnswered).count == (retried ? 1 : 0), "after \(delay) s")
            #expect(r.summary.failed == (retried ? 0 : 1), "after \(delay) s")
        }
    }

    @Test func theWindowIsRangeCheckedWhenLoaded() throws {
        func load(_ text: String) throws -> ReferenceModel {
            let path = NSTemporaryDirectory() + "sepbeat-retry-" + UUID().uuidString + ".json"
            defer { try? FileManager.default.removeItem(atPath: path) }
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            return try ReferenceModel.load(path: path)
        }
        #expect(ReferenceModel.builtIn.checkIn.retryWindowSeconds == 30)
        #expect(try load(#"{"checkIn": {"retryWindowSeconds": 0}}"#).checkIn.retryWindowSeconds == 0)
        for bad in ["-1", "604801"] {
            do {
                _ = try load(#"{"checkIn": {"retryWindowSeconds": \#(bad)}}"#)
                Issue.record("\(bad) was taken")
            } catch let e as ModelError {
                #expect(e.field == "checkIn.retryWindowSeconds", "\(e)")
            }
        }
    }
}
