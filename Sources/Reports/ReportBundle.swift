import Analysis
import Core
import Heartbeat

/// Formats every report command can write.
public enum ReportFormat: String, Sendable, CaseIterable {
    case text
    case json
    case jsonl
    case csv
    case html
}

/// Which command's report a bundle renders.
public enum ReportKind: String, Sendable {
    case analyze
    case audit
    case validate
}

/// Everything `analyze`, `audit` and `validate` know after a run, and the one place that
/// picks the renderer for a format.
///
/// Text and JSON differ per command; JSON Lines and CSV are the same flat rows for every
/// command (check-ins, or clients with `per: .client`); HTML is one self-contained page whose
/// sections depend on the command.
public struct ReportBundle: Sendable {
    public var kind: ReportKind
    // A change to what the audit is worked out from makes it again (when next read): a stale audit would
    // describe a report the bundle no longer holds.
    public var heartbeat: HeartbeatReport { didSet { auditOnce = Self.auditLater(heartbeat, captures, model) } }
    public var captures: [CaptureSummary] { didSet { auditOnce = Self.auditLater(heartbeat, captures, model) } }
    public var model: ReferenceModel { didSet { auditOnce = Self.auditLater(heartbeat, captures, model) } }
    /// The fleet audit of `heartbeat`, worked out the first time it is read: `analyze`'s text and JSON reports
    /// never read it (on a day-long fleet capture it cost tens of milliseconds between the build and the report).
    /// Setting `heartbeat`, `captures` or `model` later works it out again from the new values.
    public var audit: FleetAudit {
        get { auditOnce.value }
        set { auditOnce = FleetAuditOnce(newValue) }
    }
    private var auditOnce: FleetAuditOnce
    public var validation: DeploymentValidation?

    public init(kind: ReportKind, heartbeat: HeartbeatReport, captures: [CaptureSummary], model: ReferenceModel,
                validation: DeploymentValidation? = nil, audit: FleetAudit? = nil) {
        self.kind = kind
        self.heartbeat = heartbeat
        self.captures = captures
        self.model = model
        auditOnce = audit.map(FleetAuditOnce.init) ?? Self.auditLater(heartbeat, captures, model)
        self.validation = validation
    }

    /// The audit of `heartbeat`, to be worked out when first read.
    private static func auditLater(
        _ heartbeat: HeartbeatReport, _ captures: [CaptureSummary], _ model: ReferenceModel
    ) -> FleetAuditOnce {
        let merged = CaptureSummary.merged(captures)
        // The edges of the capture's own timeline (a stray packet far off is not its end).
        return FleetAuditOnce(report: heartbeat, model: model, captureStart: merged.timelineStart ?? merged.first,
                              captureEnd: merged.timelineEnd ?? merged.last)
    }

    /// The report in `format`; `palette` colours text only; `per` picks the rows of JSON Lines and CSV.
    public func render(_ format: ReportFormat, palette: Palette = .none,
                       per: ReportRows.Granularity = .checkin) throws -> String {
        switch format {
        case .text:
            switch kind {
            case .analyze: return AnalyzeReport(heartbeat: heartbeat, captures: captures).text(palette: palette)
            case .audit: return AuditText.render(self, palette: palette)
            case .validate: return ValidationText.render(self, palette: palette)
            }
        case .json:
            switch kind {
            case .analyze: return try AnalyzeReport(heartbeat: heartbeat, captures: captures).json()
            case .audit: return auditJSON().reportText()
            case .validate: return validationJSON().reportText()
            }
        case .jsonl:
            return ReportRows.jsonLines(rows(per))
        case .csv:
            return ReportRows.csv(rows(per), fields: per.fields)
        case .html:
            return HTMLReport(self).render()
        }
    }

