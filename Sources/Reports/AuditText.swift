import Analysis
import Heartbeat

/// The text of `sepbeat audit`: capture summaries, expectations, the fleet summary, and one
/// row per client, worst first.
enum AuditText {
    static func render(_ b: ReportBundle, palette: Palette) -> String {
        String(decoding: TextBytes.gather { out, flush in append(b, palette: palette, to: &out, flush: flush) },
               as: UTF8.self)
    }

    /// Appends the report to `out`, calling `flush` after every client's row.
    static func append(_ b: ReportBundle, palette: Palette, to out: inout TextBytes,
                       flush: TextBytes.Flush) rethrows {
        out += CaptureSummaryReport.text(b.captures)
        out += "\n" + expectationsLine(b) + "\n"
        if let observed = observedLine(b) { out += observed + "\n" }
        let s = b.audit.summary
        // A share only when some client was judged (an insufficient one has too few check-ins to judge).
        let share = s.clients > s.insufficient ? " (\(Int((s.healthyShare * 100).rounded()))%)" : ""
        out += "Fleet: \(formatCount(s.clients, "client")) seen, \(s.healthy) healthy\(share), "
        // The two reasons counted apart, so that clients with two check-ins and every interval hidden are not
        // called "too few check-ins"; with no such client the bracket just says what insufficient means.
        var why = "too few check-ins"
        if s.unobserved > 0 || s.onlyAccelerated > 0 {
            let few = s.insufficient - s.unobserved - s.onlyAccelerated
            why = ((few > 0 ? ["\(few) with too few check-ins"] : [])
                + (s.unobserved > 0 ? ["\(s.unobserved) with no interval observed"] : [])
                + (s.onlyAccelerated > 0 ? ["\(s.onlyAccelerated) with accelerated gaps only"] : []))
                .joined(separator: ", ")
        }
        out += "\(s.degraded) degraded, \(s.unhealthy) unhealthy, \(s.insufficient) insufficient (\(why)); "
        out += "\(formatCount(s.checkIns, "check-in")), \(s.failed) \(failedWhat), \(answeredWithErrors(s)), "
        out += "\(formatCount(s.refusedConnects, "connect")) refused, \(s.missed) missed\n"
        if s.wentSilent > 0 {
            // Who stopped checking in while the others went on: named, as the fleet's first question.
            let names = b.heartbeat.wentSilent.prefix(AuditText.silentNamed).map(\.client.description)
            let more = s.wentSilent > names.count ? " and \(s.wentSilent - names.count) more" : ""
            out += "Gone silent: \(formatCount(s.wentSilent, "client")) stopped checking in while the others went on "
            out += "(\(names.joined(separator: ", "))\(more)): went-silent, "
            out += severityPhrase(b.model.severity(of: .wentSilent)) + "\n"
        }
        if let hint = AnalyzeReport.noManagerHint(b.heartbeat, snapCut: b.captures.contains { $0.truncated > 0 }) {
            out += hint
        }
        if let hint = acceleratedFleetHint(b) { out += hint }
        if let hint = AnalyzeReport.turnTakingHint(b.heartbeat) { out += hint }
        if let hint = AnalyzeReport.unconfiguredDownHint(b.heartbeat) { out += hint }
        if let hint = AnalyzeReport.unlistedPortsHint(b.heartbeat) { out += hint }
        if let hint = AnalyzeReport.periodicOtherPortsHint(b.heartbeat) { out += hint }
        if let hint = AnalyzeReport.periodicListedPortsHint(b.heartbeat) { out += hint }
        if b.untiedTunnels > 0 {
            // Their clients' check-ins went to the proxy as far as the audit knows: in no row, unless the proxy was
            // taken for a manager (plain HTTP in absolute form), and then as check-ins to it, not to their target.
            out += "Note: \(formatCount(b.untiedTunnels, "proxy connection")) whose target (CONNECT or absolute-form) "
            out += "is tied to no address (numeric but not dotted decimal, or no usable port; the odd: line counts "
            out += "them) are judged as "
            out += "connections to the proxy: "
            out += AnalyzeReport.untiedTunnelRows(b.heartbeat, of: b.untiedTunnels) + "\n"
        }
        for f in CaptureSummary.clocksSetForward(b.captures) {
            out += "Note: \(f.path) has no packets from \(f.silence.start.rfc3339(fractionDigits: 3)) for "
            out += "\(formatSpan(nanoseconds: f.silence.nanoseconds)) while the other files' went on, and runs on "
            out += "\(formatSpan(nanoseconds: f.runsOn)) after them: its clock may have been set forward; its "
            out += "clients' intervals across it are judged as if it had run\n"
        }
        // A pause inside the capture across which every client missed: it may have stopped there.
        // And an instant across which every client was late (or early) by about the same time: the sensor's clock.
        // Then many clients changing their interval near the same time: a policy change, said once for the fleet.
        for code in [FindingCode.captureGap, .intervalChange] {
            for f in b.heartbeat.findings where f.code == code && f.isFleetNote {
                out += "Note: \(f.message)\n"
            }
        }
        out += "Health and score judge the intervals between check-ins only; HTTP errors, TLS, transport and\n"
        out += "sizes are checked by 'sepbeat analyze' and 'sepbeat validate'.\n"
        if !b.audit.clients.isEmpty {
            out += "\nClients, worst first (interval statistics in seconds over regular gaps; accelerated gaps"
            out += " are left out of them)\n"
            try appendClientTable(b.audit, palette: palette, to: &out, flush: flush)
        }
        let verdict = palette.paint(s.verdict, Palette.colour(verdict: s.verdict))
        out += "\nVerdict: \(verdict) (\(s.verdictReason))\n"
    }

