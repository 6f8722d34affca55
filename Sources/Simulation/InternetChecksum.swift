/// The Internet checksum (RFC 1071) computed in the machine's byte order.
///
/// The ones' complement sum does not depend on byte order, so the bytes are summed as native
/// 64-bit words and the folded result, stored back with a native 16-bit store, lands in network
/// order. Partial sums of pieces that start at even offsets can be added with `combine`.
/// Cost: one pass over the bytes, about 8 bytes per addition; nothing is allocated.
enum InternetChecksum {
    /// Ones' complement sum of `count` bytes at `base` (a partial sum, not folded).
    static func sum(_ base: UnsafeRawPointer, count: Int, into initial: UInt64 = 0) -> UInt64 {
        var acc = initial
        var i = 0
        while count - i >= 8 {
            let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let (s, carry) = acc.addingReportingOverflow(w)
            acc = s &+ (carry ? 1 : 0)
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < count {
            tail |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << shift
            shift += 8
            i += 1
        }
        let (s, carry) = acc.addingReportingOverflow(tail)
        return s &+ (carry ? 1 : 0)
    }

    /// Adds two partial sums.
    static func combine(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (s, carry) = a.addingReportingOverflow(b)
        return s &+ (carry ? 1 : 0)
    }

    /// Folds a partial sum to 16 bits and complements it: the value to store natively.
    static func finish(_ partial: UInt64) -> UInt16 {
        var v = (partial & 0xFFFF_FFFF) &+ (partial >> 32)
        v = (v & 0xFFFF_FFFF) &+ (v >> 32)
        v = (v & 0xFFFF) &+ (v >> 16)
        v = (v & 0xFFFF) &+ (v >> 16)
        v = (v & 0xFFFF) &+ (v >> 16)
        return ~UInt16(truncatingIfNeeded: v)
    }

    /// A 16-bit value given in network order, as a native partial sum.
    static func word(_ networkOrder: UInt16) -> UInt64 {
        UInt64(networkOrder.bigEndian)
    }
}
