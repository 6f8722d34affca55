import Core

/// A lasting change of one client's own interval in one mode: its gaps held one level, then another one until
/// the last gap observed. SEP's interval is a policy setting, and a client takes a new one at its next check-in,
/// so a capture spanning an administrator's change shows each client's gaps moving from one steady level to
/// another. `IntervalAudit` and `FleetAudit` find it alike (`IntervalLevels`) and judge each side's gaps against
/// its own level, so neither side counts missed, late or early check-ins against the other's interval.
public struct IntervalChange: Hashable, Sendable {
    public var mode: SessionReport.Mode
    /// The level each side is judged against, in seconds: the side's median regular gap (`Median`), or the
    /// expected interval when that median is within it and its tolerance.
    public var fromSeconds: Double
    public var toSeconds: Double
    /// Start of the check-in that began the first gap at the new level.
    public var at: Timestamp
    /// Regular gaps (above the accelerated range) of the mode before and after the change.
    public var gapsBefore: Int
    public var gapsAfter: Int

    /// Which side runs the expected interval: `from`, `to` or `neither`.
    public var matchesExpected: String

    /// The interval (nanoseconds) a gap starting at `start` is judged by: the old one before the change, else
    /// `current` (the client's expected interval, the new level once changed).
    func intervalNanos(forGapFrom start: Timestamp, current: Int64) -> Int64 {
        start < at ? max(1, Nanos.from(seconds: fromSeconds)) : current
    }

    /// `pull interval changed from 60 s to 300 s at 2026-01-01T01:00:00.000Z`.
    public var text: String {
        "\(mode.rawValue) interval changed from \(formatSeconds(fromSeconds)) s to \(formatSeconds(toSeconds)) s at "
            + at.rfc3339(fractionDigits: 3)
    }
}

extension IntervalChange: Encodable {
    /// One member's value in the JSON reports.
    public enum Member: Hashable, Sendable {
        case text(String)
        case seconds(Double)
        case count(Int)
    }

    /// Its JSON members, in `audit`'s order (`analyze`'s JSON sorts them by key): the one list both reports write,
    /// `analyze` through this `Encodable` conformance and `audit` through its own JSON trees.
    public var members: [(key: String, value: Member)] {
        [("mode", .text(mode.rawValue)), ("fromSeconds", .seconds(fromSeconds)), ("toSeconds", .seconds(toSeconds)),
         ("at", .text(at.rfc3339())), ("gapsBefore", .count(gapsBefore)), ("gapsAfter", .count(gapsAfter)),
         ("matchesExpected", .text(matchesExpected))]
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for (key, value) in members {
            switch value {
            case .text(let s): try c.encode(s, forKey: Key(stringValue: key))
            case .seconds(let d): try c.encode(d, forKey: Key(stringValue: key))
            case .count(let n): try c.encode(n, forKey: Key(stringValue: key))
            }
        }
    }
}

/// The interval and rules each of a client's gaps is judged with: its mode's expected ones, or, for a mode whose
/// interval changed (`IntervalChange`), those of the level of its side of the change.
struct IntervalLevels {
    /// How one gap is judged, in nanoseconds.
    struct Rules: Equatable {
        var interval: Int64
        var tolerance: Int64
        var accelerated: Int64
        var runMax: Int64
    }

    /// `interval` with a mode's rules as the audits hold them (`IntervalAudit.rules`, `FleetAudit`'s).
    static func rules(_ interval: Int64, _ r: (tolerance: Int64, accelerated: Int64, runMax: Int64)) -> Rules {
        Rules(interval: interval, tolerance: r.tolerance, accelerated: r.accelerated, runMax: r.runMax)
    }

    /// A mode's change: the position (in the gaps handed to `init`) of the first gap at the new level, and the
    /// levels judged against on each side.
    struct Split {
        var first: Int
        var from: Rules
        var to: Rules
        var gapsBefore: Int
        var gapsAfter: Int
    }

    /// Each mode's expected interval and rules.
    let pull: Rules
    let push: Rules
    private(set) var pullSplit: Split?
    private(set) var pushSplit: Split?

    /// Whether some mode's interval changed.
    var changed: Bool { pullSplit != nil || pushSplit != nil }

