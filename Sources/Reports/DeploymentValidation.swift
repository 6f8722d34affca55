import Core
import Heartbeat

/// The deployment verdict of `sepbeat validate`: a fixed list of checks, each passed or failed,
/// with the clients that failed it.
///
/// Every check reads the heartbeat report's findings and sessions and the fleet audit; none
/// looks at packets. A failed check's severity decides whether it fails the verdict: with the
/// default threshold only `error` checks do; `failOn: .warning` makes warnings fail it too.
public struct DeploymentValidation: Sendable {
    public struct Check: Sendable {
        /// Stable id (`manager-priority`, `transport`, ...).
        public var id: String
        /// What was checked, one line.
        public var title: String
        public var severity: Severity
        /// True for a check that could not be made (`checked` false): it fails nothing.
        public var passed: Bool
        /// False when the input holds nothing to check against (e.g. no manager priorities known);
        /// `detail` says why.
        public var checked = true
        /// Clients that failed the check.
        public var failingClients: Int
        /// Up to three of them, addresses as text.
        public var examples: [String]
        /// Counts or the first message, one line.
        public var detail: String
        /// The text report shows `detail` beside a passed check too (it says what the pass rests on).
        public var detailShownWhenPassed = false

        /// No client count to show: `check-ins-seen` is not judged per client, and a check that failed with no
        /// client failing (no client judged, connections dropped by limits, findings tied to no client) failed
        /// for the reason its detail gives, which the text shows in place of the pass condition.
        public var failedWithoutClients: Bool { id == "check-ins-seen" || (!passed && failingClients == 0) }

        /// `failingClients` as every format gives it: `null` (`-` in text and HTML, an empty CSV cell) when
        /// `failedWithoutClients`, as no count of clients applies, else the count.
        public var failingClientsJSON: JSONValue { failedWithoutClients ? .null : .int(failingClients) }

        /// `pass`, `fail` or `n/a` (not checked), as every format prints it.
        public var result: String { !checked ? "n/a" : passed ? "pass" : "fail" }
    }

    public var checks: [Check]
    public var failOn: Severity
    /// Clients with at least one check-in (set up: a client whose every connect failed has none).
    public var clients: Int

    /// `fail` when a failed check has at least `failOn` severity.
    public var verdict: String {
        checks.contains { !$0.passed && $0.severity >= failOn } ? "fail" : "pass"
    }

    public var exitStatus: Int32 { verdict == "fail" ? 1 : 0 }

