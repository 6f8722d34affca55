import Core
import Records

/// Judges the gaps between one client's check-ins against the expected interval.
///
/// Gaps are measured start to start in integer nanoseconds. Only gaps between two seen
/// check-ins are judged, so a client that appears or vanishes mid-capture is never "missed"
/// before its first or after its last check-in. For a gap `d`, interval `I`, tolerance `T`
/// and accelerated maximum `A`:
///
/// - `d <= A`: accelerated (counted; one info finding per run of them). A run lasting longer than
///   `R = interval.acceleratedRunMaxSeconds` (its gaps added up) is a `heartbeat-storm` instead, and storms
///   over more than half the time observed add an `interval-mismatch` with the median of all gaps;
/// - `m = floor((d + T) / I) - 1 >= 1`: `m` missed check-ins (so from `d >= 2I - T`);
/// - else `d > I + T`: late; `d < I - T`: early; otherwise on time.
///
/// When at least `mismatchMinIntervals` regular gaps (above `A`) have a median outside
/// `I ± T`, an `interval-mismatch` is raised and the client's own median becomes `I`, so
/// a differently configured client does not drown in per-gap findings (`FleetAudit` does the same, through
/// `mismatches`, so both count the same missed check-ins).
///
/// Push gaps are judged against the push interval with `T`, `A` and `R` derived from it (`rules(_:)`).
///
/// A gap that a capture silence covers for more than `T` is not observed
/// (`CaptureSilence.hiding`): it is left out of every count, of the mismatch median and of the
/// statistics, and reported once per silence by the caller (`Result.unobserved`).
struct IntervalAudit: Sendable {
    let model: ReferenceModel
    let pullSeconds: Double
    let pushSeconds: Double
    /// Capture silences, in time order.
    var silences: [CaptureSilence] = []
    /// Stretches of a few packets stamped far off the capture's clock (`OffClockStretch`).
    var offClock: [OffClockStretch] = []
    /// Where the pull interval comes from (`model`, `option`, `sylink`): when not the model's, an interval change
    /// says which side runs it.
    var intervalSource = "model"

    /// The tolerance and accelerated range (nanoseconds) gaps ending in a check-in of `mode` are judged with:
    /// the model's for pull check-ins, derived from the push interval for push ones
    /// (`ReferenceModel.intervalRules(forSeconds:)`).
    func rules(_ mode: SessionReport.Mode) -> (tolerance: Int64, accelerated: Int64, runMax: Int64) {
        let r = mode == .push ? model.intervalRules(forSeconds: pushSeconds)
            : IntervalRules(toleranceSeconds: model.interval.toleranceSeconds,
                            acceleratedMaxSeconds: model.interval.acceleratedMaxSeconds,
                            acceleratedRunMaxSeconds: model.interval.acceleratedRunMaxSeconds)
        return (Nanos.from(seconds: r.toleranceSeconds), Nanos.from(seconds: r.acceleratedMaxSeconds),
                Nanos.from(seconds: r.acceleratedRunMaxSeconds))
    }

    /// The regular gaps (above `accelerated`) of `mode`, sorted, when they are at least `minCount`: enough for
    /// their median to be judged against the expected interval (`mismatches`); else nil.
    static func judgedGaps(_ gaps: [(ns: Int64, mode: SessionReport.Mode)], _ mode: SessionReport.Mode,
                           accelerated: Int64, minCount: Int) -> [Int64]? {
        let regular = gaps.filter { $0.mode == mode && $0.ns > accelerated }.map(\.ns).sorted()
        return regular.count >= max(1, minCount) ? regular : nil
    }

    /// The modes whose regular gaps (above the accelerated range) are at least `minCount` with a median
    /// (`Median`) outside `expected ± T`: such a client runs another interval, and its gaps of that mode are
    /// judged against that median. `analyze` (here) and `FleetAudit` both take it from this, so they count the
    /// same missed, late and early gaps. Cost: O(n log n) in gaps.
    static func mismatches(
        _ gaps: [(ns: Int64, mode: SessionReport.Mode)], expected: (SessionReport.Mode) -> Int64,
        rules: (SessionReport.Mode) -> (tolerance: Int64, accelerated: Int64), minCount: Int
    ) -> [SessionReport.Mode: (median: Int64, count: Int)] {
        var out: [SessionReport.Mode: (median: Int64, count: Int)] = [:]
        for mode in [SessionReport.Mode.pull, .push] {
            let r = rules(mode)
            guard let regular = judgedGaps(gaps, mode, accelerated: r.accelerated, minCount: minCount) else { continue }
            let base = expected(mode)
            let median = Median.of(sorted: regular)
            if median < Saturating.subtract(base, r.tolerance) || median > Saturating.add(base, r.tolerance) {
                out[mode] = (median, regular.count)
            }
        }
        return out
    }

