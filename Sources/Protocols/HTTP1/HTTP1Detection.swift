/// Whether a byte prefix can start an HTTP message: yes, no, or not enough bytes to say.
enum HTTP1Plausibility: Sendable {
    case yes
    case no
    case needMore
}

extension HTTP1Parser {
    /// Methods recognised when deciding that bytes are HTTP (detection and resynchronisation).
    /// Inside a stream already known to be HTTP any token is accepted as a method.
    static let knownMethods: [[UInt8]] = [
        "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH", "QUERY",
        "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH", "REPORT",
        "MKACTIVITY", "CHECKOUT", "MERGE", "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE",
    ].map { Array($0.utf8) }

    /// True when `prefix` starts with a known method (any letter case), one space and a
    /// non-space byte: e.g. `GET /`, after any empty lines (RFC 9112, section 2.2: a server ignores
    /// empty lines before a request line, and so does the parser). Needs at least that many bytes; a
    /// shorter prefix gives false. Reads the empty lines and at most 14 bytes after them; the bytes
    /// are borrowed for the call only.
    public static func looksLikeRequest(_ prefix: UnsafeRawBufferPointer) -> Bool {
        requestStart(afterEmptyLines(prefix), knownMethodsOnly: true) == .yes
    }

    /// True when `prefix` starts with `HTTP/` (any letter case) and a digit. Reads at most 6 bytes.
    public static func looksLikeResponse(_ prefix: UnsafeRawBufferPointer) -> Bool {
        responseStart(prefix) == .yes
    }

    /// True when `prefix` starts like a request inside a stream known to be HTTP: any method
    /// token (up to 32 bytes), a space and a non-space byte, or a known method alone on its line;
    /// empty lines before it are passed over as by `looksLikeRequest`. Reads the empty lines and at
    /// most 34 bytes after them; the bytes are borrowed for the call only.
    public static func mayStartRequest(_ prefix: UnsafeRawBufferPointer) -> Bool {
        requestStart(afterEmptyLines(prefix), knownMethodsOnly: false) == .yes
    }

    /// `bytes` less their leading CR and LF bytes (empty lines): what detection tests. The head parser
    /// passes over any number of them itself, so the bytes are handed to it whole.
    static func afterEmptyLines(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var skipped = 0
        while skipped < bytes.count, bytes[skipped] == 13 || bytes[skipped] == 10 { skipped += 1 }
        return UnsafeRawBufferPointer(rebasing: bytes[skipped...])
    }

    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case 48...57, 65...90, 97...122: return true
        case 33, 35, 36, 37, 38, 39, 42, 43, 45, 46, 94, 95, 96, 124, 126: return true
        default: return false
        }
    }

    /// Request start check. With `knownMethodsOnly` the method must be a known one (any case);
    /// otherwise any token of up to 32 bytes is accepted, and so is a known method alone on its line.
    static func requestStart(_ p: UnsafeRawBufferPointer, knownMethodsOnly: Bool) -> HTTP1Plausibility {
        if knownMethodsOnly {
            var undecided = false
            for m in knownMethods {
                switch matchMethod(m, p) {
                case .yes: return .yes
                case .needMore: undecided = true
                case .no: continue
                }
            }
            return undecided ? .needMore : .no
        }
        var i = 0
        while i < p.count {
            let b = p[i]
            if b == 13 || b == 10 {
                // A known method alone on its line: a request without a target (flagged when parsed).
                return isKnownMethod(UnsafeRawBufferPointer(rebasing: p[0..<i])) ? .yes : .no
            }
            if b == 32 {
                guard i > 0 else { return .no }
                guard i + 1 < p.count else { return .needMore }
                let t = p[i + 1]
                return t > 32 && t < 127 ? .yes : .no
            }
            guard isTokenByte(b), i < 32 else { return .no }
            i += 1
        }
        return .needMore
    }

    private static func isKnownMethod(_ token: UnsafeRawBufferPointer) -> Bool {
        knownMethods.contains { m in
            m.count == token.count && zip(m, token).allSatisfy { asciiLower($0) == asciiLower($1) }
        }
    }

    private static func matchMethod(_ m: [UInt8], _ p: UnsafeRawBufferPointer) -> HTTP1Plausibility {
        for (i, c) in m.enumerated() {
            guard i < p.count else { return .needMore }
            if asciiLower(p[i]) != asciiLower(c) { return .no }
        }
        let n = m.count
        guard n < p.count else { return .needMore }
        guard p[n] == 32 else { return .no }
        guard n + 1 < p.count else { return .needMore }
        let t = p[n + 1]
        return t > 32 && t < 127 ? .yes : .no
    }

    static func responseStart(_ p: UnsafeRawBufferPointer) -> HTTP1Plausibility {
        let want: [UInt8] = [104, 116, 116, 112, 47]  // "http/"
        for (i, c) in want.enumerated() {
            guard i < p.count else { return .needMore }
            if asciiLower(p[i]) != c { return .no }
        }
        guard p.count > 5 else { return .needMore }
        return p[5] >= 48 && p[5] <= 57 ? .yes : .no
    }
}
