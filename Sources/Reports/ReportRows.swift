import Core
import Heartbeat

/// The flat records behind `--format jsonl` and `--format csv`: one per check-in, or
/// (with `--per client`) one per client of the fleet audit.
///
/// Both formats carry the same fields in the same order, so a SIEM and a spreadsheet see one
/// layout. Lists (steps, finding codes, reasons) are JSON arrays in JSON Lines and
/// space-separated (steps) or `;`-separated (codes, reasons) in CSV.
public enum ReportRows {
    /// What one row stands for.
    public enum Granularity: String, Sendable, CaseIterable {
        case checkin
        case client
        /// One row per deployment check (`sepbeat validate` only).
        case check

        /// The rows a command gives when `--per` is not given: what the command is about.
        public static func defaultRows(for kind: ReportKind) -> Granularity {
            switch kind {
            case .analyze: return .checkin
            case .audit: return .client
            case .validate: return .check
            }
        }

        /// The CSV header fields of these rows.
        public var fields: [String] {
            switch self {
            case .checkin: return ReportRows.checkInFields
            case .client: return ReportRows.clientFields
            case .check: return ReportRows.checkFields
            }
        }
    }

    // MARK: - Deployment checks

    public static let checkFields = [
        "type", "check", "title", "severity", "result", "failingClients", "examples", "detail",
    ]

    /// One check of `sepbeat validate` as an ordered JSON object (fields as `checkFields`).
    public static func check(_ c: DeploymentValidation.Check) -> JSONValue {
        .object([
            ("type", .string("check")),
            ("check", .string(c.id)),
            ("title", .string(c.title)),
            ("severity", .string(c.severity.rawValue)),
            ("result", .string(c.result)),
            ("failingClients", c.failingClientsJSON),
            ("examples", .array(c.examples.map(JSONValue.string))),
            ("detail", .string(c.detail)),
        ])
    }

    // MARK: - Check-ins

    public static let checkInFields = [
        "type", "session", "client", "clientPort", "server", "serverPort", "transport", "mode", "start", "end",
        "durationSeconds", "bytesUp", "bytesDown", "failed", "steps", "findings", "severity",
    ]

    /// One check-in as an ordered JSON object (fields as `checkInFields`).
    public static func checkIn(_ s: SessionReport) -> JSONValue {
        .object([
            ("type", .string("check-in")),
            ("session", .int(s.id)),
            ("client", .string(s.client.description)),
            ("clientPort", .int(Int(s.clientPort))),
            ("server", .string(s.server.description)),
            ("serverPort", .int(Int(s.serverPort))),
            ("transport", .string(s.transport.rawValue)),
            ("mode", .string(s.mode.rawValue)),
            ("start", .time(s.start)),
            ("end", .time(s.end)),
            ("durationSeconds", .number(micro(s.end.seconds(since: s.start)))),
            ("bytesUp", .integer(s.bytesUp)),
            ("bytesDown", .integer(s.bytesDown)),
            ("failed", .bool(s.failed)),
            ("steps", .array(s.steps.map { .int($0.step) })),
            ("findings", .array(s.findings.map { .string($0.code.rawValue) })),
            ("severity", worstSeverity(s).map { .string($0.rawValue) } ?? .null),
        ])
    }

    // MARK: - Clients

    public static let clientFields = [
        "type", "client", "health", "score", "mode", "expectedIntervalSeconds", "checkIns", "failed", "missed",
        "late", "early", "onTime", "accelerated", "acceleratedRuns", "storms", "stormSeconds",
        "intervals", "medianSeconds", "madSeconds",
        "iqrSeconds", "p5Seconds", "p95Seconds", "minSeconds", "maxSeconds", "driftSecondsPerHour",
        "matchesExpected", "firstSeen", "lastSeen", "appearedLate", "vanishedEarly", "reasons",
        "judgedAgainstSeconds", "wentSilent",
    ]

    /// One client of the fleet audit as an ordered JSON object (fields as `clientFields`).
    public static func client(_ c: FleetAudit.Client) -> JSONValue {
        let s = c.spread
        func num(_ v: Double?) -> JSONValue { v.map(JSONValue.number) ?? .null }
        return .object([
            ("type", .string("client")),
            ("client", .string(c.client.description)),
            ("health", .string(c.health.rawValue)),
            ("score", c.score.map { .int($0) } ?? .null),
            ("mode", .string(c.mode.rawValue)),
            ("expectedIntervalSeconds", .number(c.expectedIntervalSeconds)),
            ("checkIns", .int(c.checkIns)),
            ("failed", .int(c.failed)),
            ("missed", .int(c.missed)),
            ("late", .int(c.late)),
            ("early", .int(c.early)),
            ("onTime", .int(c.onTime)),
            ("accelerated", .int(c.accelerated)),
            ("acceleratedRuns", .int(c.acceleratedRuns)),
            ("storms", .int(c.storms)),
            ("stormSeconds", .number(micro(c.stormSeconds))),
            ("intervals", .int(s?.count ?? 0)),
            ("medianSeconds", num(s?.median)),
            ("madSeconds", num(s?.mad)),
            ("iqrSeconds", num(s?.iqr)),
            ("p5Seconds", num(s?.p5)),
            ("p95Seconds", num(s?.p95)),
            ("minSeconds", num(s?.min)),
            ("maxSeconds", num(s?.max)),
            ("driftSecondsPerHour", num(c.driftSecondsPerHour)),
            ("matchesExpected", c.matchesExpected.map(JSONValue.bool) ?? .null),
            ("firstSeen", .time(c.firstSeen)),
            ("lastSeen", .time(c.lastSeen)),
            ("appearedLate", .bool(c.appearedLate)),
            ("vanishedEarly", .bool(c.vanishedEarly)),
            ("reasons", .array(c.reasons.map(JSONValue.string))),
            // Added after the first fields, so a reader of the older rows finds every column where it was.
            ("judgedAgainstSeconds", num(c.judgedAgainst.map(micro))),
            ("wentSilent", .bool(c.wentSilent != nil)),
        ])
    }

    // MARK: - Rendering

    /// One compact JSON object per line.
    public static func jsonLines(_ rows: [JSONValue]) -> String {
        rows.map { $0.serialized() + "\n" }.joined()
    }

    /// A CSV document with `fields` as the header.
    public static func csv(_ rows: [JSONValue], fields: [String]) -> String {
        CSV.document(header: fields, rows: rows.map { row in
            guard case .object(let members) = row else { return [] }
            return members.map { _, value in csvText(value) }
        })
    }

    static func csvText(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return s
        case .integer(let n): return String(n)
        case .number(let d): return JSONValue.format(d) == "null" ? "" : JSONValue.format(d)
        case .bool(let b): return b ? "true" : "false"
        case .null: return ""
        case .array(let items):
            let numeric = items.allSatisfy { if case .integer = $0 { return true } else { return false } }
            return items.map(csvText).joined(separator: numeric ? " " : ";")
        case .object: return v.serialized()
        }
    }

    /// The most serious finding of a check-in (error for a failed one).
    public static func worstSeverity(_ s: SessionReport) -> Severity? {
        if s.failed { return .error }
        return s.findings.map(\.severity).max()
    }

    static func micro(_ v: Double) -> Double { (v * 1e6).rounded() / 1e6 }
}
