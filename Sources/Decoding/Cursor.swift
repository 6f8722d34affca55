/// A read position in the bytes being decoded.
///
/// `offset..<end` is the captured part of the current layer; `missing` counts the bytes of
/// that layer that were on the wire past `end` but cut by the snaplen. Reads are only made
/// after `require` (or an explicit check) has confirmed the bytes are there.
struct Cursor {
    var bytes: UnsafeRawBufferPointer
    var offset: Int
    var end: Int
    var missing: Int

    init(bytes: UnsafeRawBufferPointer, missing: Int) {
        self.bytes = bytes
        self.offset = 0
        self.end = bytes.count
        self.missing = max(0, missing)
    }

    /// Captured bytes left in this layer.
    var available: Int { end - offset }

    /// Bytes left in this layer on the wire: captured plus cut by the snaplen.
    var onWire: Int { available + missing }

    /// Nil when `count` bytes are captured at the cursor. Otherwise the frame is truncated
    /// (the bytes were on the wire but not captured) or malformed (they were never there).
    func require(_ count: Int, _ header: HeaderName) -> DecodedPacket? {
        if count <= available { return nil }
        if count - available <= missing {
            return .truncated(Truncation(header: header, needed: count, captured: available))
        }
        return .malformed(MalformedReason(.headerPastEnd(header, needed: count, available: onWire)))
    }

    /// Moves past `count` bytes the caller has checked are captured.
    mutating func advance(_ count: Int) {
        precondition(count >= 0 && count <= available, "cursor advanced past checked bytes")
        offset += count
    }

    /// Limits this layer to `length` on-wire bytes from the cursor (trims link padding, or
    /// records how much of that length the snaplen cut). The caller checked `length <= onWire`.
    mutating func limit(to length: Int) {
        if length <= available {
            end = offset + length
            missing = 0
        } else {
            missing = length - available
        }
    }

    /// The captured bytes from the cursor to the end of this layer (borrowed).
    var rest: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[offset..<end])
    }

    // MARK: - Reads at `offset + at`; callers check bounds first.

    func u8(_ at: Int) -> UInt8 {
        bytes.load(fromByteOffset: offset + at, as: UInt8.self)
    }

    func u16(_ at: Int) -> UInt16 {
        UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: offset + at, as: UInt16.self))
    }

    func u16LittleEndian(_ at: Int) -> UInt16 {
        UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + at, as: UInt16.self))
    }

    func u32(_ at: Int) -> UInt32 {
        UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset + at, as: UInt32.self))
    }

    func u32LittleEndian(_ at: Int) -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + at, as: UInt32.self))
    }

    func u64(_ at: Int) -> UInt64 {
        UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset + at, as: UInt64.self))
    }
}
