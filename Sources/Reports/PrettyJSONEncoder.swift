import Core

/// Encodes any `Encodable` value to the exact bytes Foundation's `JSONEncoder` writes with
/// `outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]` (the setting of
/// `HeartbeatReport.encoder()`), several times faster and with less memory.
///
/// The text: two spaces of indentation a level, `"key" : value`, keys in UTF-8 byte order, an
/// empty array or object as the bracket, an empty line and the closing bracket, doubles as their
/// shortest round-trip text without a trailing `.0`, `"`, `\`, and control characters escaped
/// (`\b`, `\f`, `\n`, `\r`, `\t`, else `\u00xx`), everything else (`/` included) as is, and no
/// newline at the end. A non-finite number throws `EncodingError.invalidValue`, as
/// `JSONEncoder` does by default. A key written twice in one object keeps the last value.
///
/// Cost: values are not turned into a tree first. A container remembers its members (the
/// values themselves, not their text) and writes them in key order once the owner's
/// `encode(to:)` returns, so memory beyond the output is one member list per open level.
/// `Date`, `Data` and `URL` get no special treatment (the reports hold none).
public enum PrettyJSONEncoder {
    /// The JSON text of `value`, as UTF-8 bytes owned by the caller.
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        var writer = Writer()
        writer.out.reserveCapacity(1 << 16)
        try writer.write(Member.make(value), level: 0)
        return writer.out
    }

    /// The JSON text of `value` as it appears nested `level` levels deep in a larger document (its
    /// inner lines indented for that level, the first line not indented): lets a caller write a large
    /// document piece by piece, e.g. one array element at a time.
    public static func encode<T: Encodable>(_ value: T, level: Int) throws -> [UInt8] {
        var writer = Writer()
        try writer.write(Member.make(value), level: max(0, level))
        return writer.out
    }

    /// Appends the text of `encode(value, level:)` to `out` (no copy of what `out` already holds).
    /// On a throw, `out` keeps what was written before the failing value.
    public static func append<T: Encodable>(_ value: T, level: Int, to out: inout [UInt8]) throws {
        var writer = Writer()
        swap(&writer.out, &out)
        defer { swap(&writer.out, &out) }
        try writer.write(Member.make(value), level: max(0, level))
    }

    /// `s` as a JSON string literal, escaped as `encode` does.
    public static func quoted(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        JSONText.appendQuoted(s, to: &out)
        return out
    }
}

/// One value waiting to be written.
private enum Member {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case float(Float)
    case string(String)
    case value(any Encodable)
    case node(Node)
    /// A `JSONValue` tree, written by walking it (as its `encode(to:)` would lay it out, without the
    /// containers and casts of the `Encodable` path: the `flows` rows are made of these).
    case json(JSONValue)

    static func make<T: Encodable>(_ value: T) -> Member {
        if let s = value as? String { return .string(s) }
        if let n = value as? Int { return .int(Int64(n)) }
        if let d = value as? Double { return .double(d) }
        if let b = value as? Bool { return .bool(b) }
        if let n = value as? Int64 { return .int(n) }
        // After the scalars, which most members are: a `JSONValue` is met only where a tree starts.
        if let j = value as? JSONValue { return .json(j) }
        return .value(value)
    }
}

/// What one `Encoder` was given: a keyed, unkeyed or single-value container.
private final class Node {
    enum Kind { case empty, object, array, single }
    var kind = Kind.empty
    var keys: [String] = []
    var values: [Member] = []
}

private struct Writer {
    var out: [UInt8] = []

    mutating func write(_ member: Member, level: Int) throws {
        switch member {
        case .null: JSONText.append("null", to: &out)
        case .bool(let b): ReportJSON.appendBool(b, to: &out)
        case .int(let n): DecimalText.append(n, to: &out)
        case .uint(let n): DecimalText.append(n, to: &out)
        case .double(let d): try JSONText.appendNumber(d, to: &out)
        case .float(let f): try JSONText.appendNumber(f, to: &out)
        case .string(let s): JSONText.appendQuoted(s, to: &out)
        case .value(let v):
            let encoder = TreeEncoder(codingPath: [])
            try v.encode(to: encoder)
            try write(encoder.node, level: level)
        case .node(let n): try write(n, level: level)
        case .json(let j): try write(j, level: level)
        }
    }

