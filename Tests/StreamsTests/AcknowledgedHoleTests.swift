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

/// Records the time of each gap next to the events of `StreamRecorder`.
private final class TimedRecorder: StreamDelegate {
    let inner = StreamRecorder()
    var gapTimes: [Timestamp] = []

    func connectionOpened(id: UInt64, client: Endpoint, server: Endpoint, vlan: VLANTags, time: Timestamp) {
        inner.connectionOpened(id: id, client: client, server: server, vlan: vlan, time: time)
    }

    func didReceive(data: UnsafeRawBufferPointer, direction: Direction, connection: UInt64, time: Timestamp) {
        inner.didReceive(data: data, direction: direction, connection: connection, time: time)
    }

    func didSkip(gapBytes: Int64, direction: Direction, connection: UInt64, time: Timestamp) {
        gapTimes.append(time)
        inner.didSkip(gapBytes: gapBytes, direction: direction, connection: connection, time: time)
    }

    func didNotice(_ notice: StreamNotice, direction: Direction, connection: UInt64, time: Timestamp) {
        inner.didNotice(notice, direction: direction, connection: connection, time: time)
    }

    func connectionClosed(_ record: ConnectionRecord) { inner.connectionClosed(record) }
}

/// A segment the capture lost but the receiver got: the receiver's acknowledgement says so, and the bytes
/// after the hole are delivered at once instead of waiting for the hole timeout (on a quiet push
/// connection, the next burst minutes later).
@Suite struct AcknowledgedHoleTests {
    private func feed(_ segs: [Seg], finish: Bool = true) -> TimedRecorder {
        let recorder = TimedRecorder()
        let table = ConnectionTable(limits: StreamLimits(), delegate: recorder)
        var feeder = Feeder()
        feeder.feed(segs, to: table)
        if finish { table.finish() }
        return recorder
    }

    private func at(_ ms: Int64) -> Timestamp { Hosts.base.adding(nanoseconds: ms * 1_000_000) }

    /// Index of the first delivery of `text` in `direction`.
    private func position(_ r: StreamRecorder, _ direction: Direction, _ text: String) -> Int? {
        r.events.firstIndex { $0 == .data(id: 1, direction, Array(text.utf8)) }
    }

    @Test func anAcknowledgedHoleIsAGapAtOnceAndTheBytesAfterItComeBeforeTheAnswer() throws {
        // "bbbb" (1005-1008) lost by the capture; the server acknowledges up to 1013, then answers.
        let r = feed(handshake + [
            .c(1001, "aaaa", at: 1), .c(1009, "cccc", at: 2), .s(5001, "", at: 3, ack: 1013),
            .s(5001, "RESP", at: 4, ack: 1013),
        ], finish: false).inner
        #expect(r.text(1, .up) == "aaaa<gap 4>cccc")
        let held = try #require(position(r, .up, "cccc"))
        let answer = try #require(position(r, .down, "RESP"))
        #expect(held < answer)
    }

    @Test func theGapKeepsTheTimeOfTheBytesAfterIt() {
        let r = feed(handshake + [.c(1001, "aaaa", at: 1), .c(1009, "cccc", at: 2), .s(5001, "", at: 3, ack: 1013)])
        #expect(r.gapTimes == [at(2)])
    }

    @Test func anAcknowledgementShortOfTheHeldBytesLeavesTheHoleToItsTimeout() {
        // The receiver has only up to 1007: the network lost the rest, a retransmission will come.
        let r = feed(handshake + [
            .c(1001, "aaaa", at: 1), .c(1009, "cccc", at: 2), .s(5001, "", at: 3, ack: 1007),
            .s(5001, "RESP", at: 4, ack: 1007), .c(1005, "bbbb", at: 400),
        ]).inner
        #expect(r.text(1, .up) == "aaaabbbbcccc")
        #expect(r.gapCount(0, .up) == 0)
    }

    @Test func anAcknowledgementBeforeTheBytesItCoversLosesNothing() {
        // A mirror port showing the ACK before the data: nothing is held, so nothing is skipped.
        let r = feed(handshake + [
            .c(1001, "aaaa", at: 1), .s(5001, "", at: 2, ack: 1009), .c(1005, "bbbb", at: 2),
            .c(1009, "cccc", at: 3),
        ]).inner
        #expect(r.text(1, .up) == "aaaabbbbcccc")
        #expect(r.record(1)?.anomaliesUp == anomalies())
    }

