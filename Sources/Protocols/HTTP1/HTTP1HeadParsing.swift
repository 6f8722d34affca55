/// What a parsed head says about the body that follows, before role rules (HEAD, 204, ...) apply.
enum HTTP1BodyRule: Hashable, Sendable {
    case none
    case length(Int64)
    case chunked
    case untilClose
}

/// A head split into its start line parts and headers, with framing facts and anomalies.
struct HTTP1ParsedHead {
    /// Request: method, target, version. Response: version, status text, reason.
    var first = ""
    var second = ""
    var third = ""
    var status = 0
    var headers: [HTTP1Header] = []
    var anomalies: [HTTP1Anomaly] = []
    var contentLengths: [ArraySlice<UInt8>] = []
    var transferCodings: [[UInt8]] = []
    var hasUpgrade = false
    var isHTTP09 = false
}

extension HTTP1Parser {
    /// Splits a buffered head (no leading empty lines) into lines and fields.
    /// Returns nil when the start line is not HTTP. Cost: one pass over the head.
    static func parseHead(_ buf: [UInt8], role: Role, limits: HTTP1Limits) -> HTTP1ParsedHead? {
        var out = HTTP1ParsedHead()
        var lines: [ArraySlice<UInt8>] = []
        var bareLF = false
        var start = 0
        for i in buf.indices where buf[i] == 10 {
            var end = i
            if end > start, buf[end - 1] == 13 { end -= 1 } else { bareLF = true }
            lines.append(buf[start..<end])
            start = i + 1
        }
        if start < buf.count { lines.append(buf[start...]) }
        if bareLF { out.anomalies.append(.bareLineFeed) }
        guard let startLine = lines.first else { return nil }

        let ok = role == .request ? parseRequestLine(startLine, into: &out) : parseStatusLine(startLine, into: &out)
        guard ok else { return nil }

        var folded = false
        var tooMany = false
        var count = 0
        for line in lines.dropFirst() where !line.isEmpty {
            if let f = line.first, f == 32 || f == 9 {
                folded = true
                if !out.headers.isEmpty, !tooMany {
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
            out.headers.append(HTTP1Header(
                name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
        }
        if folded { out.anomalies.append(.obsoleteLineFolding) }
        if tooMany { out.anomalies.append(.tooManyHeaders) }
        return out
    }

    private static func parseRequestLine(_ line: ArraySlice<UInt8>, into out: inout HTTP1ParsedHead) -> Bool {
        let parts = line.split(whereSeparator: { $0 == 32 || $0 == 9 })
        guard let method = parts.first, method.allSatisfy(isTokenByte) else { return false }
        let upper = method.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }
        let known = knownMethods.contains(upper)
        guard parts.count >= 2 || (known && line.count == method.count) else { return false }
        out.first = String(decoding: method, as: UTF8.self)
        if upper != Array(method), known { out.anomalies.append(.lowerCaseMethod) }
        if parts.count == 1 {
            out.anomalies.append(.missingRequestTarget)
            return true
        }
        if parts.count == 2 {
            out.second = String(decoding: parts[1], as: UTF8.self)
            out.third = "HTTP/0.9"
            out.isHTTP09 = true
            out.anomalies.append(.http09Request)
            return true
        }
        guard let version = parts.last, isVersion(version) else {
            // Spaces inside the target, with no version at the end: not a request line we trust.
            return false
        }
        if version.prefix(4).elementsEqual("HTTP".utf8) == false { out.anomalies.append(.lowerCaseVersion) }
        if parts.count > 3 { out.anomalies.append(.whitespaceInTarget) }
        let targetStart = parts[1].startIndex
        let targetEnd = parts[parts.count - 2].endIndex
        out.second = String(decoding: line[targetStart..<targetEnd], as: UTF8.self)
        out.third = String(decoding: version, as: UTF8.self)
        return true
    }

    private static func parseStatusLine(_ line: ArraySlice<UInt8>, into out: inout HTTP1ParsedHead) -> Bool {
        guard let sp = line.firstIndex(where: { $0 == 32 || $0 == 9 }) else { return false }
        let version = line[line.startIndex..<sp]
        guard isVersion(version) else { return false }
        if version.prefix(4).elementsEqual("HTTP".utf8) == false { out.anomalies.append(.lowerCaseVersion) }
        var rest = line[(sp + 1)...].drop(while: { $0 == 32 || $0 == 9 })
        var status = 0
        var digits = 0
        while let d = rest.first, d >= 48, d <= 57, digits < 3 {
            status = status * 10 + Int(d - 48)
            digits += 1
            rest = rest.dropFirst()
        }
        guard digits == 3, rest.first.map({ $0 == 32 || $0 == 9 }) ?? true else { return false }
        out.first = String(decoding: version, as: UTF8.self)
        out.status = status
        out.third = String(decoding: trimmed(rest), as: UTF8.self)
        return true
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
            for part in value.split(separator: 44, omittingEmptySubsequences: false) {
                out.contentLengths.append(trimmed(part))
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

        var values: [Int64] = []
        for text in head.contentLengths {
            guard !text.isEmpty, text.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                head.anomalies.append(.invalidContentLength)
                return unusable
            }
            if text.count > 1, text.first == 48 { head.anomalies.append(.contentLengthLeadingZeros) }
            var v: Int64 = 0
            for d in text {
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(Int64(d - 48))
                guard !o1, !o2 else {
                    head.anomalies.append(.contentLengthTooLarge)
                    return unusable
                }
                v = s
            }
            values.append(v)
        }
        guard let first = values.first else { return unusable }
        if values.count > 1 {
            let same = values.allSatisfy { $0 == first }
            head.anomalies.append(same ? .duplicateContentLength : .conflictingContentLength)
        }
        return first == 0 ? .none : .length(first)
    }

    static func trimmed(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var t = s
        while let f = t.first, f == 32 || f == 9 { t = t.dropFirst() }
        while let l = t.last, l == 32 || l == 9 { t = t.dropLast() }
        return t
    }

    private static func equalsLower(_ s: ArraySlice<UInt8>, _ lower: StaticString) -> Bool {
        guard s.count == lower.utf8CodeUnitCount else { return false }
        return lower.withUTF8Buffer { zip(s, $0).allSatisfy { asciiLower($0) == $1 } }
    }
}