    /// - Parameters:
    ///   - expectHTTPS: false when the configuration names only plain-HTTP ports (HTTP then passes).
    ///   - untiedTunnels: proxy tunnels whose `CONNECT` target could be tied to no address (a numeric target
    ///     not in dotted decimal, or one without a usable port): judged as connections to the proxy, so their
    ///     check-ins are in no check; `capture-quality` fails (a warning) and says how many.
    ///   - minimumTLS: the model's minimum TLS version (`tls.minimumVersion`), named in `tls-version`'s title.
    ///   - truncatedPackets: packets of the captures cut by the snap length. With no check-in set up there is no
    ///     connection for a `capture-truncated` finding to name, yet the cut may be why none was (a proxied
    ///     capture cut before the `CONNECT`'s first bytes): `capture-quality` fails and says how many.
    public init(report: HeartbeatReport, audit: FleetAudit, expectHTTPS: Bool = true, failOn: Severity = .error,
                untiedTunnels: Int = 0, minimumTLS: String = "1.2", truncatedPackets: Int = 0) {
        self.failOn = failOn
        self.clients = report.clients.count { $0.checkIns > 0 }
        var checks: [Check] = []
        func fromFindings(_ id: String, _ title: String, _ severity: Severity, _ codes: [FindingCode]) {
            let hits = report.findings.filter { codes.contains($0.code) }
            let clients = Self.clientsOf(hits.compactMap(\.client))
            var detail = "no finding"
            if let first = hits.first {
                let client = first.client.map { " (client \($0))" } ?? ""
                detail = "\(formatCount(hits.count, "finding")); first: \(first.code.rawValue)\(client): "
                    + first.message
            }
            // The client the detail names comes first among the examples, the others by address.
            var examples = clients
            if let named = hits.first?.client?.description, let at = examples.firstIndex(of: named), at > 0 {
                examples.insert(examples.remove(at: at), at: 0)
            }
            checks.append(Check(id: id, title: title, severity: severity, passed: hits.isEmpty,
                                failingClients: clients.count, examples: Array(examples.prefix(3)), detail: detail))
        }
        let seen = report.sessions.contains { !$0.failed }
        /// A check of what check-ins carry (transport, sizes, answers, managers reached): with no check-in set
        /// up there is nothing to judge, so `n/a` unless a finding fails it, not a pass that says nothing.
        func fromCheckIns(_ id: String, _ title: String, _ severity: Severity, _ codes: [FindingCode]) {
            fromFindings(id, title, severity, codes)
            guard !seen, let i = checks.indices.last, checks[i].passed else { return }
            checks[i].checked = false
            checks[i].detail = "not checked: no check-in was set up"
        }

        checks.append(Check(
            id: "check-ins-seen", title: "the capture holds check-ins to a manager", severity: .error,
            passed: seen, failingClients: 0, examples: [],
            detail: "\(formatCount(report.summary.checkIns, "check-in")) from "
                + formatCount(report.summary.clients, "client")
                + (report.summary.failed > 0
                    ? ", \(report.summary.failed) failed (connect, TLS handshake or answer failed)" : "")))
        checks.append(Self.priorityCheck(report))
        fromCheckIns("failover", "no check-in needed failover to another manager", .warning, [.failover])
        if let i = checks.indices.last, !checks[i].passed {
            // The connect that failed before a failover is a finding of its own, which `connectivity` judges.
            checks[i].detail += "; the connect that failed before each failover fails the error check connectivity too"
        }
        fromFindings("connectivity", "every connect to a manager set up in time and answered",
                     .error, [.connectFailed, .connectTimeout, .tlsHandshakeFailed, .noAnswer, .answerCutShort])
        if let i = checks.indices.last { Self.noteRetries(report, into: &checks[i]) }
        if expectHTTPS {
            fromCheckIns("transport", "check-ins use HTTPS", .error, [.plaintextHTTP])
        }
        fromFindings("tls-version", "TLS \(minimumTLS) or later (the model's minimum)", .error,
                     FindingCode.tlsBelowMinimum)
        if let i = checks.indices.last { Self.noteTLSVersionSources(report, into: &checks[i]) }
        fromCheckIns("http-status", "managers answered without HTTP errors", .error, [.httpError])
        checks.append(Self.intervalCheck(
            audit, health: .unhealthy, id: "interval", severity: .error,
            title: "no missed or failed check-ins, interval mismatch or long heartbeat storm"))
        checks.append(Self.intervalCheck(audit, health: .degraded, id: "interval-jitter", severity: .warning,
                                         title: "check-ins on time (no late or early gaps, no heartbeat storm)"))
        // A client switched off goes silent too: a warning, not an error.
        fromFindings("silent-clients", "no client stopped checking in while the others went on", .warning,
                     [.wentSilent])
        fromCheckIns("sizes", "check-in sizes within the model's ranges", .warning,
                     [.idleSizeOutOfRange, .heartbeatOversize, .uploadOverCap])
        fromCheckIns("known-managers", "check-ins only to configured managers", .warning, [.unknownServer])
        fromFindings("capture-quality", "the capture is complete (no gaps or truncation)", .warning,
                     [.captureGap, .captureTruncated])
        // What else makes the capture-quality check (the last) fail: its reason first, then the findings' detail.
        func failCaptureQuality(_ reason: String) {
            guard let i = checks.indices.last else { return }
            let findings = checks[i].passed ? "" : "; " + checks[i].detail
            checks[i].passed = false
            checks[i].detail = reason + findings
        }
        if !seen, truncatedPackets > 0, checks.last?.passed == true {
            failCaptureQuality("\(formatCount(truncatedPackets, "packet")) cut by the snap length and no check-in set "
                + "up: what the cut packets held could not be read (capture whole packets: tcpdump -s 0)")
        }
        // Connections the heartbeat layer's limits left out make the analysis incomplete too.
        if report.counts.droppedByLimits > 0 {
            let why = report.limitDrops.map { " (" + $0.text + ")" } ?? ""
            failCaptureQuality("\(formatCount(report.counts.droppedByLimits, "connection")) to management ports "
                + "dropped by limits\(why), left out of every check")
        }
        if untiedTunnels > 0 {
            failCaptureQuality("\(formatCount(untiedTunnels, "proxy connection")) whose target (CONNECT or "
                + "absolute-form) is tied to no address (numeric but not dotted decimal, or no usable port), "
                + "judged as connections to the proxy: " + Self.untiedTunnelChecks(report, of: untiedTunnels))
        }
        self.checks = checks
    }

