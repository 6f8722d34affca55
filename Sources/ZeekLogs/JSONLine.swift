/// One JSON-lines row of a Zeek log: a flat object whose values are strings, numbers, booleans, null or
/// arrays of those (Zeek's sets and vectors). Read by hand rather than through Foundation, so that every value
/// comes out as the text a tab-separated log would hold: numbers as written, `T`/`F` for booleans, a set's
/// elements joined by commas, nil for null.
struct JSONLine {
    /// Why a line is not such an object.
    struct Refusal: Error {
        var reason: String
    }

    private let bytes: [UInt8]
    private var at = 0

    /// The object's members by name; a name given twice keeps its last value.
    static func members(_ line: String) throws(Refusal) -> [String: String?] {
        var reader = JSONLine(bytes: Array(line.utf8))
        return try reader.object()
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private mutating func object() throws(Refusal) -> [String: String?] {
        skipSpace()
        try expect(UInt8(ascii: "{"))
        var members: [String: String?] = [:]
        skipSpace()
        if peek() == UInt8(ascii: "}") {
            at += 1
        } else {
            while true {
                skipSpace()
                let name = try string()
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                members[name] = try value(nested: false)
                skipSpace()
                if peek() == UInt8(ascii: ",") {
                    at += 1
                    continue
                }
                try expect(UInt8(ascii: "}"))
                break
            }
        }
        skipSpace()
        guard at == bytes.count else { throw Refusal(reason: "text after the JSON object") }
        return members
    }

    private mutating func value(nested: Bool) throws(Refusal) -> String? {
        switch peek() {
        case UInt8(ascii: "\""): return try string()
        case UInt8(ascii: "t"): return try word("true", "T")
        case UInt8(ascii: "f"): return try word("false", "F")
        case UInt8(ascii: "n"):
            _ = try word("null", "")
            return nil
        case UInt8(ascii: "["):
            guard !nested else { throw Refusal(reason: "a JSON array inside an array") }
            return try array()
        case UInt8(ascii: "{"): throw Refusal(reason: "a nested JSON object (not a flat Zeek row)")
        default: return try number()
        }
    }

    private mutating func array() throws(Refusal) -> String {
        at += 1
        var elements: [String] = []
        skipSpace()
        if peek() == UInt8(ascii: "]") {
            at += 1
            return ""
        }
        while true {
            skipSpace()
            elements.append(try value(nested: true) ?? "")
            skipSpace()
            if peek() == UInt8(ascii: ",") {
                at += 1
                continue
            }
            try expect(UInt8(ascii: "]"))
            return elements.joined(separator: ",")
        }
    }

    private mutating func word(_ word: String, _ text: String) throws(Refusal) -> String {
        for b in word.utf8 { try expect(b) }
        return text
    }

    private mutating func number() throws(Refusal) -> String {
        let first = at
        while let b = peek(), b == UInt8(ascii: "-") || b == UInt8(ascii: "+") || b == UInt8(ascii: ".")
            || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") || (b >= 0x30 && b <= 0x39) {
            at += 1
        }
        guard at > first else { throw Refusal(reason: "not a JSON value at column \(at + 1)") }
        return String(decoding: bytes[first..<at], as: UTF8.self)
    }

    private mutating func string() throws(Refusal) -> String {
        try expect(UInt8(ascii: "\""))
        var out: [UInt8] = []
        while true {
            guard let b = peek() else { throw Refusal(reason: "a JSON string without its end") }
            at += 1
            switch b {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let e = peek() else { throw Refusal(reason: "a JSON string without its end") }
                at += 1
                switch e {
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0c)
                case UInt8(ascii: "n"): out.append(0x0a)
                case UInt8(ascii: "r"): out.append(0x0d)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"): out.append(contentsOf: try unicodeEscape())
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                default: throw Refusal(reason: "an unknown JSON escape at column \(at)")
                }
            case 0..<0x20:
                throw Refusal(reason: "a control character inside a JSON string at column \(at)")
            default:
                out.append(b)
            }
        }
    }

    /// The UTF-8 bytes of a `\uXXXX` escape (a surrogate pair takes two); a lone surrogate becomes U+FFFD.
    private mutating func unicodeEscape() throws(Refusal) -> [UInt8] {
        var scalar = try hex4()
        if (0xd800..<0xdc00).contains(scalar), bytes.count - at >= 6, bytes[at] == UInt8(ascii: "\\"),
           bytes[at + 1] == UInt8(ascii: "u") {
            at += 2
            let low = try hex4()
            scalar = (0xdc00..<0xe000).contains(low) ? 0x10000 + ((scalar - 0xd800) << 10) + (low - 0xdc00) : 0xfffd
        }
        return Array(String(Unicode.Scalar(scalar) ?? "\u{fffd}").utf8)
    }

    private mutating func hex4() throws(Refusal) -> UInt32 {
        guard bytes.count - at >= 4,
              let v = UInt32(String(decoding: bytes[at..<at + 4], as: UTF8.self), radix: 16) else {
            throw Refusal(reason: "a bad \\u escape in a JSON string at column \(at)")
        }
        at += 4
        return v
    }

    private func peek() -> UInt8? {
        at < bytes.count ? bytes[at] : nil
    }

    private mutating func expect(_ b: UInt8) throws(Refusal) {
        guard peek() == b else {
            throw Refusal(reason: "not a JSON object: '\(Character(Unicode.Scalar(b)))' expected at column \(at + 1)")
        }
        at += 1
    }

    private mutating func skipSpace() {
        while let b = peek(), b == 0x20 || b == 0x09 || b == 0x0d || b == 0x0a { at += 1 }
    }
}
