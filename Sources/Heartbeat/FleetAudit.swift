import Core
import Records

/// The interval audit of a fleet: per client how regularly it checks in against the KNOWN
/// expected interval, and a fleet summary with the worst clients first.
///
/// Built from a finished `HeartbeatReport` and the model it used. Gaps are measured start to
/// start in integer nanoseconds between a client's consecutive check-ins (failed connects
/// included: the client's timer fired; they are counted in `failed`, never as check-ins).
/// Only gaps between two seen check-ins are judged, so a client that appears or vanishes
/// mid-capture is never "missed" at the capture's edges; it is flagged `appearedLate` /
/// `vanishedEarly` instead. For a gap `d`, interval `I`, tolerance `T`, accelerated max `A`
/// (the same rules as `docs/findings.md`):
///
/// - `d <= A`: accelerated (normal after a change; left out of the statistics and the score). A run of
///   them lasting longer than `R` (`acceleratedRunMaxSeconds`) is a heartbeat storm: `degraded`, or
///   `unhealthy` when storms take more than half the time observed between its check-ins;
/// - `m = floor((d + T) / I) - 1 >= 1`: `m` missed; else `d > I + T` late; `d < I - T` early.
///
/// `I` is a client's own median when it runs another interval (as `analyze`'s `interval-mismatch`,
/// `IntervalAudit.mismatches`); push gaps are judged with `T`, `A`, `R` derived from the push interval.
///
/// A gap a capture silence covers for more than `T` (the report's `silences`) is not observed:
/// counted in `notObserved`, judged nowhere, left out of the gaps, spread and score.
///
/// Cost: O(n log n) in check-ins. Memory: the gaps of every client (a few doubles each).
public struct FleetAudit: Sendable {
    /// How a client did, worst first in `Health.allCases` order.
    public enum Health: String, Sendable, CaseIterable, Comparable {
        /// Missed check-ins, failed connects, a median interval outside `I ± T`, or heartbeat storms over more
        /// than half the time observed.
        case unhealthy
        /// Late or early gaps, a heartbeat storm, a periodicity score below 70, or gone silent (`went-silent`).
        case degraded
        /// Not judged: too few check-ins (fewer than two), every interval between them not observed
        /// (a capture silence hides each one), or no regular interval (every gap observed in the accelerated
        /// range, no storm among them).
        case insufficient
        case healthy

        private var rank: Int { Health.allCases.firstIndex(of: self) ?? 0 }
        public static func < (a: Health, b: Health) -> Bool { a.rank < b.rank }
    }

    /// Spread of a client's regular gaps (those above the accelerated range), in seconds.
    public struct Spread: Hashable, Sendable {
        public var count: Int
        public var median: Double
        /// Median absolute deviation from the median.
        public var mad: Double
        /// p75 - p25 (linear interpolation between ranks).
        public var iqr: Double
        public var p5: Double
        public var p95: Double
        public var min: Double
        public var max: Double
    }

