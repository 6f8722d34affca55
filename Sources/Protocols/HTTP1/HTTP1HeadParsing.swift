#if canImport(Glibc)
import Glibc
#endif

/// What a parsed head says about the body that follows, before role rules (HEAD, 204, ...) apply.
enum HTTP1BodyRule: Hashable, Sendable {
    case none
    case length(Int64)
    case chunked
    case untilClose
}

/// One Content-Length value: its number (nil when it does not fit an `Int64`), or not a number at all.
enum HTTP1ContentLength: Hashable, Sendable {
    case invalid
    case number(Int64?, leadingZeros: Bool)

    /// Reads trimmed value text: digits only, at least one.
    init(_ text: ArraySlice<UInt8>) {
        guard !text.isEmpty, text.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            self = .invalid
            return
        }
        let leadingZeros = text.count > 1 && text.first == 48
        var v: Int64 = 0
        for d in text {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(d - 48))
            guard !o1, !o2 else {
                self = .number(nil, leadingZeros: leadingZeros)
                return
            }
            v = s
        }
        self = .number(v, leadingZeros: leadingZeros)
    }
}

/// A head split into its start line parts and headers, with framing facts and anomalies.
struct HTTP1ParsedHead {
    /// Request: method, target, version. Response: version, status text, reason.
    var first = ""
    var second = ""
    var third = ""
    var status = 0
    /// A response head the snap length cut before its status code was whole (`parseCutStartLine`): `status` is
    /// 0, not a code.
    var statusCut = false
    var headers: [HTTP1Header] = []
    var anomalies: [HTTP1Anomaly] = []
    /// Content-Length values, read as they come (kept apart from the head's bytes, which are reused).
    var contentLengths: [HTTP1ContentLength] = []
    var transferCodings: [[UInt8]] = []
    var hasUpgrade = false
    var isHTTP09 = false
}

