import Core
import Records
import Streams
import Testing

/// Bytes the capture lost where the numbers still say where they were: at the start of the server's stream (its
/// SYN-ACK lost with them, the client's ACK of it giving the start), and at the end of an answer whose ACK was
/// lost too, so that only the client's next request, much later, acknowledges them.
@Suite struct LostStartAndTailTests {
    private func feed(_ segs: [Seg]) -> StreamRecorder {
        let recorder = StreamRecorder()
        let table = ConnectionTable(limits: StreamLimits(), delegate: recorder)
        var feeder = Feeder()
        feeder.feed(segs, to: table)
        table.finish()
        return recorder
    }

    private func at(_ ms: Int64) -> Timestamp { Hosts.base.adding(nanoseconds: ms * 1_000_000) }

    @Test func theServersFirstBytesLostWithItsSynAckAreAGapFromTheStartTheClientAcknowledged() {
        // Server ISN 5000: the client's ACK of the lost SYN-ACK acknowledges 5001; "HEAD" (5001-5004) is lost.
        let r = feed([
            .c(1000, "", [.syn]), .c(1001, "", [.ack], at: 1, ack: 5001), .c(1001, "GET", at: 2, ack: 5001),
            .s(5005, "BODY", at: 3, ack: 1004), .c(1004, "", at: 4, ack: 5009),
        ])
        #expect(r.text(1, .down) == "<gap 4>BODY")
        #expect(r.record(1)?.anomaliesDown.gapBytes == 4)
    }

    @Test func theServersFirstBytesCapturedWithItsSynAckLostAreNoGap() {
        let r = feed([
            .c(1000, "", [.syn]), .c(1001, "", [.ack], at: 1, ack: 5001), .c(1001, "GET", at: 2, ack: 5001),
            .s(5001, "HEADBODY", at: 3, ack: 1004),
        ])
        #expect(r.text(1, .down) == "HEADBODY")
        #expect(r.record(1)?.anomaliesDown == anomalies())
    }

    @Test func aConnectionPickedUpMidstreamStartsAtItsFirstServerBytesStill() {
        // No SYN: the client's first ACK says nothing of where the server's stream began.
        let r = feed([
            .c(1001, "", [.ack], at: 1, ack: 5001), .c(1001, "GET", at: 2, ack: 5001),
            .s(5005, "BODY", at: 3, ack: 1004), .c(1004, "", at: 4, ack: 5009),
        ])
        #expect(r.text(1, .down) == "BODY")
        #expect(r.record(1)?.anomaliesDown == anomalies())
    }

    @Test func aClientAcknowledgementAfterItsFirstBytesGivesNoStart() {
        // The client's first ACK comes with its second request (its handshake ACK and first request lost): it may
        // acknowledge a whole answer, so the server bytes after it start the stream as before.
        let r = feed([
            .c(1000, "", [.syn]), .c(1004, "GET", at: 2, ack: 5001), .s(5005, "BODY", at: 3, ack: 1007),
        ])
        #expect(r.text(1, .down) == "BODY")
    }

    @Test func anAnswersLastBytesAcknowledgedOnlyByTheNextRequestAreAGapAtTheAnswer() {
        // "ANS2" and the client's ACK of it lost; the next request, 30 s later, acknowledges it: the bytes were
        // sent right after "ANS1", not with that request.
        let r = feed([
            .c(1000, "", [.syn]), .s(5000, "", [.syn, .ack], ack: 1001), .c(1001, "", [.ack], ack: 5001),
            .c(1001, "REQ1", at: 1, ack: 5001), .s(5001, "ANS1", at: 2, ack: 1005),
            .c(1005, "REQ2", at: 30_000, ack: 5009), .s(5009, "ANS3", at: 30_002, ack: 1009),
            .c(1009, "", at: 30_003, ack: 5013),
        ])
        #expect(r.text(1, .down) == "ANS1<gap 4>ANS3")
        #expect(r.gapTimes == [at(2)])
    }

    @Test func bytesLostAfterAPushedSegmentKeepTheTimeOfTheBytesThatAcknowledgedThem() {
        // "ANS1" ended its write (PSH): the lost "REQ2" of the client may be a new message sent just before the
        // answer that acknowledges it, 30 s later.
        let r = feed([
            .c(1000, "", [.syn]), .s(5000, "", [.syn, .ack], ack: 1001), .c(1001, "", [.ack], ack: 5001),
            .s(5001, "", at: 1, ack: 1001), .c(1001, "REQ1", [.psh, .ack], at: 1, ack: 5001),
            .s(5001, "ANS1", [.psh, .ack], at: 2, ack: 1005), .s(5005, "ANS2", [.psh, .ack], at: 30_000, ack: 1009),
        ])
        #expect(r.text(1, .up) == "REQ1<gap 4>")
        #expect(r.gapTimes == [at(30_000)])
    }

    @Test func bytesLostBeforeAnyTheDirectionShowedKeepTheTimeOfTheRequestThatAcknowledgedThem() {
        // Nothing of the server's was shown before its lost "BANNER": no earlier time to give it.
        let r = feed([
            .c(1000, "", [.syn]), .s(5000, "", [.syn, .ack], ack: 1001), .c(1001, "", [.ack], ack: 5001),
            .c(1001, "HELO", at: 5_000, ack: 5007),
        ])
        #expect(r.text(1, .down) == "<gap 6>")
        #expect(r.gapTimes == [at(5_000)])
    }

    @Test func aLostLastSegmentAcknowledgedByAPureAcknowledgementKeepsItsTime() {
        let r = feed([
            .c(1000, "", [.syn]), .s(5000, "", [.syn, .ack], ack: 1001), .c(1001, "", [.ack], ack: 5001),
            .c(1001, "REQ1", at: 1, ack: 5001), .s(5001, "ANS1", at: 2, ack: 1005), .c(1005, "", at: 5, ack: 5009),
            .c(1005, "REQ2", at: 30_000, ack: 5009),
        ])
        #expect(r.text(1, .down) == "ANS1<gap 4>")
        #expect(r.gapTimes == [at(5)])
    }
}