    public struct Client: Sendable {
        public var client: IPAddress
        /// The mode of most of its check-ins.
        public var mode: SessionReport.Mode
        /// The configured interval it is judged against (not corrected by its own median).
        public var expectedIntervalSeconds: Double
        /// Check-ins that reached a manager.
        public var checkIns: Int
        /// Check-ins that failed: their connects all failed, or their connection got no answer.
        public var failed: Int
        public var firstSeen: Timestamp
        public var lastSeen: Timestamp
        /// nil when there is no regular gap.
        public var spread: Spread?
        public var onTime: Int
        public var late: Int
        public var early: Int
        /// Check-ins judged absent between two seen ones.
        public var missed: Int
        /// Gaps a capture silence hides (`CaptureSilence.hiding`): not judged, not in `gaps` or `spread`.
        public var notObserved: Int
        /// Gaps inside the accelerated range, and the runs they form.
        public var accelerated: Int
        public var acceleratedRuns: Int
        /// Accelerated runs lasting longer than `acceleratedRunMaxSeconds` (heartbeat storms), and their time
        /// added up (seconds).
        public var storms = 0
        public var stormSeconds = 0.0
        /// Slope of the check-in phase against the expected grid, seconds per hour (least squares over
        /// the gaps on the grid; off-grid gaps are phase jumps, not drift); positive: check-ins come
        /// later and later. nil with fewer than two gaps on the grid.
        public var driftSecondsPerHour: Double?
        /// Median regular gap within `I ± T`; nil when there is none.
        public var matchesExpected: Bool?
        /// 0-100, see `score(deviations:...)`; nil when there is no regular gap.
        public var score: Int?
        public var health: Health
        /// Short phrases that explain `health` (`2 missed`, `median 450 s, expected 300 s`).
        public var reasons: [String]
        /// First check-in more than `I + T` after the capture began / last more than `I + T` before it ended.
        /// Never `vanishedEarly` when connections of the client were dropped by the per-client limit.
        public var appearedLate: Bool
        public var vanishedEarly: Bool
        /// It stopped checking in while the others went on (`analyze`'s `went-silent`): degraded, not healthy.
        public var wentSilent: WentSilent?
        /// Connections of the client the heartbeat layer dropped past its per-client limit: its check-ins
        /// after them are not in the report (a reason says so).
        public var droppedByLimit = 0
        /// Check-ins stamped far off the capture's clock (in an `OffClockStretch`, the client having check-ins
        /// on the clock too): left out of the intervals, each taken as filling one check-in missing between
        /// two on the clock (such a gap is not judged either).
        public var offClock = 0
        /// Every gap in seconds, in time order (accelerated ones included), for histograms.
        public var gaps: [Double]
        /// How each of `gaps` was judged, in the same order: the HTML histogram colours each gap by its own verdict,
        /// and the fleet's observed medians keep push gaps apart from pull ones.
        public var gapVerdicts: [GapVerdict] = []
        /// The client's own median interval (seconds) its gaps were judged against, when it runs another interval
        /// than the expected one (`analyze`'s `interval-mismatch`); nil when judged against the expected one.
        public var judgedAgainst: Double?
        /// The lasting changes of its own interval (`IntervalChange`, of its main mode, else of the other), in time
        /// order: each level's gaps were judged against that level, and only the last level against the expected
        /// interval.
        public var intervalChanges: [IntervalChange] = []
        /// Its first change (the one `audit`'s JSON gives as `intervalChange`).
        public var intervalChange: IntervalChange? { intervalChanges.first }
        /// Its late or early gaps and heartbeat storms, whatever its health, and for a client not unhealthy a low
        /// periodicity score too (the `degraded` reasons): `validate`'s `interval-jitter` check reads it.
        public var jitter: [String] = []
    }

    /// How one gap of a client was judged (`Client.gapVerdicts`): against its own mode's interval and rules.
    public struct GapVerdict: Hashable, Sendable {
        public enum Kind: UInt8, Sendable {
            case accelerated, onTime, late, early, missed
        }

        /// The mode of the check-in that ends the gap, whose rules judged it.
        public var mode: SessionReport.Mode
        public var kind: Kind
    }

    public struct Summary: Hashable, Sendable {
        public var clients: Int
        public var healthy: Int
        public var degraded: Int
        public var unhealthy: Int
        public var insufficient: Int
        /// Of the `insufficient` clients, those with two check-ins or more whose every interval a capture
        /// silence hid (not observed): seen, but nothing of theirs judged.
        public var unobserved = 0
        /// Of the `insufficient` clients, those whose every gap observed is in the accelerated range: no regular
        /// interval judged.
        public var onlyAccelerated = 0
        /// Clients that stopped checking in while the others went on (`went-silent`), whatever their health.
        public var wentSilent = 0
        /// healthy / clients (0 when there is no client).
        public var healthyShare: Double
        public var checkIns: Int
        /// Check-ins that got no answer: every connect failed, or no TLS handshake or response came back.
        public var failed: Int
        /// Check-ins that got an answer, an HTTP error (`http-error`: a status of 400 or above, or a redirect): not in
        /// `failed`, which counts check-ins with no answer at all.
        public var httpErrorCheckIns = 0
        /// Connects refused (SYN answered by RST) of every check-in: those before a failover to another manager, and
        /// those of failed check-ins.
        public var refusedConnects = 0
        public var missed: Int
        /// The median (`Median`) of every pull gap observed between two check-ins of a client (a gap ending with a
        /// pull check-in, judged against the pull interval), over the fleet, accelerated ones included, in seconds:
        /// what the clients ran, beside the interval expected; nil when no pull gap was observed. And how many gaps
        /// it is the median of.
        public var observedMedianGapSeconds: Double?
        public var observedGaps = 0
        /// The same of push gaps (ending with a push check-in), apart: push clients run their own heartbeat (300 s
        /// by default, whatever the pull interval), which would pull a fleet's median away from the pull interval.
        public var observedPushMedianGapSeconds: Double?
        public var observedPushGaps = 0
        /// `pass`, or `fail` when a client is unhealthy or no client was judged (none seen, or every one
        /// `insufficient`: too few check-ins to judge).
        public var verdict: String
        /// The failing clients the verdict allows (`allow(_:failOn:)`): as given, how many that is of those judged,
        /// and whether degraded clients count as failing (`--fail-on warning`).
        public var allowance: FailingAllowance.Applied?