extension HTTP1Parser {
    /// Splits a buffered head (no leading empty lines) into lines and fields, into `out` (a new
    /// `HTTP1ParsedHead`; returned as an optional, the parsed head, eight counted references, was copied
    /// and destroyed once more per head). Returns false when the start line is not HTTP. Cost: one pass
    /// over the head (two to count its lines when all headers are listed).
    ///
    /// `keeping`: when given, only headers with these names (lower case; compared in any case) are listed,
    /// in the order they came, and a folded line extends a listed header only when it follows it. Every
    /// header is still read for framing and anomalies and counted against `limits.maxHeaderCount`: the list
    /// is the full one with the other names left out.
    static func parseHead(
        _ buf: [UInt8], role: Role, limits: HTTP1Limits, keeping: [StaticString]?, into out: inout HTTP1ParsedHead
    ) -> Bool {
        var lines = HTTP1HeadLines(buf)
        guard let startLine = lines.next() else { return false }

        let ok = role == .request ? parseRequestLine(startLine, into: &out) : parseStatusLine(startLine, into: &out)
        guard ok else { return false }

        if let keeping {
            // Usually one of each name (more grow the list).
            out.headers.reserveCapacity(min(keeping.count, limits.maxHeaderCount))
        } else {
            var fieldLines = 0
            var from = 0
            while let lf = HTTP1HeadLines.lineFeed(in: buf, from: from) {
                fieldLines += 1
                from = lf + 1
            }
            // At most one header per line between the start line and the blank line.
            out.headers.reserveCapacity(min(max(0, fieldLines - 2), limits.maxHeaderCount))
        }
        // Whether the latest header line within the count is listed (a folded line extends it).
        var lastListed = false
        var folded = false
        var tooMany = false
        var count = 0
        while let line = lines.next() {
            if line.isEmpty { continue }
            if let f = line.first, f == 32 || f == 9 {
                folded = true
                if lastListed, !out.headers.isEmpty, !tooMany {
                    let extra = String(decoding: trimmed(line), as: UTF8.self)
                    out.headers[out.headers.count - 1].value += " " + extra
                }
                continue
            }
            guard let colon = line.firstIndex(of: 58) else {
                out.anomalies.append(.headerWithoutColon)
                continue
            }
            let name = trimmed(line[line.startIndex..<colon])
            let value = trimmed(line[(colon + 1)...])
            noteFraming(name: name, value: value, into: &out)
            count += 1
            if count > limits.maxHeaderCount {
                tooMany = true
                continue
            }
            lastListed = keeping?.contains(where: { equalsLower(name, $0) }) ?? true
            guard lastListed else { continue }
            out.headers.append(HTTP1Header(
                name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
        }
        // A bare LF anywhere in the head comes first, as if found before the start line was read.
        if lines.sawBareLineFeed { out.anomalies.insert(.bareLineFeed, at: 0) }
        if folded { out.anomalies.append(.obsoleteLineFolding) }
        if tooMany { out.anomalies.append(.tooManyHeaders) }
        return true
    }

    /// Reads the start line of a head the snap length cut (`buf`: its bytes up to the cut) into `out`. A start
    /// line that ends within `buf` is read as `parseHead` reads it. One cut before its end is read as far as it
    /// is known, and not taken as whole: a request's method, and its target up to the cut, marked `…` when the
    /// cut fell inside it (the version is not known: empty); a response's version and status code when the
    /// code was captured (the cut right after it, or after a space and part of its reason, marked `…`; empty
    /// when none of it came); a response cut within or before its code keeps its version as captured, its code
    /// not known (`statusCut`), so that its bytes still count as an answer. False when less was captured, or
    /// when what came is not a start line. No header line is read: the cut may have split any of them.
    static func parseCutStartLine(_ buf: [UInt8], role: Role, into out: inout HTTP1ParsedHead) -> Bool {
        if let lf = HTTP1HeadLines.lineFeed(in: buf, from: 0) {
            let line = buf[0..<(lf > 0 && buf[lf - 1] == 13 ? lf - 1 : lf)]
            return role == .request ? parseRequestLine(line, into: &out) : parseStatusLine(line, into: &out)
        }
        // A CR at the cut may end the line, or not: the line is cut either way.
        let line = buf.last == 13 ? buf.dropLast() : buf[...]
        func isSeparator(_ b: UInt8) -> Bool { b == 32 || b == 9 }
        if role == .request {
            let parts = HTTP1RequestLineParts(line)
            guard let method = parts.first, method.allSatisfy(isTokenByte), let target = parts.second else {
                return false
            }
            out.first = String(decoding: method, as: UTF8.self)
            out.second = String(decoding: target, as: UTF8.self) + (target.endIndex == line.endIndex ? "…" : "")
            return true
        }
        let sp = line.firstIndex(where: isSeparator) ?? line.endIndex
        let version = line[line.startIndex..<sp]
        guard isVersion(version) else { return false }
        let code = line[sp...].drop(while: isSeparator)
        // What follows the code: the reason as far as it came.
        var reason = line[line.endIndex...]
        if let (status, rest) = statusCode(code) {
            guard rest.first.map(isSeparator) ?? true else { return false }
            out.status = status
            reason = trimmed(rest)
        } else {
            // Cut within the code or before it: only digits may have come (anything else is no status line).
            guard code.count < 3, code.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
            out.statusCut = true
        }
        if !startsUpperCaseHTTP(version) { out.anomalies.append(.lowerCaseVersion) }
        out.first = String(decoding: version, as: UTF8.self)
        // Marked cut, unless `reasonText` already cut it shorter and said so.
        out.third = reason.isEmpty ? "" : reasonText(reason) + (reason.count > maxReasonBytes ? "" : "…")
        return true
    }

    private static func parseRequestLine(_ line: ArraySlice<UInt8>, into out: inout HTTP1ParsedHead) -> Bool {
        let parts = HTTP1RequestLineParts(line)
        guard let method = parts.first, method.allSatisfy(isTokenByte) else { return false }
        let known = knownMethods.contains { known in
            known.count == method.count
                && zip(known, method).allSatisfy { $0 == ($1 >= 97 && $1 <= 122 ? $1 - 32 : $1) }
        }
        guard parts.count >= 2 || (known && line.count == method.count) else { return false }
        out.first = String(decoding: method, as: UTF8.self)
        if known, method.contains(where: { $0 >= 97 && $0 <= 122 }) { out.anomalies.append(.lowerCaseMethod) }
        if parts.count == 1 {
            out.anomalies.append(.missingRequestTarget)
            return true
        }
        guard let target = parts.second else { return false }
        if parts.count == 2 {
            out.second = String(decoding: target, as: UTF8.self)
            out.third = "HTTP/0.9"
            out.isHTTP09 = true
            out.anomalies.append(.http09Request)
            return true
        }
        guard let version = parts.last, isVersion(version), let targetEnd = parts.endBeforeLast else {
            // Spaces inside the target, with no version at the end: not a request line we trust.
            return false
        }
        if !startsUpperCaseHTTP(version) { out.anomalies.append(.lowerCaseVersion) }
        if parts.count > 3 { out.anomalies.append(.whitespaceInTarget) }
        out.second = String(decoding: line[target.startIndex..<targetEnd], as: UTF8.self)
        out.third = String(decoding: version, as: UTF8.self)
        return true
    }

    /// The status code of a status line (`text`: from its first digit) and what follows it; nil unless it begins
    /// with three digits.
    private static func statusCode(_ text: ArraySlice<UInt8>) -> (Int, ArraySlice<UInt8>)? {
        var rest = text
        var status = 0
        var digits = 0
        while let d = rest.first, d >= 48, d <= 57, digits < 3 {
            status = status * 10 + Int(d - 48)
            digits += 1
            rest = rest.dropFirst()
        }
        return digits == 3 ? (status, rest) : nil
    }

    private static func parseStatusLine(_ line: ArraySlice<UInt8>, into out: inout HTTP1ParsedHead) -> Bool {
        guard let sp = line.firstIndex(where: { $0 == 32 || $0 == 9 }) else { return false }
        let version = line[line.startIndex..<sp]
        guard isVersion(version) else { return false }
        if !startsUpperCaseHTTP(version) { out.anomalies.append(.lowerCaseVersion) }
        guard let (status, rest) = statusCode(line[(sp + 1)...].drop(while: { $0 == 32 || $0 == 9 })),
              rest.first.map({ $0 == 32 || $0 == 9 }) ?? true
        else { return false }
        out.first = String(decoding: version, as: UTF8.self)
        out.status = status
        out.third = reasonText(trimmed(rest))
        return true
    }

    /// Longest reason phrase kept whole, in bytes: real ones are a few words ("Service Unavailable"), and each
    /// is shown in findings, steps and `flows` lines.
    static let maxReasonBytes = 256

    /// A reason phrase as kept: whole up to `maxReasonBytes`, else its first bytes (whole UTF-8 characters)
    /// and how long it was (`… (5000 bytes)`), so a hostile server cannot make a report line thousands wide.
    static func reasonText(_ bytes: ArraySlice<UInt8>) -> String {
        guard bytes.count > maxReasonBytes else { return String(decoding: bytes, as: UTF8.self) }
        var end = bytes.startIndex + maxReasonBytes
        while end > bytes.startIndex, bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return String(decoding: bytes[..<end], as: UTF8.self) + "… (\(bytes.count) bytes)"
    }

    /// Whether `v` begins `HTTP` (upper case), read byte by byte (`elementsEqual` over the text's
    /// `utf8` view cost about 260 instructions a head).
    private static func startsUpperCaseHTTP(_ v: ArraySlice<UInt8>) -> Bool {
        let i = v.startIndex
        return v.count >= 4 && v[i] == 72 && v[i + 1] == 84 && v[i + 2] == 84 && v[i + 3] == 80
    }

    /// `HTTP/` in any case followed by at least one digit.
    private static func isVersion(_ v: ArraySlice<UInt8>) -> Bool {
        guard v.count >= 6 else { return false }
        return v.withUnsafeBytes { responseStart($0) == .yes }
    }

    private static func noteFraming(
        name: ArraySlice<UInt8>, value: ArraySlice<UInt8>, into out: inout HTTP1ParsedHead
    ) {
        if equalsLower(name, "content-length") {
            // Each comma-separated part, empty ones included (as `split` without omitting them would
            // give, without an array of the parts).
            var start = value.startIndex
            while true {
                let comma = value[start...].firstIndex(of: 44) ?? value.endIndex
                out.contentLengths.append(HTTP1ContentLength(trimmed(value[start..<comma])))
                guard comma < value.endIndex else { break }
                start = comma + 1
            }
        } else if equalsLower(name, "transfer-encoding") {
            for part in value.split(separator: 44) {
                let t = trimmed(part)
                if !t.isEmpty { out.transferCodings.append(t.map(asciiLower)) }
            }
        } else if equalsLower(name, "upgrade") {
            out.hasUpgrade = true
        }
    }

    /// Applies RFC 9112 section 6.3 (leniently) to the framing headers. `request` chooses what an
    /// unusable length means: no body for a request, read until close for a response.
    static func bodyRule(_ head: inout HTTP1ParsedHead, request: Bool) -> HTTP1BodyRule {
        let unusable: HTTP1BodyRule = request ? .none : .untilClose
        if !head.transferCodings.isEmpty {
            if !head.contentLengths.isEmpty { head.anomalies.append(.contentLengthAndTransferEncoding) }
            let chunked = Array("chunked".utf8)
            if head.transferCodings.last == chunked { return .chunked }
            if head.transferCodings.contains(chunked) {
                head.anomalies.append(.transferEncodingNotChunkedLast)
                return .chunked
            }
            head.anomalies.append(.unsupportedTransferEncoding)
            return unusable
        }
        guard !head.contentLengths.isEmpty else { return request ? .none : .untilClose }

        // The first value, and whether all were the same (no list of them: one head, no allocation).
        var first: Int64?
        var same = true
        for length in head.contentLengths {
            guard case .number(let value, let leadingZeros) = length else {
                head.anomalies.append(.invalidContentLength)
                return unusable
            }
            if leadingZeros { head.anomalies.append(.contentLengthLeadingZeros) }
            guard let value else {
                head.anomalies.append(.contentLengthTooLarge)
                return unusable
            }
            if let first { same = same && value == first } else { first = value }
        }
        guard let first else { return unusable }
        if head.contentLengths.count > 1 {
            head.anomalies.append(same ? .duplicateContentLength : .conflictingContentLength)
        }
        return first == 0 ? .none : .length(first)
    }

    /// Without spaces and tabs at either end; by index (slicing the slice again per byte cost about 75
    /// instructions a call, and a head trims every name and value).
    static func trimmed(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var lo = s.startIndex
        var hi = s.endIndex
        while lo < hi, s[lo] == 32 || s[lo] == 9 { lo += 1 }
        while hi > lo, s[hi - 1] == 32 || s[hi - 1] == 9 { hi -= 1 }
        return s[lo..<hi]
    }

    /// Whether `s` is `lower` in any case. A plain loop over both: `zip` and `allSatisfy` cost about 140
    /// instructions a name, compared several times for every header line.
    private static func equalsLower(_ s: ArraySlice<UInt8>, _ lower: StaticString) -> Bool {
        guard s.count == lower.utf8CodeUnitCount else { return false }
        return lower.withUTF8Buffer { l in
            var i = s.startIndex
            for b in l {
                if asciiLower(s[i]) != b { return false }
                i += 1
            }
            return true
        }
    }
}

/// The lines of a head, each without its CR LF (or bare LF), and the text after the last LF.
struct HTTP1HeadLines {
    private let buf: [UInt8]
    private var start = 0
    /// A line ended in LF without CR before it (so far).
    private(set) var sawBareLineFeed = false

    init(_ buf: [UInt8]) {
        self.buf = buf
    }

    /// The index of the first line feed at or after `from` in `buf`, nil when none (found with `memchr`,
    /// within the buffer's bounds).
    static func lineFeed(in buf: [UInt8], from: Int) -> Int? {
        guard from >= 0, from < buf.count else { return nil }
        return buf.withUnsafeBufferPointer { p -> Int? in
            guard let base = p.baseAddress, let hit = memchr(base + from, 10, p.count - from) else { return nil }
            return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        }
    }

    mutating func next() -> ArraySlice<UInt8>? {
        guard start < buf.count else { return nil }
        let i = HTTP1HeadLines.lineFeed(in: buf, from: start) ?? buf.count
        guard i < buf.count else {
            defer { start = buf.count }
            return buf[start...]
        }
        var end = i
        if end > start, buf[end - 1] == 13 { end -= 1 } else { sawBareLineFeed = true }
        defer { start = i + 1 }
        return buf[start..<end]
    }
}

/// A request line split at runs of spaces and tabs, without collecting the parts: how many there
/// are, the first two, the last, and where the one before the last ends.
struct HTTP1RequestLineParts {
    private(set) var count = 0
    private(set) var first: ArraySlice<UInt8>?
    private(set) var second: ArraySlice<UInt8>?
    private(set) var last: ArraySlice<UInt8>?
    /// End index of the part before the last (nil with fewer than two parts).
    private(set) var endBeforeLast: Int?

    /// Each part's end is found with `memchr` (a space, then a tab before it): a request line is mostly its
    /// target, and a loop over the slice's bytes took about six instructions a byte.
    init(_ line: ArraySlice<UInt8>) {
        let found = line.withUnsafeBufferPointer { HTTP1RequestLineParts.bounds($0) }
        let base = line.startIndex
        count = found.count
        if found.count >= 1 { first = line[(base + found.first.lowerBound)..<(base + found.first.upperBound)] }
        if found.count >= 2 { second = line[(base + found.second.lowerBound)..<(base + found.second.upperBound)] }
        if found.count >= 1 { last = line[(base + found.last.lowerBound)..<(base + found.last.upperBound)] }
        endBeforeLast = found.endBeforeLast.map { base + $0 }
    }

    /// Where the parts lie, as offsets into the line.
    private struct Bounds {
        var count = 0
        var first = 0..<0
        var second = 0..<0
        var last = 0..<0
        var endBeforeLast: Int?
    }

    private static func bounds(_ p: UnsafeBufferPointer<UInt8>) -> Bounds {
        var b = Bounds()
        let n = p.count
        var i = 0
        while i < n {
            while i < n, p[i] == 32 || p[i] == 9 { i += 1 }
            guard i < n else { break }
            let start = i
            i = separator(in: p, from: i)
            b.count += 1
            if b.count == 1 { b.first = start..<i }
            if b.count == 2 { b.second = start..<i }
            if b.count >= 2 { b.endBeforeLast = b.last.upperBound }
            b.last = start..<i
        }
        return b
    }

    /// The offset of the first space or tab at or after `from`, or the line's length when there is none.
    private static func separator(in p: UnsafeBufferPointer<UInt8>, from: Int) -> Int {
        guard let base = p.baseAddress, from < p.count else { return p.count }
        var end = p.count
        if let hit = memchr(base + from, 32, end - from) {
            end = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        }
        if end > from, let hit = memchr(base + from, 9, end - from) {
            end = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        }
        return end
    }
}
