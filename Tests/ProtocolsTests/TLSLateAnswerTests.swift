import Core
import Protocols
import Records
import Testing
import TestSupport

/// One application-data record of `length` bytes of body.
private func data(_ length: Int) -> [UInt8] { TLSBuild.record(23, [UInt8](repeating: 0x42, count: length)) }

/// Server bytes the client acknowledged before the capture showed them (the sensor missed them and sees them
/// only retransmitted, after the server's FIN): in stream order every answer comes after every request, and
/// turn-taking alone merges the exchanges. The client's acknowledgements (`acknowledgedAhead`) place each
/// answer before the request sent after it.
@Suite struct TLSLateAnswerTests {
    private typealias Feeder = TLSFeeder

    /// (bytes up, bytes down, records up, records down) of each exchange.
    private static func sizes(_ exchanges: [Exchange]) -> [[Int64]] {
        exchanges.map { [$0.bytesUp, $0.bytesDown, Int64($0.recordsUp), Int64($0.recordsDown)] }
    }

    /// Three requests, each sent once the client had the answer before it; the answers come after the last
    /// request, in one chunk (a retransmission may join segments), records astride no mark.
    private static func lateAnswers(acknowledged: Bool) -> [Exchange] {
        var f = Feeder()
        f.handshake12()
        f.send(.up, 10, data(100))
        if acknowledged { f.conversation.acknowledgedAhead(1_005 + 25, of: .down) }
        f.send(.up, 20, data(200))
        if acknowledged { f.conversation.acknowledgedAhead(1_005 + 25 + 3_005, of: .down) }
        f.send(.up, 30, data(300) + data(300))
        f.send(.down, 500, data(1_000) + data(20) + data(3_000) + data(50))
        return f.finished()
    }

    @Test func withoutAcknowledgementsTheLateAnswersMergeTheExchanges() {
        #expect(Self.sizes(Self.lateAnswers(acknowledged: false)) == [[920, 4_090, 4, 4]])
    }

    @Test func eachLateAnswerGoesToTheRequestSentBeforeIt() {
        let exchanges = Self.lateAnswers(acknowledged: true)
        #expect(Self.sizes(exchanges) == [[105, 1_030, 1, 2], [205, 3_005, 1, 1], [610, 55, 2, 1]])
        #expect(exchanges.map(\.index) == [0, 1, 2])
        // Requests keep their times; answers the time they were captured.
        #expect(exchanges.map(\.start) == [10, 20, 30].map { Timestamp(nanoseconds: $0) })
        #expect(exchanges.map(\.responseStart) == [500, 500, 500].map { Timestamp(nanoseconds: $0) })
        #expect(exchanges.map(\.end) == [500, 500, 500].map { Timestamp(nanoseconds: $0) })
    }

    @Test func answersRetransmittedSegmentBySegmentSplitTheSame() {
        var f = Feeder()
        f.handshake12()
        f.send(.up, 10, data(100))
        f.conversation.acknowledgedAhead(1_005, of: .down)
        f.send(.up, 20, data(200))
        // The first answer's record cut across two segments, then the second answer.
        let answers = data(1_000) + data(3_000)
        f.send(.down, 500, Array(answers[0..<700]))
        #expect(f.exchanges.isEmpty)
        f.send(.down, 501, Array(answers[700..<1_500]))
        #expect(Self.sizes(f.exchanges) == [[105, 1_005, 1, 1]])
        f.send(.down, 502, Array(answers[1_500...]))
        let exchanges = f.finished()
        #expect(Self.sizes(exchanges) == [[105, 1_005, 1, 1], [205, 3_005, 1, 1]])
        #expect(exchanges[0].end == Timestamp(nanoseconds: 501))
    }

    @Test func anAnswerPartlyCapturedInTimeGetsItsRest() {
        var f = Feeder()
        f.handshake12()
        f.send(.up, 10, data(100))
        f.send(.down, 11, data(500))  // captured in time
        f.conversation.acknowledgedAhead(1_005, of: .down)  // the rest of the answer, not yet
        f.send(.up, 20, data(200))
        f.send(.down, 500, data(1_000) + data(40))
        let exchanges = f.finished()
        #expect(Self.sizes(exchanges) == [[105, 1_510, 1, 2], [205, 45, 1, 1]])
        #expect(exchanges[0].responseStart == Timestamp(nanoseconds: 11))
    }