        /// Whether no client was judged: none was seen, or each one seen had too few check-ins or no
        /// interval observed.
        public var noneJudged: Bool { clients == insufficient }

        /// Why the verdict is what it is: the unhealthy clients, or that no client was judged, which fails too.
        public var verdictReason: String {
            if clients == 0 { return "no client seen" }
            if noneJudged {
                let each = clients == 1 ? "with" : "each with"
                guard unobserved + onlyAccelerated > 0 else {
                    return "no client judged: \(counted(clients, "client")) seen, \(each) fewer than 2 check-ins"
                }
                let few = clients - unobserved - onlyAccelerated
                let parts = (few > 0 ? ["\(few) with fewer than 2 check-ins"] : [])
                    + (unobserved > 0 ? ["\(unobserved) with no interval observed (capture silence)"] : [])
                    + (onlyAccelerated > 0 ? ["\(onlyAccelerated) with no regular interval (accelerated gaps only)"]
                        : [])
                return "no client judged: \(counted(clients, "client")) seen, " + parts.joined(separator: ", ")
            }
            if let allowance {
                let named = counted(unhealthy, "unhealthy client")
                    + (allowance.withDegraded ? " and \(degraded) degraded" : "")
                var share = ""
                if case .percent = allowance.given {
                    share = ", \(allowance.given.text) of \(clients - insufficient) judged"
                }
                return named + ", at most \(allowance.clients) allowed" + share
            }
            if unhealthy == 0, degraded > 0, verdict == "fail" {
                return counted(degraded, "degraded client") + " (warnings fail the verdict)"
            }
            return counted(unhealthy, "unhealthy client")
        }
    }

    /// Clients, worst first (health, then score, then address).
    public var clients: [Client]
    public var summary: Summary
    public var toleranceSeconds: Double
    public var acceleratedMaxSeconds: Double
    /// An accelerated run longer than this is a heartbeat storm.
    public var acceleratedRunMaxSeconds: Double

    /// Whether the fleet's median pull gap is in the (pull) accelerated range: the clients most likely run a much
    /// shorter interval than the one expected (a capture of clients every 20 s judged against 300 s), which only
    /// `--interval` or a SyLink.xml can say.
    public var observedMedianInAcceleratedRange: Bool {
        summary.observedMedianGapSeconds.map { $0 <= acceleratedMaxSeconds } ?? false
    }

    /// 0 when some client was judged and none is unhealthy, 1 otherwise.
    public var exitStatus: Int32 { summary.verdict == "fail" ? 1 : 0 }

