import Core

/// The pieces every JSON writer of the reports appends to a byte buffer: quoted strings, numbers,
/// line breaks. `appendQuoted` is the one place JSON strings are escaped.
///
/// Everything appends to an `[UInt8]` the caller owns; nothing here allocates beyond the buffer's own
/// growth, except a non-integer number's text (a short `String`, kept inline by the standard library).
public enum JSONText {
    /// Which characters a quoted string escapes.
    public enum Dialect: Sendable {
        /// As Foundation's `JSONEncoder` with `.withoutEscapingSlashes` (`--format json`): `"`, `\`, and
        /// control characters below U+0020 (`\b`, `\f`, `\n`, `\r`, `\t`, else `\u00xx`); all else as is.
        case foundation
        /// Also DEL, U+2028 and U+2029, which some line-based readers split on (`--format jsonl`):
        /// `"`, `\`, `\n`, `\r`, `\t` by name, every other one as `\u` and four hex digits.
        case lineSafe
    }

    private static let hex = Array("0123456789abcdef".utf8)

    /// Appends `s` in quotes, escaped for `dialect`. Cost: one pass over the UTF-8 bytes when nothing needs
    /// escaping (the usual case), eight bytes at a time, copying them straight into `out`'s room as they
    /// are tested; a string needing escapes costs a second pass.
    public static func appendQuoted<Out: ByteSink & ~Copyable>(
        _ s: String, dialect: Dialect = .foundation, to out: inout Out
    ) {
        /// Appends `bytes` in quotes when none needs escaping; false (nothing appended) otherwise.
        func appendPlain(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            var plain = true
            out.append(most: bytes.count + 2) { room in
                plain = copyQuotedIfPlain(bytes, dialect, to: room)
                return plain ? bytes.count + 2 : 0
            }
            return plain
        }
        // Read in place when the string is stored as UTF-8 (no copy of `s`); else through a copy.
        let plain = s.utf8.withContiguousStorageIfAvailable(appendPlain) ?? {
            var text = s
            return text.withUTF8(appendPlain)
        }()
        if !plain {
            out.append(quote)
            appendEscaped(s, dialect: dialect, to: &out)
            out.append(quote)
        }
    }

    /// `appendQuoted` for a text given as its UTF-8 bytes (valid UTF-8), read in place.
    public static func appendQuoted<Out: ByteSink & ~Copyable>(
        utf8 bytes: UnsafeBufferPointer<UInt8>, dialect: Dialect = .foundation, to out: inout Out
    ) {
        var plain = true
        out.append(most: bytes.count + 2) { room in
            plain = copyQuotedIfPlain(bytes, dialect, to: room)
            return plain ? bytes.count + 2 : 0
        }
        if !plain {
            out.append(quote)
            appendEscaped(String(decoding: bytes, as: UTF8.self), dialect: dialect, to: &out)
            out.append(quote)
        }
    }

    /// Writes `"`, `bytes` and `"` to the start of `room` (at least `bytes.count + 2` bytes) when no byte
    /// of `bytes` may start something `dialect` escapes (see `needsLook`); false as soon as one may. Tested
    /// and copied eight bytes at a time: a word holds such a byte exactly when one of the tests below is
    /// not zero.
    @inline(__always)
    private static func copyQuotedIfPlain(
        _ bytes: UnsafeBufferPointer<UInt8>, _ dialect: Dialect, to room: UnsafeMutableBufferPointer<UInt8>
    ) -> Bool {
        let n = bytes.count
        guard let to = room.baseAddress, room.count >= n + 2 else { return false }
        to[0] = quote
        to[n + 1] = quote
        guard let from = bytes.baseAddress else { return true }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        /// Non-zero when a byte of `w` is below `n` (`n` at most 128).
        func below(_ w: UInt64, _ n: UInt64) -> UInt64 { (w &- ones &* n) & ~w & high }
        /// Non-zero when a byte of `w` is `b`.
        func holds(_ w: UInt64, _ b: UInt64) -> UInt64 { below(w ^ (ones &* b), 1) }
        let lineSafe = dialect == .lineSafe
        var i = 0
        while n - i >= 8 {
            let raw = UnsafeRawPointer(from + i).loadUnaligned(as: UInt64.self)
            let w = UInt64(littleEndian: raw)
            var hits = below(w, 0x20) | holds(w, UInt64(quote)) | holds(w, UInt64(backslash))
            if lineSafe { hits |= holds(w, 0x7f) | holds(w, 0xe2) }
            if hits != 0 { return false }
            UnsafeMutableRawPointer(to + 1 + i).storeBytes(of: raw, as: UInt64.self)
            i += 8
        }
        while i < n {
            let b = from[i]
            if needsLook(b, dialect) { return false }
            to[1 + i] = b
            i += 1
        }
        return true
    }

    /// Whether byte `b` may start something `dialect` escapes: for `.lineSafe`, 0xE2 leads U+2028 and U+2029.
    @inline(__always)
    private static func needsLook(_ b: UInt8, _ dialect: Dialect) -> Bool {
        if b < 0x20 || b == quote || b == backslash { return true }
        return dialect == .lineSafe && (b == 0x7f || b == 0xe2)
    }

