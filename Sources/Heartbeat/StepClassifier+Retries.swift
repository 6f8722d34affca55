import Core
import Records

// MARK: - Failures retried at once

extension StepClassifier {
    /// Raises `code` for connection `i` of the check-in, or `retried-and-answered` instead when a later
    /// connection of the same check-in started within `checkIn.retryWindowSeconds` after it ended and got an
    /// answer: the client retried the reset request (or refused handshake) at once, and the check-in was made.
    func raiseUnlessRetried(
        _ d: CheckInDraft, after i: Int, _ code: FindingCode, _ message: String, _ time: Timestamp?,
        _ add: (FindingCode, String, Timestamp?) -> Void
    ) {
        let cs = d.connections
        let failedEnd = cs[i].closeTime ?? cs[i].end
        let window = Nanos.from(seconds: model.checkIn.retryWindowSeconds)
        for k in cs.indices where k > i {
            let start = cs[k].synTime ?? cs[k].start
            guard start.nanoseconds(since: failedEnd) <= window else { break }
            guard cs[k].exchanges.contains(where: { $0.bytesDown > 0 }) else { continue }
            add(.retriedAndAnswered, Self.retriedText(code, message, after: start.seconds(since: failedEnd),
                                                      server: named(cs[k].server), sameCheckIn: true), time)
            return
        }
        add(code, message, time)
    }

    /// `no-answer retried and answered: MESSAGE; retried 0.5 s later on a new connection to SERVER, answered`.
    static func retriedText(_ code: FindingCode, _ message: String, after seconds: Double, server: String,
                            sameCheckIn: Bool, numbers: String = "") -> String {
        "\(code.rawValue) retried and answered\(numbers): \(message); retried \(formatSeconds(max(0, seconds))) s "
            + "later on a new connection to \(server), answered"
            + (sameCheckIn ? " in the same check-in" : "")
    }
}
