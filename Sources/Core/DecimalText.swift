/// Integers written in decimal into a byte buffer, the text `String(n)` gives, without making a
/// `String`: report writers and evidence texts write millions of them.
public enum DecimalText {
    /// Appends `n` in decimal, with a leading `-` when negative.
    @inlinable
    public static func append(_ n: Int64, to out: inout [UInt8]) {
        if n < 0 { out.append(UInt8(ascii: "-")) }
        append(n.magnitude, to: &out)
    }

    /// Appends `n` in decimal.
    @inlinable
    public static func append(_ n: UInt64, to out: inout [UInt8]) {
        if n < 10 {
            out.append(48 + UInt8(truncatingIfNeeded: n))
            return
        }
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 32 bytes: room for 20 digits
        var count = 0
        var v = n
        withUnsafeMutableBytes(of: &digits) { buffer in
            while v > 0 {
                count += 1
                buffer[32 - count] = 48 + UInt8(truncatingIfNeeded: v % 10)
                v /= 10
            }
            out.append(contentsOf: buffer[(32 - count)...])
        }
    }
}