    /// Hands the text of `render(format, palette:, per:)` to `sink` in pieces, in order.
    ///
    /// Text, HTML, JSON of `analyze`, JSON Lines and CSV are built a row (check-in, client, finding) at a
    /// time and handed over in pieces of about 64 KiB, so the whole text is never held; the JSON of
    /// `audit` and `validate` (a row per client or check) is rendered whole and handed over at once.
    /// `chunkSize` (bytes, 64 KiB unless given) is for tests that want many pieces.
    public func write(_ format: ReportFormat, palette: Palette = .none, per: ReportRows.Granularity = .checkin,
                      chunkSize: Int = 1 << 16, to sink: ([UInt8]) throws -> Void) throws {
        switch format {
        case .json where kind == .analyze:
            try AnalyzeReport(heartbeat: heartbeat, captures: captures).writeJSON(chunkSize: chunkSize, to: sink)
        case .text:
            try TextBytes.stream(chunkSize: chunkSize, to: sink) { out, flush in
                switch kind {
                case .analyze:
                    try AnalyzeReport(heartbeat: heartbeat, captures: captures)
                        .appendText(palette: palette, to: &out, flush: flush)
                case .audit: try AuditText.append(self, palette: palette, to: &out, flush: flush)
                case .validate: ValidationText.append(self, palette: palette, to: &out)
                }
            }
        case .html:
            try TextBytes.stream(chunkSize: chunkSize, to: sink) { out, flush in
                try HTMLReport(self).append(to: &out, flush: flush)
            }
        case .jsonl:
            var out: [UInt8] = []
            try eachRow(per) { row in
                row.append(to: &out)
                out.append(10)
                try flush(&out, over: chunkSize, to: sink)
            }
            try flush(&out, over: 0, to: sink)
        case .csv:
            var out: [UInt8] = []
            CSV.appendLine(per.fields, to: &out)
            try eachRow(per) { row in
                if case .object(let members) = row {
                    CSV.appendLine(members.map { _, value in ReportRows.csvText(value) }, to: &out)
                } else {
                    CSV.appendLine([], to: &out)
                }
                try flush(&out, over: chunkSize, to: sink)
            }
            try flush(&out, over: 0, to: sink)
        default:
            try sink(Array(try render(format, palette: palette, per: per).utf8))
        }
    }

    /// Hands `out` to `sink` and empties it (keeping its capacity) once it holds more than `limit` bytes.
    private func flush(_ out: inout [UInt8], over limit: Int, to sink: ([UInt8]) throws -> Void) throws {
        guard out.count > limit else { return }
        try sink(out)
        out.removeAll(keepingCapacity: true)
    }

    /// The rows of `rows(per)`, one at a time.
    private func eachRow(_ per: ReportRows.Granularity, _ body: (JSONValue) throws -> Void) throws {
        switch per {
        case .checkin: for s in heartbeat.sessions { try body(ReportRows.checkIn(s)) }
        case .client: for c in audit.clients { try body(ReportRows.client(c)) }
        case .check: for c in validation?.checks ?? [] { try body(ReportRows.check(c)) }
        }
    }

    public func rows(_ per: ReportRows.Granularity) -> [JSONValue] {
        switch per {
        case .checkin: return heartbeat.sessions.map(ReportRows.checkIn)
        case .client: return audit.clients.map(ReportRows.client)
        case .check: return (validation?.checks ?? []).map(ReportRows.check)
        }
    }

    /// Proxy tunnels whose `CONNECT` target was tied to no address (numeric but not dotted decimal, or no
    /// usable port), over every file: judged as connections to the proxy, so a check-in in one is in no
    /// client's row (the audit notes it under its fleet line; validate fails `capture-quality`).
    public var untiedTunnels: Int {
        captures.reduce(0) { $0 + $1.nonDecimalTunnelTargets + $1.unusableTunnelTargets }
    }

    // MARK: - JSON

