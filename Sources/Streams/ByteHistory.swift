/// The last few delivered bytes of one direction, kept so that a retransmission can be
/// compared with the first copy.
///
/// A ring of fixed capacity, taken before the first append (`needsRing`; a direction that never
/// carries data costs nothing) from the table's `HistoryRings`, and given back there when the
/// connection's buffers are released, so rings are reused rather than allocated per connection.
/// Append is O(n) in the appended bytes with no allocation.
struct ByteHistory {
    private var ring: [UInt8] = []
    private let capacity: Int
    /// Valid bytes, ending at the stream offset the owner passes as `end`.
    private var filled = 0
    /// Ring index where the next byte goes.
    private var write = 0

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// Forgets everything (after a gap the offsets no longer line up with the ring).
    mutating func reset() {
        filled = 0
        write = 0
    }

    /// Forgets everything and gives the ring to `spare` (one is taken again before the next append).
    mutating func release(into spare: HistoryRings) {
        if !ring.isEmpty {
            spare.giveBack(ring, capacity: capacity)
            ring = []
        }
        reset()
    }

    /// Whether `append` needs a ring first: none was taken since the last release. Asked apart from
    /// `append` so that the table's `HistoryRings` is reached (and retained for the call) only then,
    /// not for every delivered segment.
    var needsRing: Bool { capacity > 0 && ring.isEmpty }

    /// Takes a ring from `spare` (or allocates one) for the next appends.
    mutating func takeRing(from spare: HistoryRings) {
        ring = spare.take(capacity: capacity)
    }

    /// Adds delivered bytes; only the last `capacity` are kept. Without a ring (`needsRing`) nothing
    /// is kept.
    mutating func append(_ data: UnsafeRawBufferPointer) {
        let cap = capacity
        guard cap > 0, !data.isEmpty else { return }
        let source = data.count > cap ? UnsafeRawBufferPointer(rebasing: data[(data.count - cap)...]) : data
        var at = write
        ring.withUnsafeMutableBytes { dst in
            // At most two memory copies: up to the ring's end, then the rest from its start (slicing both
            // buffers went through a generic copy). In bounds: `first` is at most what is left of the
            // ring from `at`, and the rest at most `cap - first` since `source` holds at most `cap`.
            guard let to = dst.baseAddress, let from = source.baseAddress, dst.count == cap else { return }
            let first = min(source.count, cap - at)
            (to + at).copyMemory(from: from, byteCount: first)
            let rest = source.count - first
            if rest > 0 {
                to.copyMemory(from: from + first, byteCount: rest)
                at = rest
            } else {
                at += first
                if at == cap { at = 0 }
            }
        }
        write = at
        filled = min(cap, filled + source.count)
    }

    /// Counts bytes of `data`, placed at stream offset `offset`, that differ from the kept
    /// copy. The kept stream ends at `end` (exclusive); bytes older than the ring are not
    /// compared. `offset + data.count` must not exceed `end`.
    func differences(at offset: Int64, _ data: UnsafeRawBufferPointer, end: Int64) -> Int {
        let oldest = end - Int64(filled)
        var differing = 0
        for k in 0..<data.count {
            let streamOffset = offset + Int64(k)
            guard streamOffset >= oldest, streamOffset < end else { continue }
            var index = write - Int(end - streamOffset)
            if index < 0 { index += capacity }
            if ring[index] != data[k] { differing += 1 }
        }
        return differing
    }
}

/// Rings of released `ByteHistory`s, kept for the next connections (one set per `ConnectionTable`,
/// used on its thread only). Taking a ring from here instead of allocating one saves a 4 KiB
/// allocation and free per direction of every connection, which go through the C library's shared
/// heap lock (too large for its per-thread cache). At most `maxSpare` rings are kept (1 MiB with the
/// default 4 KiB), so a burst of connections leaves little memory behind.
///
/// Stored state is `@exclusivity(unchecked)`: used only by the table's reassemblers, on one thread,
/// with no re-entry.
final class HistoryRings {
    @exclusivity(unchecked) private var spare: [[UInt8]] = []
    static let maxSpare = 256

    /// A ring of `capacity` bytes, not zeroed: `ByteHistory.differences` reads only bytes written first.
    func take(capacity: Int) -> [UInt8] {
        if let ring = spare.popLast() {
            if ring.count == capacity { return ring }
            spare.removeAll()
        }
        return [UInt8](unsafeUninitializedCapacity: capacity) { _, count in count = capacity }
    }

    func giveBack(_ ring: [UInt8], capacity: Int) {
        guard ring.count == capacity, spare.count < HistoryRings.maxSpare else { return }
        spare.append(ring)
    }

    /// Rings kept for reuse (for tests).
    var count: Int { spare.count }
}
