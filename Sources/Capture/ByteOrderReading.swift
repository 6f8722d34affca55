/// Reads fixed-size integers from a raw buffer in a chosen byte order, with every
/// access checked against the buffer's size.
struct ByteOrderReader {
    let bytes: UnsafeRawBufferPointer
    let bigEndian: Bool

    /// The 16-bit value at `offset`, or nil when fewer than 2 bytes remain there.
    func u16(at offset: Int) -> UInt16? {
        guard offset >= 0, offset <= bytes.count - 2 else { return nil }
        let value = UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
        return bigEndian ? value.byteSwapped : value
    }

    /// The 32-bit value at `offset`, or nil when fewer than 4 bytes remain there.
    func u32(at offset: Int) -> UInt32? {
        guard offset >= 0, offset <= bytes.count - 4 else { return nil }
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(bytes[offset + i]) << (8 * i) }
        return bigEndian ? value.byteSwapped : value
    }

    /// The 64-bit value at `offset`, or nil when fewer than 8 bytes remain there.
    func u64(at offset: Int) -> UInt64? {
        guard let a = u32(at: offset), let b = u32(at: offset + 4) else { return nil }
        // pcapng stores 64-bit options as one integer in the section's byte order.
        return bigEndian ? UInt64(a) << 32 | UInt64(b) : UInt64(b) << 32 | UInt64(a)
    }
}
