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

/// A segment the capture lost but the receiver got: the receiver's acknowledgement says so, and the bytes
/// after the hole are delivered when the receiver answers, or `acknowledgedHoleGrace` after the ACK,
/// instead of waiting for the hole timeout (on a quiet push connection, the next burst minutes later).
/// Bytes of the hole shown before that (mirror reordering, a spurious retransmission) still fill it.
@Suite struct AcknowledgedHoleTests {
    private func feed(_ segs: [Seg], finish: Bool = true) -> StreamRecorder {
        let recorder = StreamRecorder()
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
        ], finish: false)
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
        ])
        #expect(r.text(1, .up) == "aaaabbbbcccc")
        #expect(r.gapCount(0, .up) == 0)
    }

    @Test func anAcknowledgementBeforeTheBytesItCoversLosesNothing() {
        // A mirror port showing the ACK before the data: nothing is held, so nothing is skipped.
        let r = feed(handshake + [
            .c(1001, "aaaa", at: 1), .s(5001, "", at: 2, ack: 1009), .c(1005, "bbbb", at: 2),
            .c(1009, "cccc", at: 3),
        ])
        #expect(r.text(1, .up) == "aaaabbbbcccc")
        #expect(r.record(1)?.anomaliesUp == anomalies())
    }

    @Test func anAcknowledgementCapturedBeforeTheHeldBytesSkipsNothingUntilOneAfterThemAndItsGrace() {
        // The mirror showed the ACK ahead of the data: the hole's bytes may come late too, so that ACK
        // does not arm the hole; the next acknowledgement, captured after "cccc", does, and the hole is a
        // gap once the grace passed with it still open (here at a packet 600 ms later).
        let r = feed(handshake + [
            .c(1001, "aaaa", at: 1), .s(5001, "", at: 2, ack: 1013), .c(1009, "cccc", at: 3),
        ], finish: false)
        #expect(r.text(1, .up) == "aaaa")
        let armed = feed(handshake + [
            .c(1001, "aaaa", at: 1), .s(5001, "", at: 2, ack: 1013), .c(1009, "cccc", at: 3),
            .s(5001, "RESP", at: 4, ack: 1013),
        ], finish: false)
        #expect(armed.text(1, .up) == "aaaa")
        let later = feed(handshake + [
            .c(1001, "aaaa", at: 1), .s(5001, "", at: 2, ack: 1013), .c(1009, "cccc", at: 3),
            .s(5001, "RESP", at: 4, ack: 1013), .s(5005, "", at: 600, ack: 1013),
        ], finish: false)
        #expect(later.text(1, .up) == "aaaa<gap 4>cccc")
        #expect(later.gapTimes == [at(3)])
    }

    @Test func bytesOfTheHoleShownJustAfterTheAcknowledgementAndItsAnswerFillIt() {
        // A mirror port showing "bbbb" a few ms after the server's ACK (which carries its answer).
        let r = feed(handshake + [
            .c(1001, "aaaa", at: 1), .c(1009, "cccc", at: 2), .s(5001, "RESP", at: 3, ack: 1013),
            .c(1005, "bbbb", at: 5), .c(1013, "", [.ack], at: 6, ack: 5005),
        ])
        #expect(r.text(1, .up) == "aaaabbbbcccc")
        #expect(r.record(1)?.anomaliesUp == anomalies(outOfOrder: 1))
    }

    @Test func aSpuriousRetransmissionWithinTheGraceFillsTheHole() {
        // The capture lost "bbbb"; the sender's timer fired before the ACK reached it: the copy comes
        // 200 ms after the ACK, while the server is still quiet.
        let r = feed(handshake + [
            .c(1001, "aaaa", at: 1), .c(1009, "cccc", at: 2), .s(5001, "", at: 3, ack: 1013),
            .c(1005, "bbbb", at: 203), .s(5001, "RESP", at: 210, ack: 1013),
        ])
        #expect(r.text(1, .up) == "aaaabbbbcccc")
        #expect(r.gapCount(0, .up) == 0)
        #expect(r.record(1)?.anomaliesUp == anomalies(outOfOrder: 1))
    }

    @Test func anArmedHoleBecomesAGapAfterTheGraceWithNothingMoreOnTheConnection() throws {
        // The sweep acts at the grace's end: the gap comes before a later connection's bytes.
        let recorder = StreamRecorder()
        let table = ConnectionTable(limits: StreamLimits(), delegate: recorder)
        var feeder = Feeder()
        feeder.feed(handshake + [.c(1001, "aaaa", at: 1), .c(1009, "cccc", at: 2), .s(5001, "", at: 3, ack: 1013)],
                    to: table)
        #expect(recorder.text(1, .up) == "aaaa")
        let grace = StreamLimits().acknowledgedHoleGrace / 1_000_000
        var other = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0003), port: 41_000))
        other.feed(.c(1000, "", [.syn], at: 3 + grace + 1), to: table)
        #expect(recorder.text(1, .up) == "aaaa<gap 4>cccc")
        #expect(recorder.gapTimes == [at(2)])
    }

    @Test func bytesOfTheHoleAfterThePeersAnswerAreARetransmission() {
        // The server answered after its ACK: the hole was a gap then, before the answer; "bbbb" is late.
        let r = feed(handshake + [
            .c(1001, "aaaa", at: 1), .c(1009, "cccc", at: 2), .s(5001, "", at: 3, ack: 1013),
            .s(5001, "RESP", at: 4, ack: 1013), .c(1005, "bbbb", at: 5),
        ])
        #expect(r.text(1, .up) == "aaaa<gap 4>cccc")
        #expect(r.record(1)?.anomaliesUp.retransmissions == 1)
    }

    @Test func anAcknowledgementFarBeyondAnythingSentIsNotBelieved() {
        // 16 MiB past the last byte: no receiver acknowledges that; the hole waits for its retransmission.
        let r = feed(handshake + [
            .c(1001, "aaaa", at: 1), .c(1009, "cccc", at: 2), .s(5001, "", at: 3, ack: 1009 + (1 << 24)),
            .c(1005, "bbbb", at: 400),
        ])
        #expect(r.text(1, .up) == "aaaabbbbcccc")
    }

    @Test func anAcknowledgedLastSegmentBecomesAGapStampedWithTheAcknowledgement() {
        // "bbbb" lost, nothing after it; the next bytes come 5 minutes later.
        let r = feed(handshake + [
            .c(1001, "aaaa", at: 1), .s(5001, "", at: 3, ack: 1009), .c(1009, "cccc", at: 300_000),
        ])
        #expect(r.text(1, .up) == "aaaa<gap 4>cccc")
        #expect(r.gapTimes == [at(3)])
    }

    @Test func anAcknowledgedLastSegmentBecomesAGapAfterTheHoleTimeoutWithNothingMoreFromItsSide() throws {
        // The gap comes at the next sweep after the hole timeout, before the server's later bytes.
        let r = feed(handshake + [
            .c(1001, "aaaa", at: 1), .s(5001, "", at: 3, ack: 1009), .s(5001, "LATER", at: 10_000, ack: 1009),
        ], finish: false)
        #expect(r.text(1, .up) == "aaaa<gap 4>")
        let gap = try #require(r.events.firstIndex { $0 == .gap(id: 1, .up, 4) })
        let later = try #require(position(r, .down, "LATER"))
        #expect(gap < later)
    }

    @Test func anAcknowledgedTailUpToTheReachIsAGapAndBeyondItAnOddAcknowledgementOnce() {
        // 64 KiB acknowledged and never seen: a lost tail; one byte more: nothing supports it, no gap.
        let reach = UInt32(64 << 10)
        let lost = feed(handshake + [.c(1001, "aaaa", at: 1), .s(5001, "", at: 3, ack: 1005 + reach)])
        #expect(lost.record(1)?.anomaliesUp == anomalies(gaps: 1, gapBytes: Int64(reach)))
        let far = feed(handshake + [
            .c(1001, "aaaa", at: 1), .s(5001, "", at: 3, ack: 1006 + reach), .s(5001, "", at: 4_000, ack: 1006 + reach),
            .s(5001, "", at: 8_000, ack: 1006 + reach),
        ])
        #expect(far.text(1, .up) == "aaaa")
        #expect(far.record(1)?.anomaliesUp == anomalies())
        let odd = far.events.filter { $0 == .notice(id: 1, .up, .farAcknowledgement(bytes: Int64(reach) + 1)) }
        #expect(odd.count == 1)
        // A FIN captured past the acknowledged bytes supports them: a gap, not an odd acknowledgement.
        let fin = feed(handshake + [
            .c(1001, "aaaa", at: 1), .c(1105 + reach, "", [.fin, .ack], at: 2), .s(5001, "", at: 3, ack: 1006 + reach),
        ])
        #expect(fin.record(1)?.anomaliesUp.gapBytes == Int64(reach) + 100)
        #expect(!fin.events.contains { if case .notice(_, _, .farAcknowledgement) = $0 { true } else { false } })
    }

    @Test func aLostLastSegmentAcknowledgedWhileAnEarlierHoleWaitedIsAGapAtItsAcknowledgement() throws {
        // "bbbb" and "dddd" lost; the first ACK arms the hole before "cccc", the second reaches past
        // everything seen while that hole still waits its grace. Once the hole is skipped, the tail's own
        // timer starts from that ACK: a gap stamped then, not at the keep-alive ACK 100 s later (which made
        // a push connection's lost last segment a check-in of its own).
        let r = feed(handshake + [
            .c(1001, "aaaa", at: 1), .c(1009, "cccc", at: 2), .s(5001, "", at: 3, ack: 1013),
            .s(5001, "", at: 4, ack: 1017), .s(5001, "", at: 100_000, ack: 1017),
        ], finish: false)
        #expect(r.text(1, .up) == "aaaa<gap 4>cccc<gap 4>")
        #expect(r.gapTimes == [at(2), at(4)])
    }

    @Test func anAcknowledgedLastSegmentAtTheEndOfTheCaptureIsAGap() {
        let r = feed(handshake + [.c(1001, "aaaa", at: 1), .s(5001, "", at: 3, ack: 1009)])
        #expect(r.text(1, .up) == "aaaa<gap 4>")
        #expect(r.gapTimes == [at(3)])
    }

    @Test func aLostFinAloneIsNoGap() {
        // The FIN takes one sequence number: its acknowledgement is one past the last byte.
        let r = feed(handshake + [.c(1001, "aaaa", at: 1), .s(5001, "", [.fin, .ack], at: 3, ack: 1006)])
        #expect(r.text(1, .up) == "aaaa")
        #expect(r.record(1)?.anomaliesUp == anomalies())
    }

    @Test func aFinAcknowledgedAfterLostBytesCountsTheBytesNotTheFin() {
        let r = feed(handshake + [
            .c(1001, "aaaa", at: 1), .c(1009, "", [.fin, .ack], at: 2), .s(5001, "", [.fin, .ack], at: 3, ack: 1010),
        ])
        #expect(r.text(1, .up) == "aaaa<gap 4>")
    }
}