    private static func appendEscaped<Out: ByteSink & ~Copyable>(_ s: String, dialect: Dialect, to out: inout Out) {
        let lineSafe = dialect == .lineSafe
        for u in s.unicodeScalars {
            let v = u.value
            switch v {
            case 0x22: append("\\\"", to: &out)
            case 0x5c: append("\\\\", to: &out)
            case 0x0a: append("\\n", to: &out)
            case 0x0d: append("\\r", to: &out)
            case 0x09: append("\\t", to: &out)
            case 0x08 where !lineSafe: append("\\b", to: &out)
            case 0x0c where !lineSafe: append("\\f", to: &out)
            case 0..<0x20: appendUnicodeEscape(v, to: &out)
            case 0x7f where lineSafe, 0x2028 where lineSafe, 0x2029 where lineSafe: appendUnicodeEscape(v, to: &out)
            case 0..<0x80: out.append(UInt8(truncatingIfNeeded: v))
            default:
                var text = String(u)
                text.withUTF8 { out.append(contentsOf: $0) }
            }
        }
    }

    /// `\u` and four lower-case hex digits.
    private static func appendUnicodeEscape<Out: ByteSink & ~Copyable>(_ v: UInt32, to out: inout Out) {
        append("\\u", to: &out)
        for shift: UInt32 in stride(from: 12, through: 0, by: -4) { out.append(hex[Int(v >> shift & 0xf)]) }
    }

    /// Appends a string known to need no escaping (ASCII the caller wrote).
    @inline(__always)
    public static func append<Out: ByteSink & ~Copyable>(_ s: StaticString, to out: inout Out) {
        s.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    /// Appends `d` as Swift's shortest round-trip text without a trailing `.0` (`5`, `0.95`, `1e-07`), as
    /// `JSONEncoder` writes it (a `Float` as `Float` text). A non-finite value throws
    /// `EncodingError.invalidValue`, as `JSONEncoder` does by default, and appends nothing.
    public static func appendNumber<F: BinaryFloatingPoint & CustomStringConvertible, Out: ByteSink & ~Copyable>(
        _ d: F, to out: inout Out
    ) throws {
        guard d.isFinite else {
            let context = EncodingError.Context(codingPath: [], debugDescription: "Unable to encode \(d) in JSON")
            throw EncodingError.invalidValue(d, context)
        }
        if let d = d as? Double, let text = hundredths(d) {
            out.append(contentsOf: text.buffer)
            return
        }
        var text = d.description
        text.withUTF8 { b in
            let n = b.count
            let whole = n >= 2 && b[n - 2] == UInt8(ascii: ".") && b[n - 1] == UInt8(ascii: "0")
            out.append(contentsOf: UnsafeBufferPointer(rebasing: b[..<(whole ? n - 2 : n)]))
        }
    }

    /// The text `appendNumber` writes for `d` when `d` is exactly `k / 100` for a whole `k` in 0...100 (a
    /// step's confidence), from a table built once with that same text; nil for any other value.
    @inline(__always)
    private static func hundredths(_ d: Double) -> StaticBytes? {
        let k = (d * 100).rounded()
        guard k >= 0, k <= 100 else { return nil }
        let entry = hundredthsText.buffer[Int(k)]
        return entry.bits == d.bitPattern ? entry.text : nil
    }

    private static let hundredthsText = StaticTable((0...100).map { k in
        let d = Double(k) / 100
        var text = Array(d.description.utf8)
        if text.count >= 2, text[text.count - 2] == UInt8(ascii: "."), text.last == UInt8(ascii: "0") {
            text.removeLast(2)
        }
        return (bits: d.bitPattern, text: StaticBytes(text))
    })

    /// Appends a line break and two spaces for each of `level` levels.
    @inline(__always)
    public static func appendNewline<Out: ByteSink & ~Copyable>(level: Int, to out: inout Out) {
        let count = 1 + 2 * max(0, level)
        let spaces = newlineAndSpaces.buffer
        guard count <= spaces.count else {
            out.append(10)
            for _ in 1..<count { out.append(UInt8(ascii: " ")) }
            return
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: spaces[..<count]))
    }

    /// A line break and the indentation of up to 31 levels.
    private static let newlineAndSpaces = StaticBytes([10] + Array(repeating: UInt8(ascii: " "), count: 62))

    /// The text written before an object member's value: `"key" : `, escaped as `appendQuoted` does.
    public static func memberHead(_ key: String) -> [UInt8] {
        var out: [UInt8] = []
        appendQuoted(key, to: &out)
        append(" : ", to: &out)
        return out
    }

    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
}

/// Bytes made once and never freed, for tables every report writer reads: threads read them without
/// reference counting. A shared array's reference count is written by each thread that reads the
/// array, and threads writing the report at the same time then contend for that one cache line.
public struct StaticBytes: @unchecked Sendable {
    // Safety: the buffer is written once in `init`, never freed and never written again.
    public let buffer: UnsafeBufferPointer<UInt8>

    public init(_ bytes: [UInt8]) {
        let storage = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: bytes.count)
        _ = storage.initialize(from: bytes)
        buffer = UnsafeBufferPointer(storage)
    }
}

/// A table made once and never freed, read without reference counting (see `StaticBytes`). Its
/// elements must hold no references that are released.
struct StaticTable<Element>: @unchecked Sendable {
    // Safety: as `StaticBytes`; the elements are plain values or `StaticBytes`.
    let buffer: UnsafeBufferPointer<Element>

    init(_ elements: [Element]) {
        let storage = UnsafeMutableBufferPointer<Element>.allocate(capacity: elements.count)
        _ = storage.initialize(from: elements)
        buffer = UnsafeBufferPointer(storage)
    }
}
