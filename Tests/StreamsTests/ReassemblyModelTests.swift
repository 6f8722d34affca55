import Core
import Records
import Streams
import Testing
import TestSupport

/// Seeded (SplitMix64) so every run sees the same shapes.
private typealias SeededGenerator = SplitMix64

/// Checks the reassembler against the plainest model of a byte stream: whatever order,
/// repetition and overlap the segments come in, the delivered bytes are the original bytes
/// at every position some segment covered, and the gaps add up to the positions none did.
@Suite struct ReassemblyModelTests {
    private struct Shape {
        var stream: [UInt8]
        var isn: UInt32
        var segments: [Seg]
        var covered: [Bool]
    }

    private func makeShape(_ rng: inout SeededGenerator, dropSome: Bool) -> Shape {
        let length = Int.random(in: 1...3000, using: &rng)
        let stream = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
        // Half the shapes start just below 2^32 so their sequence numbers wrap.
        let isn = Bool.random(using: &rng)
            ? UInt32.max - UInt32.random(in: 0..<1500, using: &rng)
            : UInt32.random(in: 0...UInt32.max, using: &rng)
        var ranges: [Range<Int>] = []
        var at = 0
        while at < length {
            let n = Int.random(in: 1...200, using: &rng)
            ranges.append(at..<min(length, at + n))
            at += n
        }
        if dropSome {
            ranges.removeAll { _ in Int.random(in: 0..<6, using: &rng) == 0 }
        }
        // Retransmissions that straddle segment edges.
        for _ in 0..<Int.random(in: 0...8, using: &rng) {
            let start = Int.random(in: 0..<length, using: &rng)
            ranges.append(start..<min(length, start + Int.random(in: 1...300, using: &rng)))
        }
        ranges.shuffle(using: &rng)

        var covered = [Bool](repeating: false, count: length)
        var segments: [Seg] = []
        var ipID: UInt32 = 1
        for r in ranges {
            for i in r { covered[i] = true }
            var s = Seg.c(isn &+ 1 &+ UInt32(r.lowerBound), "", at: Int64(segments.count))
            s.data = Array(stream[r])
            s.ipID = ipID
            ipID += 1
            segments.append(s)
            if Int.random(in: 0..<8, using: &rng) == 0 { segments.append(s) }  // SPAN copy
        }
        var syn = Seg.c(isn, "", [.syn])
        syn.ipID = 0
        var fin = Seg.c(isn &+ 1 &+ UInt32(length), "", [.fin, .ack], at: Int64(segments.count))
        fin.ipID = ipID
        segments.insert(fin, at: Int.random(in: 0...segments.count, using: &rng))
        return Shape(stream: stream, isn: isn, segments: [syn] + segments, covered: covered)
    }

    @Test(arguments: [false, true])
    func anyOrderDeliversTheCoveredBytesAndGapsTheRest(dropSome: Bool) throws {
        var rng = SeededGenerator(state: dropSome ? 2 : 1)
        for trial in 0..<300 {
            let shape = makeShape(&rng, dropSome: dropSome)
            let (recorder, table) = run(shape.segments)

            let expected = zip(shape.stream, shape.covered).filter(\.1).map(\.0)
            let missing = Int64(shape.covered.count { !$0 })
            let r = try #require(recorder.record(1), "trial \(trial)")
            #expect(recorder.bytes(1, .up) == expected, "trial \(trial), ISN \(shape.isn)")
            #expect(r.anomaliesUp.gapBytes == missing, "trial \(trial)")
            #expect(r.anomaliesUp.conflicts == 0, "trial \(trial)")
            #expect(r.bytesUp == Int64(shape.segments.reduce(0) { $0 + $1.data.count }), "trial \(trial)")
            #expect(r.packetsUp == shape.segments.count, "trial \(trial)")
            #expect(table.statistics.bufferedBytes == 0, "trial \(trial)")
            if !dropSome {
                #expect(recorder.gapCount(1, .up) == 0, "trial \(trial)")
            }
        }
    }

    @Test func changedRetransmittedBytesAreConflictsAndNeverDelivered() throws {
        var rng = SeededGenerator(state: 3)
        for trial in 0..<100 {
            var shape = makeShape(&rng, dropSome: false)
            let original = shape.stream
            // A corrupted copy of a random stretch, sent after everything else.
            let start = Int.random(in: 0..<original.count, using: &rng)
            let end = min(original.count, start + Int.random(in: 1...50, using: &rng))
            var bad = Seg.c(shape.isn &+ 1 &+ UInt32(start), "", at: 5000)
            bad.data = original[start..<end].map { $0 ^ 0xFF }
            shape.segments.append(bad)

            let (recorder, _) = run(shape.segments)
            #expect(recorder.bytes(1, .up) == original, "trial \(trial)")
            // Every byte of a short stream stays in the 4 KiB history, so the change is seen.
            #expect(recorder.record(1)?.anomaliesUp.conflicts == 1, "trial \(trial)")
        }
    }
}
