/// A forward-only reader over borrowed bytes whose reads return nil when too few bytes are left.
///
/// The cursor never owns its bytes: it is valid only while the buffer it was made from is.
/// A failed read leaves the position unchanged. Every bounds check is a subtraction
/// (`count - offset >= n`), so a length taken from the wire can not overflow.
struct TLSByteCursor {
    let base: UnsafeRawBufferPointer
    private(set) var offset: Int

    init(_ base: UnsafeRawBufferPointer) {
        self.base = base
        self.offset = 0
    }

    var remaining: Int { base.count - offset }
    var isAtEnd: Bool { offset >= base.count }

    mutating func u8() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { offset += 1 }
        return base[offset]
    }

    mutating func u16() -> UInt16? {
        guard remaining >= 2 else { return nil }
        defer { offset += 2 }
        return UInt16(base[offset]) << 8 | UInt16(base[offset + 1])
    }

    mutating func u24() -> Int? {
        guard remaining >= 3 else { return nil }
        defer { offset += 3 }
        return Int(base[offset]) << 16 | Int(base[offset + 1]) << 8 | Int(base[offset + 2])
    }

    /// The next `count` bytes as a borrowed slice (rebased to start at 0), or nil when short.
    mutating func bytes(_ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, remaining >= count else { return nil }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: base[offset..<(offset + count)])
    }

    /// A cursor over the next `count` bytes; the outer cursor moves past them.
    mutating func sub(_ count: Int) -> TLSByteCursor? {
        guard let b = bytes(count) else { return nil }
        return TLSByteCursor(b)
    }

    /// Reads a length prefix of `width` bytes (1, 2 or 3) and returns a cursor over that many bytes.
    mutating func vector(lengthBytes width: Int) -> TLSByteCursor? {
        let save = offset
        let length: Int?
        switch width {
        case 1: length = u8().map(Int.init)
        case 2: length = u16().map(Int.init)
        default: length = u24()
        }
        guard let n = length, let c = sub(n) else {
            offset = save
            return nil
        }
        return c
    }

    @discardableResult
    mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, remaining >= count else { return false }
        offset += count
        return true
    }
}
