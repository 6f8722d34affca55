import Core

/// Remembers the last few packets of one direction to spot exact copies made by a SPAN port.
///
/// Two packets are copies when sequence, acknowledgement, flags, payload length, window,
/// IPv4 identification (when present) and checksum all match within the window of
/// `StreamLimits.duplicateWindow`. Four 32-byte slots, held inline: no allocation.
///
/// Known weakness: over IPv6 (no identification field), back-to-back duplicate ACKs without
/// TCP options are indistinguishable from mirror copies and are counted as duplicates. Only
/// the counter is affected: pure ACKs carry no stream bytes, and totals still count them.
struct DuplicateFilter {
    /// What must match, packed into 24 bytes (no optionals, so a slot has no padding to speak of).
    struct Fingerprint: Equatable {
        var sequence: UInt32
        var acknowledgement: UInt32
        var flags: UInt16
        var window: UInt16
        var checksum: UInt16
        /// 1 when `ipID` holds an IPv4 identification; 0 for none (IPv6).
        var hasIPID: UInt16
        var ipID: UInt32
        /// Payload length, clamped (lengths come from IP headers, far below 2^32).
        var length: UInt32

        init(_ s: TCPSegment) {
            sequence = s.sequence
            acknowledgement = s.acknowledgement
            flags = s.flags.rawValue
            window = s.window
            checksum = s.checksum
            hasIPID = s.ipID == nil ? 0 : 1
            ipID = s.ipID ?? 0
            length = UInt32(clamping: s.payloadLength)
        }

        /// All zero, for empty slots.
        init() {
            (sequence, acknowledgement, flags, window, checksum, hasIPID, ipID, length) = (0, 0, 0, 0, 0, 0, 0, 0)
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

    /// True when `segment` copies a packet seen within `window` ns; otherwise remembers it.
    mutating func isDuplicate(_ segment: TCPSegment, window: Int64) -> Bool {
        let print = Fingerprint(segment)
        let now = segment.timestamp.nanoseconds
        for i in slots.indices {
            guard slots[i].time != Int64.min, slots[i].fingerprint == print else { continue }
            let age = now &- slots[i].time
            if age >= 0, age <= window { return true }
        }
        slots[Int(nextSlot)] = Slot(fingerprint: print, time: now)
        nextSlot = (nextSlot + 1) % UInt8(slots.count)
        return false
    }
}
