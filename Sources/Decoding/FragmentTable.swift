import Core

/// Identifies one fragmented IP datagram: RFC 791 (source, destination, protocol, id) for
/// IPv4, RFC 8200 (source, destination, id) for IPv6.
struct FragmentKey: Hashable {
    var version: IPVersion
    var source: IPAddress
    var destination: IPAddress
    var id: UInt32
    var proto: UInt8
}

/// One fragment as it arrived: where its data goes and what its headers said.
struct Fragment {
    var key: FragmentKey
    /// Byte offset of `data` in the datagram's fragmentable part.
    var offset: Int
    var moreFragments: Bool
    var data: UnsafeRawBufferPointer
    var info: IPInfo
    /// The protocol after the fragmentable part starts (IPv4 protocol, IPv6 fragment next header).
    var nextProtocol: UInt8
}

enum FragmentOutcome {
    /// The fragment was stored, or dropped by a limit that the statistics count.
    case held
    /// The datagram is whole; `payload` stays valid until the next call on the table.
    case complete(payload: UnsafeRawBufferPointer, info: IPInfo, nextProtocol: UInt8)
    case malformed(MalformedReason)
}

/// Incomplete IP datagrams, memory-bounded by `DecoderLimits`.
///
/// A class so buffers can be freed in `deinit`; `PacketDecoder` owns one. Buffers are raw
/// allocations (not arrays) so a completed datagram's bytes can be lent out safely until the
/// next call. Costs: finding a datagram is linear in the datagrams in flight; placing a
/// fragment is linear in the holes of its datagram.
///
/// Stored state is `@exclusivity(unchecked)` (no run-time exclusivity check per access on the
/// per-packet path): it is changed only by the decoder that owns it, on one thread, and no call
/// re-enters the table while it is being changed.
final class FragmentTable {
    private struct Datagram {
        var key: FragmentKey
        var firstSeen: Timestamp
        var buffer: UnsafeMutableRawBufferPointer
        /// Byte ranges received so far, sorted, merged, non-adjacent.
        var ranges: [Range<Int>] = []
        var fragments = 0
        /// The datagram's length, known once the last fragment (MF = 0) arrived.
        var totalLength: Int?
        /// Header fields of the offset-0 fragment.
        var info: IPInfo?
        var nextProtocol: UInt8 = 0
    }

    let limits: DecoderLimits
    /// Oldest first.
    @exclusivity(unchecked) private var datagrams: [Datagram] = []
    /// The last completed datagram, lent out until the next call.
    @exclusivity(unchecked) private var completed: UnsafeMutableRawBufferPointer?

    init(limits: DecoderLimits) {
        self.limits = limits
    }

    deinit {
        completed?.deallocate()
        for d in datagrams { d.buffer.deallocate() }
    }

    var isEmpty: Bool { datagrams.isEmpty }

    /// Frees the buffer lent out by the last completion.
    func releaseCompleted() {
        completed?.deallocate()
        completed = nil
    }

    /// Drops datagrams whose first fragment is older than the timeout, oldest first.
    func expire(now: Timestamp, _ stats: inout DecoderStatistics) {
        while let first = datagrams.first,
              now.nanoseconds(since: first.firstSeen) > limits.reassemblyTimeoutNanoseconds {
            remove(at: 0, &stats)
            stats.datagramsTimedOut += 1
        }
    }

    /// Places one fragment. The first copy of any byte wins; later overlapping bytes are counted
    /// and ignored.
    func insert(_ f: Fragment, now: Timestamp, _ stats: inout DecoderStatistics) -> FragmentOutcome {
        releaseCompleted()
        stats.fragmentsReceived += 1
        let end = f.offset + f.data.count
        var index = datagrams.firstIndex { $0.key == f.key }

        guard end <= limits.maxDatagramSize else {
            if let i = index { drop(at: i, &stats) }
            return .malformed(MalformedReason(.fragmentPastLimit(end: end, limit: limits.maxDatagramSize)))
        }
        if index == nil {
            if datagrams.count >= limits.maxDatagramsInFlight, !datagrams.isEmpty {
                remove(at: 0, &stats)
                stats.datagramsEvictedForCount += 1
            }
            guard limits.maxDatagramsInFlight > 0 else {
                stats.datagramsEvictedForCount += 1
                return .held
            }
            let empty = UnsafeMutableRawBufferPointer(start: nil, count: 0)
            datagrams.append(Datagram(key: f.key, firstSeen: now, buffer: empty))
            stats.datagramsInFlight += 1
            index = datagrams.count - 1
        }
        guard var i = index else { return .held }

        if let problem = consistencyProblem(f, end: end, datagram: datagrams[i]) {
            drop(at: i, &stats)
            return .malformed(problem)
        }
        datagrams[i].fragments += 1
        stats.fragmentsHeld += 1
        if datagrams[i].fragments > limits.maxFragmentsPerDatagram {
            remove(at: i, &stats)
            stats.datagramsEvictedForFragments += 1
            return .held
        }
        guard reserve(end, for: &i, &stats) else { return .held }

        place(f, end: end, in: &datagrams[i], &stats)
        return completion(at: i, &stats)
    }

    // MARK: - Steps of insert