    func fleetJSON() -> JSONValue {
        let s = audit.summary
        let e = heartbeat.expectations
        return .object([
            ("clients", .int(s.clients)),
            ("healthy", .int(s.healthy)),
            ("degraded", .int(s.degraded)),
            ("unhealthy", .int(s.unhealthy)),
            ("insufficient", .int(s.insufficient)),
        ] + (s.unobserved > 0 ? [("insufficientUnobserved", .int(s.unobserved))] : [])
          + (s.onlyAccelerated > 0 ? [("insufficientOnlyAccelerated", .int(s.onlyAccelerated))] : [])
          // Left out when no client was judged, as the text report leaves it out: 0 would read as 0 % healthy.
          + (s.noneJudged ? [] : [("healthyShare", .number(ReportRows.micro(s.healthyShare)))]) + [
            ("checkIns", .int(s.checkIns)),
            ("failed", .int(s.failed)),
        ] + (s.httpErrorCheckIns > 0 ? [("httpErrorCheckIns", .int(s.httpErrorCheckIns))] : [])
          + (s.refusedConnects > 0 ? [("refusedConnects", .int(s.refusedConnects))] : []) + [
            ("missed", .int(s.missed)),
        ] + (s.wentSilent > 0 ? [("wentSilent", .int(s.wentSilent))] : []) + [
            ("expectedPullSeconds", .number(e.pullIntervalSeconds)),
            ("expectedPushSeconds", .number(e.pushIntervalSeconds)),
        ] + (s.observedMedianGapSeconds.map { [
            ("observedMedianGapSeconds", .number($0)),
            ("observedGaps", .int(s.observedGaps)),
        ] } ?? []) + (s.observedPushMedianGapSeconds.map { [
            ("observedPushMedianGapSeconds", .number($0)),
            ("observedPushGaps", .int(s.observedPushGaps)),
        ] } ?? []) + (audit.observedMedianInAcceleratedRange ? [("observedMedianInAcceleratedRange", .bool(true))] : [])
            + [
            ("toleranceSeconds", .number(e.toleranceSeconds)),
            ("acceleratedMaxSeconds", .number(audit.acceleratedMaxSeconds)),
            ("acceleratedRunMaxSeconds", .number(audit.acceleratedRunMaxSeconds)),
        ] + (e.pushRulesDiffer ? [
            ("pushToleranceSeconds", .number(e.rules(for: .push).toleranceSeconds)),
            ("pushAcceleratedMaxSeconds", .number(e.rules(for: .push).acceleratedMaxSeconds)),
            ("pushAcceleratedRunMaxSeconds", .number(e.rules(for: .push).acceleratedRunMaxSeconds)),
        ] : []) + [
            ("intervalSource", .string(e.intervalSource)),
        ] + (s.allowance.map { [
            ("allowUnhealthy", .string($0.given.text)),
            ("allowedFailing", .int($0.clients)),
        ] } ?? []) + [
            ("verdict", .string(s.verdict)),
        ])
    }

    /// `periodicOtherServers`, the servers clients reached over TLS at the heartbeat interval whose connections
    /// are not judged (`HeartbeatReport.periodicOtherPorts`), as `analyze` writes it; no member when there are none.
    func periodicOtherServersMember() -> [(String, JSONValue)] {
        let servers = heartbeat.periodicOtherPorts
        guard !servers.isEmpty else { return [] }
        return [("periodicOtherServers", .array(servers.map { p in
            .object([
                ("address", .string(p.server.address.description)),
                ("addressIsManager", .bool(p.addressIsManager)),
                ("clients", .int(p.clients)),
                ("connections", .int(p.connections)),
                ("intervalSeconds", .number(p.intervalSeconds)),
                ("port", .int(Int(p.server.port))),
                ("portListed", .bool(p.portListed)),
                ("server", .string(p.server.description)),
            ])
        }))]
    }

    /// `sepbeat-audit/1`: fleet summary, clients worst first, captures, the fleet's notes (`fleetNotesMember`) and
    /// the servers of `periodicOtherServersMember` when there are any.
    func auditJSON() -> JSONValue {
        .object([
            ("schema", .string("sepbeat-audit/1")),
            ("fleet", fleetJSON()),
            ("clients", .array(audit.clients.map(Self.auditClientJSON))),
            ("captures", .array(captures.map(CaptureSummaryReport.json))),
        ] + fleetNotesMember() + periodicOtherServersMember())
    }