    /// What the checks make of the check-ins in `untied` tunnels whose target is tied to no address: left out, or,
    /// those filed to a proxy taken for a manager, judged as check-ins to it.
    static func untiedTunnelChecks(_ report: HeartbeatReport, of untied: Int) -> String {
        let toManagers = min(report.counts.untiedTunnelsToManagers, untied)
        if toManagers == 0 { return "check-ins in them, if any, are left out of every check" }
        let which = toManagers == untied ? "all of them" : "\(toManagers) of them"
        let rest = toManagers == untied ? "" : "; the others', if any, are left out of every check"
        return "\(which) went to a proxy taken for a manager, and check-ins in them are judged as check-ins to the "
            + "proxy, not to their target\(rest)"
    }

    /// Says in the `tls-version` check where the versions judged came from. Nothing to judge without a
    /// check-in over TLS (all plain HTTP, or none at all) or when no TLS check-in's version is known
    /// (handshakes not captured and no application-data record with a real record-layer version framed): `n/a`.
    private static func noteTLSVersionSources(_ report: HeartbeatReport, into check: inout Check) {
        var tls = 0
        var hello = 0
        var recordLayer = 0
        var belowHello = 0
        // Record-layer versions read from one direction while the other's records carried an implausible one.
        var oneSided = 0
        var oneSidedExample: String?
        for s in report.sessions where !s.failed && s.transport == .https {
            tls += 1
            if let side = s.tlsImplausibleRecordSide {
                oneSided += 1
                if oneSidedExample == nil { oneSidedExample = side }
            }
            switch s.tlsVersionSource {
            case .hello: hello += 1
            case .recordLayer: recordLayer += 1
            case .recordLayerBelowHello: belowHello += 1
            case .unknown: break
            }
        }
        let unknown = tls - hello - recordLayer - belowHello
        // Why a record-layer version may be less sure than it looks: the other direction wrote nonsense.
        let oneSidedNote = oneSidedExample.map {
            " (\(oneSided) of them from one direction only: the other's application-data records carried a "
                + "version no TLS stack writes, e.g. \($0))"
        } ?? ""
        guard check.passed else {
            if recordLayer > 0 {
                check.detail += "; \(formatCount(recordLayer, "check-in")) with the version from the record layer only"
                    + oneSidedNote
            }
            if belowHello > 0 {
                check.detail += "; \(formatCount(belowHello, "check-in")) with the version from the record layer, "
                    + "below the hellos'"
            }
            // As a passing check says it: the check-ins whose version is unknown were not judged either way.
            if unknown > 0 { check.detail += "; \(unknown) unknown, not judged" }
            return
        }
        if tls == 0 {
            check.checked = false
            check.detail = "not checked: no check-in over TLS"
        } else if hello + recordLayer + belowHello == 0 {
            check.checked = false
            check.detail = "not checked: the TLS version of none of \(formatCount(tls, "check-in")) is known "
                + "(no hello seen, no application-data record with a real record-layer version framed)"
        } else if recordLayer > 0 || belowHello > 0 || unknown > 0 {
            var parts: [String] = []
            if hello > 0 { parts.append("\(hello) from a hello") }
            if recordLayer > 0 { parts.append("\(recordLayer) from the record layer only" + oneSidedNote) }
            if belowHello > 0 { parts.append("\(belowHello) from the record layer, below the hellos'") }
            if unknown > 0 { parts.append("\(unknown) unknown, not judged") }
            check.detail = "no finding; TLS versions of \(formatCount(tls, "check-in")): "
                + parts.joined(separator: ", ")
            check.detailShownWhenPassed = true
        }
    }

