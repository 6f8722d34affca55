import Core
import Records
import Testing

@testable import Heartbeat

/// Connections to a manager that were set up but carried no answer (`tls-handshake-failed`, `no-answer`), and
/// records that are no check-in at all (pieces with no SYN and no payload, content downloads, server pushes).
@Suite struct FailedExchangeTests {
    private let model: ReferenceModel = {
        do { return try ReferenceModel.builtIn.withServer("198.51.100.1") } catch { return .builtIn }
    }()

    /// A TLS connection whose ClientHello the server answered with `alert` (level 2) and a FIN.
    private func rejected(_ f: inout RecordFactory, at start: Timestamp, alert: UInt8? = 40,
                          serverHello: Bool = false, close: ConnectionState = .finFromServer) -> ConnectionRecord {
        var c = f.connection(start: start, exchanges: [], close: close)
        c.bytesUp = 104
        c.bytesDown = alert == nil ? 0 : 7
        var tls = TLSSummary()
        tls.clientVersion = 0x0303
        if serverHello { tls.negotiatedVersion = 0x0303 }
        if let alert {
            tls.alerts = [TLSAlert(level: 1, description: 0, direction: .up, time: start),
                          TLSAlert(level: 2, description: alert, direction: .down, time: start.adding(seconds: 0.002))]
        }
        c.tls = tls
        return c
    }

