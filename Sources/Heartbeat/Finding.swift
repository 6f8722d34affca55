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
    /// A client's median interval contradicts the expected one.
    case intervalMismatch = "interval-mismatch"
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
    /// A check-in that reached a manager only after failing with another one.
    case failover = "failover"
    /// Check-ins to a manager absent from the configured server list.
    case unknownServer = "unknown-server"
    /// A push connection closed before the capture ended.
    case pushConnectionDropped = "push-connection-dropped"
    /// TLS below the model's minimum version.
    case tlsBelowMinimum = "tls-below-1.2"
    /// Check-ins in plain HTTP.
    case plaintextHTTP = "plaintext-http"
    /// An HTTP status of 400 or above from a manager.
    case httpError = "http-error"
    /// Bytes missing from the capture (lost segments, buffer limits).
    case captureGap = "capture-gap"
    /// The capture file or its packets were cut short.
    case captureTruncated = "capture-truncated"

    /// Raised once per client and manager (one entry in the report's findings listing every session it
    /// concerns), and copied into each of those sessions' own findings.
    public var isPerPair: Bool { self == .plaintextHTTP || self == .tlsBelowMinimum || self == .unknownServer }
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
    /// Every session a once-per-client-and-manager finding concerns (`plaintext-http`, `tls-below-1.2`,
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

/// Numbers in messages: whole values without a fraction, others with up to three decimals.
func formatSeconds(_ s: Double) -> String {
    if s.rounded() == s, abs(s) < 1e15 { return String(Int64(s)) }
    guard abs(s) < 1e15 else { return String(s) }
    let ms = (s * 1000).rounded() / 1000
    return String(ms)
}

/// Byte counts in messages, e.g. `5121 bytes`.
func formatBytes(_ b: Int64) -> String { "\(b) bytes" }
