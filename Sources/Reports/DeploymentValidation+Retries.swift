import Core
import Heartbeat

extension DeploymentValidation {
    /// Names in the `connectivity` check the failures that were retried at once and answered
    /// (`retried-and-answered` warnings): they fail nothing, since each check-in was made, but a passed check
    /// shows how many there were and the first; a failed one adds the count to its detail.
    static func noteRetries(_ report: HeartbeatReport, into check: inout Check) {
        let retried = report.findings.filter { $0.code == .retriedAndAnswered }
        guard let first = retried.first else { return }
        let client = first.client.map { " (client \($0))" } ?? ""
        let note = "\(formatCount(retried.count, "failure")) retried at once and answered (warning); first\(client): "
            + first.message
        if check.passed {
            check.detail = "no failure left; " + note
            check.detailShownWhenPassed = true
        } else {
            check.detail += "; " + note
        }
    }
}
