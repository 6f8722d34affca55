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
        // Written from the end of 20 bytes on the stack (room for any UInt64), then appended at once as typed
        // bytes (a slice of raw bytes took the element-by-element path).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var count = 0
            var v = n
            while v > 0 {
                count += 1
                buffer[20 - count] = 48 + UInt8(truncatingIfNeeded: v % 10)
                v /= 10
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[(20 - count)...]))
        }
    }
}
