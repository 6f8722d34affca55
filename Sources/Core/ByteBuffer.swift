/// Where report writers append bytes: `[UInt8]`, or a `ByteBuffer` on the hot paths. Writers generic
/// over it (`DecimalText`, `IPAddress.appendText`, the JSON writers) are specialized for each.
public protocol ByteSink: ~Copyable {
    /// Appends one byte.
    mutating func append(_ byte: UInt8)
    /// Appends `bytes` in order.
    mutating func append(contentsOf bytes: UnsafeBufferPointer<UInt8>)
    /// Appends the bytes `write` puts at the start of the room it is given (`most` bytes, not
    /// initialized) and says it wrote; a count outside `0...most` stops the process.
    mutating func append(most: Int, _ write: (UnsafeMutableBufferPointer<UInt8>) -> Int)
}

extension Array: ByteSink where Element == UInt8 {
    /// Written on the stack (the heap for a large `most`), then appended.
    @inlinable
    public mutating func append(most: Int, _ write: (UnsafeMutableBufferPointer<UInt8>) -> Int) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: most) { room in
            let written = write(room)
            precondition(written >= 0 && written <= most, "append(most:): wrote \(written) of room for \(most)")
            append(contentsOf: UnsafeBufferPointer(rebasing: room[..<written]))
        }
    }
}

/// A growable run of bytes that appends cheaply: each append checks the capacity and copies, nothing
/// else (no uniqueness check, no copy-on-write, no generic sequence path, as an `[UInt8]` append has).
///
/// Owns one heap block of `capacity` bytes, the first `count` of them written; the block doubles when an
/// append needs more room and is freed with the buffer. Not copyable, so no two values share the block:
/// every write is at `count ..< capacity`, checked before writing. Memory: at most twice what was
/// appended (or the capacity asked for).
public struct ByteBuffer: ~Copyable, ByteSink {
    @usableFromInline var base: UnsafeMutablePointer<UInt8>
    @usableFromInline var used: Int
    @usableFromInline var capacity: Int

    /// An empty buffer with room for `capacity` bytes before it grows (at least 16).
    public init(capacity: Int = 4096) {
        self.capacity = max(16, capacity)
        base = .allocate(capacity: self.capacity)
        used = 0
    }

    deinit { base.deallocate() }

    /// Bytes appended so far.
    @inlinable
    public var count: Int { used }

    @inlinable
    public var isEmpty: Bool { used == 0 }

    /// Appends one byte.
    @inlinable @inline(__always)
    public mutating func append(_ byte: UInt8) {
        if used == capacity { grow(toHold: used + 1) }
        base[used] = byte
        used += 1
    }

    /// Appends `bytes` in order.
    @inlinable @inline(__always)
    public mutating func append(contentsOf bytes: UnsafeBufferPointer<UInt8>) {
        guard let from = bytes.baseAddress else { return }
        let n = bytes.count
        if capacity - used < n { grow(toHold: used + n) }
        (base + used).update(from: from, count: n)
        used += n
    }

    /// Appends the bytes `write` puts at the start of the room it is given (`most` bytes, not
    /// initialized) and says it wrote, in place; a count outside `0...most` stops the process.
    @inlinable @inline(__always)
    public mutating func append(most: Int, _ write: (UnsafeMutableBufferPointer<UInt8>) -> Int) {
        if capacity - used < most { grow(toHold: used + most) }
        let written = write(UnsafeMutableBufferPointer(start: base + used, count: most))
        precondition(written >= 0 && written <= most, "ByteBuffer: wrote \(written) of room for \(most)")
        used += written
    }

    /// Forgets the bytes, keeping the room.
    @inlinable
    public mutating func removeAll() { used = 0 }

    /// Forgets the bytes from `n` on (`n` at most `count`).
    @inlinable
    public mutating func removeLast(_ n: Int) {
        precondition(n >= 0 && n <= used, "ByteBuffer: cannot remove \(n) of \(used) bytes")
        used -= n
    }

    /// The byte at `i` (`0 ..< count`).
    @inlinable
    public subscript(i: Int) -> UInt8 {
        precondition(i >= 0 && i < used, "ByteBuffer: index \(i) out of 0..<\(used)")
        return base[i]
    }

    /// Runs `body` on the bytes appended so far, valid only during the call.
    @inlinable
    public func withBytes<R, E: Error>(_ body: (UnsafeBufferPointer<UInt8>) throws(E) -> R) throws(E) -> R {
        try body(UnsafeBufferPointer(start: base, count: used))
    }

    /// A copy of the bytes appended so far.
    public var bytes: [UInt8] { withBytes { Array($0) } }

    /// Moves the bytes to a block of at least `needed` bytes (twice the capacity, or more when needed).
    @usableFromInline
    mutating func grow(toHold needed: Int) {
        var size = capacity
        while size < needed { size = size > Int.max / 2 ? needed : size * 2 }
        let block = UnsafeMutablePointer<UInt8>.allocate(capacity: size)
        block.initialize(from: base, count: used)
        base.deallocate()
        base = block
        capacity = size
    }
}
