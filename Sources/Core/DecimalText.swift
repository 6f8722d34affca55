/// Integers written in decimal into a byte buffer, the text `String(n)` gives, without making a
/// `String`: report writers and evidence texts write millions of them.
public enum DecimalText {
    /// Appends `n` in decimal, with a leading `-` when negative.
    @inlinable
    public static func append<Out: ByteSink & ~Copyable>(_ n: Int64, to out: inout Out) {
        if n < 0 { out.append(UInt8(ascii: "-")) }
        append(n.magnitude, to: &out)
    }

    /// Appends `n` in decimal.
    @inlinable
    public static func append<Out: ByteSink & ~Copyable>(_ n: UInt64, to out: inout Out) {
        if n < 10 {
            out.append(48 + UInt8(truncatingIfNeeded: n))
            return
        }
        // The digits are counted first, then written from the last one back, in place.
        var count = 2
        var limit: UInt64 = 100
        while count < 20, n >= limit {
            count += 1
            limit &*= 10
        }
        out.append(most: count) { room in
            var v = n
            var i = count
            while i > 0 {
                i -= 1
                let q = v / 10
                room[i] = 48 + UInt8(truncatingIfNeeded: v &- q &* 10)
                v = q
            }
            return count
        }
    }
}