    /// - Parameters:
    ///   - count, gap: the client's gaps judged (those not observed left out), in time order, read by position.
    ///   - minCount: the regular gaps each side needs (`interval.mismatchMinIntervals`, at least 3).
    /// Cost: O(m) per mode, with nothing allocated, when the first and last `m` gaps are at one level (the usual
    /// case), else O(n log n).
    init(count: Int, gap: (Int) -> (ns: Int64, mode: SessionReport.Mode), pull: Rules, push: Rules, minCount: Int) {
        self.pull = pull
        self.push = push
        let m = max(3, minCount)
        for mode in [SessionReport.Mode.pull, .push] {
            let base = mode == .push ? push : pull
            guard let ends = Self.endMedians(count: count, gap: gap, mode: mode, m: m),
                  Self.apart(ends.head, ends.tail, rules: { Self.rulesOf($0, base: base) }) else { continue }
            let positions = (0..<count).filter { gap($0).mode == mode }
            guard let s = Self.find(positions.map { gap($0).ns }, minCount: m,
                                    rules: { Self.rulesOf($0, base: base) }) else { continue }
            let split = Split(first: positions[s.split], from: s.from, to: s.to, gapsBefore: s.before,
                              gapsAfter: s.after)
            if mode == .push { pushSplit = split } else { pullSplit = split }
        }
    }

    func split(_ mode: SessionReport.Mode) -> Split? { mode == .push ? pushSplit : pullSplit }

    /// The rules of the gap at `position` (in the gaps handed to `init`) of `mode`.
    func rules(at position: Int, _ mode: SessionReport.Mode) -> Rules {
        if let s = split(mode) { return position < s.first ? s.from : s.to }
        return mode == .push ? push : pull
    }

    /// The change of `mode`, for the reports.
    func change(_ mode: SessionReport.Mode, at: Timestamp) -> IntervalChange? {
        guard let s = split(mode) else { return nil }
        let base = mode == .push ? push : pull
        let side = s.from.interval == base.interval ? "from" : s.to.interval == base.interval ? "to" : "neither"
        // To the microsecond, as the reports give other figures (the levels are medians of gaps).
        func seconds(_ ns: Int64) -> Double { FleetAudit.micro(Double(ns) / 1e9) }
        return IntervalChange(mode: mode, fromSeconds: seconds(s.from.interval), toSeconds: seconds(s.to.interval),
                              at: at, gapsBefore: s.gapsBefore, gapsAfter: s.gapsAfter, matchesExpected: side)
    }

    /// The rules of a level: the expected ones when it is within the expected interval's tolerance (so a side on
    /// the expected interval is judged exactly as a client with no change), else derived from it by the built-in
    /// model, as `--interval` would derive them: the expected interval's may have been derived from a much shorter
    /// one (6 s of tolerance at `--interval 60`), too narrow for the 300 s a client ran before a change to 60 s.
    private static func rulesOf(_ ns: Int64, base: Rules) -> Rules {
        let low = Saturating.subtract(base.interval, base.tolerance)
        if ns >= low, ns <= Saturating.add(base.interval, base.tolerance) { return base }
        let r = ReferenceModel.builtIn.intervalRules(forSeconds: Double(ns) / 1e9)
        return Rules(interval: max(1, ns), tolerance: Nanos.from(seconds: r.toleranceSeconds),
                     accelerated: Nanos.from(seconds: r.acceleratedMaxSeconds),
                     runMax: Nanos.from(seconds: r.acceleratedRunMaxSeconds))
    }

    private static func on(_ d: Int64, _ r: Rules) -> Bool {
        d >= Saturating.subtract(r.interval, r.tolerance) && d <= Saturating.add(r.interval, r.tolerance)
    }

    /// Whether two levels are each outside the other's tolerance, both at least `ReferenceModel.minIntervalSeconds`
    /// (a shorter one is no interval: a storm).
    private static func apart(_ a: Int64, _ b: Int64, rules: (Int64) -> Rules) -> Bool {
        let shortest = Nanos.from(seconds: ReferenceModel.minIntervalSeconds)
        return a >= shortest && b >= shortest && !on(b, rules(a)) && !on(a, rules(b))
    }