    /// Clients whose check-ins reached a manager of worse priority than the best one any client reached.
    private static func priorityCheck(_ report: HeartbeatReport) -> Check {
        let title = "check-ins reached the highest-priority manager seen answering in the capture"
        var priority: [String: Int] = [:]
        for m in report.managers { if let p = m.priority { priority[m.address] = p } }
        // Check-ins that reached a manager, read in place (not gathered): the best priority, then the worse.
        var best: Int?
        for s in report.sessions where !s.failed {
            if let p = priority[s.server.description] { best = min(best ?? p, p) }
        }
        guard let best else {
            // Priorities given (SyLink or model) but no check-in reached one of those managers: say so, rather
            // than asking for the --sylink the user already gave.
            let named = priority.keys.sorted()
            let detail = named.isEmpty
                ? "not checked: no manager priorities known (give --sylink or a model with servers)"
                : "not checked: no check-in reached any of the \(formatCount(named.count, "manager")) with a "
                    + "priority (\(named.prefix(3).joined(separator: ", "))\(named.count > 3 ? ", ..." : ""))"
            return Check(id: "manager-priority", title: title, severity: .error, passed: true, checked: false,
                         failingClients: 0, examples: [], detail: detail)
        }
        var worse: [IPAddress: Int] = [:]
        // The first check-in in time that reached a worse manager, and the first that reached a best one: named in
        // the detail (the client and the manager), as the other checks name their first finding's.
        var first: SessionReport?
        var bestFirst: SessionReport?
        for s in report.sessions where !s.failed {
            guard let p = priority[s.server.description] else { continue }
            if p > best {
                worse[s.client, default: 0] += 1
                if first.map({ s.start < $0.start }) ?? true { first = s }
            } else if p == best, bestFirst.map({ s.start < $0.start }) ?? true {
                bestFirst = s
            }
        }
        var clients = worse.keys.sorted().map(\.description)
        var detail = "all check-ins reached priority \(best)"
        if let first, let bestFirst {
            let named = first.client.description
            // The client the detail names comes first among the examples, the others by address.
            if let at = clients.firstIndex(of: named) { clients.insert(clients.remove(at: at), at: 0) }
            detail = "\(formatCount(worse.values.reduce(0, +), "check-in")) reached a manager of lower priority than "
                + "\(best); first (client \(named)): \(first.start.rfc3339(fractionDigits: 3)) to "
                + "\(first.server) (priority \(priority[first.server.description] ?? best)); the "
                + "priority-\(best) manager \(bestFirst.server) answered other check-ins in this capture"
        }
        return Check(id: "manager-priority", title: title, severity: .error, passed: worse.isEmpty,
                     failingClients: clients.count, examples: Array(clients.prefix(3)), detail: detail)
    }

    private static func intervalCheck(_ audit: FleetAudit, health: FleetAudit.Health, id: String,
                                      severity: Severity, title: String) -> Check {
        // `interval`: the unhealthy clients. `interval-jitter`: every client with late or early gaps, a heartbeat
        // storm or a low periodicity score, unhealthy ones too (its detail gives those reasons only). Both worst
        // first, in the audit's order, the examples too: the first is the one the detail names.
        let bad = health == .unhealthy ? audit.clients.filter { $0.health == .unhealthy }
            : audit.clients.filter { !$0.jitter.isEmpty }
        var detail = "\(formatCount(audit.summary.clients, "client")) audited"
        if let first = bad.first {
            detail = "\(formatCount(bad.count, "client")); worst: \(first.client): "
                + (health == .unhealthy ? first.reasons : first.jitter).joined(separator: ", ")
        }
        let names = bad.map(\.client.description)
        var check = Check(id: id, title: title, severity: severity, passed: bad.isEmpty, failingClients: bad.count,
                          examples: Array(names.prefix(3)), detail: detail)
        // Clients seen but none judged (each with fewer than two check-ins): the audit's verdict fails, and so
        // does `interval`; `interval-jitter` has nothing to check. No client at all fails `check-ins-seen`;
        // neither interval check has anything to check then.
        let summary = audit.summary
        if summary.clients == 0 {
            check.checked = false
            check.detail = "not checked: no client seen"
        } else if summary.noneJudged {
            if health == .unhealthy {
                check.passed = false
                check.detail = summary.verdictReason
            } else {
                check.checked = false
                check.detail = "not checked: no client judged"
            }
        }
        return check
    }

    private static func clientsOf(_ addresses: [IPAddress]) -> [String] {
        Set(addresses).sorted().map(\.description)
    }
}