    /// Clients the `Gone silent:` line names; its count gives the rest.
    static let silentNamed = 5

    /// What the fleet line's and the HTML tile's `failed` counts: check-ins with no answer, not those answered with
    /// an error, nor the connects refused before a failover (counted beside it).
    static let failedWhat = "failed (no connect, TLS handshake or answer)"

    /// `1 answered with an HTTP error`, `0 answered with HTTP errors`.
    static func answeredWithErrors(_ s: FleetAudit.Summary) -> String {
        "\(s.httpErrorCheckIns) answered with " + (s.httpErrorCheckIns == 1 ? "an HTTP error" : "HTTP errors")
    }

    /// `a warning`, as the line of clients gone silent gives the severity the model sets for `went-silent`.
    static func severityPhrase(_ severity: Severity) -> String {
        switch severity {
        case .error: return "an error"
        case .warning: return "a warning"
        case .info: return "for information"
        }
    }

    /// `Expected interval 600 s (from sylink) ± 60 s, accelerated 0-120 s for at most 300 s; push 300 s ± 30 s,
    /// accelerated 0-60 s for at most 300 s`: each mode with its own tolerance and accelerated range, the push one
    /// said to be the same when its rules, derived from the push interval, are the pull interval's.
    static func expectationsLine(_ b: ReportBundle) -> String { expectationsLine(b.heartbeat.expectations) }

    /// The expectations line of `e`, as `analyze`'s text heads its report with it too.
    static func expectationsLine(_ e: HeartbeatReport.Expectations) -> String {
        let push = e.rules(for: .push)
        let pushRules = e.pushRulesDiffer
            ? " ± \(num(push.toleranceSeconds)) s, accelerated 0-\(num(push.acceleratedMaxSeconds)) s for at most "
                + "\(num(push.acceleratedRunMaxSeconds)) s"
            : ", the same tolerance and accelerated range"
        return "Expected interval \(num(e.pullIntervalSeconds)) s (from \(e.intervalSource)) ± "
            + "\(num(e.toleranceSeconds)) s, accelerated 0-\(num(e.acceleratedMaxSeconds)) s for at most "
            + "\(num(e.acceleratedRunMaxSeconds)) s; push \(num(e.pushIntervalSeconds)) s" + pushRules
    }

    /// `Observed median gap 299.982 s (2,011 gaps between a client's check-ins, accelerated ones included)`, under
    /// the expected interval so that the expected one is not read as measured; nil when no gap was observed. It is
    /// the median of pull gaps, judged against the pull interval; push gaps, when there are any, get their own
    /// (`; push 300.2 s (1,200 gaps)`), or the whole line when there is no pull gap.
    static func observedLine(_ b: ReportBundle) -> String? {
        let s = b.audit.summary
        let included = "accelerated ones included)"
        guard let median = s.observedMedianGapSeconds else {
            guard let push = s.observedPushMedianGapSeconds else { return nil }
            return "Observed median gap: push \(num(push)) s (\(formatCount(s.observedPushGaps, "gap")) between a "
                + "client's push check-ins, " + included
        }
        let push = s.observedPushMedianGapSeconds.map {
            "; push \(num($0)) s (\(formatCount(s.observedPushGaps, "gap")))"
        }
        return "Observed median gap \(num(median)) s (\(formatCount(s.observedGaps, "gap")) between a client's "
            + (push == nil ? "check-ins, " : "pull check-ins, ") + included + (push ?? "")
    }

