import Core
import Protocols
import Records
import Testing
import TestSupport

/// Feeds a `TLSConversation` stream bytes at given times (nanoseconds) and collects the exchanges it hands
/// out, for the conversation's tests.
struct TLSFeeder {
    var conversation = TLSConversation()
    var exchanges: [Exchange] = []

    mutating func send(_ direction: Direction, _ at: Int64, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes {
            conversation.feed($0, direction: direction, time: Timestamp(nanoseconds: at), into: &exchanges)
        }
    }

    /// One application-data record of `length` bytes of body.
    mutating func data(_ direction: Direction, _ at: Int64, _ length: Int) {
        send(direction, at, TLSBuild.record(23, [UInt8](repeating: 0x42, count: length)))
    }

    mutating func skip(_ direction: Direction, _ at: Int64, _ bytes: Int) {
        conversation.skip(gapBytes: bytes, direction: direction, time: Timestamp(nanoseconds: at),
                          into: &exchanges)
    }
}

@Suite struct TLSConversationTests {
    private typealias Feeder = TLSFeeder

    @Test func tls12ConversationBuildsSummaryRowsAndExchanges() {
        var f = Feeder()
        f.send(.up, 1, TLSBuild.modernClientHelloRecord(host: "sepm.corp.test"))
        f.send(.down, 2, TLSBuild.record(22, TLSBuild.handshake(2, TLSBuild.serverHelloBody(suite: 0xc030))
            + TLSBuild.handshake(11, TLSBuild.certificateBody([X509Fixtures.rsa2048SelfSigned]))
            + TLSBuild.handshake(14, [])))
        f.send(.up, 3, TLSBuild.record(22, TLSBuild.handshake(16, [0, 1, 9])) + TLSBuild.record(20, [1])
            + TLSBuild.record(22, [UInt8](repeating: 9, count: 40)))
        f.send(.down, 4, TLSBuild.record(20, [1]) + TLSBuild.record(22, [UInt8](repeating: 9, count: 40)))
        #expect(f.exchanges.isEmpty)

        f.data(.up, 10, 100)
        f.data(.up, 11, 50)
        f.data(.down, 12, 1000)
        f.data(.down, 13, 10)
        #expect(f.exchanges.isEmpty)
        f.data(.up, 20, 30)  // a new request closes the first exchange
        #expect(f.exchanges.count == 1)
        f.data(.down, 21, 7)
        f.send(.up, 30, TLSBuild.record(21, [1, 0]))  // close_notify; encrypted alerts are not listed
        var exchanges = f.exchanges
        var c = f.conversation
        c.finish(time: Timestamp(nanoseconds: 40), into: &exchanges)

        #expect(exchanges.count == 2)
        let first = exchanges[0]
        #expect(first.kind == .tls && first.index == 0)
        #expect(first.start == Timestamp(nanoseconds: 10))
        #expect(first.responseStart == Timestamp(nanoseconds: 12))
        #expect(first.end == Timestamp(nanoseconds: 13))
        #expect(first.bytesUp == 160 && first.recordsUp == 2)  // 105 + 55, headers included
        #expect(first.bytesDown == 1020 && first.recordsDown == 2)
        #expect(exchanges[1].index == 1 && exchanges[1].bytesUp == 35 && exchanges[1].bytesDown == 12)

        let s = c.summary
        #expect(s.clientVersion == 0x0304)
        #expect(s.negotiatedVersion == 0x0303)
        #expect(s.serverName == "sepm.corp.test")
        #expect(s.cipherSuite == 0xc030)
        #expect(s.certificate?.subjectCommonName == "rsa.sepbeat.test")
        #expect(s.alerts.isEmpty)  // the client had sent ChangeCipherSpec: its alert is encrypted
        #expect(!s.sslv2)
        #expect(c.hellos.map(\.oracleLine) == ["clienthello\tsepm.corp.test\t1.3\t", "serverhello\t\t1.2\t0xc030"])
        #expect(c.anomalyCount == 0)
    }