    /// The medians (`Median`) of the first and of the last `m` gaps of `mode`, read in place (on the stack);
    /// nil when the mode has fewer than `2 m` gaps.
    private static func endMedians(count: Int, gap: (Int) -> (ns: Int64, mode: SessionReport.Mode),
                                   mode: SessionReport.Mode, m: Int) -> (head: Int64, tail: Int64)? {
        withUnsafeTemporaryAllocation(of: Int64.self, capacity: 2 * m) { buffer in
            var n = 0
            var i = 0
            while n < m, i < count {
                let g = gap(i)
                if g.mode == mode {
                    buffer.initializeElement(at: n, to: g.ns)
                    n += 1
                }
                i += 1
            }
            var j = count - 1
            while n < 2 * m, j >= i {
                let g = gap(j)
                if g.mode == mode {
                    buffer.initializeElement(at: n, to: g.ns)
                    n += 1
                }
                j -= 1
            }
            guard n == 2 * m, let base = buffer.baseAddress else { return nil }
            var head = UnsafeMutableBufferPointer(start: base, count: m)
            var tail = UnsafeMutableBufferPointer(start: base + m, count: m)
            head.sort()
            tail.sort()
            return (Median.of(sorted: head), Median.of(sorted: tail))
        }
    }

    /// Finds where one mode's gaps `ns` (time order) move from one steady level to another held to the end.
    ///
    /// The levels are the medians of the first and of the last `minCount` gaps; when they are within their
    /// tolerances of each other (a steady client, or one back on its interval after a missed check-in, an outage
    /// or an accelerated run) there is no change. Else the split is where the most gaps sit on the first level
    /// before it and on the last one after it, and each side must be steady: at least `minCount` regular gaps
    /// (above its level's accelerated range), three quarters of them within its level's tolerance, their median
    /// too. A level under `ReferenceModel.minIntervalSeconds` is no interval (a storm). Cost: O(n log n).
    static func find(_ ns: [Int64], minCount m: Int, rules: (Int64) -> Rules)
        -> (split: Int, from: Rules, to: Rules, before: Int, after: Int)? {
        guard ns.count >= 2 * m else { return nil }
        func median(_ v: [Int64]) -> Int64 { Median.of(sorted: v.sorted()) }
        let shortest = Nanos.from(seconds: ReferenceModel.minIntervalSeconds)
        let head = median(Array(ns.prefix(m)))
        let tail = median(Array(ns.suffix(m)))
        guard apart(head, tail, rules: rules) else { return nil }
        let first = rules(head)
        let last = rules(tail)
        var before = 0
        var after = ns.count { on($0, last) }
        var best = (count: -1, split: 0)
        for k in 1..<ns.count {
            if on(ns[k - 1], first) { before += 1 }
            if on(ns[k - 1], last) { after -= 1 }
            if before + after > best.count { best = (before + after, k) }
        }
        // A side's level: its regular gaps' median, when they are enough and steady around the level guessed.
        func level(_ side: ArraySlice<Int64>, _ guess: Rules) -> (rules: Rules, count: Int)? {
            let regular = side.filter { $0 > guess.accelerated }
            guard regular.count >= m, regular.count(where: { on($0, guess) }) * 4 >= regular.count * 3 else {
                return nil
            }
            let med = median(regular)
            guard on(med, guess), med >= shortest else { return nil }
            return (rules(med), regular.count)
        }
        guard let from = level(ns[..<best.split], first), let to = level(ns[best.split...], last),
              !on(to.rules.interval, from.rules), !on(from.rules.interval, to.rules) else { return nil }
        // A side in the other's accelerated range that lasts no longer than an accelerated run may is that run (a
        // client taking a policy just before the capture ended, or restarted just before it began), not a level.
        func run(_ side: ArraySlice<Int64>, _ level: Rules, other: Rules) -> Bool {
            level.interval <= other.accelerated && side.reduce(Int64(0), Saturating.add) <= other.runMax
        }
        guard !run(ns[..<best.split], from.rules, other: to.rules),
              !run(ns[best.split...], to.rules, other: from.rules) else { return nil }
        // Gaps steady at two or three times the other side's level are what a client missing every other (or two
        // of three) check-ins shows: its timer keeps the same phase grid, so timing cannot tell that from a policy
        // change to or from such a multiple. Read as missed check-ins, which a fault is not hidden behind.
        let (short, long) = from.rules.interval < to.rules.interval ? (from.rules, to.rules) : (to.rules, from.rules)
        for k in Int64(2)...3 {
            let target = Saturating.multiply(k, short.interval)
            if abs(Saturating.subtract(long.interval, target)) <= Saturating.multiply(k, short.tolerance) { return nil }
        }
        return (best.split, from.rules, to.rules, from.count, to.count)
    }
}
