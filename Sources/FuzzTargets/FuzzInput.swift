/// Control bytes taken from the front of a fuzz input, then the rest as data.
///
/// Every read succeeds: past the end it gives zeros, so any input is a valid one.
struct FuzzInput {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Bytes not read yet.
    var remaining: Int { bytes.count - position }

    /// The rest of the input, borrowed from the caller's bytes.
    var rest: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[position...]) }

    /// The next byte, or 0 past the end.
    mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// The next two bytes in network order, or 0 past the end.
    mutating func uint16() -> UInt16 {
        UInt16(byte()) << 8 | UInt16(byte())
    }

    /// The next `count` bytes, fewer at the end.
    mutating func take(_ count: Int) -> UnsafeRawBufferPointer {
        let n = min(max(0, count), remaining)
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + n)])
    }

    /// The rest of the input after the split points, cut at them: one byte says how many (0 to 7),
    /// each further byte where (as a share of the data).
    mutating func chunkedRest() -> [UnsafeRawBufferPointer] {
        let cuts = Int(byte() & 7)
        var shares: [Int] = []
        for _ in 0..<cuts { shares.append(Int(byte())) }
        let data = rest
        position = bytes.count
        let points = shares.map { $0 * data.count / 256 }.sorted()
        var result: [UnsafeRawBufferPointer] = []
        var start = 0
        for point in points + [data.count] where point >= start {
            result.append(UnsafeRawBufferPointer(rebasing: data[start..<point]))
            start = point
        }
        return result
    }
}

/// Whether `inner` lies within `outer` (an empty `inner` anywhere counts).
func lies(_ inner: UnsafeRawBufferPointer, within outer: UnsafeRawBufferPointer) -> Bool {
    guard inner.count > 0 else { return true }
    guard let i = inner.baseAddress, let o = outer.baseAddress else { return false }
    return i >= o && i + inner.count <= o + outer.count
}
