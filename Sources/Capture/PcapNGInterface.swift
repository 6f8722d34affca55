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

    /// The time of a packet stamped with `ticks` of this interface's clock, saturating.
    func timestamp(ticks: UInt64) -> Timestamp {
        checkedTimestamp(ticks: ticks).time
    }

    /// The time of `ticks`, and whether it fits a `Timestamp` (false: clamped to its range).
    func checkedTimestamp(ticks: UInt64) -> (time: Timestamp, inRange: Bool) {
        var inRange = true
        let nanoseconds: UInt64
        switch resolution {
        case .decimal(let exponent) where exponent <= 9:
            let (product, overflow) = ticks.multipliedReportingOverflow(by: PcapNGInterface.power10(9 - exponent))
            nanoseconds = overflow ? UInt64.max : product
        case .decimal(let exponent):
            let divisorExponent = Int(exponent) - 9
            nanoseconds = divisorExponent > 19 ? 0 : ticks / PcapNGInterface.power10(UInt8(divisorExponent))
        case .binary(let exponent):
            // ticks * 1e9 / 2^exponent, in 128 bits so no precision is lost.
            let (high, low) = ticks.multipliedFullWidth(by: 1_000_000_000)
            if exponent == 0 {
                nanoseconds = high == 0 ? low : UInt64.max
            } else if exponent < 64 {
                let shift = UInt64(exponent)
                nanoseconds = high >> shift != 0 ? UInt64.max : (high << (64 - shift)) | (low >> shift)
            } else {
                nanoseconds = high >> UInt64(exponent - 64)
            }
        }
        if nanoseconds >= UInt64(Int64.max) { inRange = false }
        let base = Timestamp(nanoseconds: nanoseconds > UInt64(Int64.max) ? Int64.max : Int64(nanoseconds))
        guard offsetSeconds != 0 else { return (base, inRange) }
        let (offset, overflow) = offsetSeconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (sum, sumOverflow) = base.nanoseconds.addingReportingOverflow(offset)
        if overflow || sumOverflow { inRange = false }
        return (base.adding(nanoseconds: overflow ? (offsetSeconds < 0 ? Int64.min : Int64.max) : offset),
                inRange && sum != Int64.max && sum != Int64.min)
    }

    private static func power10(_ exponent: UInt8) -> UInt64 {
        var value: UInt64 = 1
        for _ in 0..<exponent { value &*= 10 }
        return value
    }
}