    /// Writes `value` as `write(.value(value))` would: the same text, byte for byte.
    private mutating func write(_ value: JSONValue, level: Int) throws {
        switch value {
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            let order = sortedOrder(members.map(\.0))
            if order.isEmpty { out.append(10) }
            for (n, i) in order.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                JSONText.appendNewline(level: level + 1, to: &out)
                JSONText.appendQuoted(members[i].0, to: &out)
                JSONText.append(" : ", to: &out)
                try write(members[i].1, level: level + 1)
            }
            JSONText.appendNewline(level: level, to: &out)
            out.append(UInt8(ascii: "}"))
        case .array(let items):
            out.append(UInt8(ascii: "["))
            if items.isEmpty { out.append(10) }
            for (i, v) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONText.appendNewline(level: level + 1, to: &out)
                try write(v, level: level + 1)
            }
            JSONText.appendNewline(level: level, to: &out)
            out.append(UInt8(ascii: "]"))
        case .string(let s): JSONText.appendQuoted(s, to: &out)
        case .integer(let n): DecimalText.append(n, to: &out)
        case .number(let d):
            // `JSONValue.encode(to:)` writes a non-finite number as null.
            if d.isFinite { try JSONText.appendNumber(d, to: &out) } else { JSONText.append("null", to: &out) }
        case .bool(let b): ReportJSON.appendBool(b, to: &out)
        case .null: JSONText.append("null", to: &out)
        }
    }

    private mutating func write(_ node: Node, level: Int) throws {
        switch node.kind {
        case .single:
            if let v = node.values.last { try write(v, level: level) } else { JSONText.append("null", to: &out) }
        case .array:
            out.append(UInt8(ascii: "["))
            if node.values.isEmpty {
                out.append(10)
            } else {
                for (i, v) in node.values.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    JSONText.appendNewline(level: level + 1, to: &out)
                    try write(v, level: level + 1)
                }
            }
            JSONText.appendNewline(level: level, to: &out)
            out.append(UInt8(ascii: "]"))
        case .object, .empty:
            out.append(UInt8(ascii: "{"))
            let order = sortedOrder(node.keys)
            if order.isEmpty { out.append(10) }
            for (n, i) in order.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                JSONText.appendNewline(level: level + 1, to: &out)
                JSONText.appendQuoted(node.keys[i], to: &out)
                JSONText.append(" : ", to: &out)
                try write(node.values[i], level: level + 1)
            }
            JSONText.appendNewline(level: level, to: &out)
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Member indices in key order; of equal keys only the last written is kept.
    private func sortedOrder(_ keys: [String]) -> [Int] {
        var order = Array(keys.indices)
        var sorted = true
        for i in order.dropFirst() where !Writer.precedes(keys[i - 1], keys[i]) {
            sorted = false
            break
        }
        if sorted { return order }
        order.sort { a, b in
            Writer.precedes(keys[a], keys[b]) || (!Writer.precedes(keys[b], keys[a]) && a < b)
        }
        var kept: [Int] = []
        kept.reserveCapacity(order.count)
        for i in order {
            if let last = kept.last, keys[last] == keys[i] { kept[kept.count - 1] = i } else { kept.append(i) }
        }
        return kept
    }

    private static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}

/// Collects one value's containers into a `Node`; nested values stay unencoded until written.
private final class TreeEncoder: Encoder {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    let node: Node

