import Core
import Records

extension CaptureSilence {
    /// The rule for an interval between two seen check-ins: it is **not observed** when a silence
    /// between capture files covers more than the tolerance `T` of it. A check-in may come up to
    /// `T` from where it is expected, so a silence of `T` or less cannot hide one that was on time;
    /// a longer one can, and the interval then says nothing about the client.
    ///
    /// Only silences the capture certainly did not cover count (`uncovered`): between files, or
    /// across a jump of a file's clock. Any other silence inside one file is ambiguous: the capture
    /// ran and saw nothing, which is exactly what a missed check-in looks like in a capture of one
    /// client (a quiet link, not a stopped capture), so such intervals are judged as usual.
    ///
    /// A step back of the clock read on the clock before it (`clockSetBack`) hides every interval across it:
    /// the time between its last packet before the step and the first after is unknown.
    ///
    /// Returns the index in `spans` of the silence that covers the most of the interval, or nil when
    /// none covers more than `T`. Cost: O(s) in the silences.
    static func hiding(_ spans: [CaptureSilence], from: Timestamp, to: Timestamp, toleranceNanos: Int64) -> Int? {
        var best: (index: Int, covered: Int64)?
        for (i, s) in spans.enumerated() where s.uncovered && s.start < to && s.end > from || s.clockSetBack
            && s.start >= from && s.start < to {
            // A step back read on the clock before it hides the interval across it whatever its length.
            let covered = s.clockSetBack ? Int64.max : s.overlap(from: from, to: to)
            if covered > toleranceNanos, covered > best?.covered ?? 0 { best = (i, covered) }
        }
        return best?.index
    }
}

/// A length of time for people, to the two largest units: `45 s`, `21 min 44 s`, `3 h 5 min`, `5 d 23 h`.
public func formatSpan(nanoseconds ns: Int64) -> String {
    let s = max(0, ns) / 1_000_000_000
    if s < 60 { return formatSeconds(Double(max(0, ns)) / 1e9) + " s" }
    if s < 3600 { return "\(s / 60) min \(s % 60) s" }
    if s < 86_400 { return "\(s / 3600) h \(s % 3600 / 60) min" }
    return "\(s / 86_400) d \(s % 86_400 / 3600) h"
}

/// What one silence hid: the intervals it made unobserved, across clients.
struct SilenceTally: Sendable {
    var intervals = 0
    var expected = 0
    var clients: Set<IPAddress> = []

    mutating func add(client: IPAddress, expected n: Int) {
        intervals += 1
        expected = min(Int(Int32.max), expected + min(max(0, n), Int(Int32.max)))
        clients.insert(client)
    }
}

extension SessionBuilder {
    /// One `capture-gap` finding per silence that hid at least one interval between seen check-ins:
    /// `no packets from <start> to <end> (5 d 23 h): the capture does not cover this time; N expected
    /// check-ins not judged`. A silence no client's interval spans says nothing about check-ins and
    /// raises nothing.
    func silenceFindings(_ tallies: [SilenceTally]) -> [Finding] {
        let code = FindingCode.captureGap
        var out: [Finding] = []
        for (s, t) in zip(silences, tallies) where t.intervals > 0 {
            if s.clockSetBack {
                // The step itself is named by its own warning (`noteClockSetBack`): this one counts what it hid.
                out.append(Finding(code: code, severity: model.severity(of: code), message: Self.setBackPrefix
                    + "at \(s.start.rfc3339(fractionDigits: 3)): \(counted(t.intervals, "interval")) of "
                    + "\(counted(t.clients.count, "client")) across the step not judged (the time between the last "
                    + "packet before it and the first after it is unknown)", time: s.start))
                continue
            }
            var text = Self.silencePrefix + "\(s.start.rfc3339(fractionDigits: 3)) to "
                + "\(s.end.rfc3339(fractionDigits: 3)) (\(formatSpan(nanoseconds: s.nanoseconds))): "
                + "the capture does not cover this time"
            if s.interfaceDown { text += " (the capturing interface was down)" }
            if s.betweenFiles { text += " (between capture files)" }
            if s.clockJump, !s.betweenFiles { text += " (the capture's clock jumped across it)" }
            let clients = counted(t.clients.count, "client")
            if t.expected > 0 {
                text += "; \(counted(t.expected, "expected check-in")) not judged (\(clients))"
            } else {
                text += "; \(counted(t.intervals, "interval")) of \(clients) not judged"
            }
            out.append(Finding(code: code, severity: model.severity(of: code), message: text, time: s.start))
        }
        return out
    }
}

