import Core
import Records

extension SessionBuilder {
    /// How the `capture-gap` warning of `clockShiftFindings` begins (the audit repeats it as a note).
    public static let clockShiftPrefix = "every client seen on both sides of "

    /// Fewest clients seen on both sides of an instant for `clockShiftFindings` to name it: two clients late
    /// together may be chance, three or more shifted by about the same time at one instant are unlikely.
    static let clockShiftMinClients = 3

    /// Most candidate instants `clockShiftFindings` tries (each costs a look-up per client until one fails).
    static let clockShiftMaxCandidates = 10_000

    /// Instants across which every client seen on both sides (at least `clockShiftMinClients`) has one late gap
    /// (`I + T < d`, too short to miss a check-in), or every one an early gap (`A < d < I - T`), each off by
    /// about the same time (the offsets within `2T` of each other): a step of the sensor's clock (forward:
    /// every client late by the step; back: every client early by it) looks exactly like that, a fleet of
    /// clients late at one instant by chance does not. A `capture-gap` warning each, naming the instant and the
    /// offset (the audit repeats it as a note); the intervals stay judged (the late or early gaps stand), the
    /// warning says they may be the clock's. Gaps a capture silence hides are not looked at (not judged anyway).
    /// `sessions` in start order; `clients` give each one's expected interval.
    /// Cost: O(n log n) in check-ins, plus O(c × k log n) for `c` candidate instants failing after `k` clients.
    func clockShiftFindings(_ sessions: [SessionReport], _ clients: [ClientSummary]) -> [Finding] {
        var starts: [IPAddress: [Timestamp]] = [:]
        var pushes: [IPAddress: Int] = [:]
        for i in sessions.indices {
            starts[sessions[i].client, default: []].append(sessions[i].start)
            if sessions[i].mode == .push { pushes[sessions[i].client, default: 0] += 1 }
        }
        struct Track {
            var times: [Timestamp]
            var interval: Int64
            var tolerance: Int64
            var accelerated: Int64
            /// The lasting changes of the client's interval: a gap starting before one is judged by the level it left.
            var changes: [IntervalChange]
        }
        var tracks: [Track] = []
        for c in clients {
            guard var times = starts[c.client], times.count >= 2 else { continue }
            times.sort()
            let push = (pushes[c.client] ?? 0) * 2 > times.count
            let tolerance = push ? pushRules.toleranceSeconds : model.interval.toleranceSeconds
            let accelerated = push ? pushRules.acceleratedMaxSeconds : model.interval.acceleratedMaxSeconds
            tracks.append(Track(times: times, interval: max(1, Nanos.from(seconds: c.judgedIntervalSeconds)),
                                tolerance: Nanos.from(seconds: tolerance),
                                accelerated: Nanos.from(seconds: accelerated),
                                changes: c.intervalChanges))
        }
        guard tracks.count >= Self.clockShiftMinClients else { return [] }
        let hidingTolerance = Nanos.from(seconds: model.interval.toleranceSeconds)
        /// The gap's offset from the interval when it is late (> 0) or early (< 0) and judged; else nil.
        func offset(_ t: Track, _ i: Int) -> Int64? {
            let from = t.times[i - 1]
            let to = t.times[i]
            let d = to.nanoseconds(since: from)
            let interval = IntervalChange.intervalNanos(t.changes, forGapFrom: from, current: t.interval)
            if Saturating.add(d, t.tolerance) / interval - 1 >= 1 { return nil }  // missed: not a shift
            let late = d > Saturating.add(interval, t.tolerance)
            let early = d > t.accelerated && d < Saturating.subtract(interval, t.tolerance)
            // The silences are looked through only for the few gaps off the interval.
            guard late || early,
                  CaptureSilence.hiding(silences, from: from, to: to, toleranceNanos: hidingTolerance) == nil
            else { return nil }
            return d - interval
        }
        // A late gap holds the instant of a step forward; an early one, read on the clock before the step back
        // (its later check-in `|offset|` later, give or take `T`), holds the instant of a step back: the check-ins
        // after it are stamped earlier, some before check-ins of other clients that came before the step.
        func reach(_ t: Track, _ i: Int, _ o: Int64) -> Timestamp {
            o > 0 ? t.times[i] : Timestamp(nanoseconds: Saturating.add(t.times[i].nanoseconds,
                                                                       Saturating.add(-o, t.tolerance)))
        }
        // Candidates: just before the end of each late or early gap so read (any instant every client's shifted
        // gap holds is before the earliest of those ends, so one such point is in all of them).
        var candidates: [Int64: Bool] = [:]
        for t in tracks {
            for i in t.times.indices.dropFirst() {
                guard let o = offset(t, i) else { continue }
                candidates[reach(t, i, o).nanoseconds - 1] = o > 0
                if candidates.count >= Self.clockShiftMaxCandidates { break }
            }
            if candidates.count >= Self.clockShiftMaxCandidates { break }
        }
        var out: [Finding] = []
        // Where the last instant named ends, so one step is named once.
        var namedUntil: Timestamp?
        for (c, lateCandidate) in candidates.sorted(by: { $0.key < $1.key }) {
            let at = Timestamp(nanoseconds: c)
            if let end = namedUntil, at < end { continue }
            var offsets: [Int64] = []
            var from = Timestamp(nanoseconds: Int64.min)
            var to = Timestamp(nanoseconds: Int64.max)
            var shifted = true
            for t in tracks {
                guard let first = t.times.first, let last = t.times.last, first < at, last > at else { continue }
                // The first check-in stamped after `at`; the shifted gap holding it ends there or one before.
                var lo = 0
                var hi = t.times.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if t.times[mid] <= at { lo = mid + 1 } else { hi = mid }
                }
                let holding = [lo, lo - 1, lo + 1].first { i in
                    guard i >= 1, i < t.times.count, t.times[i - 1] < at, let o = offset(t, i),
                          (o > 0) == lateCandidate else { return false }
                    return reach(t, i, o) > at
                }
                guard let i = holding, let o = offset(t, i) else {
                    shifted = false
                    break
                }
                offsets.append(o)
                from = max(from, t.times[i - 1])
                to = min(to, reach(t, i, o))
            }
            guard shifted, offsets.count >= Self.clockShiftMinClients else { continue }
            let sorted = offsets.sorted()
            let tolerance = tracks.map(\.tolerance).min() ?? 0
            guard let low = sorted.first, let high = sorted.last,
                  Saturating.subtract(high, low) <= Saturating.multiply(2, tolerance) else { continue }
            let median = Median.of(sorted: sorted)
            let late = median > 0
            func secs(_ ns: Int64) -> String { formatSeconds(Double(abs(ns)) / 1e9) }
            let amount = secs(median)
            let range = late ? secs(low) + "-" + secs(high) : secs(high) + "-" + secs(low)
            let text = Self.clockShiftPrefix + "\(from.rfc3339(fractionDigits: 3)) to \(to.rfc3339(fractionDigits: 3)) "
                + "(\(offsets.count) clients) checked in \(late ? "late" : "early") across it, by about \(amount) s "
                + "(\(range) s): "
                + "the sensor's clock may have been \(late ? "stepped forward" : "set back") "
                + "by about \(amount) s there "
                + "(judged as stamped; those \(late ? "late" : "early") intervals may be the clock's)"
            let code = FindingCode.captureGap
            out.append(Finding(code: code, severity: model.severity(of: code), message: text, time: from))
            namedUntil = to
        }
        return out
    }
}