/// a TCP keep-alive probe (RFC 1122: sequence one below the next byte, with no or
/// one garbage byte) is neither data nor a retransmission nor, with a byte unlike the last one, a conflict.
@Suite struct KeepAliveProbeTests {
    @Test(arguments: ["", "\u{0}", "d", "Z"])
    func aKeepAliveProbeIsNoticedNotPlaced(_ garbage: String) {
        let recorder = StreamRecorder()
        let table = ConnectionTable(limits: StreamLimits(), delegate: recorder)
        var feeder = Feeder()
        feeder.feed(handshake + [
            .c(1001, "abcd", at: 1), .c(1004, garbage, at: 60_000), .c(1004, garbage, at: 120_000),
            .c(1005, "efgh", at: 130_000),
        ], to: table)
        table.finish()
        #expect(recorder.text(1, .up) == "abcdefgh")
        #expect(recorder.record(1)?.anomaliesUp == anomalies())
        #expect(recorder.events.filter { $0 == .notice(id: 1, .up, .keepAlive) }.count == 2)
    }

    @Test func oneByteBelowTheNextWithMoreBytesIsARetransmissionStill() {
        let recorder = StreamRecorder()
        let table = ConnectionTable(limits: StreamLimits(), delegate: recorder)
        var feeder = Feeder()
        feeder.feed(handshake + [.c(1001, "abcd", at: 1), .c(1004, "dX", at: 300)], to: table)
        table.finish()
        #expect(recorder.text(1, .up) == "abcdX")
        #expect(recorder.record(1)?.anomaliesUp.retransmissions == 1)
        #expect(!recorder.events.contains(.notice(id: 1, .up, .keepAlive)))
    }
}