    @Test func tls13HandshakeRecordsAreNotExchangeData() {
        var f = Feeder()
        f.send(.up, 1, TLSBuild.modernClientHelloRecord())
        f.send(.down, 2, TLSBuild.record(22, TLSBuild.handshake(2, TLSBuild.serverHelloBody(
            suite: 0x1301, selected: 0x0304))) + TLSBuild.record(20, [1]))
        f.data(.down, 2, 2000)  // EncryptedExtensions..Finished
        f.data(.down, 2, 300)
        f.send(.up, 3, TLSBuild.record(20, [1]))
        f.data(.up, 3, 53)  // client Finished
        f.data(.up, 4, 400)  // request
        f.data(.down, 5, 800)  // response
        var exchanges = f.exchanges
        var c = f.conversation
        c.finish(time: Timestamp(nanoseconds: 9), into: &exchanges)
        #expect(c.handshakeRecordsInApplicationData == 3)
        #expect(exchanges.count == 1)
        #expect(exchanges.first?.bytesUp == 405)
        #expect(exchanges.first?.bytesDown == 805)
        #expect(c.summary.negotiatedVersion == 0x0304)
        #expect(c.hellos.last?.oracleLine == "serverhello\t\t1.3\t0x1301")
        // TLS 1.3 records carry the legacy 0x0303: no mismatch with the chosen 0x0304.
        #expect(c.summary.recordVersion == 0x0303)
        #expect(c.anomalyCount == 0)
        #expect(c.summary.judgedVersion == TLSJudgedVersion(version: 0x0304, source: .chosen))
    }

    /// TLS 1.3 servers send session tickets unasked after the client's Finished: small server records before
    /// the first request are handshake, not an exchange with no request; a large one stays data.
    @Test func tls13TicketsBeforeTheFirstRequestAreHandshake() {
        func conversation(tickets: [Int]) -> (TLSConversation, [Exchange]) {
            var f = Feeder()
            f.send(.up, 1, TLSBuild.modernClientHelloRecord())
            f.send(.down, 2, TLSBuild.record(22, TLSBuild.handshake(2, TLSBuild.serverHelloBody(
                suite: 0x1301, selected: 0x0304))) + TLSBuild.record(20, [1]))
            f.data(.down, 2, 2000)  // EncryptedExtensions..Finished
            f.send(.up, 3, TLSBuild.record(20, [1]))
            f.data(.up, 3, 53)  // client Finished
            for (i, length) in tickets.enumerated() { f.data(.down, 4 + Int64(i), length) }
            f.data(.up, 10, 400)  // request
            f.data(.down, 11, 800)  // response
            f.data(.up, 20, 300)  // second request
            f.data(.down, 21, 250)  // its answer, as small as a ticket: data, the request came first
            var exchanges = f.exchanges
            var c = f.conversation
            c.finish(time: Timestamp(nanoseconds: 30), into: &exchanges)
            return (c, exchanges)
        }
        let (c, exchanges) = conversation(tickets: [245, 245])
        #expect(c.handshakeRecordsInApplicationData == 4)
        #expect(exchanges.count == 2)
        #expect(exchanges.first?.bytesUp == 405 && exchanges.first?.bytesDown == 805)
        #expect(exchanges.last?.bytesUp == 305 && exchanges.last?.bytesDown == 255)
        // Over the bound, the server spoke first with data of its own: an exchange with no request.
        let (big, bigExchanges) = conversation(tickets: [5_000])
        #expect(big.handshakeRecordsInApplicationData == 2)
        #expect(bigExchanges.count == 3)
        #expect(bigExchanges.first?.bytesUp == 0 && bigExchanges.first?.bytesDown == 5_005)
    }

    /// A modern ClientHello answered by `serverHello` (its ChangeCipherSpec after it), then one
    /// application-data record each way with the record-layer version `records`; finished.
    static func finished(serverHello: [UInt8], records: UInt16) -> TLSConversation {
        var f = Feeder()
        f.send(.up, 1, TLSBuild.modernClientHelloRecord())
        f.send(.down, 2, TLSBuild.record(22, TLSBuild.handshake(2, serverHello)) + TLSBuild.record(20, [1]))
        f.send(.up, 3, TLSBuild.record(20, [1]))
        f.send(.up, 4, TLSBuild.record(23, [UInt8](repeating: 1, count: 40), version: records))
        f.send(.down, 5, TLSBuild.record(23, [UInt8](repeating: 2, count: 90), version: records))
        var exchanges = f.exchanges
        var c = f.conversation
        c.finish(time: Timestamp(nanoseconds: 9), into: &exchanges)
        return c
    }