    /// `notes`: the fleet-wide findings `audit`'s text gives as notes (`Finding.isFleetNote`), in the order of
    /// `analyze`'s findings; no member when there are none.
    func fleetNotesMember() -> [(String, JSONValue)] {
        let notes = heartbeat.findings.filter(\.isFleetNote)
        guard !notes.isEmpty else { return [] }
        return [("notes", .array(notes.map { f in
            .object([("code", .string(f.code.rawValue)), ("severity", .string(f.severity.rawValue))]
                + (f.time.map { [("time", JSONValue.time($0))] } ?? []) + [("message", .string(f.message))])
        }))]
    }

    /// A client of `audit`'s JSON: its row (`ReportRows.client`), with the interval its gaps were judged against
    /// only when not the configured one (`judgedAgainstSeconds`, as `analyze` gives it; the rows' `null` left
    /// out), then its interval change when there is one (JSON only: a row's fields are fixed).
    static func auditClientJSON(_ c: FleetAudit.Client) -> JSONValue {
        let row = ReportRows.client(c)
        guard case .object(var members) = row else { return row }
        members.removeAll { key, value in key == "judgedAgainstSeconds" && value == .null }
        guard let change = c.intervalChange else { return .object(members) }
        func json(_ change: IntervalChange) -> JSONValue {
            .object(change.members.map { key, value in
                switch value {
                case .text(let s): return (key, .string(s))
                case .seconds(let d): return (key, .number(d))
                case .count(let n): return (key, .int(n))
                }
            })
        }
        // Every change only when there are several (as `analyze` gives them): one change reads as before.
        let all = c.intervalChanges.count >= 2 ? [("intervalChanges", JSONValue.array(c.intervalChanges.map(json)))]
            : []
        return .object(members + [("intervalChange", json(change))] + all)
    }

    /// `sepbeat-validate/1`: checks, verdict, fleet summary, captures, and `periodicOtherServersMember`.
    func validationJSON() -> JSONValue {
        let v = validation
        return .object([
            ("schema", .string("sepbeat-validate/1")),
            ("verdict", .string(v?.verdict ?? "pass")),
            ("failOn", .string(v?.failOn.rawValue ?? "error")),
            ("checks", .array((v?.checks ?? []).map { c in
                .object([
                    ("id", .string(c.id)),
                    ("title", .string(c.title)),
                    ("severity", .string(c.severity.rawValue)),
                    ("result", .string(c.result)),
                    ("failingClients", c.failingClientsJSON),
                    ("examples", .array(c.examples.map(JSONValue.string))),
                    ("detail", .string(c.detail)),
                ])
            })),
            ("fleet", fleetJSON()),
            ("captures", .array(captures.map(CaptureSummaryReport.json))),
        ] + periodicOtherServersMember())
    }
}

/// A `FleetAudit` made the first time it is read, once, whichever thread reads it first (renderers may read
/// it on several). A bundle whose audit is changed gets a new one (`ReportBundle.audit`'s setter), so a copy
/// of the bundle keeps what it had.
private final class FleetAuditOnce: Sendable {
    private enum State {
        case waiting(report: HeartbeatReport, model: ReferenceModel, captureStart: Timestamp?, captureEnd: Timestamp?)
        case made(FleetAudit)
    }

    private let state: PosixMutex<State>

    init(report: HeartbeatReport, model: ReferenceModel, captureStart: Timestamp?, captureEnd: Timestamp?) {
        state = PosixMutex(.waiting(report: report, model: model, captureStart: captureStart, captureEnd: captureEnd))
    }

    init(_ audit: FleetAudit) { state = PosixMutex(.made(audit)) }

    var value: FleetAudit {
        state.withLock { s in
            switch s {
            case .made(let audit):
                return audit
            case let .waiting(report, model, start, end):
                let audit = FleetAudit(report: report, model: model, captureStart: start, captureEnd: end)
                s = .made(audit)
                return audit
            }
        }
    }
}