    @Test func recordsOfOneRequestSentAfterTheSameAcknowledgementStayOneExchange() {
        var f = Feeder()
        f.handshake12()
        f.send(.up, 10, data(100))
        f.conversation.acknowledgedAhead(505, of: .down)
        f.send(.up, 20, data(16_000))
        f.conversation.acknowledgedAhead(505, of: .down)
        f.send(.up, 21, data(16_000))
        f.send(.down, 500, data(500) + data(60))
        #expect(Self.sizes(f.finished()) == [[105, 505, 1, 1], [32_010, 65, 2, 1]])
    }

    @Test func anAnswerNeverCapturedIsTheWaitingExchangesMissingBytes() {
        var f = Feeder()
        f.handshake12()
        f.send(.up, 10, data(100))
        f.conversation.acknowledgedAhead(1_005, of: .down)
        f.send(.up, 20, data(200))
        f.skip(.down, 25, 1_005)  // the capture never showed the first answer
        f.send(.down, 26, data(300))
        let exchanges = f.finished()
        #expect(Self.sizes(exchanges) == [[105, 0, 1, 1], [205, 305, 1, 1]])
        #expect(exchanges.map(\.missingBytes) == [1_005, 0])
    }

    @Test func exchangesWaitingAtTheEndAreHandedOutInOrder() {
        var f = Feeder()
        f.handshake12()
        f.send(.up, 10, data(100))
        f.conversation.acknowledgedAhead(1_005, of: .down)
        f.send(.up, 20, data(200))
        let exchanges = f.finished()  // the answer never came, nor a gap for it
        #expect(Self.sizes(exchanges) == [[105, 0, 1, 0], [205, 0, 1, 0]])
        #expect(exchanges.map(\.index) == [0, 1])
    }

    /// The server's clock early: the second answer, captured before the request it acknowledges, waits for it
    /// instead of joining the first exchange.
    @Test func anAnswerCapturedBeforeItsRequestJoinsThatRequest() {
        var f = Feeder()
        f.handshake12()
        f.send(.up, 10, data(100))
        f.send(.down, 11, data(500))
        f.conversation.acknowledgedAhead(205, of: .up)
        f.send(.down, 12, data(300))
        f.send(.up, 13, data(200))
        #expect(Self.sizes(f.finished()) == [[105, 505, 1, 1], [205, 305, 1, 1]])
    }

    /// The request the early answer acknowledged was lost whole: the answer is an exchange of its own, with the
    /// lost bytes (a record lost whole, by its length), not more of the exchange before.
    @Test func anAnswerToALostRequestIsAnExchangeOfItsOwn() {
        var f = Feeder()
        f.handshake12()
        f.send(.up, 10, data(100))
        f.send(.down, 11, data(500))
        f.conversation.acknowledgedAhead(205, of: .up)
        f.send(.down, 12, data(300))
        f.skip(.up, 13, 205)
        let all = f.finished()
        #expect(Self.sizes(all) == [[105, 505, 1, 1], [0, 305, 1, 1]])
        #expect(all.map(\.missingBytes) == [0, 205])
    }

    /// TLS 1.3: the server's encrypted flight (application-data records) missed and retransmitted after the
    /// requests; the client's Finished acknowledged it, so its records are handshake, not an answer.
    @Test func aLateTLS13FlightIsStillHandshake() {
        var f = Feeder()
        f.send(.up, 1, TLSBuild.modernClientHelloRecord())
        let serverHello = TLSBuild.record(22, TLSBuild.handshake(2, TLSBuild.serverHelloBody(
            suite: 0x1301, selected: 0x0304))) + TLSBuild.record(20, [1])
        f.send(.down, 2, serverHello)
        f.send(.up, 3, TLSBuild.record(20, [1]))
        f.conversation.acknowledgedAhead(2_005 + 305, of: .down)
        f.send(.up, 3, data(53))  // client Finished
        f.send(.up, 4, data(400))  // request
        f.conversation.acknowledgedAhead(2_005 + 305 + 805, of: .down)
        f.send(.up, 6, data(90))  // next request
        f.send(.down, 500, data(2_000) + data(300) + data(800) + data(70))
        let exchanges = f.finished()
        #expect(f.conversation.handshakeRecordsInApplicationData == 3)
        #expect(Self.sizes(exchanges) == [[405, 805, 1, 1], [95, 75, 1, 1]])
    }