    /// When the fleet's median gap is in the accelerated range of the interval expected, the clients most likely run
    /// a shorter one (a live capture of clients every 20 s judged against the model's 300 s): which interval to give.
    static func acceleratedFleetHint(_ b: ReportBundle) -> String? {
        guard b.audit.observedMedianInAcceleratedRange, let median = b.audit.summary.observedMedianGapSeconds else {
            return nil
        }
        let e = b.heartbeat.expectations
        // An interval the option takes (from 10 s): a shorter median gap is a storm rather than a timer.
        let whole = median.rounded()
        let example = whole >= ReferenceModel.minIntervalSeconds ? " (here --interval \(num(whole)))" : ""
        return "Hint: the fleet's median gap, \(num(median)) s, is in the accelerated range (0-"
            + "\(num(b.audit.acceleratedMaxSeconds)) s) of the expected \(num(e.pullIntervalSeconds)) s interval (from "
            + "\(e.intervalSource)): if the clients run a shorter interval, give it with --interval SECONDS"
            + example + ", or give the SyLink.xml that sets it with --sylink\n"
    }


    /// Clients worst first, one row each: measured in a first pass over the clients, written in a second.
    static func appendClientTable(_ audit: FleetAudit, palette: Palette, to out: inout TextBytes,
                                  flush: TextBytes.Flush) rethrows {
        var t = TextColumns([
            ("client", .left), ("health", .left), ("score", .right), ("mode", .left), ("check-ins", .right),
            ("failed", .right), ("missed", .right), ("late", .right), ("early", .right), ("accel gaps (runs)", .right),
            ("median", .right), ("MAD", .right), ("IQR", .right), ("p5", .right), ("p95", .right),
            ("drift s/h", .right), ("expected", .right), ("why", .left),
        ])
        for c in audit.clients { t.measure(clientRow(c)) }
        t.appendHead(indent: "  ", to: &out.bytes)
        for c in audit.clients {
            t.appendRow(clientRow(c), indent: "  ", style: { column, text in
                column == 1 ? palette.paint(text, Palette.colour(for: c.health)) : text
            }, to: &out.bytes)
            try flush(&out)
        }
    }

    private static func clientRow(_ c: FleetAudit.Client) -> [String] {
        let s = c.spread
        return [
            c.client.description, c.health.rawValue, c.score.map(String.init) ?? "-", c.mode.rawValue,
            String(c.checkIns), String(c.failed), String(c.missed), String(c.late), String(c.early),
            c.accelerated == 0 ? "0" : "\(c.accelerated) (\(c.acceleratedRuns))",
            opt(s?.median), opt(s?.mad), opt(s?.iqr), opt(s?.p5), opt(s?.p95),
            c.driftSecondsPerHour.map { formatFixed($0, digits: 2) } ?? "-",
            num(c.expectedIntervalSeconds) + (c.matchesExpected == false ? " !" : ""),
            c.reasons.joined(separator: ", "),
        ]
    }

    /// Seconds with three decimals, or `-`.
    static func opt(_ v: Double?) -> String { v.map { formatFixed($0, digits: 3) } ?? "-" }

    /// Up to `digits` decimals, no trailing zeros.
    static func num(_ v: Double, digits: Int = 3) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let r = (v * scale).rounded() / scale
        if r == r.rounded(), abs(r) < 1e15 { return String(Int64(r)) }
        return String(r)
    }
}

/// The text of `sepbeat validate`: one line per check with pass/fail, counts and example clients.
enum ValidationText {
    static func render(_ b: ReportBundle, palette: Palette) -> String {
        String(decoding: TextBytes.gather { out, _ in append(b, palette: palette, to: &out) }, as: UTF8.self)
    }

