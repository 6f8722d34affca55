import Core
import Heartbeat

/// Writes the report types there are many of (check-ins, their steps, attempts and findings) straight
/// into bytes, in the exact layout `PrettyJSONEncoder` gives their `Encodable` conformances: members in
/// UTF-8 key order (written here in that order), two spaces a level, `"key" : value`.
///
/// No value tree and no key sorting at run time: member heads (`"key" : `) are built once, numbers and
/// times are written digit by digit. Strings go through `JSONText.appendQuoted`, as in the encoder.
/// A member added to one of these types' `encode(to:)` must be added here too; the tests compare both.
public enum ReportJSON {
    // MARK: - Check-ins

    /// Appends `s` as its JSON object, `level` levels deep (inner lines indented for that level).
    /// Throws `EncodingError.invalidValue` for a non-finite step confidence, as the encoder does.
    public static func append<Out: ByteSink & ~Copyable>(_ s: SessionReport, level: Int, to out: inout Out) throws {
        var times = TimeText()
        try withUnsafePointer(to: s) { try append(at: $0, level: level, to: &out, times: &times) }
    }

    /// `append(_:level:to:)` for the check-in at `p`, read in place: a check-in or step passed by value
    /// out of an array is copied first (its texts and arrays retained and released), which cost more than
    /// writing it.
    static func append<Out: ByteSink & ~Copyable>(
        at p: UnsafePointer<SessionReport>, level: Int, to out: inout Out, times: inout TimeText
    ) throws {
        let inner = level + 1
        let k = SessionKeys.all
        out.append(UInt8(ascii: "{"))
        head(k.attempts, inner, first: true, &out)
        appendEach(p.pointee.attempts, level: inner, to: &out) { a, l, o in append(at: a, level: l, to: &o) }
        head(k.bytesDown, inner, &out)
        DecimalText.append(p.pointee.bytesDown, to: &out)
        head(k.bytesUp, inner, &out)
        DecimalText.append(p.pointee.bytesUp, to: &out)
        head(k.client, inner, &out)
        appendAddress(p.pointee.client, to: &out)
        head(k.clientPort, inner, &out)
        DecimalText.append(UInt64(p.pointee.clientPort), to: &out)
        head(k.connections, inner, &out)
        p.pointee.withConnections { ids in
            appendArray(ids, level: inner, to: &out) { n, _, o in DecimalText.append(n, to: &o) }
        }
        head(k.end, inner, &out)
        times.appendQuoted(p.pointee.end, to: &out)
        head(k.failed, inner, &out)
        appendBool(p.pointee.failed, to: &out)
        head(k.findings, inner, &out)
        appendEach(p.pointee.findings, level: inner, to: &out) { f, l, o in append(at: f, level: l, to: &o) }
        head(k.id, inner, &out)
        DecimalText.append(Int64(p.pointee.id), to: &out)
        head(k.mode, inner, &out)
        JSONText.appendQuoted(p.pointee.mode.rawValue, to: &out)
        if p.pointee.pending {
            head(k.pending, inner, &out)
            appendBool(true, to: &out)
        }
        head(k.server, inner, &out)
        appendAddress(p.pointee.server, to: &out)
        head(k.serverPort, inner, &out)
        DecimalText.append(UInt64(p.pointee.serverPort), to: &out)
        head(k.start, inner, &out)
        times.appendQuoted(p.pointee.start, to: &out)
        head(k.steps, inner, &out)
        try appendEach(p.pointee.steps, level: inner, to: &out) { st, l, o in
            try append(at: st, level: l, to: &o, times: &times)
        }
        head(k.transport, inner, &out)
        JSONText.appendQuoted(p.pointee.transport.rawValue, to: &out)
        JSONText.appendNewline(level: level, to: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// Appends `st` as its JSON object, `level` levels deep. Throws for a non-finite confidence.
    public static func append<Out: ByteSink & ~Copyable>(_ st: StepReport, level: Int, to out: inout Out) throws {
        var times = TimeText()
        try withUnsafePointer(to: st) { try append(at: $0, level: level, to: &out, times: &times) }
    }

    /// `append(_:level:to:)` for the step at `p`, read in place.
    static func append<Out: ByteSink & ~Copyable>(
        at p: UnsafePointer<StepReport>, level: Int, to out: inout Out, times: inout TimeText
    ) throws {
        let inner = level + 1
        let k = StepKeys.all
        out.append(UInt8(ascii: "{"))
        head(k.bytesDown, inner, first: true, &out)
        DecimalText.append(p.pointee.bytesDown, to: &out)
        head(k.bytesUp, inner, &out)
        DecimalText.append(p.pointee.bytesUp, to: &out)
        head(k.confidence, inner, &out)
        try JSONText.appendNumber(p.pointee.confidence, to: &out)
        head(k.end, inner, &out)
        times.appendQuoted(p.pointee.end, to: &out)
        head(k.evidence, inner, &out)
        StepReport.withEvidenceUTF8(at: p) { JSONText.appendQuoted(utf8: $0, to: &out) }
        head(k.name, inner, &out)
        JSONText.appendQuoted(p.pointee.name, to: &out)
        head(k.start, inner, &out)
        times.appendQuoted(p.pointee.start, to: &out)
        head(k.step, inner, &out)
        DecimalText.append(Int64(p.pointee.step), to: &out)
        JSONText.appendNewline(level: level, to: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// Appends `a` as its JSON object, `level` levels deep.
    public static func append<Out: ByteSink & ~Copyable>(_ a: AttemptReport, level: Int, to out: inout Out) {
        withUnsafePointer(to: a) { append(at: $0, level: level, to: &out) }
    }

    /// `append(_:level:to:)` for the attempt at `p`, read in place.
    static func append<Out: ByteSink & ~Copyable>(at p: UnsafePointer<AttemptReport>, level: Int, to out: inout Out) {
        let inner = level + 1
        let k = AttemptKeys.all
        out.append(UInt8(ascii: "{"))
        head(k.outcome, inner, first: true, &out)
        JSONText.appendQuoted(p.pointee.outcome, to: &out)
        head(k.server, inner, &out)
        JSONText.appendQuoted(p.pointee.server, to: &out)
        head(k.serverPort, inner, &out)
        DecimalText.append(UInt64(p.pointee.serverPort), to: &out)
        head(k.syns, inner, &out)
        DecimalText.append(Int64(p.pointee.syns), to: &out)
        head(k.time, inner, &out)
        JSONText.appendQuoted(p.pointee.time, to: &out)
        JSONText.appendNewline(level: level, to: &out)
        out.append(UInt8(ascii: "}"))
    }

    // MARK: - Findings

    /// Appends `f` as its JSON object, `level` levels deep; absent optional members are left out.
    public static func append<Out: ByteSink & ~Copyable>(_ f: Finding, level: Int, to out: inout Out) {
        withUnsafePointer(to: f) { append(at: $0, level: level, to: &out) }
    }

    /// `append(_:level:to:)` for the finding at `p`, read in place.
    static func append<Out: ByteSink & ~Copyable>(at p: UnsafePointer<Finding>, level: Int, to out: inout Out) {
        let inner = level + 1
        let k = FindingKeys.all
        out.append(UInt8(ascii: "{"))
        if let client = p.pointee.client {
            head(k.client, inner, first: true, &out)
            appendAddress(client, to: &out)
        }
        head(k.code, inner, first: p.pointee.client == nil, &out)
        JSONText.appendQuoted(p.pointee.code.rawValue, to: &out)
        head(k.message, inner, &out)
        JSONText.appendQuoted(p.pointee.message, to: &out)
        if let server = p.pointee.server {
            head(k.server, inner, &out)
            appendEndpoint(server, to: &out)
        }
        if let session = p.pointee.session {
            head(k.session, inner, &out)
            DecimalText.append(Int64(session), to: &out)
        }
        if let sessions = p.pointee.sessions {
            head(k.sessions, inner, &out)
            appendArray(sessions, level: inner, to: &out) { n, _, o in DecimalText.append(Int64(n), to: &o) }
        }
        head(k.severity, inner, &out)
        JSONText.appendQuoted(p.pointee.severity.rawValue, to: &out)
        if let time = p.pointee.time {
            head(k.time, inner, &out)
            appendTime(time, to: &out)
        }
        JSONText.appendNewline(level: level, to: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// Appends `findings` as a JSON array of their objects, `level` levels deep.
    public static func append<Out: ByteSink & ~Copyable>(_ findings: [Finding], level: Int, to out: inout Out) {
        appendEach(findings, level: level, to: &out) { f, l, o in append(at: f, level: l, to: &o) }
    }

    // MARK: - Pieces

    /// Appends `items` as a JSON array `level` levels deep, each element written by `element` (given the
    /// element's level); an empty array is `[`, an empty line and `]`, as the encoder writes it.
    public static func appendArray<T, Out: ByteSink & ~Copyable>(
        _ items: [T], level: Int, to out: inout Out, _ element: (T, Int, inout Out) throws -> Void
    ) rethrows {
        // Elements are read in place (no copy, no retain of their members).
        try items.withUnsafeBufferPointer { try appendArray($0, level: level, to: &out, element) }
    }

    /// `appendArray` for elements read in place from `elements`.
    @inline(__always)
    public static func appendArray<T, Out: ByteSink & ~Copyable>(
        _ elements: UnsafeBufferPointer<T>, level: Int, to out: inout Out, _ element: (T, Int, inout Out) throws -> Void
    ) rethrows {
        out.append(UInt8(ascii: "["))
        if elements.isEmpty { out.append(10) }
        for i in elements.indices {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONText.appendNewline(level: level + 1, to: &out)
            try element(elements[i], level + 1, &out)
        }
        JSONText.appendNewline(level: level, to: &out)
        out.append(UInt8(ascii: "]"))
    }

    /// `appendArray` with each element handed to `element` in place, by its address (see `append(at:)`).
    static func appendEach<T, Out: ByteSink & ~Copyable>(
        _ items: [T], level: Int, to out: inout Out,
        _ element: (UnsafePointer<T>, Int, inout Out) throws -> Void
    ) rethrows {
        out.append(UInt8(ascii: "["))
        if items.isEmpty { out.append(10) }
        try items.withUnsafeBufferPointer { elements in
            guard let base = elements.baseAddress else { return }
            for i in elements.indices {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONText.appendNewline(level: level + 1, to: &out)
                try element(base + i, level + 1, &out)
            }
        }
        JSONText.appendNewline(level: level, to: &out)
        out.append(UInt8(ascii: "]"))
    }

    /// `a.description` in quotes: digits, `.`, `:` and hexadecimal letters, nothing to escape.
    @inline(__always)
    static func appendAddress<Out: ByteSink & ~Copyable>(_ a: IPAddress, to out: inout Out) {
        out.append(JSONText.quote)
        a.appendText(to: &out)
        out.append(JSONText.quote)
    }

    /// `e.description` in quotes (`address:port`, `[address]:port` for IPv6), written without a `String`.
    static func appendEndpoint<Out: ByteSink & ~Copyable>(_ e: Endpoint, to out: inout Out) {
        out.append(JSONText.quote)
        if e.address.isIPv6 { out.append(UInt8(ascii: "[")) }
        e.address.appendText(to: &out)
        if e.address.isIPv6 { out.append(UInt8(ascii: "]")) }
        out.append(UInt8(ascii: ":"))
        DecimalText.append(UInt64(e.port), to: &out)
        out.append(JSONText.quote)
    }

    /// `t.rfc3339()` in quotes. The text is digits, `-`, `:`, `.`, `T` and `Z`: nothing to escape.
    /// Made in a short array first: this is the path of the few times not written by `TimeText`.
    @inline(__always)
    static func appendTime<Out: ByteSink & ~Copyable>(_ t: Timestamp, to out: inout Out) {
        var text: [UInt8] = [JSONText.quote]
        t.appendRFC3339(to: &text)
        text.append(JSONText.quote)
        text.withUnsafeBufferPointer { out.append(contentsOf: $0) }
    }

    @inline(__always)
    static func appendBool<Out: ByteSink & ~Copyable>(_ b: Bool, to out: inout Out) {
        if b { JSONText.append("true", to: &out) } else { JSONText.append("false", to: &out) }
    }

    /// A member's start: the comma after the previous one, the line break and indent, `"key" : `.
    @inline(__always)
    private static func head<Out: ByteSink & ~Copyable>(
        _ key: MemberHead, _ level: Int, first: Bool = false, _ out: inout Out
    ) {
        key.append(level: level, first: first, to: &out)
    }
}

// MARK: - Member heads, built once

/// A member's start at each of the first `levels` indentation levels, made once for the life of the
/// process (see `StaticBytes`): `,`, a line break, two spaces a level and `"key" : `, all levels one
/// after another, so a head costs one append. Deeper levels are built piece by piece.
private struct MemberHead {
    static let levels = 12
    let text: StaticBytes
    /// Bytes of `"key" : `.
    let key: Int

    init(_ key: String) {
        let head = JSONText.memberHead(key)
        var bytes: [UInt8] = []
        for level in 0..<Self.levels {
            bytes.append(UInt8(ascii: ","))
            JSONText.appendNewline(level: level, to: &bytes)
            bytes += head
        }
        text = StaticBytes(bytes)
        self.key = head.count
    }

    /// Appends the head at `level`, without its comma when `first`.
    @inline(__always)
    func append<Out: ByteSink & ~Copyable>(level: Int, first: Bool, to out: inout Out) {
        guard level >= 0, level < Self.levels else {
            if !first { out.append(UInt8(ascii: ",")) }
            JSONText.appendNewline(level: level, to: &out)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: text.buffer[(text.buffer.count - key)...]))
            return
        }
        // Level `l` starts after the heads of the levels before it: l × (2 + key) + l × (l - 1) bytes.
        let start = level * (2 + key) + level * (level - 1)
        let end = start + 2 + key + 2 * level
        out.append(contentsOf: UnsafeBufferPointer(rebasing: text.buffer[(first ? start + 1 : start)..<end]))
    }
}

private struct SessionKeys {
    /// Made once; a copy is a few pointers, read without reference counting.
    static let all = SessionKeys()

    let attempts = MemberHead("attempts")
    let bytesDown = MemberHead("bytesDown")
    let bytesUp = MemberHead("bytesUp")
    let client = MemberHead("client")
    let clientPort = MemberHead("clientPort")
    let connections = MemberHead("connections")
    let end = MemberHead("end")
    let failed = MemberHead("failed")
    let findings = MemberHead("findings")
    let id = MemberHead("id")
    let mode = MemberHead("mode")
    let pending = MemberHead("pending")
    let server = MemberHead("server")
    let serverPort = MemberHead("serverPort")
    let start = MemberHead("start")
    let steps = MemberHead("steps")
    let transport = MemberHead("transport")
}

private struct StepKeys {
    /// Made once; a copy is a few pointers, read without reference counting.
    static let all = StepKeys()

    let bytesDown = MemberHead("bytesDown")
    let bytesUp = MemberHead("bytesUp")
    let confidence = MemberHead("confidence")
    let end = MemberHead("end")
    let evidence = MemberHead("evidence")
    let name = MemberHead("name")
    let start = MemberHead("start")
    let step = MemberHead("step")
}

private struct AttemptKeys {
    /// Made once; a copy is a few pointers, read without reference counting.
    static let all = AttemptKeys()

    let outcome = MemberHead("outcome")
    let server = MemberHead("server")
    let serverPort = MemberHead("serverPort")
    let syns = MemberHead("syns")
    let time = MemberHead("time")
}

private struct FindingKeys {
    /// Made once; a copy is a few pointers, read without reference counting.
    static let all = FindingKeys()

    let client = MemberHead("client")
    let code = MemberHead("code")
    let message = MemberHead("message")
    let server = MemberHead("server")
    let session = MemberHead("session")
    let sessions = MemberHead("sessions")
    let severity = MemberHead("severity")
    let time = MemberHead("time")
}