    private func consistencyProblem(_ f: Fragment, end: Int, datagram d: Datagram) -> MalformedReason? {
        let held = d.ranges.last?.upperBound ?? 0
        if f.moreFragments {
            if let total = d.totalLength, end > total {
                return MalformedReason(.fragmentPastDatagramEnd(end: end, datagramEnd: total))
            }
        } else if let total = d.totalLength, total != end {
            return MalformedReason(.fragmentEndConflict(end: end, datagramEnd: total))
        } else if held > end {
            return MalformedReason(.fragmentEndConflict(end: end, datagramEnd: held))
        }
        return nil
    }

    /// Grows the datagram's buffer to hold `end` bytes, evicting older datagrams to stay within
    /// the byte limit. Returns false (and drops the datagram) when it cannot fit at all.
    private func reserve(_ end: Int, for i: inout Int, _ stats: inout DecoderStatistics) -> Bool {
        let old = datagrams[i].buffer
        if end <= old.count { return true }
        let capacity = min(max(end, old.count * 2, 1_024), limits.maxDatagramSize)
        let growth = capacity - old.count
        while stats.bytesBuffered + growth > limits.maxBufferedBytes, datagrams.count > 1 {
            let victim = i == 0 ? 1 : 0
            remove(at: victim, &stats)
            stats.datagramsEvictedForBytes += 1
            if victim < i { i -= 1 }
        }
        if stats.bytesBuffered + growth > limits.maxBufferedBytes {
            remove(at: i, &stats)
            stats.datagramsEvictedForBytes += 1
            return false
        }
        let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
        if old.count > 0 {
            grown.copyMemory(from: UnsafeRawBufferPointer(old))
            old.deallocate()
        }
        datagrams[i].buffer = grown
        stats.bytesBuffered += growth
        return true
    }

    /// Copies the parts of the fragment that fill holes and records its range.
    private func place(_ f: Fragment, end: Int, in d: inout Datagram, _ stats: inout DecoderStatistics) {
        if f.offset == 0, d.info == nil {
            d.info = f.info
            d.nextProtocol = f.nextProtocol
        }
        if !f.moreFragments { d.totalLength = end }
        guard end > f.offset else { return }

        var overlapped = false
        var differs = false
        var cursor = f.offset
        for r in d.ranges where r.upperBound > cursor && r.lowerBound < end {
            if r.lowerBound > cursor { copy(f, from: cursor, to: r.lowerBound, into: d.buffer) }
            overlapped = true
            // The bytes held are kept (first copy wins, as most stacks do); a copy that says otherwise is counted.
            let shared = max(cursor, r.lowerBound)..<min(end, r.upperBound)
            if !differs, !shared.isEmpty, !same(f, shared, in: d.buffer) { differs = true }
            cursor = max(cursor, r.upperBound)
        }
        if cursor < end { copy(f, from: cursor, to: end, into: d.buffer) }
        if overlapped { stats.fragmentsOverlapping += 1 }
        if differs { stats.fragmentsConflicting += 1 }

        // Merge the new range with every range it touches.
        var merged = f.offset..<end
        var kept: [Range<Int>] = []
        kept.reserveCapacity(d.ranges.count + 1)
        for r in d.ranges {
            if r.upperBound < merged.lowerBound || r.lowerBound > merged.upperBound {
                kept.append(r)
            } else {
                merged = min(r.lowerBound, merged.lowerBound)..<max(r.upperBound, merged.upperBound)
            }
        }
        let at = kept.firstIndex { $0.lowerBound > merged.lowerBound } ?? kept.count
        kept.insert(merged, at: at)
        d.ranges = kept
    }

    /// Whether the fragment's bytes over `range` (datagram offsets) equal those held there.
    private func same(_ f: Fragment, _ range: Range<Int>, in buffer: UnsafeMutableRawBufferPointer) -> Bool {
        let from = range.lowerBound - f.offset
        let new = UnsafeRawBufferPointer(rebasing: f.data[from..<(from + range.count)])
        let held = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[range])
        return new.elementsEqual(held)
    }

    private func copy(_ f: Fragment, from: Int, to: Int, into buffer: UnsafeMutableRawBufferPointer) {
        let source = UnsafeRawBufferPointer(rebasing: f.data[(from - f.offset)..<(to - f.offset)])
        UnsafeMutableRawBufferPointer(rebasing: buffer[from..<to]).copyMemory(from: source)
    }

    private func completion(at i: Int, _ stats: inout DecoderStatistics) -> FragmentOutcome {
        let d = datagrams[i]
        guard let total = d.totalLength, let info = d.info,
              d.ranges.count == 1, d.ranges[0] == 0..<total
        else { return .held }
        datagrams.remove(at: i)
        stats.datagramsInFlight -= 1
        stats.fragmentsHeld -= d.fragments
        stats.bytesBuffered -= d.buffer.count
        stats.datagramsReassembled += 1
        completed = d.buffer
        var whole = info
        whole.reassembled = true
        return .complete(
            payload: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(d.buffer)[0..<total]),
            info: whole,
            nextProtocol: d.nextProtocol
        )
    }

    private func drop(at i: Int, _ stats: inout DecoderStatistics) {
        remove(at: i, &stats)
        stats.datagramsDroppedInconsistent += 1
    }

    private func remove(at i: Int, _ stats: inout DecoderStatistics) {
        let d = datagrams.remove(at: i)
        stats.datagramsInFlight -= 1
        stats.fragmentsHeld -= d.fragments
        stats.bytesBuffered -= d.buffer.count
        if d.buffer.count > 0 { d.buffer.deallocate() }
    }
}
