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

    // MARK: - A cut packet seen whole later

    /// `seg` with IPv4 id `id`: two segments given the same one (and the same sequence number, so the same checksum)
    /// are copies of one packet, as two sensors capture it.
    private func copy(_ seg: Seg, id: UInt32) -> Seg {
        var s = seg
        s.ipID = id
        return s
    }

    private func lateNotices(_ r: StreamRecorder) -> [Int64] {
        r.events.compactMap { if case .notice(_, _, .cutSeenLate(let n)) = $0 { n } else { nil } }
    }

    /// Two sensors' captures merged, the one cut to a snap length first: the whole copy right after the cut one is
    /// a duplicate, and its bytes take the cut tail's place (no cut gap is told, no packet stays counted as cut).
    @Test func aWholeCopyRightAfterTheCutOneFillsItsTail() throws {
        let (r, _) = run(handshake + [
            copy(.c(1001, "HTTP/1.1 5", at: 1, wire: 20), id: 50),
            copy(.c(1001, "HTTP/1.1 503 Service", at: 1), id: 50),
            .s(5001, "", [.ack], at: 2, ack: 1021), .c(1021, "next", at: 3),
        ])
        #expect(r.text(1, .up) == "HTTP/1.1 503 Servicenext")
        #expect(r.gapCuts.isEmpty)
        #expect(lateNotices(r).isEmpty)
        let record = try #require(r.record(1))
        #expect(record.anomaliesUp.duplicates == 1 && record.anomaliesUp.truncatedPackets == 0)
    }

    /// The same copy after another packet of the connection came between: the gap was told and read past, so the
    /// bytes are counted as come too late, once, and the stream is unchanged.
    @Test func aWholeCopyAfterTheGapWasToldIsCountedLate() {
        let (r, _) = run(handshake + [
            copy(.c(1001, "HTTP/1.1 5", at: 1, wire: 20), id: 50), .s(5001, "", [.ack], at: 1, ack: 1021),
            copy(.c(1001, "HTTP/1.1 503 Service", at: 1), id: 50),
            copy(.c(1001, "HTTP/1.1 503 Service", at: 1), id: 50),
        ])
        #expect(r.text(1, .up) == "HTTP/1.1 5<gap 10>")
        #expect(r.gapCuts == [true])
        #expect(lateNotices(r) == [10])
    }

    /// A retransmission (no copy: another IPv4 id, 200 ms later) right after the cut packet fills the tail too; one
    /// after the peer's acknowledgement is counted late.
    @Test func aRetransmissionFillsTheTailHeldBackOrIsCountedLate() {
        let cut = Seg.c(1001, "GET /", at: 1, wire: 11)
        let whole = Seg.c(1001, "GET /secars", at: 201)
        let (next, _) = run(handshake + [cut, whole])
        #expect(next.text(1, .up) == "GET /secars")
        #expect(lateNotices(next).isEmpty)
        #expect(next.record(1)?.anomaliesUp.truncatedPackets == 0)
        let (acknowledged, _) = run(handshake + [cut, .s(5001, "", [.ack], at: 2, ack: 1012), whole])
        #expect(acknowledged.text(1, .up) == "GET /<gap 6>")
        #expect(lateNotices(acknowledged) == [6])
    }

    /// A cut packet held behind a hole: a later copy fills its tail where it is held, wholly or in part (a copy cut
    /// by a larger snap length), whatever came between.
    @Test func aCutTailHeldBehindAHoleIsFilledByALaterCopy() throws {
        let (r, _) = run(handshake + [
            .c(1011, "abc", at: 1, wire: 20), .s(5001, "", [.ack], at: 2, ack: 1001),
            .c(1011, "abcdefghijklmnopqrst", at: 300), .c(1001, "0123456789", at: 301),
        ])
        #expect(r.text(1, .up) == "0123456789abcdefghijklmnopqrst")
        #expect(r.gapCuts.isEmpty)
        #expect(r.record(1)?.anomaliesUp.truncatedPackets == 0)
        let (part, _) = run(handshake + [
            .c(1011, "abc", at: 1, wire: 20), .c(1011, "abcdefgh", at: 300, wire: 20), .c(1001, "0123456789", at: 301),
        ])
        #expect(part.text(1, .up) == "0123456789abcdefgh<gap 12>")
        #expect(part.gapCuts == [true])
        let record = try #require(part.record(1))
        // The copy repeats "abc" and its own cut tail, as any retransmission over held bytes; both stay cut.
        #expect(record.anomaliesUp.repeatedBytes == 3 + 12)
        #expect(record.anomaliesUp.truncatedPackets == 2)
    }

    /// The whole copy first, the cut one after it: a plain duplicate, nothing changes.
    @Test func aCutCopyAfterTheWholeOneIsAPlainDuplicate() throws {
        let (r, _) = run(handshake + [
            copy(.c(1001, "HTTP/1.1 503 Service", at: 1), id: 50),
            copy(.c(1001, "HTTP/1.1 5", at: 1, wire: 20), id: 50),
        ])
        #expect(r.text(1, .up) == "HTTP/1.1 503 Service")
        #expect(lateNotices(r).isEmpty)
        let record = try #require(r.record(1))
        #expect(record.anomaliesUp.duplicates == 1)
    }
}