    /// - Parameters:
    ///   - captureStart, captureEnd: the capture's first and last packet times, for the edge flags.
    public init(report: HeartbeatReport, model: ReferenceModel, captureStart: Timestamp? = nil,
                captureEnd: Timestamp? = nil) {
        // The report's expectations: the model's, or derived from a SyLink.xml or --interval interval.
        toleranceSeconds = report.expectations.toleranceSeconds
        acceleratedMaxSeconds = report.expectations.acceleratedMaxSeconds
        acceleratedRunMaxSeconds = report.expectations.acceleratedRunMaxSeconds
        // Only what the audit reads, not whole sessions (steps, findings, evidence), per client.
        var byClient: [IPAddress: [Visit]] = [:]
        let sessions = report.sessions
        var httpErrors = 0
        var refused = 0
        for i in sessions.indices {  // by index: the check-ins are read, not copied
            byClient[sessions[i].client, default: []].append(
                Visit(start: sessions[i].start, mode: sessions[i].mode, failed: sessions[i].failed,
                      pending: sessions[i].pending))
            // Answers and refusals the fleet line counts beside `failed`, which counts neither.
            if !sessions[i].failed, sessions[i].findings.contains(where: { $0.code == .httpError }) { httpErrors += 1 }
            refused += sessions[i].attempts.count { $0.outcome == "refused" }
        }
        var out: [Client] = []
        let silent = Dictionary(report.wentSilent.map { ($0.client, $0) }, uniquingKeysWith: { a, _ in a })
        for (address, sessions) in byClient {
            let sorted = sessions.sorted { $0.start < $1.start }
            let dropped = report.limitDrops?.overMaxConnectionsByClient[address] ?? 0
            out.append(Self.audit(address, sorted, report.expectations, report.silences, report.offClock,
                                  report.uncaptured[address] ?? [], captureStart, captureEnd, droppedByLimit: dropped,
                                  mismatchMinIntervals: model.interval.mismatchMinIntervals,
                                  wentSilent: silent[address]))
        }
        out.sort { a, b in
            if a.health != b.health { return a.health < b.health }
            if a.score != b.score { return (a.score ?? 101) < (b.score ?? 101) }
            return a.client < b.client
        }
        clients = out
        let count = { (h: Health) in out.filter { $0.health == h }.count }
        let healthy = count(.healthy)
        summary = Summary(
            clients: out.count, healthy: healthy, degraded: count(.degraded), unhealthy: count(.unhealthy),
            insufficient: count(.insufficient),
            healthyShare: out.isEmpty ? 0 : Double(healthy) / Double(out.count),
            checkIns: out.reduce(0) { $0 + $1.checkIns }, failed: out.reduce(0) { $0 + $1.failed },
            missed: out.reduce(0) { $0 + $1.missed },
            verdict: out.allSatisfy { $0.health == .insufficient } || out.contains { $0.health == .unhealthy }
                ? "fail" : "pass")
        summary.httpErrorCheckIns = httpErrors
        summary.refusedConnects = refused
        // Push gaps apart: a fleet of push clients every 300 s would otherwise give a median far from a 600 s pull
        // interval while every client is healthy.
        var pullGaps: [Double] = []
        var pushGaps: [Double] = []
        for c in out {
            for (gap, verdict) in zip(c.gaps, c.gapVerdicts) {
                if verdict.mode == .push { pushGaps.append(gap) } else { pullGaps.append(gap) }
            }
        }
        pullGaps.sort()
        pushGaps.sort()
        summary.observedGaps = pullGaps.count
        summary.observedMedianGapSeconds = pullGaps.isEmpty ? nil : Self.micro(Median.of(sorted: pullGaps))
        summary.observedPushGaps = pushGaps.count
        summary.observedPushMedianGapSeconds = pushGaps.isEmpty ? nil : Self.micro(Median.of(sorted: pushGaps))
        summary.wentSilent = out.count { $0.wentSilent != nil }
        summary.onlyAccelerated = out.count { $0.health == .insufficient && !$0.gaps.isEmpty && $0.spread == nil }
        summary.unobserved = out.count { $0.health == .insufficient && $0.checkIns + $0.failed >= 2 && $0.gaps.isEmpty }
    }

    // MARK: - One client

    /// The part of a session the interval audit reads.
    private struct Visit {
        var start: Timestamp
        var mode: SessionReport.Mode
        var failed: Bool
        var pending: Bool
    }

