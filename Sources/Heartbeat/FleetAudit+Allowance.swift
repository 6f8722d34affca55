/// How many failing clients a fleet's audit may have and still pass (`audit --allow-unhealthy`): a count, or a
/// percentage of the clients judged. A fleet of thousands always has a laptop asleep somewhere; a daily check
/// that fails for one client fails every day and is soon ignored.
public enum FailingAllowance: Hashable, Sendable {
    case clients(Int)
    case percent(Double)

    /// The clients allowed to fail of `judged` (a percentage rounded down: 1% of 150 is 1).
    public func clients(outOf judged: Int) -> Int {
        switch self {
        case .clients(let n): return n
        case .percent(let p): return Int((Double(judged) * p / 100).rounded(.down))
        }
    }

    /// An allowance as a fleet's verdict applied it.
    public struct Applied: Hashable, Sendable {
        public var given: FailingAllowance
        /// The clients it allows to fail, of those judged.
        public var clients: Int
        /// Whether degraded clients count as failing (`--fail-on warning`), not only unhealthy ones.
        public var withDegraded: Bool
    }

    /// `3`, `1.5%`: as the option takes it.
    public var text: String {
        switch self {
        case .clients(let n): return String(n)
        case .percent(let p): return formatSeconds(p) + "%"
        }
    }
}

extension FleetAudit {
    /// Passes the verdict when some client was judged and the failing ones are at most `allowance` allows:
    /// the unhealthy clients, and with `failOn: .warning` the degraded ones too. No client judged still fails.
    public mutating func allow(_ allowance: FailingAllowance, failOn: Severity) {
        let judged = summary.clients - summary.insufficient
        let allowed = allowance.clients(outOf: judged)
        summary.allowance = FailingAllowance.Applied(given: allowance, clients: allowed,
                                                     withDegraded: failOn == .warning)
        let failing = summary.unhealthy + (failOn == .warning ? summary.degraded : 0)
        summary.verdict = summary.noneJudged || failing > allowed ? "fail" : "pass"
    }
}
