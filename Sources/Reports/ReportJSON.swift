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
    public static func append(_ s: SessionReport, level: Int, to out: inout [UInt8]) throws {
        try withUnsafePointer(to: s) { try append(at: $0, level: level, to: &out) }
    }

    /// `append(_:level:to:)` for the check-in at `p`, read in place: a check-in or step passed by value
    /// out of an array is copied first (its texts and arrays retained and released), which cost more than
    /// writing it.
    static func append(at p: UnsafePointer<SessionReport>, level: Int, to out: inout [UInt8]) throws {
        let inner = level + 1
        out.append(UInt8(ascii: "{"))
        head(SessionKeys.attempts, inner, first: true, &out)
        appendEach(p.pointee.attempts, level: inner, to: &out) { a, l, o in append(at: a, level: l, to: &o) }
        head(SessionKeys.bytesDown, inner, &out)
        DecimalText.append(p.pointee.bytesDown, to: &out)
        head(SessionKeys.bytesUp, inner, &out)
        DecimalText.append(p.pointee.bytesUp, to: &out)
        head(SessionKeys.client, inner, &out)
        appendAddress(p.pointee.client, to: &out)
        head(SessionKeys.clientPort, inner, &out)
        DecimalText.append(UInt64(p.pointee.clientPort), to: &out)
        head(SessionKeys.connections, inner, &out)
        appendArray(p.pointee.connections, level: inner, to: &out) { n, _, o in DecimalText.append(n, to: &o) }
        head(SessionKeys.end, inner, &out)
        appendTime(p.pointee.end, to: &out)
        head(SessionKeys.failed, inner, &out)
        appendBool(p.pointee.failed, to: &out)
        head(SessionKeys.findings, inner, &out)
        appendEach(p.pointee.findings, level: inner, to: &out) { f, l, o in append(at: f, level: l, to: &o) }
        head(SessionKeys.id, inner, &out)
        DecimalText.append(Int64(p.pointee.id), to: &out)
        head(SessionKeys.mode, inner, &out)
        JSONText.appendQuoted(p.pointee.mode.rawValue, to: &out)
        if p.pointee.pending {
            head(SessionKeys.pending, inner, &out)
            appendBool(true, to: &out)
        }
        head(SessionKeys.server, inner, &out)
        appendAddress(p.pointee.server, to: &out)
        head(SessionKeys.serverPort, inner, &out)
        DecimalText.append(UInt64(p.pointee.serverPort), to: &out)
        head(SessionKeys.start, inner, &out)
        appendTime(p.pointee.start, to: &out)
        head(SessionKeys.steps, inner, &out)
        try appendEach(p.pointee.steps, level: inner, to: &out) { st, l, o in try append(at: st, level: l, to: &o) }
        head(SessionKeys.transport, inner, &out)
        JSONText.appendQuoted(p.pointee.transport.rawValue, to: &out)
        JSONText.appendNewline(level: level, to: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// Appends `st` as its JSON object, `level` levels deep. Throws for a non-finite confidence.
    public static func append(_ st: StepReport, level: Int, to out: inout [UInt8]) throws {
        try withUnsafePointer(to: st) { try append(at: $0, level: level, to: &out) }
    }

    /// `append(_:level:to:)` for the step at `p`, read in place.
    static func append(at p: UnsafePointer<StepReport>, level: Int, to out: inout [UInt8]) throws {
        let inner = level + 1
        out.append(UInt8(ascii: "{"))
        head(StepKeys.bytesDown, inner, first: true, &out)
        DecimalText.append(p.pointee.bytesDown, to: &out)
        head(StepKeys.bytesUp, inner, &out)
        DecimalText.append(p.pointee.bytesUp, to: &out)
        head(StepKeys.confidence, inner, &out)
        try JSONText.appendNumber(p.pointee.confidence, to: &out)
        head(StepKeys.end, inner, &out)
        appendTime(p.pointee.end, to: &out)
        head(StepKeys.evidence, inner, &out)
        JSONText.appendQuoted(p.pointee.evidence, to: &out)
        head(StepKeys.name, inner, &out)
        JSONText.appendQuoted(p.pointee.name, to: &out)
        head(StepKeys.start, inner, &out)
        appendTime(p.pointee.start, to: &out)
        head(StepKeys.step, inner, &out)
        DecimalText.append(Int64(p.pointee.step), to: &out)
        JSONText.appendNewline(level: level, to: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// Appends `a` as its JSON object, `level` levels deep.
    public static func append(_ a: AttemptReport, level: Int, to out: inout [UInt8]) {
        withUnsafePointer(to: a) { append(at: $0, level: level, to: &out) }
    }

    /// `append(_:level:to:)` for the attempt at `p`, read in place.
    static func append(at p: UnsafePointer<AttemptReport>, level: Int, to out: inout [UInt8]) {
        let inner = level + 1
        out.append(UInt8(ascii: "{"))
        head(AttemptKeys.outcome, inner, first: true, &out)
        JSONText.appendQuoted(p.pointee.outcome, to: &out)
        head(AttemptKeys.server, inner, &out)
        JSONText.appendQuoted(p.pointee.server, to: &out)
        head(AttemptKeys.serverPort, inner, &out)
        DecimalText.append(UInt64(p.pointee.serverPort), to: &out)
        head(AttemptKeys.syns, inner, &out)
        DecimalText.append(Int64(p.pointee.syns), to: &out)
        head(AttemptKeys.time, inner, &out)
        JSONText.appendQuoted(p.pointee.time, to: &out)
        JSONText.appendNewline(level: level, to: &out)
        out.append(UInt8(ascii: "}"))
    }

    // MARK: - Findings

    /// Appends `f` as its JSON object, `level` levels deep; absent optional members are left out.
    public static func append(_ f: Finding, level: Int, to out: inout [UInt8]) {
        withUnsafePointer(to: f) { append(at: $0, level: level, to: &out) }
    }

    /// `append(_:level:to:)` for the finding at `p`, read in place.
    static func append(at p: UnsafePointer<Finding>, level: Int, to out: inout [UInt8]) {
        let inner = level + 1
        out.append(UInt8(ascii: "{"))
        if let client = p.pointee.client {
            head(FindingKeys.client, inner, first: true, &out)
            JSONText.appendQuoted(client.description, to: &out)
        }
        head(FindingKeys.code, inner, first: p.pointee.client == nil, &out)
        JSONText.appendQuoted(p.pointee.code.rawValue, to: &out)
        head(FindingKeys.message, inner, &out)
        JSONText.appendQuoted(p.pointee.message, to: &out)
        if let server = p.pointee.server {
            head(FindingKeys.server, inner, &out)
            JSONText.appendQuoted(server.description, to: &out)
        }
        if let session = p.pointee.session {
            head(FindingKeys.session, inner, &out)
            DecimalText.append(Int64(session), to: &out)
        }
        if let sessions = p.pointee.sessions {
            head(FindingKeys.sessions, inner, &out)
            appendArray(sessions, level: inner, to: &out) { n, _, o in DecimalText.append(Int64(n), to: &o) }
        }
        head(FindingKeys.severity, inner, &out)
        JSONText.appendQuoted(p.pointee.severity.rawValue, to: &out)
        if let time = p.pointee.time {
            head(FindingKeys.time, inner, &out)
            appendTime(time, to: &out)
        }
        JSONText.appendNewline(level: level, to: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// Appends `findings` as a JSON array of their objects, `level` levels deep.
    public static func append(_ findings: [Finding], level: Int, to out: inout [UInt8]) {
        appendEach(findings, level: level, to: &out) { f, l, o in append(at: f, level: l, to: &o) }
    }

    // MARK: - Pieces

    /// Appends `items` as a JSON array `level` levels deep, each element written by `element` (given the
    /// element's level); an empty array is `[`, an empty line and `]`, as the encoder writes it.
    public static func appendArray<T>(
        _ items: [T], level: Int, to out: inout [UInt8], _ element: (T, Int, inout [UInt8]) throws -> Void
    ) rethrows {
        out.append(UInt8(ascii: "["))
        if items.isEmpty { out.append(10) }
        // Elements are read in place (no copy, no retain of their members).
        try items.withUnsafeBufferPointer { elements in
            for i in elements.indices {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONText.appendNewline(level: level + 1, to: &out)
                try element(elements[i], level + 1, &out)
            }
        }
        JSONText.appendNewline(level: level, to: &out)
        out.append(UInt8(ascii: "]"))
    }

    /// `appendArray` with each element handed to `element` in place, by its address (see `append(at:)`).
    static func appendEach<T>(
        _ items: [T], level: Int, to out: inout [UInt8],
        _ element: (UnsafePointer<T>, Int, inout [UInt8]) throws -> Void
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
    static func appendAddress(_ a: IPAddress, to out: inout [UInt8]) {
        out.append(JSONText.quote)
        a.appendText(to: &out)
        out.append(JSONText.quote)
    }

    /// `t.rfc3339()` in quotes. The text is digits, `-`, `:`, `.`, `T` and `Z`: nothing to escape.
    @inline(__always)
    static func appendTime(_ t: Timestamp, to out: inout [UInt8]) {
        out.append(JSONText.quote)
        t.appendRFC3339(to: &out)
        out.append(JSONText.quote)
    }

    @inline(__always)
    static func appendBool(_ b: Bool, to out: inout [UInt8]) {
        if b { JSONText.append("true", to: &out) } else { JSONText.append("false", to: &out) }
    }

    /// A member's start: the comma after the previous one, the line break and indent, `"key" : `.
    @inline(__always)
    private static func head(_ key: StaticBytes, _ level: Int, first: Bool = false, _ out: inout [UInt8]) {
        if !first { out.append(UInt8(ascii: ",")) }
        JSONText.appendNewline(level: level, to: &out)
        out.append(contentsOf: key.buffer)
    }
}

// MARK: - Member heads, built once

private enum SessionKeys {
    static let attempts = JSONText.staticMemberHead("attempts")
    static let bytesDown = JSONText.staticMemberHead("bytesDown")
    static let bytesUp = JSONText.staticMemberHead("bytesUp")
    static let client = JSONText.staticMemberHead("client")
    static let clientPort = JSONText.staticMemberHead("clientPort")
    static let connections = JSONText.staticMemberHead("connections")
    static let end = JSONText.staticMemberHead("end")
    static let failed = JSONText.staticMemberHead("failed")
    static let findings = JSONText.staticMemberHead("findings")
    static let id = JSONText.staticMemberHead("id")
    static let mode = JSONText.staticMemberHead("mode")
    static let pending = JSONText.staticMemberHead("pending")
    static let server = JSONText.staticMemberHead("server")
    static let serverPort = JSONText.staticMemberHead("serverPort")
    static let start = JSONText.staticMemberHead("start")
    static let steps = JSONText.staticMemberHead("steps")
    static let transport = JSONText.staticMemberHead("transport")
}

private enum StepKeys {
    static let bytesDown = JSONText.staticMemberHead("bytesDown")
    static let bytesUp = JSONText.staticMemberHead("bytesUp")
    static let confidence = JSONText.staticMemberHead("confidence")
    static let end = JSONText.staticMemberHead("end")
    static let evidence = JSONText.staticMemberHead("evidence")
    static let name = JSONText.staticMemberHead("name")
    static let start = JSONText.staticMemberHead("start")
    static let step = JSONText.staticMemberHead("step")
}

private enum AttemptKeys {
    static let outcome = JSONText.staticMemberHead("outcome")
    static let server = JSONText.staticMemberHead("server")
    static let serverPort = JSONText.staticMemberHead("serverPort")
    static let syns = JSONText.staticMemberHead("syns")
    static let time = JSONText.staticMemberHead("time")
}

private enum FindingKeys {
    static let client = JSONText.staticMemberHead("client")
    static let code = JSONText.staticMemberHead("code")
    static let message = JSONText.staticMemberHead("message")
    static let server = JSONText.staticMemberHead("server")
    static let session = JSONText.staticMemberHead("session")
    static let sessions = JSONText.staticMemberHead("sessions")
    static let severity = JSONText.staticMemberHead("severity")
    static let time = JSONText.staticMemberHead("time")
}