    /// Whether the gap from `from` to `to` (check-in starts), missing `missing` check-ins, holds at least as many
    /// bursts of lost bytes alone (`uncaptured`): each was a check-in sent somewhere before the acknowledgement it
    /// is stamped with, so the gap may have missed none, and when it was sent is unknown: the gap is not judged.
    static func heldByUncaptured(_ uncaptured: [Timestamp], from: Timestamp, to: Timestamp, missing: Int64) -> Bool {
        guard missing >= 1, !uncaptured.isEmpty else { return false }
        return uncaptured.count { $0 > from && $0 <= to } >= missing
    }

    struct Result {
        var summary: ClientSummary
        /// Findings with the index (into the client's sessions) of the later check-in of the gap.
        var findings: [(Int, Finding)]
        /// Gaps not observed: the silence (index into `silences`) that hid them, and how many check-ins
        /// the expected interval puts inside the gap (`floor((d + T) / I) - 1`, at least 0).
        var unobserved: [(silence: Int, expected: Int)] = []
    }

    /// `uncaptured`: the starts of the client's push bursts of lost bytes alone (`HeartbeatReport.uncaptured`).
    func audit(client: IPAddress, sessions: [SessionReport], uncaptured: [Timestamp] = []) -> Result {
        // A capture silence hides a gap when it covers more than the pull interval's tolerance (as in
        // `FleetAudit`); each gap is judged with its own mode's rules.
        let tolerance = Nanos.from(seconds: model.interval.toleranceSeconds)
        var gaps: [(index: Int, from: Int, ns: Int64, mode: SessionReport.Mode)] = []
        var hidden: [(silence: Int, ns: Int64, mode: SessionReport.Mode)] = []
        // Check-ins stamped far off the capture's clock are left out: each may fill one check-in missing
        // between two on the clock, so a gap missing no more than those left is not judged either.
        let off = OffClockStretch.offClock(sessions.map { $0.start }, in: offClock)
        var offLeft = off.count(where: { $0 })
        var previous: Int?
        for i in sessions.indices where !off[i] {
            defer { previous = i }
            guard let p = previous else { continue }
            let from = sessions[p].start
            let to = sessions[i].start
            let d = to.nanoseconds(since: from)
            if let s = CaptureSilence.hiding(silences, from: from, to: to, toleranceNanos: tolerance) {
                hidden.append((s, d, sessions[i].mode))
                continue
            }
            let base = Nanos.from(seconds: sessions[i].mode == .push ? pushSeconds : pullSeconds)
            let m = Saturating.add(d, rules(sessions[i].mode).tolerance) / max(1, base) - 1
            if Self.heldByUncaptured(uncaptured, from: from, to: to, missing: m) { continue }
            if offLeft > 0, m >= 1, m <= offLeft {
                offLeft -= Int(m)
                continue
            }
            gaps.append((i, p, d, sessions[i].mode))
        }
        var findings: [(Int, Finding)] = []
        func add(_ i: Int, _ code: FindingCode, _ text: String) {
            findings.append((i, Finding(code: code, severity: model.severity(of: code), message: text,
                                        client: client, time: sessions[i].start)))
        }

        // The interval each mode is judged against, corrected by a consistent mismatch.
        var expected: [SessionReport.Mode: Int64] = [.pull: Nanos.from(seconds: pullSeconds),
                                                .push: Nanos.from(seconds: pushSeconds)]
        // Lasting changes of the client's own interval: each level is judged against itself, and only the last
        // one (the interval it runs now) against the expected one.
        func expectedRules(_ mode: SessionReport.Mode) -> IntervalLevels.Rules {
            IntervalLevels.rules(expected[mode] ?? 1, rules(mode))
        }
        let levels = IntervalLevels(count: gaps.count, gap: { (gaps[$0].ns, gaps[$0].mode) },
                                    pull: expectedRules(.pull), push: expectedRules(.push),
                                    minCount: model.interval.mismatchMinIntervals)
        var changes: [SessionReport.Mode: [IntervalChange]] = [:]
        for mode in [SessionReport.Mode.pull, .push] where levels.changed {
            let stretches = levels.stretches(mode)
            let found = levels.changes(mode, at: { sessions[gaps[$0].from].start })
            guard let lastChange = found.last, let last = stretches.last else { continue }
            let base = expectedRules(mode)
            // Each change at the check-in ending the first gap of its later stretch.
            for (k, c) in found.enumerated() {
                var which = ""
                if intervalSource != "model" {
                    let side = ["from": "the old one", "to": "the new one"][c.matchesExpected] ?? "neither"
                    which = "; the expected \(seconds(base.interval)) s (\(intervalSource)) is \(side)"
                }
                add(gaps[stretches[k + 1].first].index, .intervalChange, c.text + " (\(c.gapsBefore) gaps before, "
                    + "\(c.gapsAfter) after): each side is judged against its own interval" + which)
            }
            if last.rules.interval != base.interval {
                let since = found.count > 1 ? "the last change" : "the change"
                add(gaps[last.first].index, .intervalMismatch, "\(mode.rawValue) check-ins every "
                    + "\(seconds(last.rules.interval)) s since \(since) (median of \(lastChange.gapsAfter)), expected "
                    + "\(seconds(base.interval)) s ± \(seconds(base.tolerance)) s; its gaps are judged against "
                    + "\(seconds(last.rules.interval)) s")
            }
            changes[mode] = found
        }
        // A mode whose interval changed is judged against the expected one above, by its last level only.
        let unchanged = levels.changed ? gaps.filter { !levels.changed($0.mode) } : gaps
        let mismatched = Self.mismatches(
            unchanged.map { ($0.ns, $0.mode) }, expected: { expected[$0] ?? 1 },
            rules: { (rules($0).tolerance, rules($0).accelerated) }, minCount: model.interval.mismatchMinIntervals)
        for mode in [SessionReport.Mode.pull, .push] {
            guard let (median, count) = mismatched[mode], let base = expected[mode] else { continue }
            let index = gaps.first { $0.mode == mode }?.index ?? 1
            add(index, .intervalMismatch, "\(mode.rawValue) check-ins every \(seconds(median)) s (median of "
                + "\(count)), expected \(seconds(base)) s ± \(seconds(rules(mode).tolerance)) s; its gaps are "
                + "judged against \(seconds(median)) s")
            expected[mode] = median
        }

        var missed = 0
        var acceleratedCount = 0
        // The current run of accelerated gaps: the later check-in's index, the gap and the rules it was judged with.
        var run: [(index: Int, ns: Int64, rules: IntervalLevels.Rules)] = []
        var stormNs: Int64 = 0
        var firstStorm: Int?
        func closeRun() {
            guard let first = run.first?.index, let last = run.last?.index else { return }
            let lo = seconds(run.map(\.ns).min() ?? 0)
            let hi = seconds(run.map(\.ns).max() ?? 0)
            let span = run.reduce(Int64(0)) { Saturating.add($0, $1.ns) }
            // A run is judged with the rules of its first gap.
            let accelerated = run[0].rules.accelerated
            let runMax = run[0].rules.runMax
            let apart = "\(run.count) check-ins \(lo == hi ? lo : lo + "-" + hi) s apart"
            if span > runMax {
                // Longer than an accelerated episode lasts: the client keeps checking in far too often.
                stormNs = Saturating.add(stormNs, span)
                firstStorm = firstStorm ?? first
                add(first, .heartbeatStorm, apart + " for \(seconds(span)) s until "
                    + sessions[last].start.rfc3339(fractionDigits: 3) + " (accelerated range 0-\(seconds(accelerated)) "
                    + "s, for at most \(seconds(runMax)) s): a heartbeat storm")
            } else {
                let what = run.count == 1 ? "1 check-in \(lo) s after the previous one"
                    : apart + " until " + sessions[last].start.rfc3339(fractionDigits: 3)
                add(first, .acceleratedHeartbeat,
                    what + " (accelerated range 0-\(seconds(accelerated)) s; normal after a change)")
            }
            run = []
        }
        for (j, g) in gaps.enumerated() {
            // A gap not observed between two accelerated ones ends the run.
            if let last = run.last?.index, last != g.index - 1 { closeRun() }
            let r = levels.rules(at: j, g.mode)
            let interval = !levels.changed(g.mode) ? expected[g.mode] ?? Nanos.from(seconds: pullSeconds)
                : r.interval
            let tolerance = r.tolerance
            if g.ns <= r.accelerated {
                acceleratedCount += 1
                run.append((g.index, g.ns, r))
                continue
            }
            closeRun()
            let m = Saturating.add(g.ns, tolerance) / max(1, interval) - 1
            if m >= 1 {
                missed += Int(min(m, Int64(Int32.max)))
                add(g.index, .missedHeartbeat, "no check-in for \(seconds(g.ns)) s: \(m) missed "
                    + "(interval \(seconds(interval)) s ± \(seconds(tolerance)) s)")
            } else if g.ns > Saturating.add(interval, tolerance) {
                add(g.index, .intervalLate, "check-in \(seconds(g.ns)) s after the previous one "
                    + "(interval \(seconds(interval)) s ± \(seconds(tolerance)) s)")
            } else if g.ns < Saturating.subtract(interval, tolerance) {
                add(g.index, .intervalEarly, "check-in \(seconds(g.ns)) s after the previous one "
                    + "(interval \(seconds(interval)) s ± \(seconds(tolerance)) s)")
            }
        }
        closeRun()
        // Storms over most of the time observed: the client's real interval is the storm's, whatever the
        // regular gaps say (`FleetAudit` calls it unhealthy). Raised unless a mismatch was already found.
        let observedNs = gaps.reduce(Int64(0)) { Saturating.add($0, $1.ns) }
        if let first = firstStorm, stormNs > observedNs / 2,
           !findings.contains(where: { $0.1.code == .intervalMismatch }) {
            let all = gaps.map(\.ns).sorted()
            let median = Median.of(sorted: all)
            let base = expected[sessions[first].mode] ?? Nanos.from(seconds: pullSeconds)
            let tolerance = rules(sessions[first].mode).tolerance
            add(first, .intervalMismatch, "check-ins every \(seconds(median)) s (median of all \(all.count) gaps, "
                + "accelerated included: heartbeat storms over \(Int(Double(stormNs) * 100 / Double(observedNs))) % of "
                + "the time observed), expected \(seconds(base)) s ± \(seconds(tolerance)) s")
        }

        // The regular gaps, as `FleetAudit` takes them (accelerated ones are counted apart), with its
        // quantiles: `analyze` and `audit` give a client the same figures.
        let regularNs = gaps.indices.filter { gaps[$0].ns > levels.rules(at: $0, gaps[$0].mode).accelerated }
            .map { gaps[$0].ns }.sorted()
        let values = regularNs.map { Double($0) / 1e9 }
        var stats: IntervalStats?
        if let lo = values.first, let hi = values.last {
            let micro = FleetAudit.micro
            let median = Double(Median.of(sorted: regularNs)) / 1e9
            stats = IntervalStats(median: micro(median), min: micro(lo), max: micro(hi),
                                  p95: micro(FleetAudit.quantile(values, 0.95)), count: values.count)
        }
        let pushCount = sessions.count { $0.mode == .push }
        let mainMode: SessionReport.Mode = pushCount * 2 > sessions.count ? .push : .pull
        // A client whose interval changed is judged against the one it runs now.
        if let last = levels.last(mainMode) { expected[mainMode] = last.interval }
        let configured = Nanos.from(seconds: mainMode == .push ? pushSeconds : pullSeconds)
        let judged = expected[mainMode] ?? configured
        let failed = sessions.count(where: \.failed)
        let pending = sessions.count(where: \.pending)
        var summary = ClientSummary(
            client: client, sessions: sessions.count, checkIns: sessions.count - failed - pending,
            failed: failed, pending: pending,
            intervalSeconds: stats, missed: missed, notObserved: hidden.count,
            accelerated: acceleratedCount,
            expectedIntervalSeconds: FleetAudit.micro(Double(configured) / 1e9))
        if judged != configured { summary.judgedAgainstSeconds = FleetAudit.micro(Double(judged) / 1e9) }
        summary.intervalChanges = changes[mainMode] ?? changes.values.first ?? []
        let unobserved = hidden.map { h in
            let interval = max(1, expected[h.mode] ?? Nanos.from(seconds: pullSeconds))
            let m = Saturating.add(h.ns, rules(h.mode).tolerance) / interval - 1
            return (h.silence, Int(max(0, min(m, Int64(Int32.max)))))
        }
        return Result(summary: summary, findings: findings, unobserved: unobserved)
    }

    private func seconds(_ ns: Int64) -> String { formatSeconds(Double(ns) / 1e9) }

}
