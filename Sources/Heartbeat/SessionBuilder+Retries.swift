import Core

// MARK: - Failed check-ins retried at once

extension SessionBuilder {
    /// How long after a failed exchange a retry still belongs to its check-in: `checkIn.retryWindowSeconds`,
    /// but less than half the shorter of the pull and push intervals less the tolerance, so that the client's
    /// next regular check-in is never taken for a retry.
    var retryWindowSeconds: Double {
        let shortest = min(model.interval.seconds, pushInterval) - model.interval.toleranceSeconds
        return max(0, min(model.checkIn.retryWindowSeconds, shortest / 2))
    }

    /// Folds each of one client's check-ins that failed for want of an answer (`no-answer`,
    /// `tls-handshake-failed`, `answer-cut-short`: the connection was set up, then reset or closed unanswered
    /// or in the middle of the answer) into the check-in
    /// that retried it: the client's next one, starting at most `retryWindowSeconds` after the failed one
    /// ended, that was made (not failed, not pending), to any manager. A run of failures each retried within
    /// the window folds whole into the check-in that was answered.
    ///
    /// The folded check-in is one check-in that was made: it starts with the first failed attempt, its
    /// connections and (pull) bytes include the failed ones', and each failure finding becomes a
    /// `retried-and-answered` warning naming the failure, the delay and the manager that answered; a retry to
    /// another manager adds `failover`. Other findings of the failed attempt (a refused connect before it)
    /// stay as they were. A failure with no such retry stays a failed check-in with its error.
    ///
    /// - Parameter sessions: one client's check-ins in start order, before the interval audit.
    func foldRetries(_ sessions: inout [SessionReport]) {
        guard sessions.count > 1 else { return }
        let window = Nanos.from(seconds: retryWindowSeconds)
        var removed = Set<Int>()
        var r = sessions.count - 1
        while r > 0 {
            guard Self.madeCheckIn(sessions[r]) else {
                r -= 1
                continue
            }
            // The start of the latest attempt of the run: each earlier failure must end within the window of it.
            var nextStart = sessions[r].start
            var p = r - 1
            while p >= 0, Self.failedForWantOfAnswer(sessions[p]), nextStart >= sessions[p].start,
                  nextStart.nanoseconds(since: sessions[p].end) <= window {
                let failed = sessions[p]
                nextStart = failed.start
                absorb(failed, into: &sessions[r], delay: sessions[r].start.seconds(since: failed.end))
                removed.insert(p)
                p -= 1
            }
            r = p
        }
        guard !removed.isEmpty else { return }
        // The others closed up in place, in their order, and the folded ones (swapped to the end) dropped:
        // swapped in the buffer, the check-ins are moved, not copied.
        var kept = 0
        sessions.withUnsafeMutableBufferPointer { buffer in
            for i in buffer.indices where !removed.contains(i) {
                buffer.swapAt(kept, i)
                kept += 1
            }
        }
        sessions.removeLast(sessions.count - kept)
    }

    /// A check-in that reached a manager and got an answer.
    private static func madeCheckIn(_ s: SessionReport) -> Bool { !s.failed && !s.pending }

    /// A failed check-in whose connection was set up but got no answer (the findings `checkAnswers` raises).
    private static func failedForWantOfAnswer(_ s: SessionReport) -> Bool {
        s.failed && !s.pending && s.findings.contains { isAnswerFailure($0.code) }
    }

    /// The findings `checkAnswers` raises for a connection set up that carried no (whole) answer.
    static func isAnswerFailure(_ code: FindingCode) -> Bool {
        code == .noAnswer || code == .tlsHandshakeFailed || code == .answerCutShort
    }

    /// Adds the failed check-in `failed` to the front of `retry`, which started `delay` seconds after it ended.
    private func absorb(_ failed: SessionReport, into retry: inout SessionReport, delay: Double) {
        let server = Endpoint(address: retry.server, port: retry.serverPort)
        var moved: [Finding] = []
        for f in failed.findings {
            guard Self.isAnswerFailure(f.code) else {
                moved.append(f)
                continue
            }
            let code = FindingCode.retriedAndAnswered
            moved.append(Finding(code: code, severity: model.severity(of: code),
                                 message: StepClassifier.retriedText(f.code, f.message, after: delay,
                                                                     server: server.description, sameCheckIn: false),
                                 client: f.client, server: f.server, time: f.time))
        }
        if failed.server != retry.server, !retry.findings.contains(where: { $0.code == .failover }) {
            let code = FindingCode.failover
            let from = Endpoint(address: failed.server, port: failed.serverPort)
            moved.append(Finding(code: code, severity: model.severity(of: code),
                                 message: "reached \(server) after a failed exchange with \(from), retried",
                                 client: failed.client, server: server, time: failed.start))
        }
        retry.findings = moved + retry.findings
        retry.attempts = failed.attempts + retry.attempts
        retry.connections = failed.connections + retry.connections
        if retry.mode == .pull {
            retry.bytesUp = Saturating.add(retry.bytesUp, failed.bytesUp)
            retry.bytesDown = Saturating.add(retry.bytesDown, failed.bytesDown)
        }
        retry.start = min(retry.start, failed.start)
        if let i = retry.steps.firstIndex(where: { $0.step == 1 }) {
            retry.steps[i].start = min(retry.steps[i].start, failed.start)
        }
    }
}
