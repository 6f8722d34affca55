import Analysis
import Heartbeat

extension ReportBundle {
    /// The report of `kind` as `sepbeat analyze`, `audit` or `validate` makes it: with `validate`'s checks for
    /// `.validate` (HTTPS expected unless `sylink` names only plain-HTTP ports for its managers), and with
    /// `failOn: .warning` (`--fail-on warning`) the verdicts printed following the exit status, a warning
    /// failing them too. For `.audit`, `allowUnhealthy` (`--allow-unhealthy`) lets the verdict pass with that
    /// many failing clients. `failed` then says whether the command's exit status would be 1.
    public static func command(
        _ kind: ReportKind, heartbeat: HeartbeatReport, captures: [CaptureSummary], model: ReferenceModel,
        sylink: SyLinkFile? = nil, failOn: Severity = .error, allowUnhealthy: FailingAllowance? = nil
    ) -> ReportBundle {
        var heartbeat = heartbeat
        if failOn == .warning, heartbeat.summary.verdict == "pass", heartbeat.summary.warnings > 0 {
            heartbeat.summary.verdict = "fail"
        }
        var bundle = ReportBundle(kind: kind, heartbeat: heartbeat, captures: captures, model: model)
        if failOn == .warning, bundle.audit.summary.verdict == "pass", bundle.audit.summary.degraded > 0 {
            bundle.audit.summary.verdict = "fail"
        }
        if kind == .audit, let allowUnhealthy { bundle.audit.allow(allowUnhealthy, failOn: failOn) }
        if kind == .validate {
            bundle.validation = bundle.deploymentChecks(expectHTTPS: expectsHTTPS(sylink), failOn: failOn)
        }
        return bundle
    }

    /// Whether the command's verdict fails at `failOn` (its exit status 1): for `analyze` an error finding (or a
    /// warning with `.warning`); for `audit` an unhealthy client, or no client judged at all (a degraded one
    /// with `.warning`; with an allowance, more failing clients than it allows); for `validate` a failed check of
    /// `failOn`'s severity or worse (of `validation`, as `command` sets it; made as the command makes it without
    /// SyLink.xml when the bundle has none). Ask with the `failOn` the bundle was made with: with `.warning` the
    /// printed verdicts follow it too.
    public func failed(failOn: Severity = .error) -> Bool {
        switch kind {
        case .analyze:
            let s = heartbeat.summary
            return s.errors > 0 || (failOn == .warning && s.warnings > 0)
        case .audit:
            let s = audit.summary
            if s.allowance != nil { return s.verdict == "fail" }
            return s.unhealthy > 0 || s.noneJudged || (failOn == .warning && s.degraded > 0)
        case .validate:
            // A bundle made without `command` has no checks yet: those the command would make without SyLink.xml.
            let checks = (validation ?? deploymentChecks(expectHTTPS: true, failOn: failOn)).checks
            return checks.contains { !$0.passed && $0.severity >= failOn }
        }
    }

    /// `validate`'s checks of this bundle's report, audit and captures.
    private func deploymentChecks(expectHTTPS: Bool, failOn: Severity) -> DeploymentValidation {
        DeploymentValidation(
            report: heartbeat, audit: audit, expectHTTPS: expectHTTPS, failOn: failOn, untiedTunnels: untiedTunnels,
            minimumTLS: model.tls.minimumVersion, truncatedPackets: captures.reduce(0) { $0 + $1.truncated })
    }

    /// HTTPS is expected unless SyLink.xml names only plain-HTTP ports for its managers.
    static func expectsHTTPS(_ sylink: SyLinkFile?) -> Bool {
        guard let servers = sylink?.servers, !servers.isEmpty else { return true }
        return servers.contains { $0.httpsPort != nil } || !servers.contains { $0.httpPort != nil }
    }
}