    private static func audit(
        _ address: IPAddress, _ visits: [Visit], _ e: HeartbeatReport.Expectations,
        _ silences: [CaptureSilence], _ offClock: [OffClockStretch], _ uncaptured: [Timestamp],
        _ captureStart: Timestamp?,
        _ captureEnd: Timestamp?, droppedByLimit: Int, mismatchMinIntervals: Int, wentSilent: WentSilent?
    ) -> Client {
        // Check-ins stamped far off the capture's clock are counted, not placed among the intervals.
        let off = OffClockStretch.offClock(visits.map(\.start), in: offClock)
        let sessions = visits.indices.filter { !off[$0] }.map { visits[$0] }
        var offLeft = visits.count - sessions.count
        // A capture silence hides a gap when it covers more than the pull interval's tolerance (as in
        // `IntervalAudit`); each gap is judged with its own mode's rules (push ones derived from the push interval).
        let tolerance = Nanos.from(seconds: e.toleranceSeconds)
        func rules(_ m: SessionReport.Mode) -> (tolerance: Int64, accelerated: Int64, runMax: Int64) {
            let r = e.rules(for: m)
            return (Nanos.from(seconds: r.toleranceSeconds), Nanos.from(seconds: r.acceleratedMaxSeconds),
                    Nanos.from(seconds: r.acceleratedRunMaxSeconds))
        }
        let pushCount = sessions.count { $0.mode == .push }
        let mode: SessionReport.Mode = pushCount * 2 > sessions.count ? .push : .pull
        func interval(_ m: SessionReport.Mode) -> Int64 {
            max(1, Nanos.from(seconds: m == .push ? e.pushIntervalSeconds : e.pullIntervalSeconds))
        }

        var c = Client(
            client: address, mode: mode, expectedIntervalSeconds: Double(interval(mode)) / 1e9,
            checkIns: visits.count { !$0.failed && !$0.pending },
            failed: visits.count(where: \.failed),
            firstSeen: sessions.first?.start ?? Timestamp(nanoseconds: 0),
            lastSeen: sessions.last?.start ?? Timestamp(nanoseconds: 0), spread: nil, onTime: 0, late: 0, early: 0,
            missed: 0, notObserved: 0, accelerated: 0, acceleratedRuns: 0, driftSecondsPerHour: nil,
            matchesExpected: nil, score: nil, health: .healthy, reasons: [], appearedLate: false, vanishedEarly: false,
            gaps: [])

        // The gaps judged: those a capture silence hides, those missing no more check-ins than the push bursts
        // of lost bytes alone in them, and those missing no more than were stamped off the clock, are left out.
        var judged: [(ns: Int64, mode: SessionReport.Mode, after: Int)] = []
        for i in sessions.indices.dropFirst() {
            if CaptureSilence.hiding(silences, from: sessions[i - 1].start, to: sessions[i].start,
                                 toleranceNanos: tolerance) != nil {
                c.notObserved += 1
                continue
            }
            let d = sessions[i].start.nanoseconds(since: sessions[i - 1].start)
            let missing = Saturating.add(d, rules(sessions[i].mode).tolerance) / interval(sessions[i].mode) - 1
            // A burst of lost bytes alone in the gap was a check-in sent at an unknown time (as in `IntervalAudit`).
            if IntervalAudit.heldByUncaptured(uncaptured, from: sessions[i - 1].start, to: sessions[i].start,
                                              missing: missing) { continue }
            if offLeft > 0, missing >= 1, missing <= offLeft {
                // As many check-ins missing as were stamped off the clock: they may be these.
                offLeft -= Int(missing)
                continue
            }
            judged.append((d, sessions[i].mode, i))
        }
        // A client on another interval (as `analyze` finds it: `interval-mismatch`) has its gaps judged against
        // its own median, so a slow timer is not counted as missed check-ins; the mismatch itself makes it
        // unhealthy (its reason says the median and the interval expected).
        // A lasting change of its own interval (as `analyze` finds it: `interval-change`): each side's gaps are
        // judged against that side's level, and only the later side against the expected interval.
        func expectedRules(_ m: SessionReport.Mode) -> IntervalLevels.Rules {
            IntervalLevels.rules(interval(m), rules(m))
        }
        let levels = IntervalLevels(count: judged.count, gap: { (judged[$0].ns, judged[$0].mode) },
                                    pull: expectedRules(.pull), push: expectedRules(.push),
                                    minCount: mismatchMinIntervals)
        for m in [mode, mode == .pull ? .push : .pull] where c.intervalChanges.isEmpty {
            c.intervalChanges = levels.changes(m, at: { sessions[judged[$0].after - 1].start })
        }
        let unchanged = levels.changed ? judged.filter { !levels.changed($0.mode) } : judged
        let unchangedGaps = unchanged.map { (ns: $0.ns, mode: $0.mode) }
        let mismatched = IntervalAudit.mismatches(
            unchangedGaps, expected: interval,
            rules: { (rules($0).tolerance, rules($0).accelerated) }, minCount: mismatchMinIntervals)
        let later = levels.last(mode)?.interval
        c.judgedAgainst = later.flatMap { $0 == interval(mode) ? nil : Double($0) / 1e9 }
            ?? mismatched[mode].map { Double($0.median) / 1e9 }
        func judgedInterval(_ m: SessionReport.Mode) -> Int64 { max(1, mismatched[m]?.median ?? interval(m)) }

        // In nanoseconds, for their median (`Median`), the one the judged levels take; the quantiles read seconds.
        var regularNs: [Int64] = []
        var deviations: [Double] = []
        var phase: [(gap: Double, deviation: Double)] = []
        var slots = 0
        var onGrid = 0
        var inRun = false
        // The current accelerated run's gaps added up; a run longer than the model allows is a storm.
        var runNs: Int64 = 0
        var runMax: Int64 = 0
        var previous = 0
        func endRun() {
            if inRun && runNs > runMax {
                c.storms += 1
                c.stormSeconds += Double(runNs) / 1e9
            }
            inRun = false
            runNs = 0
        }
        for (j, g) in judged.enumerated() {
            // A gap left out (not observed, or off the clock) ends a run.
            if g.after != previous + 1 { endRun() }
            previous = g.after
            let d = g.ns
            let r = levels.rules(at: j, g.mode)
            let changed = levels.changed(g.mode)
            let (tol, accelerated, maxRun) = (r.tolerance, r.accelerated, r.runMax)
            c.gaps.append(Double(d) / 1e9)
            if d <= accelerated {
                c.gapVerdicts.append(GapVerdict(mode: g.mode, kind: .accelerated))
                c.accelerated += 1
                if !inRun {
                    c.acceleratedRuns += 1
                    runMax = maxRun
                }
                inRun = true
                runNs = Saturating.add(runNs, d)
                continue
            }
            endRun()
            regularNs.append(d)
            let iv = changed ? r.interval : judgedInterval(g.mode)
            // Saturating: a gap or interval near the Int64 range must not trap.
            let m = min(Saturating.add(d, tol) / iv - 1, Int64(Int32.max))
            let kind: GapVerdict.Kind
            if m >= 1 {
                c.missed += Int(m)
                kind = .missed
            } else if d > Saturating.add(iv, tol) {
                c.late += 1
                kind = .late
            } else if d < Saturating.subtract(iv, tol) {
                c.early += 1
                kind = .early
            } else {
                c.onTime += 1
                kind = .onTime
            }
            c.gapVerdicts.append(GapVerdict(mode: g.mode, kind: kind))
            // Score and drift stay against the configured grid: a client on another interval scores low. A client
            // whose interval changed is scored against each side's level, as it was judged.
            let grid = changed ? r.interval : interval(g.mode)
            let k = max(1, min(Int64(Int32.max), Saturating.clamp((Double(d) / Double(grid)).rounded())))
            let deviation = Double(Saturating.subtract(d, Saturating.multiply(k, grid))) / 1e9
            deviations.append(deviation)
            slots += Int(k)
            if abs(deviation) <= Double(tol) / 1e9 {
                onGrid += 1
                phase.append((Double(d) / 1e9, deviation))
            }
        }

        let expected = c.expectedIntervalSeconds
        let tol = Double(rules(mode).tolerance) / 1e9
        if !regularNs.isEmpty {
            // Sorted once: seconds keep the nanoseconds' order.
            let sortedNs = regularNs.sorted()
            let s = sortedNs.map { Double($0) / 1e9 }
            let med = Double(Median.of(sorted: sortedNs)) / 1e9
            c.spread = Spread(
                count: s.count, median: micro(med), mad: micro(quantile(s.map { abs($0 - med) }.sorted(), 0.5)),
                iqr: micro(quantile(s, 0.75) - quantile(s, 0.25)), p5: micro(quantile(s, 0.05)),
                p95: micro(quantile(s, 0.95)), min: micro(s[0]), max: micro(s[s.count - 1]))
            // As `analyze`'s `interval-mismatch`: enough regular gaps with a median outside `I ± T`; with fewer
            // than `mismatchMinIntervals` of the client's mode the median is not judged, so neither true nor false.
            let judgedMedian = IntervalAudit.judgedGaps(unchangedGaps, mode, accelerated: rules(mode).accelerated,
                                                        minCount: mismatchMinIntervals) != nil
            c.matchesExpected = later.map { $0 == interval(mode) } ?? (judgedMedian ? mismatched[mode] == nil : nil)
            c.score = score(deviations: deviations, onGrid: onGrid, slots: slots, interval: expected)
        }
        endRun()
        c.driftSecondsPerHour = drift(regular: phase.map(\.gap), deviations: phase.map(\.deviation))
        // Time the capture covered between its edges and the client's first and last check-in: less what
        // it certainly did not cover (between files, across a jump of its clock).
        func covered(_ from: Timestamp, _ to: Timestamp) -> Double {
            let uncovered = silences.reduce(Int64(0)) { $0 + ($1.uncovered ? $1.overlap(from: from, to: to) : 0) }
            return Double(max(0, to.nanoseconds(since: from) - uncovered)) / 1e9
        }
        // A client on another interval is late to appear or silent at the end only by its own interval, against
        // which its gaps are judged: a 3600 s timer's first check-in 20 minutes in is no late appearance.
        // A client whose interval changed: its first check-in by its first level, its last by its last one.
        var edge = (c.judgedAgainst ?? expected) + tol
        func reach(_ r: IntervalLevels.Rules) -> Double { Double(Saturating.add(r.interval, r.tolerance)) / 1e9 }
        if let first = levels.stretches(mode).first { edge = reach(first.rules) }
        if let start = captureStart { c.appearedLate = covered(start, c.firstSeen) > edge }
        if let last = levels.last(mode) { edge = reach(last) }
        // A client whose later connections the limit dropped went on checking in, as far as anyone knows.
        c.droppedByLimit = droppedByLimit
        c.offClock = visits.count - sessions.count
        if let end = captureEnd, droppedByLimit == 0 { c.vanishedEarly = covered(c.lastSeen, end) > edge }
        c.wentSilent = wentSilent
        judge(&c, tolerance: tol, acceleratedMax: e.rules(for: mode).acceleratedMaxSeconds)
        return c
    }