    /// Appends the report to `out`; it is short (a line per check), so it needs no flush.
    static func append(_ b: ReportBundle, palette: Palette, to out: inout TextBytes) {
        out += CaptureSummaryReport.text(b.captures)
        out += "\n" + AuditText.expectationsLine(b) + "\n"
        if let observed = AuditText.observedLine(b) { out += observed + "\n" }
        if let hint = AuditText.acceleratedFleetHint(b) { out += hint }
        guard let v = b.validation else { return }
        out += "\nChecks (a failed \(v.failOn == .error ? "error" : "error or warning") check fails the deployment)\n"
        var t = TextTable([("result", .left), ("severity", .left), ("check", .left), ("failing clients", .right),
                           ("examples", .left), ("passes when", .left)])
        for c in v.checks {
            // check-ins-seen is not judged per client: its row says what was seen instead; a check that
            // could not be made says why; a pass that rests on less than usual says on what.
            let what = !c.checked ? c.detail
                : c.failedWithoutClients || (c.passed && c.detailShownWhenPassed) ? "\(c.title): \(c.detail)"
                : c.title
            t.append([c.passed ? c.result : "FAIL", c.severity.rawValue, c.id,
                      c.failedWithoutClients ? "-" : String(c.failingClients),
                      c.examples.isEmpty ? "-" : c.examples.joined(separator: " "), what])
        }
        let checks = v.checks
        out += t.render(indent: "  ") { row, column, text in
            guard row < checks.count else { return text }
            let c = checks[row]
            switch column {
            case 0:
                guard c.checked else { return palette.paint(text, .dim) }
                return palette.paint(text, c.passed ? .green : Palette.colour(for: c.severity))
            case 1: return c.passed ? text : palette.paint(text, Palette.colour(for: c.severity))
            default: return text
            }
        }
        let failed = v.checks.filter { !$0.passed }
        if !failed.isEmpty {
            out += "\nDetails of failed checks\n"
            for c in failed { out += "  \(c.id): \(TextTable.sanitize(c.detail))\n" }
        }
        // With no connection to a manager at all, the check-ins-seen check fails; the ports hint still says why.
        let ports = AnalyzeReport.unlistedPortsHint(b.heartbeat)
            ?? (b.heartbeat.unlistedPorts.isEmpty ? nil : AnalyzeReport.noManagerHint(b.heartbeat))
        let notes = [AnalyzeReport.turnTakingHint(b.heartbeat), AnalyzeReport.unconfiguredDownHint(b.heartbeat), ports,
                     AnalyzeReport.periodicOtherPortsHint(b.heartbeat),
                     AnalyzeReport.periodicListedPortsHint(b.heartbeat)].compactMap { $0 }
        if !notes.isEmpty { out += "\n" + notes.joined() }
        let verdict = palette.paint(v.verdict, Palette.colour(verdict: v.verdict))
        out += "\nVerdict: \(verdict) (" + verdictCounts(v) + ")\n"
    }

    /// `11 of 12 checks passed; failed: 1 error check, 0 warning checks; 1 client with check-ins`.
    static func verdictCounts(_ v: DeploymentValidation) -> String {
        let failed = v.checks.filter { !$0.passed }
        let errors = failed.filter { $0.severity == .error }.count
        let unchecked = v.checks.count { !$0.checked }
        return "\(v.checks.count - failed.count - unchecked) of \(formatCount(v.checks.count, "check")) passed"
            + (unchecked > 0 ? ", \(unchecked) not checked" : "") + "; failed: "
            + "\(formatCount(errors, "error check")), \(formatCount(failed.count - errors, "warning check")); "
            + "\(formatCount(v.clients, "client")) with check-ins"
    }
}

extension Finding {
    /// A finding about the whole fleet that `audit` gives as a note (its text) and in `notes` (its JSON): time the
    /// capture did not cover (between its files, an interface down) and steps back of its clock, whose intervals
    /// were not judged; a pause across which every client missed (the capture may have stopped), an instant across
    /// which every client was late or early alike (the sensor's clock), and a policy change (many clients changing
    /// their interval).
    var isFleetNote: Bool {
        switch code {
        case .captureGap:
            // Time the capture did not cover (a rotated file missing), a step of its clock, a pause across which
            // every client missed check-ins: what the fleet's intervals were judged around, said under its line.
            return client == nil && [SessionBuilder.stopPrefix, SessionBuilder.clockShiftPrefix,
                                     SessionBuilder.silencePrefix, SessionBuilder.setBackPrefix]
                .contains { message.hasPrefix($0) }
        case .intervalChange:
            return client == nil
        default:
            return false
        }
    }
}
