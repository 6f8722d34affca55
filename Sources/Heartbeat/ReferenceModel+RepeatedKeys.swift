import Foundation

/// A key given twice in one object of a model file: JSON parsers keep the later value without a word, so
/// an edit made to the earlier one would silently do nothing.
struct RepeatedKey: Hashable, Sendable {
    /// Dotted path of the key (`interval.seconds`, `servers[1].host`).
    var field: String
    /// Line (from 1) of the later key.
    var line: Int
    /// Line of the first one.
    var firstLine: Int
}

extension ReferenceModel {
    /// The first key that some object of `data` holds twice, in file order of the repeat; nil when none
    /// does. `data` must be valid JSON (the parser has accepted it). Keys are compared after their escapes
    /// are undone (`"interval"` and `"\u0069nterval"` are one key). Comment keys (starting with `_`) may
    /// repeat, and the values under them are not looked into, since the loader ignores them.
    ///
    /// UTF-16 and UTF-32 text (with or without a byte-order mark, as JSON parsers take it) is read as
    /// its UTF-8 form. Cost: one pass over the bytes; memory: the keys of the objects open at one time.
    static func repeatedKey(in data: Data) -> RepeatedKey? {
        let bytes = utf8Bytes(of: data)
        var scanner = RepeatedKeyScanner(bytes: bytes)
        return scanner.run()
    }

    /// `data` as UTF-8 bytes: itself unless it is UTF-16 or UTF-32, told by a byte-order mark or by the
    /// zero bytes of its first ASCII character (RFC 4627 section 3). A UTF-8 byte-order mark is dropped.
    private static func utf8Bytes(of data: Data) -> [UInt8] {
        let head = Array(data.prefix(4))
        func at(_ i: Int) -> UInt8? { i < head.count ? head[i] : nil }
        var encoding: String.Encoding?
        if head.starts(with: [0x00, 0x00, 0xFE, 0xFF]) || head.count == 4 && head[0...2] == [0, 0, 0] {
            encoding = .utf32BigEndian
        } else if head.starts(with: [0xFF, 0xFE, 0x00, 0x00]) || head.count == 4 && head[1...3] == [0, 0, 0] {
            encoding = .utf32LittleEndian
        } else if head.starts(with: [0xFE, 0xFF]) || at(0) == 0 && at(1) != 0 {
            encoding = .utf16BigEndian
        } else if head.starts(with: [0xFF, 0xFE]) || at(0) != 0 && at(1) == 0 {
            encoding = .utf16LittleEndian
        }
        if let encoding, var text = String(data: data, encoding: encoding) {
            if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
            return Array(text.utf8)
        }
        let bytes = Array(data)
        return bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
    }
}

/// One pass over valid JSON text, keeping for each object open at the time the keys it has had and
/// their lines.
private struct RepeatedKeyScanner {
    /// An object or array being read.
    private struct Container {
        var isObject: Bool
        /// Dotted path of the container itself ("" for the top level).
        var path: String
        /// An object's keys so far, with the line of each.
        var keys: [String: Int] = [:]
        /// The key whose value comes next (objects), or nil when a key comes next.
        var key: String?
        /// The element being read (arrays).
        var index = 0
        /// Inside a comment key's value: nothing in it is checked.
        var ignored: Bool
    }

    let bytes: [UInt8]
    private var i = 0
    private var line = 1
    private var stack: [Container] = []

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func run() -> RepeatedKey? {
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let (path, ignored) = childPath()
                stack.append(Container(isObject: b == UInt8(ascii: "{"), path: path, ignored: ignored))
                i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                // Never unmatched in text the parser took; should it be, nothing more can be told.
                guard !stack.isEmpty else { return nil }
                stack.removeLast()
                i += 1
            case UInt8(ascii: ","):
                if let top = stack.indices.last {
                    if stack[top].isObject { stack[top].key = nil } else { stack[top].index += 1 }
                }
                i += 1
            case UInt8(ascii: "\""):
                let startLine = line
                let text = readString()
                // A key, when an object waits for one; else a value (the next `,` or bracket moves on).
                if let top = stack.indices.last, stack[top].isObject, stack[top].key == nil {
                    stack[top].key = text
                    guard !stack[top].ignored, !text.hasPrefix("_") else { continue }
                    if let first = stack[top].keys[text] {
                        let path = stack[top].path
                        return RepeatedKey(field: path.isEmpty ? text : path + "." + text, line: startLine,
                                           firstLine: first)
                    }
                    stack[top].keys[text] = startLine
                }
            case 10:
                line += 1
                i += 1
            case 13:
                // A line ends at CR too (old Mac files), and CR LF is one line end, as editors count them.
                line += 1
                i += i + 1 < bytes.count && bytes[i + 1] == 10 ? 2 : 1
            default:
                // Whitespace, a colon, or a number, true, false or null.
                i += 1
            }
        }
        return nil
    }

    /// The path of a value starting now, and whether it lies under a comment key.
    private func childPath() -> (String, Bool) {
        guard let top = stack.last else { return ("", false) }
        if top.isObject {
            let key = top.key ?? ""
            return (top.path.isEmpty ? key : top.path + "." + key, top.ignored || key.hasPrefix("_"))
        }
        return (top.path + "[\(top.index)]", top.ignored)
    }

    /// Reads the string starting at the quote at `i`, escapes undone; leaves `i` past its closing quote.
    private mutating func readString() -> String {
        i += 1
        var out: [UInt8] = []
        var pendingHigh: UInt32?
        func appendScalar(_ value: UInt32) {
            let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
        }
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                break
            }
            if b != UInt8(ascii: "\\") {
                if let high = pendingHigh { appendScalar(high); pendingHigh = nil }
                out.append(b)
                i += 1
                continue
            }
            guard i + 1 < bytes.count else { break }
            let e = bytes[i + 1]
            i += 2
            if e == UInt8(ascii: "u"), i + 4 <= bytes.count,
               let unit = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16) {
                i += 4
                if let high = pendingHigh {
                    pendingHigh = nil
                    if (0xDC00...0xDFFF).contains(unit) {
                        appendScalar(0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00))
                        continue
                    }
                    appendScalar(high)
                }
                if (0xD800...0xDBFF).contains(unit) { pendingHigh = unit } else { appendScalar(unit) }
                continue
            }
            if let high = pendingHigh { appendScalar(high); pendingHigh = nil }
            switch e {
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            default: out.append(e)  // \" \\ \/
            }
        }
        if let high = pendingHigh { appendScalar(high) }
        return String(decoding: out, as: UTF8.self)
    }
}
