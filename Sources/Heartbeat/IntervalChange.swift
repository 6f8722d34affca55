import Core

/// A lasting change of one client's own interval in one mode: its gaps held one level, then another one, until
/// the last gap observed or a further change (a revert, or another level). SEP's interval is a policy setting,
/// and a client takes a new one at its next check-in, so a capture spanning an administrator's change shows each
/// client's gaps moving from one steady level to another. `IntervalAudit` and `FleetAudit` find it alike
/// (`IntervalLevels`) and judge each side's gaps against its own level, so neither side counts missed, late or
/// early check-ins against the other's interval.
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

    /// The interval (nanoseconds) a gap starting at `start` is judged by, for a client whose interval changed
    /// (`changes` in time order): the level before the first change after `start`, else `current` (the client's
    /// expected interval, the last level once changed).
    static func intervalNanos(_ changes: [IntervalChange], forGapFrom start: Timestamp, current: Int64) -> Int64 {
        guard let next = changes.first(where: { start < $0.at }) else { return current }
        return max(1, Nanos.from(seconds: next.fromSeconds))
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
/// interval changed (`IntervalChange`), those of the stretch at one level the gap falls in (two stretches for one
/// change, three for a change and its revert or a change and another).
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

    /// One steady level of a mode's gaps: from the gap at `first` (a position in the gaps handed to `init`) until
    /// the next stretch's first gap, judged against `rules`.
    struct Stretch {
        var first: Int
        var rules: Rules
        /// Its regular gaps (above its accelerated range).
        var gaps: Int
    }

    /// Each mode's expected interval and rules.
    let pull: Rules
    let push: Rules
    /// Each mode's levels in time order when its interval changed (two or more), else empty.
    private(set) var pullStretches: [Stretch] = []
    private(set) var pushStretches: [Stretch] = []

    /// Whether some mode's interval changed.
    var changed: Bool { !pullStretches.isEmpty || !pushStretches.isEmpty }

    /// - Parameters:
    ///   - count, gap: the client's gaps judged (those not observed left out), in time order, read by position.
    ///   - minCount: the regular gaps each side needs (`interval.mismatchMinIntervals`, at least 3).
    /// Cost: O(n) per mode, with nothing allocated, when the gaps hold one level with no `minCount` of them in a row
    /// off it (the usual case), else O(n log n).
    init(count: Int, gap: (Int) -> (ns: Int64, mode: SessionReport.Mode), pull: Rules, push: Rules, minCount: Int) {
        self.pull = pull
        self.push = push
        let m = max(3, minCount)
        for mode in [SessionReport.Mode.pull, .push] {
            let base = mode == .push ? push : pull
            func rules(_ ns: Int64) -> Rules { Self.rulesOf(ns, base: base) }
            guard let ends = Self.endMedians(count: count, gap: gap, mode: mode, m: m) else { continue }
            var found: [(first: Int, rules: Rules, gaps: Int)] = []
            // A stretch at another level between the ends (a change and its revert, or a change and another), read
            // first: a middle level in the first one's accelerated range would leave `find` two steady ends.
            if Self.offRun(count: count, gap: gap, mode: mode, m: m, ends: (rules(ends.head), rules(ends.tail))) {
                let positions = (0..<count).filter { gap($0).mode == mode }
                found = Self.findMiddle(positions.map { gap($0).ns }, minCount: m, expected: base, rules: rules)
                    .map { (positions[$0.first], $0.rules, $0.gaps) }
            }
            // Else one change held to the end, as the ends show it.
            if found.isEmpty, Self.apart(ends.head, ends.tail, rules: rules) {
                let positions = (0..<count).filter { gap($0).mode == mode }
                if let s = Self.find(positions.map { gap($0).ns }, minCount: m, rules: rules) {
                    found = [(positions[0], s.from, s.before), (positions[s.split], s.to, s.after)]
                }
            }
            let stretches = found.map { Stretch(first: $0.first, rules: $0.rules, gaps: $0.gaps) }
            if mode == .push { pushStretches = stretches } else { pullStretches = stretches }
        }
    }

    /// The levels of `mode` in time order when its interval changed, else empty.
    func stretches(_ mode: SessionReport.Mode) -> [Stretch] { mode == .push ? pushStretches : pullStretches }

    /// Whether the interval of `mode` changed.
    func changed(_ mode: SessionReport.Mode) -> Bool { !stretches(mode).isEmpty }

    /// The rules of the gap at `position` (in the gaps handed to `init`) of `mode`.
    func rules(at position: Int, _ mode: SessionReport.Mode) -> Rules {
        let all = stretches(mode)
        if let s = all.last(where: { $0.first <= position }) ?? all.first { return s.rules }
        return mode == .push ? push : pull
    }

    /// The rules of the level `mode` runs at the end: the last stretch's, nil when its interval did not change.
    func last(_ mode: SessionReport.Mode) -> Rules? { stretches(mode).last?.rules }

    /// The changes of `mode` in time order, for the reports: one between each two stretches, `at` giving the time of
    /// a stretch's first gap (from its position).
    func changes(_ mode: SessionReport.Mode, at: (Int) -> Timestamp) -> [IntervalChange] {
        let all = stretches(mode)
        guard all.count >= 2 else { return [] }
        let base = mode == .push ? push : pull
        // To the microsecond, as the reports give other figures (the levels are medians of gaps).
        func seconds(_ ns: Int64) -> Double { FleetAudit.micro(Double(ns) / 1e9) }
        return (1..<all.count).map { k in
            let (from, to) = (all[k - 1], all[k])
            let side = from.rules.interval == base.interval ? "from"
                : to.rules.interval == base.interval ? "to" : "neither"
            return IntervalChange(mode: mode, fromSeconds: seconds(from.rules.interval),
                                  toSeconds: seconds(to.rules.interval), at: at(to.first), gapsBefore: from.gaps,
                                  gapsAfter: to.gaps, matchesExpected: side)
        }
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
    /// before it and on the last one after it, and each side must be steady (`level`) and told from the other
    /// (`distinct`). Cost: O(n log n).
    static func find(_ ns: [Int64], minCount m: Int, rules: (Int64) -> Rules)
        -> (split: Int, from: Rules, to: Rules, before: Int, after: Int)? {
        guard ns.count >= 2 * m else { return nil }
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
        guard let from = level(ns[..<best.split], first, minCount: m, rules: rules),
              let to = level(ns[best.split...], last, minCount: m, rules: rules),
              distinct((ns[..<best.split], from.rules), (ns[best.split...], to.rules)) else { return nil }
        return (best.split, from.rules, to.rules, from.count, to.count)
    }

    /// Whether `mode` has `m` gaps in a row, each at least `ReferenceModel.minIntervalSeconds`, on neither end's
    /// level: what a stretch at another level between the ends needs (seconds-apart check-ins are a storm, not a
    /// level). O(n), nothing allocated.
    private static func offRun(count: Int, gap: (Int) -> (ns: Int64, mode: SessionReport.Mode),
                               mode: SessionReport.Mode, m: Int, ends: (head: Rules, tail: Rules)) -> Bool {
        let shortest = Nanos.from(seconds: ReferenceModel.minIntervalSeconds)
        var inRow = 0
        for i in 0..<count {
            let g = gap(i)
            guard g.mode == mode else { continue }
            inRow = g.ns >= shortest && !on(g.ns, ends.head) && !on(g.ns, ends.tail) ? inRow + 1 : 0
            if inRow >= m { return true }
        }
        return false
    }

    /// Finds a stretch of one mode's gaps `ns` (time order) at another steady level between the levels of its
    /// ends: a change and its revert (300 s, 60 s, 300 s) when the ends hold one level, a change and another
    /// (300 s, 60 s, 600 s) when `find` could not read the ends' two levels as one change. The middle level is the
    /// median of the longest run of gaps on neither end's level; the two splits are where the most gaps sit on
    /// the first level before the middle stretch, on its level inside it and on the last one after it. Each of the
    /// three stretches must be steady (`level`; the middle one with `2 m` regular gaps), and each told from the next
    /// (`distinct`: so a short accelerated episode, a storm or a run of missed check-ins stays what it is). Returns
    /// the three stretches (the position of each one's first gap, its rules, its regular gaps), or none.
    /// `expected` is the mode's expected rules. Cost: O(n log n).
    static func findMiddle(_ ns: [Int64], minCount m: Int, expected: Rules, rules: (Int64) -> Rules)
        -> [(first: Int, rules: Rules, gaps: Int)] {
        let n = ns.count
        guard n >= 3 * m else { return [] }
        let shortest = Nanos.from(seconds: ReferenceModel.minIntervalSeconds)
        let first = rules(median(Array(ns.prefix(m))))
        let last = rules(median(Array(ns.suffix(m))))
        var longest = 0..<0
        var start = 0
        for (i, d) in ns.enumerated() {
            guard d >= shortest, !on(d, first), !on(d, last) else {
                start = i + 1
                continue
            }
            if i + 1 - start > longest.count { longest = start..<(i + 1) }
        }
        guard longest.count >= m else { return [] }
        let guess = median(Array(ns[longest]))
        guard apart(first.interval, guess, rules: rules), apart(guess, last.interval, rules: rules) else { return [] }
        let middle = rules(guess)
        // Counts of gaps on each level before each position.
        var onFirst = [0]
        var onMiddle = [0]
        var onLast = [0]
        for d in ns {
            onFirst.append(onFirst[onFirst.count - 1] + (on(d, first) ? 1 : 0))
            onMiddle.append(onMiddle[onMiddle.count - 1] + (on(d, middle) ? 1 : 0))
            onLast.append(onLast[onLast.count - 1] + (on(d, last) ? 1 : 0))
        }
        // For each end `e` of the middle stretch, the best start before it so far.
        var bestStart = (score: Int.min, at: 0)
        var best = (score: -1, start: 0, end: 0)
        for e in 2..<n {
            let s = e - 1
            if onFirst[s] - onMiddle[s] > bestStart.score { bestStart = (onFirst[s] - onMiddle[s], s) }
            let score = bestStart.score + onMiddle[e] + onLast[n] - onLast[e]
            if score > best.score { best = (score, bestStart.at, e) }
        }
        let sides = [ns[..<best.start], ns[best.start..<best.end], ns[best.end...]]
        // The middle stretch needs twice the regular gaps an end one does: a few late (or early) check-ins in a row
        // at one steady level between two stretches at the expected one are those faults, not a policy tried.
        // When the middle stretch is the one at the expected level, the ends off it need as many: late (or early)
        // check-ins at both edges of a capture otherwise on time are the same faults split in two, not a policy
        // left just after the capture began and another taken just before it ended.
        let ends = middle == expected ? 2 * m : m
        guard let a = level(sides[0], first, minCount: ends, rules: rules),
              let b = level(sides[1], middle, minCount: 2 * m, rules: rules),
              let c = level(sides[2], last, minCount: ends, rules: rules),
              distinct((sides[0], a.rules), (sides[1], b.rules)), distinct((sides[1], b.rules), (sides[2], c.rules))
        else { return [] }
        // A middle stretch in a neighbour's accelerated range is a storm (`heartbeat-storm`) unless it lasts as long
        // as `m` of that neighbour's intervals, what a level of the neighbour needs: a few minutes of check-ins 20 s
        // apart between two 300 s stretches stay a storm, an hour at 60 s is a level. Only its time at its level
        // counts (`span`): an outage gap leading into a burst of retries does not make the burst a level.
        let length = span(sides[1], b.rules)
        for other in [a.rules, c.rules] where b.rules.interval <= other.accelerated {
            guard length >= Saturating.multiply(Int64(m), other.interval) else { return [] }
        }
        return [(0, a.rules, a.count), (best.start, b.rules, b.count), (best.end, c.rules, c.count)]
    }

    private static func median(_ v: [Int64]) -> Int64 { Median.of(sorted: v.sorted()) }

    /// The time a stretch spent at its level: from its first gap on `level` to its last one, those between included
    /// (a check-in missed inside it), the gaps off it at its edges left out (an outage leading into it, a client's
    /// usual interval just before an accelerated episode the capture began with).
    private static func span(_ side: ArraySlice<Int64>, _ level: Rules) -> Int64 {
        guard let from = side.firstIndex(where: { on($0, level) }),
              let to = side.lastIndex(where: { on($0, level) }) else { return 0 }
        return side[from...to].reduce(Int64(0), Saturating.add)
    }

    /// A stretch's level: its regular gaps' median, when they are at least `m` (above the accelerated range of the
    /// level guessed), three quarters of them within its tolerance, their median too, and that median at least
    /// `ReferenceModel.minIntervalSeconds` (a shorter one is no interval: a storm).
    private static func level(_ side: ArraySlice<Int64>, _ guess: Rules, minCount m: Int, rules: (Int64) -> Rules)
        -> (rules: Rules, count: Int)? {
        let regular = side.filter { $0 > guess.accelerated }
        guard regular.count >= m, regular.count(where: { on($0, guess) }) * 4 >= regular.count * 3 else {
            return nil
        }
        let med = median(regular)
        guard on(med, guess), med >= Nanos.from(seconds: ReferenceModel.minIntervalSeconds) else { return nil }
        return (rules(med), regular.count)
    }

    /// Whether two neighbouring stretches (gaps and level) are two levels: each outside the other's tolerance, and
    /// neither what a fault would show against the other.
    private static func distinct(_ a: (side: ArraySlice<Int64>, rules: Rules),
                                 _ b: (side: ArraySlice<Int64>, rules: Rules)) -> Bool {
        guard !on(b.rules.interval, a.rules), !on(a.rules.interval, b.rules) else { return false }
        // A side in the other's accelerated range that lasts no longer than an accelerated run may is that run (a
        // client taking a policy just before the capture ended, or restarted just before it began), not a level.
        // Its time at its level (`span`) counts: a gap at the other level just before the run is not part of it.
        func run(_ side: ArraySlice<Int64>, _ level: Rules, other: Rules) -> Bool {
            level.interval <= other.accelerated && span(side, level) <= other.runMax
        }
        guard !run(a.side, a.rules, other: b.rules), !run(b.side, b.rules, other: a.rules) else { return false }
        // Gaps steady at two or three times the other side's level are what a client missing every other (or two
        // of three) check-ins shows: its timer keeps the same phase grid, so timing cannot tell that from a policy
        // change to or from such a multiple. Read as missed check-ins, which a fault is not hidden behind.
        let (short, long) = a.rules.interval < b.rules.interval ? (a.rules, b.rules) : (b.rules, a.rules)
        for k in Int64(2)...3 {
            let target = Saturating.multiply(k, short.interval)
            if abs(Saturating.subtract(long.interval, target)) <= Saturating.multiply(k, short.tolerance) {
                return false
            }
        }
        return true
    }
}