    @Test func anAcknowledgementCapturedBeforeTheHeldBytesSkipsNothingUntilOneAfterThem() throws {
        // The mirror showed the ACK ahead of the data: the hole's bytes may come late too, so that ACK
        // does not skip the hole; the next acknowledgement, captured after "cccc", does.
        let r = feed(handshake + [
            .c(1001, "aaaa", at: 1), .s(5001, "", at: 2, ack: 1013), .c(1009, "cccc", at: 3),
        ], finish: false).inner
        #expect(r.text(1, .up) == "aaaa")
        let later = feed(handshake + [
            .c(1001, "aaaa", at: 1), .s(5001, "", at: 2, ack: 1013), .c(1009, "cccc", at: 3),
            .s(5001, "RESP", at: 4, ack: 1013),
        ], finish: false).inner
        #expect(later.text(1, .up) == "aaaa<gap 4>cccc")
        let held = try #require(position(later, .up, "cccc"))
        let answer = try #require(position(later, .down, "RESP"))
        #expect(held < answer)
    }

    @Test func anAcknowledgementFarBeyondAnythingSentIsNotBelieved() {
        // 16 MiB past the last byte: no receiver acknowledges that; the hole waits for its retransmission.
        let r = feed(handshake + [
            .c(1001, "aaaa", at: 1), .c(1009, "cccc", at: 2), .s(5001, "", at: 3, ack: 1009 + (1 << 24)),
            .c(1005, "bbbb", at: 400),
        ]).inner
        #expect(r.text(1, .up) == "aaaabbbbcccc")
    }

    @Test func anAcknowledgedLastSegmentBecomesAGapStampedWithTheAcknowledgement() {
        // "bbbb" lost, nothing after it; the next bytes come 5 minutes later.
        let r = feed(handshake + [
            .c(1001, "aaaa", at: 1), .s(5001, "", at: 3, ack: 1009), .c(1009, "cccc", at: 300_000),
        ])
        #expect(r.inner.text(1, .up) == "aaaa<gap 4>cccc")
        #expect(r.gapTimes == [at(3)])
    }

    @Test func anAcknowledgedLastSegmentBecomesAGapAfterTheHoleTimeoutWithNothingMoreFromItsSide() throws {
        // The gap comes at the next sweep after the hole timeout, before the server's later bytes.
        let r = feed(handshake + [
            .c(1001, "aaaa", at: 1), .s(5001, "", at: 3, ack: 1009), .s(5001, "LATER", at: 10_000, ack: 1009),
        ], finish: false).inner
        #expect(r.text(1, .up) == "aaaa<gap 4>")
        let gap = try #require(r.events.firstIndex { $0 == .gap(id: 1, .up, 4) })
        let later = try #require(position(r, .down, "LATER"))
        #expect(gap < later)
    }

    @Test func anAcknowledgedLastSegmentAtTheEndOfTheCaptureIsAGap() {
        let r = feed(handshake + [.c(1001, "aaaa", at: 1), .s(5001, "", at: 3, ack: 1009)])
        #expect(r.inner.text(1, .up) == "aaaa<gap 4>")
        #expect(r.gapTimes == [at(3)])
    }

    @Test func aLostFinAloneIsNoGap() {
        // The FIN takes one sequence number: its acknowledgement is one past the last byte.
        let r = feed(handshake + [.c(1001, "aaaa", at: 1), .s(5001, "", [.fin, .ack], at: 3, ack: 1006)])
        #expect(r.inner.text(1, .up) == "aaaa")
        #expect(r.inner.record(1)?.anomaliesUp == anomalies())
    }

    @Test func aFinAcknowledgedAfterLostBytesCountsTheBytesNotTheFin() {
        let r = feed(handshake + [
            .c(1001, "aaaa", at: 1), .c(1009, "", [.fin, .ack], at: 2), .s(5001, "", [.fin, .ack], at: 3, ack: 1010),
        ])
        #expect(r.inner.text(1, .up) == "aaaa<gap 4>")
    }
}
