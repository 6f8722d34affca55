import Core
import Records
import Streams
import Testing

/// A gap made of bytes the snap length cut off a segment is told from one the capture lost
/// (`StreamDelegate.didSkip`'s `cutBySnapLength`), in order and when the cut segment was held behind a hole.
@Suite struct SnapCutGapTests {
    private let handshake: [Seg] = [
        .c(1000, "", [.syn]),
        .s(5000, "", [.syn, .ack], ack: 1001),
        .c(1001, "", [.ack], ack: 5001),
    ]

    @Test func aCutTailIsACutGapAndALostSegmentIsNot() {
        // 5 bytes captured of 50, then 10 bytes never seen before "later".
        let (r, _) = run(handshake + [.c(1001, "GET /", at: 1, wire: 50), .c(1061, "later", at: 2)])
        #expect(r.events.filter { if case .gap = $0 { true } else { false } } == [
            .gap(id: 1, .up, 45), .gap(id: 1, .up, 10),
        ])
        #expect(r.gapCuts == [true, false])
    }

    @Test func aCutSegmentHeldBehindAHoleStillGivesACutGap() {
        let (r, _) = run(handshake + [.c(1011, "abc", at: 1, wire: 20), .c(1001, "0123456789", at: 2)])
        #expect(r.events.contains(.gap(id: 1, .up, 17)))
        #expect(r.gapCuts == [true])
    }
}
