import Core

/// A JSON document with object keys kept in the order they were written.
///
/// Reports are compared against golden files, so the output must not depend on
/// hash order; this small type gives stable text without Foundation's encoder.
public indirect enum JSONValue: Equatable, Sendable {
    case object([(String, JSONValue)])
    case array([JSONValue])
    case string(String)
    case integer(Int64)
    case number(Double)
    case bool(Bool)
    case null

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        a.serialized() == b.serialized()
    }

    public static func int(_ v: Int) -> JSONValue { .integer(Int64(v)) }
    public static func time(_ t: Timestamp) -> JSONValue { .string(t.rfc3339()) }
    public static func optional(_ v: String?) -> JSONValue { v.map(JSONValue.string) ?? .null }
    public static func optionalTime(_ t: Timestamp?) -> JSONValue { t.map(JSONValue.time) ?? .null }

    /// The pretty text every report command prints for `--format json`: the same layout as
    /// `sepbeat analyze` (sorted keys, two-space indent, `"key" : value`), ending with a newline.
    public func reportText() -> String {
        // Encoding a JSONValue cannot fail: it holds no non-finite numbers (they encode as null).
        let bytes = (try? PrettyJSONEncoder.encode(self)) ?? Array(serialized(pretty: true).utf8)
        return String(decoding: bytes, as: UTF8.self) + "\n"
    }

    /// Compact text (JSON Lines), or indented by two spaces a level when `pretty`.
    public func serialized(pretty: Bool = false) -> String {
        var out = ""
        write(into: &out, pretty: pretty, level: 0)
        return out
    }

    private func write(into out: inout String, pretty: Bool, level: Int) {
        switch self {
        case .object(let members):
            if members.isEmpty {
                out += "{}"
                return
            }
            out += "{"
            for (i, (k, v)) in members.enumerated() {
                if i > 0 { out += "," }
                if pretty { out += "\n" + String(repeating: "  ", count: level + 1) }
                JSONValue.writeString(k, into: &out)
                out += pretty ? ": " : ":"
                v.write(into: &out, pretty: pretty, level: level + 1)
            }
            if pretty { out += "\n" + String(repeating: "  ", count: level) }
            out += "}"
        case .array(let items):
            if items.isEmpty {
                out += "[]"
                return
            }
            out += "["
            for (i, v) in items.enumerated() {
                if i > 0 { out += "," }
                if pretty { out += "\n" + String(repeating: "  ", count: level + 1) }
                v.write(into: &out, pretty: pretty, level: level + 1)
            }
            if pretty { out += "\n" + String(repeating: "  ", count: level) }
            out += "]"
        case .string(let s):
            JSONValue.writeString(s, into: &out)
        case .integer(let n):
            out += String(n)
        case .number(let d):
            out += JSONValue.format(d)
        case .bool(let b):
            out += b ? "true" : "false"
        case .null:
            out += "null"
        }
    }

    /// Finite numbers as shortest round-trip text (integers without `.0`); NaN and infinities as null.
    static func format(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return String(d)
    }

    static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7f || u.value == 0x2028 || u.value == 0x2029 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}

extension JSONValue: Encodable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Lets a `JSONValue` sit inside a document made with `JSONEncoder`.
    public func encode(to encoder: Encoder) throws {
        switch self {
        case .object(let members):
            var c = encoder.container(keyedBy: Key.self)
            for (k, v) in members { try c.encode(v, forKey: Key(k)) }
        case .array(let items):
            var c = encoder.unkeyedContainer()
            for v in items { try c.encode(v) }
        case .string(let s):
            var c = encoder.singleValueContainer()
            try c.encode(s)
        case .integer(let n):
            var c = encoder.singleValueContainer()
            try c.encode(n)
        case .number(let d):
            var c = encoder.singleValueContainer()
            if d.isFinite { try c.encode(d) } else { try c.encodeNil() }
        case .bool(let b):
            var c = encoder.singleValueContainer()
            try c.encode(b)
        case .null:
            var c = encoder.singleValueContainer()
            try c.encodeNil()
        }
    }
}