    private static func judge(_ c: inout Client, tolerance: Double, acceleratedMax: Double) {
        var bad: [String] = []
        if c.missed > 0 { bad.append("\(c.missed) missed") }
        if c.failed > 0 { bad.append("\(c.failed) failed") }
        if c.matchesExpected == false, let change = c.intervalChanges.last {
            // Worded as `analyze`'s `interval-mismatch` says it: since the change, or since the last of several.
            let after = c.intervalChanges.count > 1 ? "the last change" : "the change"
            bad.append("now \(formatSeconds(change.toSeconds)) s, expected "
                + "\(formatSeconds(c.expectedIntervalSeconds)) s ± \(formatSeconds(tolerance)) s (after \(after))")
        } else if c.matchesExpected == false, let s = c.spread {
            let against = c.judgedAgainst.map { " (another interval: gaps judged against \(formatSeconds($0)) s)" }
            bad.append("median \(formatSeconds(s.median)) s, expected \(formatSeconds(c.expectedIntervalSeconds)) s "
                + "± \(formatSeconds(tolerance)) s" + (against ?? ""))
        }
        // Storms over more than half the time observed: the client checks in far too often, whatever the few
        // regular gaps say. A shorter storm degrades it.
        let observed = c.gaps.reduce(0, +)
        let storm = "\(counted(c.storms, "heartbeat storm")) (\(formatSeconds(c.stormSeconds)) s of check-ins at most "
            + "\(formatSeconds(acceleratedMax)) s apart)"
        if c.storms > 0 && c.stormSeconds * 2 > observed {
            bad.append(storm + ", \(Int(c.stormSeconds * 100 / max(observed, 1e-9))) % of the time observed")
        }
        var soft: [String] = []
        if c.storms > 0 && c.stormSeconds * 2 <= observed { soft.append(storm) }
        if c.late > 0 { soft.append("\(c.late) late") }
        if c.early > 0 { soft.append("\(c.early) early") }
        if let s = c.score, s < 70 { soft.append("periodicity \(s)/100") }
        c.reasons = bad + soft
        // An unhealthy client's low score comes from what made it unhealthy (missed check-ins, another interval):
        // only its late and early gaps and storms are jitter.
        c.jitter = bad.isEmpty ? soft : (c.storms > 0 ? [storm] : []) + (c.late > 0 ? ["\(c.late) late"] : [])
            + (c.early > 0 ? ["\(c.early) early"] : [])
        if c.acceleratedRuns > c.storms {
            c.reasons.append(counted(c.acceleratedRuns - c.storms, "accelerated run"))
        }
        if c.notObserved > 0 {
            c.reasons.append("\(counted(c.notObserved, "interval")) not observed (capture silence)")
        }
        if c.offClock > 0 {
            c.reasons.append("\(counted(c.offClock, "check-in")) stamped off the capture's clock (not judged)")
        }
        c.reasons += c.intervalChanges.map(\.text)
        if c.appearedLate { c.reasons.append("appeared mid-capture") }
        if let w = c.wentSilent {
            c.reasons.append(w.text)
        } else if c.vanishedEarly {
            c.reasons.append("silent before the capture ended")
        }
        if c.droppedByLimit > 0 {
            c.reasons.append("\(counted(c.droppedByLimit, "connection")) past the per-client limit dropped "
                + "(not judged after \(c.lastSeen.rfc3339(fractionDigits: 3)))")
        }
        if !bad.isEmpty {
            c.health = .unhealthy
        } else if !soft.isEmpty {
            c.health = .degraded
        } else if c.checkIns + c.failed < 2 {
            c.health = .insufficient
            c.reasons.insert("fewer than 2 check-ins", at: 0)
        } else if c.gaps.isEmpty {
            // Check-ins enough, but a capture silence hid every interval between them: nothing judged.
            c.health = .insufficient
            c.reasons.insert("not judged", at: 0)
        } else if c.spread == nil {
            // Every gap observed is in the accelerated range (and no run of them is a storm): no regular interval,
            // no median, no score; nothing of the interval was judged (as for times all clamped to one instant).
            c.health = .insufficient
            c.reasons.insert("not judged: no regular interval (every gap in the accelerated range)", at: 0)
        } else {
            // A client that stopped checking in is a warning, as in `analyze`, however regular it was before.
            c.health = c.wentSilent == nil ? .healthy : .degraded
        }
    }