    @Test func aHandshakeRejectedByAFatalAlertIsAFailedCheckIn() throws {
        var f = RecordFactory()
        let r = analyze((0..<4).map { rejected(&f, at: at(Double($0) * 300)) }, model: model)
        #expect(r.sessions.count == 4)
        #expect(r.sessions.allSatisfy { $0.failed })
        #expect(r.summary.checkIns == 0)
        #expect(r.summary.failed == 4)
        #expect(r.summary.verdict == "fail")
        let finding = try #require(r.codes(.tlsHandshakeFailed).first)
        #expect(finding.severity == .error)
        // The fatal alert survives the record's compaction on ingest; the warning alert before it does not matter.
        #expect(finding.message == "TLS handshake with 198.51.100.1:443 failed: fatal alert handshake_failure (40) "
            + "from the server; then FIN from server")
        // Steps 3-6 of a failed check-in are not judged, nor is its size.
        #expect(r.codes(.stepMissing).isEmpty)
        #expect(r.codes(.idleSizeOutOfRange).isEmpty)
        // The audit calls the client unhealthy, as for refused connects.
        let audit = FleetAudit(report: r, model: model)
        #expect(audit.clients.first?.health == .unhealthy)
        #expect(audit.clients.first?.failed == 4)
        #expect(audit.summary.verdict == "fail")
    }

    @Test func aHandshakeWithNoServerHelloOrNoDataAfterItFailsToo() throws {
        var f = RecordFactory()
        let noHello = analyze([rejected(&f, at: epoch, alert: nil, close: .rstFromServer)], model: model)
        #expect(noHello.sessions.first?.failed == true)
        #expect(noHello.codes(.tlsHandshakeFailed).first?.message
            == "TLS handshake with 198.51.100.1:443 failed: no ServerHello after the ClientHello; then RST from server")
        let noData = analyze([rejected(&f, at: epoch, alert: nil, serverHello: true, close: .finFromClient)],
                             model: model)
        #expect(noData.codes(.tlsHandshakeFailed).first?.message
            .contains("no application data after the hellos") == true)
    }

    /// Bytes from the client that made no whole ClientHello (cut short by the server's reset) are said as such,
    /// not as no ClientHello at all; with none sent, no ClientHello was seen.
    @Test func aClientHelloCutShortIsSaid() throws {
        var f = RecordFactory()
        var cut = rejected(&f, at: epoch, alert: nil, close: .rstFromServer)
        cut.bytesUp = 20
        cut.tls = TLSSummary()
        let r = analyze([cut], model: model)
        #expect(r.codes(.tlsHandshakeFailed).first?.message == "TLS handshake with 198.51.100.1:443 failed: no whole "
            + "ClientHello (the client's 20 bytes made none); then RST from server")
        var none = rejected(&f, at: epoch, alert: nil, close: .rstFromServer)
        none.bytesUp = 0
        none.bytesDown = 3
        none.tls = TLSSummary()
        let n = analyze([none], model: model)
        #expect(n.codes(.tlsHandshakeFailed).first?.message.contains("failed: no ClientHello seen;") == true,
                "\(n.findings.map(\.message))")
    }

    /// Through a proxy's tunnel, the failure names the proxy, and the tunnel's CONNECT bytes are not counted as
    /// the client's ClientHello bytes.
    @Test func aHandshakeFailedThroughAProxyNamesIt() throws {
        var f = RecordFactory()
        var cut = rejected(&f, at: epoch, alert: nil, close: .rstFromServer)
        cut.bytesUp = 20
        cut.bytesDown = 0
        cut.tls = TLSSummary()
        let r = analyze([TunnelJudgingTests.viaProxy(cut, host: "198.51.100.1")], model: model)
        #expect(r.codes(.tlsHandshakeFailed).first?.message == "TLS handshake with 198.51.100.1:443 through proxy "
            + "10.5.5.5:8080 failed: no whole ClientHello (the client's 20 bytes made none); then RST from server",
                "\(r.findings.map(\.message))")
    }

    @Test func anHTTPRequestResetByTheServerIsAFailedCheckIn() throws {
        var f = RecordFactory()
        let c = f.connection(port: 8014, start: epoch, exchanges: [.http("GET", 133, 0, status: nil)],
                             close: .rstFromServer)
        let r = analyze([c], model: model)
        let s = try #require(r.sessions.first)
        #expect(s.failed)
        let finding = try #require(r.codes(.noAnswer).first)
        #expect(finding.severity == .error)
        #expect(finding.message.hasPrefix("GET /secars/secars.dll #1 (133 bytes up) got no answer from "
            + "198.51.100.1:8014 "
            + "before the connection closed (RST from server"))
        #expect(r.codes(.idleSizeOutOfRange).isEmpty)
    }

    @Test func aTLSRequestNeverAnsweredIsAFailedCheckIn() throws {
        var f = RecordFactory()
        var c = f.connection(start: epoch, exchanges: [.tls(528, 0)], close: .finFromServer)
        c.exchanges[0].recordsDown = 0
        let r = analyze([c], model: model)
        #expect(r.sessions.first?.failed == true)
        #expect(r.codes(.noAnswer).first?.message.hasPrefix("exchange #1 (528 bytes up) got no answer") == true)
    }

    @Test func aConnectionSetUpAndClosedWithNoByteFails() throws {
        var f = RecordFactory()
        var c = f.connection(start: epoch, exchanges: [], close: .rstFromServer)
        c.bytesUp = 0
        c.bytesDown = 0
        let r = analyze([c], model: model)
        #expect(r.sessions.first?.failed == true)
        #expect(r.codes(.noAnswer).first?.message
            == "connection to 198.51.100.1:443 set up and closed (RST from server) with no byte either way")
        #expect(r.codes(.stepMissing).isEmpty)
    }

    /// A request head cut short by the server's reset (40 bytes of `GET /secars/...`, no line end) makes no
    /// exchange; with no byte back, the check-in got no answer and failed, as a whole request left unanswered.
    @Test func anHTTPRequestHeadCutShortByAResetIsAFailedCheckIn() throws {
        var f = RecordFactory()
        var c = f.connection(port: 8014, start: epoch, exchanges: [], tlsVersion: nil, close: .rstFromServer)
        c.bytesUp = 40
        c.bytesDown = 0
        let r = analyze([c], model: model)
        #expect(r.sessions.first?.failed == true)
        #expect(r.codes(.noAnswer).first?.message == "connection to 198.51.100.1:8014 set up and closed (RST from "
            + "server) with 40 bytes up that made no whole request, and no byte down")
        #expect(r.codes(.stepMissing).isEmpty)
        // Bytes of another protocol than HTTP are not taken for a request.
        var other = f.connection(port: 8014, start: at(300), exchanges: [], tlsVersion: nil, close: .rstFromServer)
        other.application = .other
        other.bytesUp = 40
        other.bytesDown = 0
        #expect(analyze([other], model: model).codes(.noAnswer).isEmpty)
    }

    /// What the capture cannot tell apart from an answer lost or not yet sent is not judged.
    @Test func openLostOrAnsweredExchangesAreNotJudged() {
        var f = RecordFactory()
        // Still open when the capture ended: the answer may have come after it.
        let open = f.connection(port: 8014, start: epoch, exchanges: [.http("GET", 133, 0, status: nil)],
                                openAtEnd: true)
        // A gap in the stream: the answer may be what was lost.
        var lost = StreamAnomalies()
        lost.gaps = 1
        lost.gapBytes = 1_000
        var gap = f.connection(port: 8014, start: at(300), exchanges: [.http("GET", 133, 0, status: nil)],
                               close: .rstFromServer)
        gap.anomaliesDown = lost
        // A TLS 1.3 close_notify after the answer is a client record with no reply: not a request.
        let closeNotify = f.connection(start: at(600), exchanges: [.tls(900, 3_100), .tls(24, 0)])
        // A push connection whose last burst, long after the others, is a close_notify before its close.
        var push = f.push(start: at(900), bursts: [0, 300], openAtEnd: false, close: .finFromClient)
        var notify = Exchange(index: 2, kind: .tls, start: at(1_500), end: at(1_500.001))
        notify.bytesUp = 24
        notify.recordsUp = 1
        push.exchanges.append(notify)
        push.end = at(1_500.01)
        push.closeTime = at(1_500.005)
        // An HTTP answer the parser could not read: the server's bytes went to no exchange.
        var unread = f.connection(port: 8014, start: at(2_000), exchanges: [.http("GET", 133, 0, status: nil)],
                                  close: .finFromServer)
        unread.bytesDown = 3_000
        // The directions' clocks apart: the response parsed before its request, which then has no reply.
        var skewed = f.connection(port: 8014, start: at(2_300), exchanges: [.http("GET", 0, 3_583),
                                                                            .http("GET", 133, 0, status: nil)])
        skewed.exchanges[0].http?.method = ""
        // A request record stamped after its connection closed (a packet off the connection's clock).
        var late = f.connection(start: at(2_600), exchanges: [.tls(483, 0)])
        late.exchanges[0].start = at(6_200)
        late.exchanges[0].end = at(6_200.001)
        let r = analyze([open, gap, closeNotify, push, unread, skewed, late], model: model)
        #expect(r.codes(.noAnswer).isEmpty)
        #expect(r.codes(.tlsHandshakeFailed).isEmpty)
        #expect(!r.sessions.contains { $0.failed })
    }

    /// An upload reset after the index check was answered: the finding, but the check-in happened.
    @Test func aLaterRequestWithNoAnswerIsAFindingOnACheckIn() {
        var f = RecordFactory()
        let c = f.connection(port: 8014, start: epoch,
                             exchanges: [.http("GET", 900, 3_500), .http("POST", 9_000, 0, status: nil)],
                             close: .rstFromServer)
        let r = analyze([c], model: model)
        #expect(r.codes(.noAnswer).count == 1)
        #expect(r.sessions.first?.failed == false)
        #expect(r.summary.checkIns == 1)
    }

    /// A rejected handshake retried at once on a connection that worked: one check-in, the failure a warning
    /// (`retried-and-answered`, see `RetriedFailureTests`).
    @Test func aFailedHandshakeFollowedByAWorkingConnectionIsOneCheckIn() {
        var f = RecordFactory()
        let first = rejected(&f, at: epoch)
        let retry = f.idle(start: first.end.adding(seconds: 0.5))
        let r = analyze([first, retry], model: model)
        #expect(r.sessions.count == 1)
        #expect(r.sessions.first?.failed == false)
        #expect(r.codes(.tlsHandshakeFailed).isEmpty)
        #expect(r.codes(.retriedAndAnswered).count == 1)
    }

    // MARK: - Records that are no check-in

    @Test func aLoneRSTOrKeepAlivePieceIsNoCheckIn() {
        var f = RecordFactory()
        var records = (0..<4).map { f.idle(start: at(Double($0) * 300)) }
        // A RST to a port no connection used, 150 s after a check-in; a keep-alive probe (one byte) and its ACK.
        var rst = f.connection(start: at(150), exchanges: [], close: .rstFromServer)
        rst.synTime = nil
        rst.synAckTime = nil
        rst.synCount = 0
        rst.handshake = .midstream
        rst.state = [.midstream, .rstFromServer]
        rst.bytesUp = 0
        rst.bytesDown = 0
        rst.tls = nil
        rst.application = .none
        var keepAlive = rst
        keepAlive.id = 99
        keepAlive.start = at(450)
        keepAlive.end = at(450.001)
        keepAlive.state = [.midstream, .openAtEnd]
        keepAlive.bytesUp = 1
        records += [rst, keepAlive]
        let r = analyze(records, model: model)
        #expect(r.sessions.count == 4)
        #expect(r.counts.emptyPieces == 2)
        #expect(r.codes(.intervalEarly).isEmpty)
        #expect(FleetAudit(report: r, model: model).clients.first?.health == .healthy)
        // A piece with no SYN that carried an exchange is still a check-in (its beginning before the capture).
        var joined = f.idle(start: at(1_200))
        joined.synTime = nil
        joined.handshake = .midstream
        #expect(analyze([joined], model: model).sessions.count == 1)
    }

    @Test func aBurstWithNoClientByteIsAServerPush() throws {
        var f = RecordFactory()
        var c = f.push(start: epoch, bursts: [0, 300, 600, 900])
        // The manager sends a 300-byte record at 450 s; the client only acknowledges it.
        var note = Exchange(index: 0, kind: .tls, start: at(450), end: at(450.001))
        note.responseStart = at(450)
        note.bytesDown = 300
        note.recordsDown = 1
        c.exchanges.append(note)
        c.exchanges.sort { $0.start < $1.start }
        let r = analyze([c], model: model)
        #expect(r.sessions.count == 4)
        #expect(r.counts.serverPushes == 1)
        // A capture of the manager's direction alone: no burst shows a client byte, none is called a push.
        var downOnly = c
        for i in downOnly.exchanges.indices {
            downOnly.exchanges[i].bytesUp = 0
            downOnly.exchanges[i].recordsUp = 0
        }
        let alone = analyze([downOnly], model: model)
        #expect(alone.counts.serverPushes == 0)
        #expect(alone.sessions.count == 5)
        #expect(r.codes(.intervalEarly).isEmpty)
        #expect(FleetAudit(report: r, model: model).clients.first?.health == .healthy)
    }

    @Test func anHTTPConnectionWithNoSecarsRequestIsAContentDownload() {
        var f = RecordFactory()
        var records = (0..<4).map { n in
            f.connection(port: 8014, start: at(Double(n) * 300), exchanges: [.http("GET", 900, 3_500)])
        }
        // Content fetched 120 s after two of the check-ins, on connections of their own.
        for n in [0, 2] {
            records.append(f.connection(port: 8014, start: at(Double(n) * 300 + 120), exchanges: [
                .http("GET", 300, 90_000, target: "/content/x/1234567?a=1"),
                .http("GET", 300, 90_000, target: "/content/x/1234568"),
            ]))
        }
        let r = analyze(records, model: model)
        #expect(r.sessions.count == 4)
        #expect(r.counts.contentDownloads == 2)
        #expect(r.codes(.intervalEarly).isEmpty)
        // Right after a check-in (within the join gap) a content download joins it, as before: step 4.
        let check = f.connection(port: 8014, start: at(2_000), exchanges: [.http("GET", 900, 3_500)])
        let content = f.connection(port: 8014, start: check.end.adding(seconds: 0.5),
                                   exchanges: [.http("GET", 300, 9_000, target: "/content/x/1")])
        // Responses alone (the requests not captured) are no content download.
        var answers = f.connection(port: 8014, start: at(1_500), exchanges: [.http("GET", 0, 9_000, target: "")])
        answers.exchanges[0].http?.method = ""
        #expect(analyze([answers], model: model).counts.contentDownloads == 0)
        let joined = analyze([check, content], model: model)
        #expect(joined.sessions.count == 1)
        #expect(joined.sessions.first?.steps.map(\.step) == [1, 2, 3, 4, 7])
        #expect(joined.counts.contentDownloads == 0)
    }

    /// The capture ended inside a check-in: its answer may not have been captured yet.
    @Test func aCheckInCutByTheCaptureEndIsNotHeldToTheIdleMinimum() {
        var f = RecordFactory()
        let done = f.idle(start: epoch)
        let cut = f.connection(start: at(300), exchanges: [.tls(658, 0)], openAtEnd: true)
        let r = analyze([done, cut], model: model, captureEnd: cut.end)
        #expect(r.codes(.idleSizeOutOfRange).isEmpty)
        #expect(r.codes(.noAnswer).isEmpty)
        // The same bytes on a connection that closed are judged.
        let closed = f.connection(start: at(600), exchanges: [.tls(658, 100)])
        #expect(analyze([closed], model: model).codes(.idleSizeOutOfRange).count == 1)
    }

    /// On a push connection open at the end, only the burst the capture's end may have cut is spared: a small
    /// burst long before the end is judged.
    @Test func onlyTheLastPushBurstNearTheCaptureEndIsSpared() throws {
        var f = RecordFactory()
        let c = f.push(start: epoch, bursts: [0, 300, 600], burst: [.tls(658, 0)])
        let near = analyze([c], model: model, captureEnd: c.end.adding(seconds: 2))
        let small = near.codes(.idleSizeOutOfRange)
        #expect(small.count == 2)
        #expect(small.allSatisfy { $0.time.map { $0 < at(600) } ?? false })
        // The capture went on a minute after the last burst: that burst was whole, and judged too.
        let later = analyze([c], model: model, captureEnd: c.end.adding(seconds: 60))
        #expect(later.codes(.idleSizeOutOfRange).count == 3)
    }
}
