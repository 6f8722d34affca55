import Core

/// A JSON document with object keys kept in the order they were written.
///
/// Reports are compared against golden files, so the output must not depend on
/// hash order; this small type gives stable text without Foundation's encoder.
///
/// Not `indirect`: objects and arrays already hold their members in arrays, so a value is stored
/// inline (no box allocated per value).
public enum JSONValue: Equatable, Sendable {
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
        var out: [UInt8] = []
        append(to: &out, pretty: pretty)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the text of `serialized(pretty:)` to `out`. Strings are escaped by `JSONText.appendQuoted`
    /// (`.lineSafe`: DEL, U+2028 and U+2029 too, so a line holds one whole value).
    public func append(to out: inout [UInt8], pretty: Bool = false) {
        write(into: &out, pretty: pretty, level: 0)
    }

    private func write(into out: inout [UInt8], pretty: Bool, level: Int) {
        switch self {
        case .object(let members):
            if members.isEmpty {
                JSONText.append("{}", to: &out)
                return
            }
            out.append(UInt8(ascii: "{"))
            for (i, (k, v)) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { JSONText.appendNewline(level: level + 1, to: &out) }
                JSONText.appendQuoted(k, dialect: .lineSafe, to: &out)
                if pretty { JSONText.append(": ", to: &out) } else { out.append(UInt8(ascii: ":")) }
                v.write(into: &out, pretty: pretty, level: level + 1)
            }
            if pretty { JSONText.appendNewline(level: level, to: &out) }
            out.append(UInt8(ascii: "}"))
        case .array(let items):
            if items.isEmpty {
                JSONText.append("[]", to: &out)
                return
            }
            out.append(UInt8(ascii: "["))
            for (i, v) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { JSONText.appendNewline(level: level + 1, to: &out) }
                v.write(into: &out, pretty: pretty, level: level + 1)
            }
            if pretty { JSONText.appendNewline(level: level, to: &out) }
            out.append(UInt8(ascii: "]"))
        case .string(let s):
            JSONText.appendQuoted(s, dialect: .lineSafe, to: &out)
        case .integer(let n):
            DecimalText.append(n, to: &out)
        case .number(let d):
            JSONValue.append(d, to: &out)
        case .bool(let b):
            ReportJSON.appendBool(b, to: &out)
        case .null:
            JSONText.append("null", to: &out)
        }
    }

    /// Finite numbers as shortest round-trip text (integers without `.0`); NaN and infinities as null.
    static func format(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return String(d)
    }

    /// Appends the text of `format(d)`.
    static func append(_ d: Double, to out: inout [UInt8]) {
        guard d.isFinite else { return JSONText.append("null", to: &out) }
        if d == d.rounded(), abs(d) < 1e15 { return DecimalText.append(Int64(d), to: &out) }
        out.append(contentsOf: d.description.utf8)
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