    // MARK: - Score and drift

    /// The periodicity score, 0-100, judged against the known interval `I` (seconds):
    /// `100 × (0.5 × onGrid/n + 0.25 × max(0, 1 − MAD(dev)/(0.1 × I)) + 0.25 × n/slots)` over the `n`
    /// regular gaps, where each gap `d` is matched to the nearest whole multiple `k = max(1, round(d/I))`
    /// of `I`, `dev = d − k·I`, a gap is on the grid when `|dev| <= T`, and `slots` adds up the `k`s
    /// (so missed check-ins lower the last term, not the first).
    public static func score(deviations: [Double], onGrid: Int, slots: Int, interval: Double) -> Int? {
        guard !deviations.isEmpty, slots > 0, interval > 0 else { return nil }
        let n = Double(deviations.count)
        let sorted = deviations.sorted()
        let med = quantile(sorted, 0.5)
        let mad = quantile(deviations.map { abs($0 - med) }.sorted(), 0.5)
        let jitter = max(0, 1 - mad / (0.1 * interval))
        let value = 0.5 * Double(onGrid) / n + 0.25 * jitter + 0.25 * n / Double(slots)
        return Int((100 * value).rounded())
    }

    /// Least-squares slope of the cumulative deviation against cumulative time, in seconds per hour.
    static func drift(regular: [Double], deviations: [Double]) -> Double? {
        guard regular.count >= 2, regular.count == deviations.count else { return nil }
        var xs: [Double] = [0]
        var ys: [Double] = [0]
        for (d, dev) in zip(regular, deviations) {
            xs.append((xs.last ?? 0) + d)
            ys.append((ys.last ?? 0) + dev)
        }
        let n = Double(xs.count)
        let mx = xs.reduce(0, +) / n
        let my = ys.reduce(0, +) / n
        var sxy = 0.0
        var sxx = 0.0
        for (x, y) in zip(xs, ys) {
            sxy += (x - mx) * (y - my)
            sxx += (x - mx) * (x - mx)
        }
        guard sxx > 0 else { return nil }
        return micro(sxy / sxx * 3600)
    }

    /// Linear interpolation between ranks of a sorted, non-empty array (`q` in 0...1).
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard let first = sorted.first else { return 0 }
        guard sorted.count > 1 else { return first }
        let pos = q * Double(sorted.count - 1)
        let lo = Int(pos.rounded(.down))
        let hi = min(lo + 1, sorted.count - 1)
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - Double(lo))
    }

    /// `v` to the microsecond, as the reports give seconds.
    static func micro(_ v: Double) -> Double { (v * 1e6).rounded() / 1e6 }
}