    @Test func recordsBelowTheChosenVersionAreAMismatchOfEachDirection() {
        let c = Self.finished(serverHello: TLSBuild.serverHelloBody(suite: 0xc02f), records: 0x0301)
        #expect(c.summary.negotiatedVersion == 0x0303)
        #expect(c.summary.recordVersion == 0x0301)
        #expect(c.anomalies.map(\.anomaly) == [.recordVersionMismatch(negotiated: 0x0303, record: 0x0301),
                                              .recordVersionMismatch(negotiated: 0x0303, record: 0x0301)])
        #expect(c.anomalies.map(\.direction) == [.up, .down])
        #expect(TLSAnomaly.recordVersionMismatch(negotiated: 0x0303, record: 0x0301).name
            == "tls_record_version_mismatch")
        #expect(c.summary.judgedVersion == TLSJudgedVersion(version: 0x0301, source: .recordLayerBelowChosen(0x0303)))
    }

    /// A TLS 1.3 draft (0x7f13, as in the corpus's draft-19 capture) whose records carry 0x0301: a legacy
    /// record version, no mismatch, and the connection judged by the ServerHello's choice.
    @Test func tls13DraftRecordsOfALegacyVersionAreNoMismatch() {
        let c = Self.finished(serverHello: TLSBuild.serverHelloBody(suite: 0x1301, selected: 0x7f13), records: 0x0301)
        #expect(c.summary.negotiatedVersion == 0x7f13)
        #expect(!c.anomalies.contains { if case .recordVersionMismatch = $0.anomaly { true } else { false } })
        #expect(c.summary.judgedVersion == TLSJudgedVersion(version: 0x7f13, source: .chosen))
    }

    @Test func recordsMatchingTheChosenVersionAreNoAnomaly() {
        let c = Self.finished(serverHello: TLSBuild.serverHelloBody(version: 0x0301, suite: 0x002f), records: 0x0301)
        #expect(c.anomalyCount == 0)
        #expect(c.summary.judgedVersion == TLSJudgedVersion(version: 0x0301, source: .chosen))
    }

    @Test func clearAlertsCarryDirectionAndTime() {
        var f = Feeder()
        f.send(.up, 1, TLSBuild.modernClientHelloRecord())
        f.send(.down, 5, TLSBuild.record(21, [2, 70]))  // protocol_version
        let alerts = f.conversation.summary.alerts
        #expect(alerts == [TLSAlert(level: 2, description: 70, direction: .down, time: Timestamp(nanoseconds: 5))])
    }

    @Test func gapBytesBecomeMissingBytesOfTheOpenExchange() {
        var f = Feeder()
        f.data(.up, 1, 10)
        f.conversation.skip(gapBytes: 500, direction: .down, time: Timestamp(nanoseconds: 2), into: &f.exchanges)
        f.data(.down, 3, 10)
        var exchanges = f.exchanges
        f.conversation.finish(time: Timestamp(nanoseconds: 4), into: &exchanges)
        #expect(exchanges.count == 1)
        #expect(exchanges.first?.missingBytes == 500)
        // The gap came before any server byte, so framing was never known: the parser scans for it.
        #expect(f.conversation.anomalies.map(\.anomaly) == [
            .framingLostInGap(bytes: 500), .resynchronized(skippedBytes: 500),
        ])
    }

    @Test func sslv2ConversationRows() {
        var f = Feeder()
        var client: [UInt8] = [1, 0x00, 0x02] + TLSBuild.u16(3) + TLSBuild.u16(0) + TLSBuild.u16(16)
        client += [0x01, 0x00, 0x80] + [UInt8](repeating: 1, count: 16)
        f.send(.up, 1, [0x80, UInt8(client.count)] + client)
        var server: [UInt8] = [4, 0, 1, 0x00, 0x02] + TLSBuild.u16(0) + TLSBuild.u16(3) + TLSBuild.u16(16)
        server += [0x01, 0x00, 0x80] + [UInt8](repeating: 2, count: 16)
        f.send(.down, 2, [0x80, UInt8(server.count)] + server)
        #expect(f.conversation.summary.sslv2)
        #expect(f.conversation.summary.clientVersion == 0x0002)
        #expect(f.conversation.summary.negotiatedVersion == 0x0002)
        #expect(f.conversation.hellos.map(\.oracleLine) == ["clienthello\t\t0x0002\t", "serverhello\t\t0x0002\t"])
    }

    /// Without hello rows (`keepsHellos: false`, as `analyze` runs) the summary, exchanges and anomalies are
    /// those of a conversation that keeps them, the SSLv2 flag (set by the first hello) included.
    @Test func conversationWithoutHelloRowsGivesTheSameSummary() {
        var sslv2Client: [UInt8] = [1, 0x00, 0x02] + TLSBuild.u16(3) + TLSBuild.u16(0) + TLSBuild.u16(16)
        sslv2Client += [0x01, 0x00, 0x80] + [UInt8](repeating: 1, count: 16)
        let scripts: [[(Direction, [UInt8])]] = [
            [(.up, TLSBuild.modernClientHelloRecord(host: "sepm.corp.test")),
             (.down, TLSBuild.record(22, TLSBuild.handshake(2, TLSBuild.serverHelloBody(suite: 0xc030)))),
             (.up, TLSBuild.record(23, [UInt8](repeating: 0x42, count: 30))),
             (.down, TLSBuild.record(23, [UInt8](repeating: 0x42, count: 70)))],
            [(.up, [0x80, UInt8(sslv2Client.count)] + sslv2Client)],
        ]
        for script in scripts {
            var kept = Feeder()
            var bare = Feeder(conversation: TLSConversation(keepsHellos: false))
            for (i, (direction, bytes)) in script.enumerated() {
                kept.send(direction, Int64(i), bytes)
                bare.send(direction, Int64(i), bytes)
            }
            kept.conversation.finish(time: Timestamp(nanoseconds: 99), into: &kept.exchanges)
            bare.conversation.finish(time: Timestamp(nanoseconds: 99), into: &bare.exchanges)
            #expect(!kept.conversation.hellos.isEmpty)
            #expect(bare.conversation.hellos.isEmpty)
            #expect(bare.conversation.summary == kept.conversation.summary)
            #expect(bare.exchanges == kept.exchanges)
            #expect(bare.conversation.anomalies == kept.conversation.anomalies)
        }
    }

    @Test func nonTLSConversationIsFlagged() {
        var f = Feeder()
        f.send(.up, 1, Array("SSH-2.0-OpenSSH_9.6\r\n".utf8))
        #expect(f.conversation.isNotTLS)
        #expect(f.conversation.hellos.isEmpty)
    }

    // MARK: - Version helpers

    @Test func oracleSpellingAndRanking() {
        #expect(TLSVersion.oracleName(0x0300) == "0x0300")
        #expect(TLSVersion.oracleName(0x0002) == "0x0002")
        #expect(TLSVersion.oracleName(0x0301) == "1.0")
        #expect(TLSVersion.oracleName(0x0304) == "1.3")
        #expect(TLSVersion.oracleName(0x7f17) == "0x7f17")
        #expect(TLSSummary.versionName(0x0300) == "SSL 3.0")
        #expect(TLSVersion.highest([0x0303, 0x7f12, 0x7e01]) == 0x7f12)
        #expect(TLSVersion.highest([0x7f1c, 0x0304, 0x0303]) == 0x0304)
        #expect(TLSVersion.highest([0x0301, 0x0300, 0x0302]) == 0x0302)
        #expect(TLSVersion.highest([0xfb17, 0x7f16]) == 0xfb17)
        #expect(TLSVersion.highest([0x0a0a, 0xfafa]) == nil)
        #expect(TLSVersion.isGREASE(0x1a1a) && !TLSVersion.isGREASE(0x1a2a) && !TLSVersion.isGREASE(0x0303))
    }
}
