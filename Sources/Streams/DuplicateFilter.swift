import Core

/// Remembers the last few packets of one direction to spot exact copies made by a SPAN port.
///
/// Two packets are copies when sequence, acknowledgement, flags, payload length, window,
/// IPv4 identification (when present) and checksum all match within the window of
/// `StreamLimits.duplicateWindow`. Four slots, held inline: no allocation.
///
/// Known weakness: over IPv6 (no identification field), back-to-back duplicate ACKs without
/// TCP options are indistinguishable from mirror copies and are counted as duplicates. Only
/// the counter is affected: pure ACKs carry no stream bytes, and totals still count them.
struct DuplicateFilter {
    struct Fingerprint: Equatable {
        var sequence: UInt32
        var acknowledgement: UInt32
        var flags: UInt16
        var window: UInt16
        var checksum: UInt16
        var ipID: UInt32?
        var length: Int

        init(_ s: TCPSegment) {
            sequence = s.sequence
            acknowledgement = s.acknowledgement
            flags = s.flags.rawValue
            window = s.window
            checksum = s.checksum
            ipID = s.ipID
            length = s.payloadLength
        }
    }

    private struct Slot {
        var fingerprint: Fingerprint?
        var time: Timestamp
    }

    private var slots = InlineArray<4, Slot>(repeating: Slot(fingerprint: nil, time: .zero))
    private var nextSlot = 0

    /// True when `segment` copies a packet seen within `window` ns; otherwise remembers it.
    mutating func isDuplicate(_ segment: TCPSegment, window: Int64) -> Bool {
        let print = Fingerprint(segment)
        for i in slots.indices {
            guard let seen = slots[i].fingerprint, seen == print else { continue }
            let age = segment.timestamp.nanoseconds(since: slots[i].time)
            if age >= 0, age <= window { return true }
        }
        slots[nextSlot] = Slot(fingerprint: print, time: segment.timestamp)
        nextSlot = (nextSlot + 1) % slots.count
        return false
    }
}