    /// TLS 1.3 with the ServerHello late too: the client's first application-data record, taken as a request
    /// while the version was unknown, was its Finished; the late ServerHello takes it back.
    @Test func aLateTLS13ServerHelloTakesTheClientsFinishedBack() {
        var f = Feeder()
        f.send(.up, 1, TLSBuild.modernClientHelloRecord())
        let serverHello = TLSBuild.record(22, TLSBuild.handshake(2, TLSBuild.serverHelloBody(
            suite: 0x1301, selected: 0x0304))) + TLSBuild.record(20, [1])
        let flight = serverHello.count + 2_005 + 305
        f.send(.up, 3, TLSBuild.record(20, [1]))
        f.conversation.acknowledgedAhead(Int64(flight), of: .down)
        f.send(.up, 3, data(53))  // client Finished
        f.send(.up, 4, data(400))  // request
        f.conversation.acknowledgedAhead(Int64(flight + 805), of: .down)
        f.send(.up, 6, data(90))  // next request
        f.send(.down, 500, serverHello + data(2_000) + data(300) + data(800) + data(70))
        let exchanges = f.finished()
        #expect(f.conversation.summary.negotiatedVersion == 0x0304)
        #expect(f.conversation.handshakeRecordsInApplicationData == 3)
        #expect(Self.sizes(exchanges) == [[405, 805, 1, 1], [95, 75, 1, 1]])
        #expect(exchanges.map(\.start) == [4, 6].map { Timestamp(nanoseconds: $0) })
    }

    /// One request only, so nothing waits when the late ServerHello comes: the same.
    @Test func aLateTLS13ServerHelloBeforeASingleRequestsAnswer() {
        var f = Feeder()
        f.send(.up, 1, TLSBuild.modernClientHelloRecord())
        let serverHello = TLSBuild.record(22, TLSBuild.handshake(2, TLSBuild.serverHelloBody(
            suite: 0x1301, selected: 0x0304))) + TLSBuild.record(20, [1])
        f.send(.up, 3, TLSBuild.record(20, [1]))
        f.conversation.acknowledgedAhead(Int64(serverHello.count + 2_005), of: .down)
        f.send(.up, 3, data(53))  // client Finished
        f.send(.up, 4, data(400))  // request
        f.send(.down, 500, serverHello + data(2_000) + data(800))
        f.send(.down, 501, data(100))
        let exchanges = f.finished()
        #expect(f.conversation.handshakeRecordsInApplicationData == 2)
        #expect(Self.sizes(exchanges) == [[405, 910, 1, 2]])
        #expect(exchanges.first?.start == Timestamp(nanoseconds: 4))
    }

    /// The same with TLS 1.2 chosen: the first record was a request after all, and stays one.
    @Test func aLateTLS12ServerHelloLeavesTheFirstRequest() {
        var f = Feeder()
        f.send(.up, 1, TLSBuild.modernClientHelloRecord())
        let serverHello = TLSBuild.record(22, TLSBuild.handshake(2, TLSBuild.serverHelloBody(suite: 0xc030))
            + TLSBuild.handshake(14, [])) + TLSBuild.record(20, [1])
            + TLSBuild.record(22, [UInt8](repeating: 9, count: 40))
        f.send(.up, 3, TLSBuild.record(22, TLSBuild.handshake(16, [0, 1, 9])) + TLSBuild.record(20, [1])
            + TLSBuild.record(22, [UInt8](repeating: 9, count: 40)))
        f.conversation.acknowledgedAhead(Int64(serverHello.count), of: .down)
        f.send(.up, 4, data(400))
        f.conversation.acknowledgedAhead(Int64(serverHello.count + 805), of: .down)
        f.send(.up, 6, data(90))
        f.send(.down, 500, serverHello + data(800) + data(70))
        let exchanges = f.finished()
        #expect(f.conversation.handshakeRecordsInApplicationData == 0)
        #expect(Self.sizes(exchanges) == [[405, 805, 1, 1], [95, 75, 1, 1]])
    }
}

/// The late-answer tests' handshake and end.
extension TLSFeeder {
    /// A TLS 1.2 handshake, both flights captured in time.
    mutating func handshake12() {
        send(.up, 1, TLSBuild.modernClientHelloRecord())
        send(.down, 2, TLSBuild.record(22, TLSBuild.handshake(2, TLSBuild.serverHelloBody(suite: 0xc030))
            + TLSBuild.handshake(14, [])))
        send(.up, 3, TLSBuild.record(22, TLSBuild.handshake(16, [0, 1, 9])) + TLSBuild.record(20, [1])
            + TLSBuild.record(22, [UInt8](repeating: 9, count: 40)))
        send(.down, 4, TLSBuild.record(20, [1]) + TLSBuild.record(22, [UInt8](repeating: 9, count: 40)))
    }

    mutating func finished(at: Int64 = 1_000) -> [Exchange] {
        conversation.finish(time: Timestamp(nanoseconds: at), into: &exchanges)
        return exchanges
    }
}
