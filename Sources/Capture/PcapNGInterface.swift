import Core

/// What an Interface Description Block declares, as far as reading packets needs.
struct PcapNGInterface {
    /// How a tick of the interface's clock relates to a second (option `if_tsresol`).
    enum Resolution: Equatable {
        /// Ticks of 10^-exponent seconds.
        case decimal(UInt8)
        /// Ticks of 2^-exponent seconds.
        case binary(UInt8)

        /// The default when `if_tsresol` is absent: microseconds.
        static let microseconds = Resolution.decimal(6)

        init(option byte: UInt8) {
            self = byte & 0x80 == 0 ? .decimal(byte) : .binary(byte & 0x7f)
        }
    }

    var linkType: LinkType
    /// 0 means no limit.
    var snapLength: Int
    var resolution: Resolution = .microseconds
    /// Seconds added to every timestamp (option `if_tsoffset`).
    var offsetSeconds: Int64 = 0

    init(linkType: LinkType, snapLength: Int) {
        self.linkType = linkType
        self.snapLength = snapLength
    }

    /// Parses the body of an IDB (`block` is the whole block, header and trailer included).
    init?(block: ByteOrderReader) {
        guard let type = block.u16(at: 8), let snap = block.u32(at: 12) else { return nil }
        linkType = LinkType(rawValue: UInt32(type))
        snapLength = Int(snap)
        var position = 16
        let end = block.bytes.count - 4
        // Options: code (2), length (2), value padded to 4 bytes; code 0 ends the list.
        while end - position >= 4, let code = block.u16(at: position), let length = block.u16(at: position + 2) {
            let valueStart = position + 4
            let padded = (Int(length) + 3) & ~3
            guard code != 0, end - valueStart >= padded else { break }
            if code == 9, length >= 1 {
                resolution = Resolution(option: block.bytes[valueStart])
            } else if code == 14, length >= 8, let offset = block.u64(at: valueStart) {
                offsetSeconds = Int64(bitPattern: offset)
            }
            position = valueStart + padded
        }
    }

    /// Whether the clock counts whole seconds and `if_tsoffset` adds to them: libpcap works such times out
    /// in unsigned 64 bits, so one of 2^64 seconds or more comes out wrapped around into ordinary times.
    var libpcapMayWrapIntoRange: Bool {
        (resolution == .decimal(0) || resolution == .binary(0)) && offsetSeconds > 0
    }

    /// The time of a packet stamped with `ticks` of this interface's clock, saturating.
    func timestamp(ticks: UInt64) -> Timestamp {
        checkedTimestamp(ticks: ticks).time
    }

    /// The time of `ticks`, and whether it fits a `Timestamp` (false: clamped to the end of its range
    /// that the time lies beyond). Worked out exactly, in whole seconds and a fraction: a clock of whole
    /// seconds counting past 2^63, or an `if_tsoffset` near either end of its range, neither wraps around
    /// nor lands at the wrong end.
    func checkedTimestamp(ticks: UInt64) -> (time: Timestamp, inRange: Bool) {
        let (seconds, fraction) = split(ticks)
        // seconds + offsetSeconds; nil past Int64's top (seconds are never negative, so it can only be the top).
        let total: Int64?
        if seconds <= UInt64(Int64.max) {
            let (sum, overflow) = Int64(seconds).addingReportingOverflow(offsetSeconds)
            total = overflow ? nil : sum
        } else if offsetSeconds < 0, seconds - offsetSeconds.magnitude <= UInt64(Int64.max) {
            total = Int64(seconds - offsetSeconds.magnitude)
        } else {
            total = nil
        }
        guard let total else { return (Timestamp(nanoseconds: Int64.max), false) }
        let (scaled, overflow) = total.multipliedReportingOverflow(by: 1_000_000_000)
        let (sum, sumOverflow) = scaled.addingReportingOverflow(fraction)
        guard !overflow, !sumOverflow else { return (Timestamp(nanoseconds: total < 0 ? Int64.min : Int64.max), false) }
        return (Timestamp(nanoseconds: sum), true)
    }

    /// `ticks` of this clock as whole seconds and the nanoseconds past them (cut, not rounded).
    private func split(_ ticks: UInt64) -> (seconds: UInt64, nanoseconds: Int64) {
        switch resolution {
        case .decimal(let exponent) where exponent <= 19:
            // 10^19 is the largest power of 10 a UInt64 holds.
            let perSecond = PcapNGInterface.power10(exponent)
            let rest = ticks % perSecond
            let nanoseconds = exponent <= 9 ? rest * PcapNGInterface.power10(9 - exponent)
                : rest / PcapNGInterface.power10(exponent - 9)
            return (ticks / perSecond, Int64(nanoseconds))
        case .decimal(let exponent):
            // Less than a second in all: ticks / 10^(exponent - 9) nanoseconds.
            let divisorExponent = Int(exponent) - 9
            return (0, divisorExponent > 19 ? 0 : Int64(ticks / PcapNGInterface.power10(UInt8(divisorExponent))))
        case .binary(let exponent) where exponent == 0:
            return (ticks, 0)
        case .binary(let exponent) where exponent < 64:
            // The rest's nanoseconds, rest * 10^9 / 2^exponent, in 128 bits so no precision is lost.
            let shift = UInt64(exponent)
            let rest = ticks & (UInt64.max >> (64 - shift))
            let (high, low) = rest.multipliedFullWidth(by: 1_000_000_000)
            return (ticks >> shift, Int64((high << (64 - shift)) | (low >> shift)))
        case .binary(let exponent):
            let (high, _) = ticks.multipliedFullWidth(by: 1_000_000_000)
            return (0, Int64(high >> UInt64(exponent - 64)))
        }
    }

    private static func power10(_ exponent: UInt8) -> UInt64 {
        var value: UInt64 = 1
        for _ in 0..<exponent { value &*= 10 }
        return value
    }
}
