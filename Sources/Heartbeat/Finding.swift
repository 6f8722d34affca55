import Core

/// The stable codes of every finding the heartbeat layer raises. `docs/findings.md`
/// gives each one's meaning and the model values it uses.
public enum FindingCode: String, Codable, Hashable, Sendable, CaseIterable {
    /// One or more check-ins absent between two seen ones (gap >= 2 intervals - tolerance).
    case missedHeartbeat = "missed-heartbeat"
    /// Gap longer than interval + tolerance but too short to hide a whole check-in.
    case intervalLate = "interval-late"
    /// Gap shorter than interval - tolerance, yet longer than the accelerated range.
    case intervalEarly = "interval-early"
    /// Gap inside the accelerated range (0-60 s): normal after changes, reported for information.
    case acceleratedHeartbeat = "accelerated-heartbeat"
    /// A run of accelerated gaps lasting longer than `interval.acceleratedRunMaxSeconds`: the client keeps
    /// checking in far faster than its interval (a heartbeat storm), not the short episode after a change.
    case heartbeatStorm = "heartbeat-storm"
    /// A client's median interval contradicts the expected one.
    case intervalMismatch = "interval-mismatch"
    /// A lasting change of a client's own interval (a policy change), or, with no client, many clients changing
    /// near the same time: each side of it is judged against its own interval.
    case intervalChange = "interval-change"
    /// A client whose last check-in is followed by at least `interval.silentMinIntervals` of its intervals with no
    /// check-in, while other clients went on checking in and no capture gap or stop covers that time: it stopped
    /// checking in (switched off, or cut off from its managers).
    case wentSilent = "went-silent"
    /// An idle check-in outside the idle size range.
    case idleSizeOutOfRange = "idle-size-out-of-range"
    /// A check-in larger than the full-heartbeat maximum.
    case heartbeatOversize = "heartbeat-oversize"
    /// A log upload larger than the default record cap allows.
    case uploadOverCap = "upload-over-cap"
    /// A mandatory step (1, 2, 3, 7) that the capture could have shown is absent.
    case stepMissing = "step-missing"
    /// A step seen after a later one.
    case stepOutOfOrder = "step-out-of-order"
    /// A connect refused (SYN answered by RST).
    case connectFailed = "connect-failed"
    /// A connect unanswered, or a session not set up within the connect timeout.
    case connectTimeout = "connect-timeout"
    /// A TLS connection to a manager set up at the TCP level that closed with no application data: a fatal
    /// alert, no ServerHello, or nothing after the handshake. No heartbeat reached the manager.
    case tlsHandshakeFailed = "tls-handshake-failed"
    /// A request (HTTP) or client burst (TLS) that got no byte of answer before its connection closed (reset
    /// or closed by the manager, or given up by the client), or a connection set up and closed with no byte.
    case noAnswer = "no-answer"
    /// An HTTP answer whose body was cut short: the connection closed (FIN or RST) before the body its
    /// Content-Length announced (or its last chunk) came, with nothing lost by the capture. The client did not
    /// get its answer.
    case answerCutShort = "answer-cut-short"
    /// A request or client burst with no answer, or a TLS handshake that failed, that the client retried at once
    /// (within `checkIn.retryWindowSeconds`) on a new connection that was answered: the check-in was made.
    case retriedAndAnswered = "retried-and-answered"
    /// A check-in that reached a manager only after failing with another one.
    case failover = "failover"
    /// Check-ins to a manager absent from the configured server list.
    case unknownServer = "unknown-server"
    /// A push connection closed before the capture ended.
    case pushConnectionDropped = "push-connection-dropped"
    /// TLS below the model's minimum version (`tls.minimumVersion`): the code names the minimum, so one
    /// of these four, the one `tlsBelow(minimum:)` gives for the model in effect.
    case tlsBelow10 = "tls-below-1.0"
    case tlsBelow11 = "tls-below-1.1"
    case tlsBelow12 = "tls-below-1.2"
    case tlsBelow13 = "tls-below-1.3"
    /// Check-ins in plain HTTP.
    case plaintextHTTP = "plaintext-http"
    /// An HTTP status of 400 or above from a manager, or a redirect (3xx but 304) answering a secars request.
    case httpError = "http-error"
    /// A manager's `408` with no request, after the check-in's requests were answered: it closed the idle
    /// connection (not a failure of the check-in).
    case unsolicitedTimeout = "unsolicited-timeout"
    /// Bytes missing from the capture (lost segments, buffer limits).
    case captureGap = "capture-gap"
    /// The capture file or its packets were cut short.
    case captureTruncated = "capture-truncated"

    /// Raised once per client and manager (one entry in the report's findings listing every session it
    /// concerns), and copied into each of those sessions' own findings.
    public var isPerPair: Bool { self == .plaintextHTTP || isTLSBelowMinimum || self == .unknownServer }

    /// The code of TLS below a minimum of `minimum` (a version number: 0x0301 is 1.0 ... 0x0304 is 1.3; the
    /// model's `minimumTLSVersion`): `tls-below-1.2` for 1.2, `tls-below-1.3` for 1.3.
    public static func tlsBelow(minimum: UInt16) -> FindingCode {
        switch minimum {
        case ...0x0301: return .tlsBelow10
        case 0x0302: return .tlsBelow11
        case 0x0303: return .tlsBelow12
        default: return .tlsBelow13
        }
    }

    /// Every code of TLS below the minimum, whatever the minimum.
    public static let tlsBelowMinimum: [FindingCode] = [.tlsBelow10, .tlsBelow11, .tlsBelow12, .tlsBelow13]

