/// A reader for the DER subset X.509 uses: single-byte tags, definite lengths up to 4 length bytes.
///
/// Borrows its bytes; elements it returns point into the same buffer. Returns nil (and does not
/// move) when a tag is not the expected one or a length runs past the bytes left. Indefinite
/// lengths and multi-byte tags are rejected: DER forbids the first and X.509 does not use the second.
struct DERReader {
    struct Element {
        var tag: UInt8
        /// The content octets.
        var content: UnsafeRawBufferPointer
        /// Tag, length and content together (used to compare whole Names).
        var encoded: UnsafeRawBufferPointer
    }

    static let sequence: UInt8 = 0x30
    static let set: UInt8 = 0x31
    static let integer: UInt8 = 0x02
    static let bitString: UInt8 = 0x03
    static let octetString: UInt8 = 0x04
    static let null: UInt8 = 0x05
    static let oid: UInt8 = 0x06
    static let utcTime: UInt8 = 0x17
    static let generalizedTime: UInt8 = 0x18

    private var cursor: TLSByteCursor

    init(_ bytes: UnsafeRawBufferPointer) {
        cursor = TLSByteCursor(bytes)
    }

    var isAtEnd: Bool { cursor.isAtEnd }

    /// The next element's tag without reading it.
    var peekTag: UInt8? {
        var probe = cursor
        return probe.u8()
    }

    /// Reads the next element, whatever its tag.
    mutating func next() -> Element? {
        var probe = cursor
        let start = probe.offset
        guard let tag = probe.u8(), tag & 0x1f != 0x1f, let first = probe.u8() else { return nil }
        var length = 0
        if first < 0x80 {
            length = Int(first)
        } else {
            let count = Int(first & 0x7f)
            guard (1...4).contains(count) else { return nil }
            for _ in 0..<count {
                guard let b = probe.u8() else { return nil }
                length = length << 8 | Int(b)
            }
        }
        let headerEnd = probe.offset
        guard let content = probe.bytes(length) else { return nil }
        let encoded = UnsafeRawBufferPointer(rebasing: cursor.base[start..<(headerEnd + length)])
        cursor = probe
        return Element(tag: tag, content: content, encoded: encoded)
    }

    /// Reads the next element only if its tag is `tag`.
    mutating func next(_ tag: UInt8) -> Element? {
        guard peekTag == tag else { return nil }
        return next()
    }

    /// Dotted text of an OBJECT IDENTIFIER's content octets, or nil when malformed (empty, an arc
    /// longer than 56 bits, or a last byte with the continuation bit set).
    static func dottedOID(_ content: UnsafeRawBufferPointer) -> String? {
        guard !content.isEmpty else { return nil }
        // The text is built in one byte buffer (reserved for about four text bytes per content
        // byte; it grows if it must), then made a string once.
        var text: [UInt8] = []
        text.reserveCapacity(content.count * 4 + 4)
        var value: UInt64 = 0
        var bytesInArc = 0
        var arcs = 0
        for b in content {
            guard bytesInArc < 8 else { return nil }
            value = value << 7 | UInt64(b & 0x7f)
            bytesInArc += 1
            if b & 0x80 == 0 {
                if arcs == 0 {
                    // "0.", "1." or "2.", then the second arc (both are packed into the first value).
                    let (first, second): (UInt8, UInt64) = value < 40 ? (48, value)
                        : value < 80 ? (49, value - 40) : (50, value - 80)
                    text.append(first)
                    text.append(46)
                    appendDecimal(second, to: &text)
                } else {
                    text.append(46)
                    appendDecimal(value, to: &text)
                }
                arcs += 1
                value = 0
                bytesInArc = 0
            }
        }
        guard bytesInArc == 0, arcs > 0 else { return nil }
        return String(decoding: text, as: UTF8.self)
    }

    /// Appends the decimal digits of `value` (as `String(value)` writes them).
    private static func appendDecimal(_ value: UInt64, to text: inout [UInt8]) {
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor *= 10 }
        while true {
            text.append(UInt8(48 + value / divisor % 10))
            if divisor == 1 { break }
            divisor /= 10
        }
    }

    /// Bit length of an unsigned big-endian INTEGER's content (leading zero bytes ignored).
    static func integerBits(_ content: UnsafeRawBufferPointer) -> Int? {
        var i = 0
        while i < content.count && content[i] == 0 { i += 1 }
        guard i < content.count else { return nil }
        let top = content[i]
        return (content.count - i - 1) * 8 + (8 - top.leadingZeroBitCount)
    }
}