extension SessionBuilder {
    /// How the `capture-gap` warnings of `silenceFindings` begin (the audit repeats them as notes): time the
    /// capture did not cover, and a step back of its clock.
    public static let silencePrefix = "no packets from "
    public static let setBackPrefix = "the clock was set back "

    /// How the `capture-gap` warning of `stopFindings` begins (the audit repeats it as a note).
    public static let stopPrefix = "no packets at all from "

    /// Pauses inside the capture (silences it ran through, `CaptureSilence.uncovered` false) longer than the
    /// pull interval plus the tolerance across which every client seen on both sides (at least two) missed
    /// check-ins: a `capture-gap` warning each, saying the capture may have stopped there. Such a pause is
    /// still judged as time the capture ran (a quiet network is possible), so its missed check-ins stand;
    /// the warning tells a fleet that went quiet at one instant from clients that failed one by one. `stops` are
    /// those pauses, from `stopPauses`.
    func stopFindings(_ stops: [(silence: CaptureSilence, across: Int)]) -> [Finding] {
        let code = FindingCode.captureGap
        return stops.map { s, across in
            let text = Self.stopPrefix + "\(s.start.rfc3339(fractionDigits: 3)) to "
                + "\(s.end.rfc3339(fractionDigits: 3)) (\(formatSpan(nanoseconds: s.nanoseconds))), and each of the "
                + "\(across) clients seen on both sides missed check-ins across it: the capture may have stopped "
                + "there (judged as time it ran; those missed check-ins may be the capture's)"
            return Finding(code: code, severity: model.severity(of: code), message: text, time: s.start)
        }
    }

    /// The pauses `stopFindings` warns of, each with the number of clients seen on both sides of it.
    /// `sessions` in start order; `clients` give each one's expected interval; `pull` the pull interval in
    /// seconds. O(s × n).
    func stopPauses(_ sessions: [SessionReport], _ clients: [ClientSummary], pull: Double)
        -> [(silence: CaptureSilence, across: Int)] {
        let tolerance = Nanos.from(seconds: model.interval.toleranceSeconds)
        let longest = Saturating.add(Nanos.from(seconds: pull), tolerance)
        let pauses = silences.filter { !$0.uncovered && $0.nanoseconds > longest }
        guard !pauses.isEmpty else { return [] }
        var starts: [IPAddress: [Timestamp]] = [:]
        for i in sessions.indices { starts[sessions[i].client, default: []].append(sessions[i].start) }
        var interval: [IPAddress: Int64] = [:]
        var changes: [IPAddress: [IntervalChange]] = [:]
        for c in clients {
            interval[c.client] = max(1, Nanos.from(seconds: c.judgedIntervalSeconds))
            changes[c.client] = c.intervalChanges
        }
        var out: [(silence: CaptureSilence, across: Int)] = []
        for s in pauses {
            var across = 0
            var allMissed = true
            for (client, times) in starts {
                guard let before = times.last(where: { $0 <= s.start }), let after = times.first(where: { $0 >= s.end })
                else { continue }
                across += 1
                let d = after.nanoseconds(since: before)
                let expected = interval[client] ?? max(1, Nanos.from(seconds: pull))
                // A client whose interval changed: before a change, by the level it left.
                let iv = IntervalChange.intervalNanos(changes[client] ?? [], forGapFrom: before, current: expected)
                if Saturating.add(d, tolerance) / iv - 1 < 1 {
                    allMissed = false
                    break
                }
            }
            guard across >= 2, allMissed else { continue }
            out.append((s, across))
        }
        return out
    }
}
