import Core
import Records
import Streams
import Testing

/// Client ISN 1000 (data from 1001), server ISN 5000 (data from 5001).
private let handshake: [Seg] = [
    .c(1000, "", [.syn]),
    .s(5000, "", [.syn, .ack], ack: 1001),
    .c(1001, "", [.ack], ack: 5001),
]

/// A segment that acknowledges bytes of the other direction the capture has not shown yet says so to the
/// delegate (`didAcknowledgeAhead`), just before its own bytes: its sender had those bytes before it sent
/// its own, whatever time the capture shows them at. Never on the in-order path.
@Suite struct AcknowledgedAheadTests {
    @Test func aRequestAfterAnAnswerTheCaptureShowsLaterSaysHowManyBytesItHad() {
        // The answer "ANSWER" (5001-5006) is seen only after the FIN, retransmitted; the second request
        // acknowledged it first.
        let (r, _) = run(handshake + [
            .c(1001, "one", at: 1, ack: 5001), .c(1004, "two", at: 3, ack: 5007),
            .c(1007, "", [.fin, .ack], at: 4, ack: 5007), .s(5007, "", [.fin, .ack], at: 5, ack: 1008),
            .s(5001, "ANSWER", at: 200, ack: 1008),
        ])
        #expect(r.text(1, .down) == "ANSWER")
        let two = r.events.firstIndex { $0 == .data(id: 1, .up, Array("two".utf8)) }
        #expect(r.aheads == [.init(id: 1, direction: .down, bytes: 6, position: two ?? -1)])
    }

    @Test func inOrderTrafficSaysNothing() {
        let (r, _) = run(handshake + [
            .c(1001, "one", at: 1, ack: 5001), .s(5001, "ANSWER", at: 2, ack: 1004),
            .c(1004, "two", at: 3, ack: 5007), .s(5007, "AGAIN", at: 4, ack: 1007),
            .c(1007, "", [.fin, .ack], at: 5, ack: 5012), .s(5012, "", [.fin, .ack], at: 6, ack: 1008),
        ])
        #expect(r.text(1, .down) == "ANSWERAGAIN")
        #expect(r.aheads.isEmpty)
    }

    @Test func bytesHeldOutOfOrderOrRepeatedSayNothing() {
        // "two" comes before "one" (held), and "one" again (a retransmission): neither delivers its own bytes
        // at once, so no acknowledgement of theirs is said.
        let (r, _) = run(handshake + [
            .c(1004, "two", at: 1, ack: 5007), .c(1001, "one", at: 2, ack: 5001), .c(1001, "one", at: 3, ack: 5007),
            .s(5001, "ANSWER", at: 4, ack: 1007),
        ])
        #expect(r.text(1, .up) == "onetwo")
        #expect(r.aheads.isEmpty)
    }

    @Test func aLostFinAloneIsNoBytes() {
        // The server's FIN (5001) was not captured; the client acknowledges it and sends a byte more.
        let (r, _) = run(handshake + [.c(1001, "one", at: 1, ack: 5002)])
        #expect(r.aheads.isEmpty)
    }

    @Test func aFinCapturedPastTheMissingBytesIsNotCounted() {
        // The FIN at 5011 was captured, the ten bytes before it not yet; the acknowledgement of the FIN counts
        // the ten bytes only.
        let (r, _) = run(handshake + [
            .s(5011, "", [.fin, .ack], at: 1, ack: 1001), .c(1001, "late", at: 2, ack: 5012),
        ])
        #expect(r.aheads.map(\.bytes) == [10])
    }
}