    /// A code of TLS below the model's minimum (`tls-below-1.0` ... `tls-below-1.3`).
    public var isTLSBelowMinimum: Bool { Self.tlsBelowMinimum.contains(self) }
}

/// One observation worth reporting, with its stable code and severity.
///
/// `message` is one line for people; it never contains secrets from SyLink.xml.
public struct Finding: Hashable, Sendable {
    public var code: FindingCode
    public var severity: Severity
    public var message: String
    /// The client it concerns, if any.
    public var client: IPAddress?
    /// The manager it concerns, if any.
    public var server: Endpoint?
    /// When it happened (start of the check-in or interval it concerns), if known.
    public var time: Timestamp?
    /// The session (`SessionReport.id`) it belongs to, if any: for a finding raised once per client and
    /// manager, the first session it concerns.
    public var session: Int?
    /// Every session a once-per-client-and-manager finding concerns (`plaintext-http`, `tls-below-1.2` or the
    /// code of the model's minimum,
    /// `unknown-server`), in id order, on its entry in `HeartbeatReport.findings`; nil on other findings
    /// and on the copies in each concerned session's own `findings`.
    public var sessions: [Int]?

    public init(
        code: FindingCode, severity: Severity, message: String, client: IPAddress? = nil,
        server: Endpoint? = nil, time: Timestamp? = nil, session: Int? = nil, sessions: [Int]? = nil
    ) {
        self.code = code
        self.severity = severity
        self.message = message
        self.client = client
        self.server = server
        self.time = time
        self.session = session
        self.sessions = sessions
    }
}

extension Finding: Encodable {
    private enum Keys: String, CodingKey {
        case code, severity, message, client, server, time, session, sessions
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(code, forKey: .code)
        try c.encode(severity, forKey: .severity)
        try c.encode(message, forKey: .message)
        try c.encodeIfPresent(client?.description, forKey: .client)
        try c.encodeIfPresent(server?.description, forKey: .server)
        try c.encodeIfPresent(time?.rfc3339(), forKey: .time)
        try c.encodeIfPresent(session, forKey: .session)
        try c.encodeIfPresent(sessions, forKey: .sessions)
    }
}

extension Finding: CustomStringConvertible {
    /// `warning interval-late: ...`
    public var description: String { "\(severity.rawValue) \(code.rawValue): \(message)" }
}

/// Numbers in messages: rounded to three decimals, then whole values without a fraction (`35`, never
/// `35.0`), others with their decimals up to three (`300.079`, `0.5`).
func formatSeconds(_ s: Double) -> String {
    guard s.isFinite, abs(s) < 1e12 else { return String(s) }
    let thousandths = Int64((s * 1000).rounded())
    let whole = thousandths / 1000
    var fraction = String(abs(thousandths % 1000))
    guard fraction != "0" else { return String(whole) }
    while fraction.count < 3 { fraction = "0" + fraction }
    while fraction.hasSuffix("0") { fraction.removeLast() }
    return (thousandths < 0 && whole == 0 ? "-" : "") + "\(whole).\(fraction)"
}

/// A count with its noun in the right number: `1 check-in`, `2 check-ins`, `3 SYNs`, `1 memory limit hit`.
/// `plural` defaults to the singular with an `s` added.
func counted(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
    "\(n) \(n == 1 ? singular : plural ?? singular + "s")"
}

/// A round-trip or set-up time with the precision that matters at its size: `0.04 ms` (up to three
/// decimals below 1 ms), `2.35 ms`, `12.3 ms`, `140 ms`, then seconds with one decimal (`1.2 s`).
func formatRoundTrip(_ seconds: Double) -> String {
    var t = EvidenceText(capacity: 24)
    formatRoundTrip(seconds, into: &t)
    return t.text
}

/// `formatRoundTrip(seconds)` written at the end of `t`, with no string made on the way (this runs for
/// every check-in's connect step).
func formatRoundTrip(_ seconds: Double, into t: inout EvidenceText) {
    guard seconds.isFinite, seconds >= 0 else {
        t.add(formatSeconds(seconds))
        t.add(" s")
        return
    }
    let ms = seconds * 1000
    // Digits by integer arithmetic.
    func fixed(_ v: Double, _ digits: Int, strip: Bool, _ unit: StaticString) {
        var scale: Int64 = 1
        for _ in 0..<digits { scale *= 10 }
        let n = Int64((v * Double(scale)).rounded())
        var fraction = n % scale
        var width = digits
        if strip {
            while width > 0, fraction % 10 == 0 {
                fraction /= 10
                width -= 1
            }
        }
        t.add(n / scale)
        if width > 0 {
            t.add(".")
            t.add(fraction, width: width)
        }
        t.add(unit)
    }
    // Rounding may carry a value into the next band (9.996 ms -> 10.0 ms), which reads the same.
    if seconds >= 0.9995 {
        if seconds < 1e12 { fixed(seconds, 1, strip: false, " s") } else { t.add("\(seconds) s") }
    } else if ms >= 99.95 {
        fixed(ms, 0, strip: false, " ms")
    } else if ms >= 9.995 {
        fixed(ms, 1, strip: false, " ms")
    } else if ms >= 1 {
        fixed(ms, 2, strip: false, " ms")
    } else {
        fixed(ms, 3, strip: true, " ms")
    }
}

/// Byte counts in messages, e.g. `5121 bytes`.
func formatBytes(_ b: Int64) -> String { "\(b) bytes" }
