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

/// `ConnectionTable.provisionalEnds()`: what `finish()` would hand out now, made without changing the table.
/// Each case takes the provisional ends part-way, then finishes the table: the flush and the records that
/// `finish()` gives must be what the provisional ends said, and what a table never asked gives.
@Suite struct ProvisionalEndTests {
    /// The recorder's events, gap times and gap causes that `ends` stand for, in the order `finish()` delivers them.
    private func expected(_ ends: [ProvisionalEnd])
        -> (events: [StreamRecorder.Event], gapTimes: [Timestamp], gapCuts: [Bool])
    {
        var events: [StreamRecorder.Event] = []
        var times: [Timestamp] = []
        var cuts: [Bool] = []
        for end in ends {
            let id = end.record.id
            for event in end.flush {
                switch event {
                case .bytes(let bytes, let direction, _):
                    events.append(.data(id: id, direction, bytes))
                case .gap(let n, let direction, let time, let cut):
                    events.append(.gap(id: id, direction, n))
                    times.append(time)
                    cuts.append(cut)
                case .farAcknowledgement(let n, let direction, _):
                    events.append(.notice(id: id, direction, .farAcknowledgement(bytes: n)))
                }
            }
            events.append(.closed(id: id))
        }
        return (events, times, cuts)
    }

    /// `flushed`: the flush events the ends must hold (so that each case shows the part of the flush it names).
    private func check(_ segs: [Seg], flushed: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        // A table asked for its provisional ends (twice) before it finishes, and one never asked.
        let asked = StreamRecorder()
        let table = ConnectionTable(limits: StreamLimits(), delegate: asked)
        var feeder = Feeder()
        feeder.feed(segs, to: table)
        let ends = table.provisionalEnds()
        #expect(table.provisionalEnds().map(\.record) == ends.map(\.record), sourceLocation: sourceLocation)
        let before = (events: asked.events.count, gaps: asked.gapTimes.count)
        table.finish()
        let (plain, _) = run(segs)
        #expect(asked.events == plain.events, "asking changed nothing", sourceLocation: sourceLocation)
        #expect(asked.records == plain.records, sourceLocation: sourceLocation)
        let (events, times, cuts) = expected(ends)
        #expect(Array(asked.events[before.events...]) == events, sourceLocation: sourceLocation)
        #expect(Array(asked.gapTimes[before.gaps...]) == times, sourceLocation: sourceLocation)
        #expect(Array(asked.gapCuts[before.gaps...]) == cuts, sourceLocation: sourceLocation)
        #expect(ends.map(\.record) == asked.records, sourceLocation: sourceLocation)
        #expect(ends.reduce(0) { $0 + $1.flush.count } == flushed, sourceLocation: sourceLocation)
    }

    @Test func inOrderBytesFlushNothing() {
        check(handshake + [
            .c(1001, "GET / HTTP/1.1\r\n\r\n", at: 1), .s(5001, "HTTP/1.1 200 OK\r\n", at: 2),
        ], flushed: 0)
    }

    @Test func heldBytesBehindAHoleComeAfterItsGap() {
        check(handshake + [.c(1001, "aaaa", at: 1), .c(1009, "cccc", at: 2), .c(1017, "eeee", at: 3)], flushed: 4)
    }

    @Test func aHoleArmedByAnAcknowledgementTakesItsTime() {
        check(handshake + [
            .c(1001, "aaaa", at: 1), .c(1009, "cccc", at: 2), .s(5001, "", at: 3, ack: 1013),
        ], flushed: 2)
    }

    @Test func anAcknowledgedTailIsAGap() {
        check(handshake + [.c(1001, "aaaa", at: 1), .s(5001, "", at: 3, ack: 1013)], flushed: 1)
    }

    @Test func anAcknowledgementFarPastEverythingIsNoticed() {
        check(handshake + [.c(1001, "aaaa", at: 1), .s(5001, "", at: 3, ack: 1001 + 200_000)], flushed: 1)
    }

    @Test func bytesMissingBeforeAFinAreAGap() {
        check(handshake + [.c(1001, "aaaa", at: 1), .c(1009, "", [.fin, .ack], at: 2)], flushed: 1)
    }

    @Test func aPieceCutByTheSnapLengthIsHeldAsAGap() {
        check(handshake + [.c(1001, "aaaa", at: 1), .c(1009, "cc", at: 2, wire: 4), .c(1013, "dd", at: 3)], flushed: 4)
    }

    @Test func closedAndOpenConnectionsTogether() {
        check(handshake + [
            .c(1001, "aaaa", at: 1), .s(5001, "bb", at: 2, ack: 1005), .c(1005, "", [.fin, .ack], at: 3, ack: 5003),
            .s(5003, "", [.fin, .ack], at: 4, ack: 1006),
        ], flushed: 0)
    }

    @Test func anEmptyTableHasNone() {
        let table = ConnectionTable(limits: StreamLimits(), delegate: StreamRecorder())
        #expect(table.provisionalEnds().isEmpty)
    }
}