    init(codingPath: [any CodingKey], node: Node = Node()) {
        self.codingPath = codingPath
        self.node = node
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.kind = .object
        return KeyedEncodingContainer(Keyed<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.kind = .array
        return Unkeyed(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        node.kind = .single
        return Single(node: node, codingPath: codingPath)
    }
}

private struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    let codingPath: [any CodingKey]

    private func add(_ m: Member, _ key: Key) { add(m, key.stringValue) }

    private func add(_ m: Member, _ key: String) {
        node.keys.append(key)
        node.values.append(m)
    }

    mutating func encodeNil(forKey key: Key) throws { add(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { add(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { add(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { add(.double(value), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { add(.float(value), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { add(.int(Int64(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { add(.int(Int64(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { add(.int(Int64(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { add(.int(Int64(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { add(.int(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { add(.uint(UInt64(value)), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { add(.uint(UInt64(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { add(.uint(UInt64(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { add(.uint(UInt64(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { add(.uint(value), key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { add(Member.make(value), key) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = Node()
        child.kind = .object
        add(.node(child), key)
        return KeyedEncodingContainer(Keyed<NestedKey>(node: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = Node()
        child.kind = .array
        add(.node(child), key)
        return Unkeyed(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        let child = Node()
        add(.node(child), "super")
        return TreeEncoder(codingPath: codingPath, node: child)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let child = Node()
        add(.node(child), key)
        return TreeEncoder(codingPath: codingPath + [key], node: child)
    }
}

private struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }
    init(_ i: Int) { intValue = i }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct Unkeyed: UnkeyedEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]
    var count: Int { node.values.count }

    private func add(_ m: Member) { node.values.append(m) }

    mutating func encodeNil() throws { add(.null) }
    mutating func encode(_ value: Bool) throws { add(.bool(value)) }
    mutating func encode(_ value: String) throws { add(.string(value)) }
    mutating func encode(_ value: Double) throws { add(.double(value)) }
    mutating func encode(_ value: Float) throws { add(.float(value)) }
    mutating func encode(_ value: Int) throws { add(.int(Int64(value))) }
    mutating func encode(_ value: Int8) throws { add(.int(Int64(value))) }
    mutating func encode(_ value: Int16) throws { add(.int(Int64(value))) }
    mutating func encode(_ value: Int32) throws { add(.int(Int64(value))) }
    mutating func encode(_ value: Int64) throws { add(.int(value)) }
    mutating func encode(_ value: UInt) throws { add(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt8) throws { add(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt16) throws { add(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt32) throws { add(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt64) throws { add(.uint(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws { add(Member.make(value)) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = Node()
        child.kind = .object
        let path = codingPath + [IndexKey(count)]
        add(.node(child))
        return KeyedEncodingContainer(Keyed<NestedKey>(node: child, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = Node()
        child.kind = .array
        let path = codingPath + [IndexKey(count)]
        add(.node(child))
        return Unkeyed(node: child, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let child = Node()
        let path = codingPath + [IndexKey(count)]
        add(.node(child))
        return TreeEncoder(codingPath: path, node: child)
    }
}

private struct Single: SingleValueEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]

    private func set(_ m: Member) { node.values = [m] }

    mutating func encodeNil() throws { set(.null) }
    mutating func encode(_ value: Bool) throws { set(.bool(value)) }
    mutating func encode(_ value: String) throws { set(.string(value)) }
    mutating func encode(_ value: Double) throws { set(.double(value)) }
    mutating func encode(_ value: Float) throws { set(.float(value)) }
    mutating func encode(_ value: Int) throws { set(.int(Int64(value))) }
    mutating func encode(_ value: Int8) throws { set(.int(Int64(value))) }
    mutating func encode(_ value: Int16) throws { set(.int(Int64(value))) }
    mutating func encode(_ value: Int32) throws { set(.int(Int64(value))) }
    mutating func encode(_ value: Int64) throws { set(.int(value)) }
    mutating func encode(_ value: UInt) throws { set(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt8) throws { set(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt16) throws { set(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt32) throws { set(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt64) throws { set(.uint(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws { set(Member.make(value)) }
}
