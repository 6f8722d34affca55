import Core

/// Remembers the last few packets of one direction to spot exact copies made by a SPAN port.
///
/// Two packets are copies when sequence, acknowledgement, flags, payload length, window,
/// IPv4 identification (when present) and checksum all match within the window of
/// `StreamLimits.duplicateWindow`. Four 32-byte slots, held inline: no allocation.
///
/// A whole copy of a packet whose first copy the snap length cut (two sensors' captures merged, one with a smaller
/// snap length) is such a copy too, but its bytes are not all seen yet: `verdict` tells it apart
/// (`wholeCopyOfCut`), so that they can fill the cut. A cut copy of a whole packet is a plain duplicate.
///
/// Known weakness: over IPv6 (no identification field), back-to-back duplicate ACKs without
/// TCP options are indistinguishable from mirror copies and are counted as duplicates. Only
/// the counter is affected: pure ACKs carry no stream bytes, and totals still count them.
struct DuplicateFilter {
    /// What must match, packed into three words (compared as three integers, no padding): sequence and
    /// acknowledgement; flags, window, checksum and whether there is an IPv4 identification (1, or 0 for
    /// IPv6); the identification (0 without one) and the payload length, clamped (lengths come from IP
    /// headers, far below 2^32). Each field has bits of its own, so equal words mean equal fields.
    struct Fingerprint: Equatable {
        var numbers: UInt64
        var header: UInt64
        var idAndLength: UInt64

        /// Inlined: made for every segment, and the call cost about as much as the few shifts.
        @inline(__always)
        init(_ s: TCPSegment) {
            numbers = UInt64(s.sequence) | UInt64(s.acknowledgement) << 32
            header = UInt64(s.flags.rawValue) | UInt64(s.window) << 16 | UInt64(s.checksum) << 32
                | UInt64(s.ipID == nil ? 0 : 1) << 48
            idAndLength = UInt64(s.ipID ?? 0) | UInt64(UInt32(clamping: s.payloadLength)) << 32
        }

        /// All zero, for empty slots.
        init() {
            (numbers, header, idAndLength) = (0, 0, 0)
        }
    }

    /// A remembered packet; `time` is `Int64.min` for an empty slot. 32 bytes.
    private struct Slot {
        var fingerprint: Fingerprint
        var time: Int64
    }

    private static let empty = Slot(fingerprint: Fingerprint(), time: Int64.min)

    private var slots = InlineArray<4, Slot>(repeating: DuplicateFilter.empty)
    private var nextSlot: UInt8 = 0
    /// Bit i set: slot i holds a packet the snap length cut. Apart from the fingerprints, so that matching them
    /// stays three comparisons of words (a cut copy and a whole one have equal fingerprints).
    private var cutSlots: UInt8 = 0

    enum Verdict {
        /// Not a copy of a packet seen within the window: remembered.
        case new
        case duplicate
        /// A whole copy of a packet the snap length cut: a duplicate whose bytes may fill the cut. It takes the
        /// cut one's place, so that a third copy is a plain duplicate.
        case wholeCopyOfCut
    }

    /// Whether `segment` copies a packet seen within `window` ns; a new one is remembered.
    mutating func verdict(_ segment: TCPSegment, window: Int64) -> Verdict {
        let print = Fingerprint(segment)
        let now = segment.timestamp.nanoseconds
        for i in slots.indices {
            guard slots[i].time != Int64.min, slots[i].fingerprint == print else { continue }
            let age = now &- slots[i].time
            guard age >= 0, age <= window else { continue }
            let bit: UInt8 = 1 << i
            guard cutSlots & bit != 0, !segment.truncated else { return .duplicate }
            cutSlots &= ~bit
            return .wholeCopyOfCut
        }
        let bit: UInt8 = 1 << nextSlot
        cutSlots = segment.truncated ? cutSlots | bit : cutSlots & ~bit
        slots[Int(nextSlot)] = Slot(fingerprint: print, time: now)
        nextSlot = (nextSlot + 1) % UInt8(slots.count)
        return .new
    }
}
