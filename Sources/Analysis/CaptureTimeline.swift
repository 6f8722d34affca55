import Core
import Records

/// The stretches of time one file's packets cover, kept so that a clock far off on some packets (one
/// flow or one interface stamped an hour ahead or behind, a stray packet) does not cut the capture's
/// own time into pieces.
///
/// A run is a stretch of the timeline whose packets stay within `CaptureSummary.silenceThreshold` of
/// its latest. A packet near the run the packet before it joined extends that run (the per-packet
/// path); one far from it joins the nearest of the runs joined lately (`recentRuns`) that it is near,
/// so two clocks whose packets interleave keep one run each instead of a new run at every switch.
/// A packet near none of them begins a run; when a run joined lately ends before it, the stretch from
/// the latest of those runs to the packet is a forward step of the clock (a pause the capture ran
/// through, or a clock set forward), recorded in `steps`. A packet behind every run joined lately
/// (a clock set back) records no step.
///
/// Closing (`closed()`), a run lying inside the packets of another run with more packets (its first
/// packet after the other's first, its last before the other's last) is a clock running beside the
/// capture's: a stray packet, or a flow or interface stamped off. It is left out of the timeline, so
/// no silence comes from it (its flows' intervals are then judged by their own times). The other runs
/// make the timeline; a stretch between them is a silence, and it is one the clock jumped across
/// unless the steps and the spans of all runs (left out or not) reach across it: the capture ran
/// through it, possibly on another piece of its clock.
///
/// O(1) per packet near the last run; a packet away from it costs a look at `recentRuns` runs. At most
/// `CaptureSummary.maxSilencesListed` + 1 runs are kept; beyond, a packet away from every recent run
/// joins the last run (a forward jump is then counted as a quiet stretch not listed: a pause the clock ran through).
struct CaptureTimeline: Sendable {
    /// One stretch: its earliest and latest times, and the packets (numbered in file order) it holds.
    struct Run: Sendable, Equatable {
        var start: Timestamp
        var end: Timestamp
        var firstPacket: Int
        var lastPacket: Int
        var packets: Int
        /// The latest time of the run the packets before this one's first went to, and the time of the
        /// first packet after one of its packets that went to another run (the last such), if any.
        var before: Timestamp?
        var after: Timestamp?
        /// The id the connection table was to give the next connection when the run's first packet came.
        var firstConnection: UInt64 = 0
    }

    private(set) var runs: [Run] = []
    /// Forward steps of the clock between runs: from the latest of the run joined lately that ended
    /// before a new run, to that run's first packet.
    private(set) var steps: [(start: Timestamp, end: Timestamp)] = []
    /// For each of `steps`, the run it leads to (its index in `runs`).
    private(set) var stepRuns: [Int] = []
    /// The index in `runs` of the run the last packet joined, -1 before the first packet.
    private var current = -1
    /// The runs joined lately, least recent first (at most `recentRuns` indices).
    private var recent: [Int] = []
    /// Packets noted so far (their numbers in file order).
    private var noted = 0

    /// How many runs a packet away from the last one is matched against. Two or three clocks at once
    /// (an interface off, a flow off) and the pauses of each are far fewer.
    static let recentRuns = 8

    /// Notes a packet at `t`. Returns true when it jumped forward past the threshold but no run could be
    /// added (the list is full): a silence not listed.
    @inline(__always)
    mutating func note(_ t: Timestamp, nextConnection: UInt64 = 0) -> Bool {
        noted &+= 1
        if current >= 0, Self.near(t, runs[current].end) {
            join(current, t)
            return false
        }
        return noteAway(t, nextConnection: nextConnection)
    }

    @inline(__always)
    private static func near(_ a: Timestamp, _ b: Timestamp) -> Bool {
        (a > b ? a.nanoseconds(since: b) : b.nanoseconds(since: a)) <= CaptureSummary.silenceThreshold
    }

    @inline(__always)
    private mutating func join(_ i: Int, _ t: Timestamp) {
        if t > runs[i].end { runs[i].end = t } else if t < runs[i].start { runs[i].start = t }
        runs[i].lastPacket = noted
        runs[i].packets &+= 1
    }

    /// A packet not near the last run: the nearest recent run it is near, or a new run.
    @inline(never)
    private mutating func noteAway(_ t: Timestamp, nextConnection: UInt64) -> Bool {
        var nearest = -1
        var nearestDistance = Int64.max
        var below = -1
        for i in recent {
            let end = runs[i].end
            let d = t > end ? t.nanoseconds(since: end) : end.nanoseconds(since: t)
            if d <= CaptureSummary.silenceThreshold, d < nearestDistance {
                nearest = i
                nearestDistance = d
            }
            if end <= t, below < 0 || end > runs[below].end { below = i }
        }
        if current >= 0 { runs[current].after = t }
        if nearest >= 0 {
            runs[nearest].after = nil  // its packets go on: what follows its last one is what counts
            use(nearest)
            join(nearest, t)
            return false
        }
        guard runs.count <= CaptureSummary.maxSilencesListed else {
            let forward = t > runs[current].end
            join(current, t)
            return forward
        }
        if below >= 0 {
            steps.append((runs[below].end, t))
            stepRuns.append(runs.count)
        }
        runs.append(Run(start: t, end: t, firstPacket: noted, lastPacket: noted, packets: 1,
                        before: current >= 0 ? runs[current].end : nil, firstConnection: nextConnection))
        use(runs.count - 1)
        return false
    }

    /// Makes run `i` the current one and the most recent.
    private mutating func use(_ i: Int) {
        current = i
        if let at = recent.firstIndex(of: i) { recent.remove(at: at) }
        if recent.count >= Self.recentRuns { recent.removeFirst() }
        recent.append(i)
    }

    /// Whether each run is left out of the timeline: it lies inside the packets of a run with more
    /// packets (see the type's comment). Checked against the run reaching furthest in file order among
    /// those begun before it (the one most likely to hold it). O(r log r).
    func leftOut() -> [Bool] {
        var out = [Bool](repeating: false, count: runs.count)
        let order = runs.indices.sorted { runs[$0].firstPacket < runs[$1].firstPacket }
        var widest: Int?
        for i in order {
            let r = runs[i]
            if let w = widest, runs[w].lastPacket > r.lastPacket, runs[w].packets > r.packets {
                out[i] = true
            }
            if widest.map({ runs[$0].lastPacket < r.lastPacket }) ?? true { widest = i }
        }
        return out
    }

    /// Whether each run is an excursion: a few packets (spanning `silenceThreshold` or less) dated more than
    /// the threshold beyond both the time before them and the time after them, in file order (a connection or
    /// a packet stamped a day ahead or behind while the capture's clock went on). A pause or a clock set
    /// forward or back goes on at its new time; an excursion comes back. O(r).
    ///
    /// The file's first run is one too when it is a stray start (`isStrayStart`).
    func excursions() -> [Bool] {
        let threshold = CaptureSummary.silenceThreshold
        return runs.map { r in
            if r.firstPacket == 1 { return isStrayStart(r) }
            guard let before = r.before, let after = r.after, r.end.nanoseconds(since: r.start) <= threshold else {
                return false
            }
            let lo = min(before, after)
            let hi = max(before, after)
            return r.start.nanoseconds(since: hi) > threshold || lo.nanoseconds(since: r.end) > threshold
        }
    }

    /// Whether `r`, the file's first run, is a few packets stamped far behind the rest at the start (the first
    /// packet or first few dated a day back): at most `strayStartPackets` and a tenth of the file's packets,
    /// spanning the threshold or less, more than `strayStartDistance` before the packet that follows them in
    /// another run. A capture that really began so long before the rest of its packets is read the same way.
    func isStrayStart(_ r: Run) -> Bool {
        guard r.firstPacket == 1, r.before == nil, let after = r.after, after > r.end,
              r.end.nanoseconds(since: r.start) <= CaptureSummary.silenceThreshold,
              r.packets <= Self.strayStartPackets, r.packets * 10 <= noted else { return false }
        return after.nanoseconds(since: r.end) > Self.strayStartDistance
    }

    /// At most this many packets at a file's start stamped far behind the rest are a stray start.
    static let strayStartPackets = 16
    /// A stray start lies more than this (1 h) before the packets after it.
    static let strayStartDistance: Int64 = 3_600 * 1_000_000_000

    /// The packets of the file's stray start (`isStrayStart`), if it has one.
    var strayStartPackets: Int {
        guard let r = runs.first, isStrayStart(r) else { return 0 }
        return r.packets
    }

    /// What the capture is known to have run through: the steps and every run's span, merged into
    /// disjoint stretches in time order.
    func ranThrough(shifts: [Int64] = []) -> [(start: Timestamp, end: Timestamp)] {
        func moved(_ t: Timestamp, _ run: Int) -> Timestamp {
            run < shifts.count && shifts[run] != 0
                ? Timestamp(nanoseconds: t.nanoseconds.addingReportingOverflow(shifts[run]).partialValue) : t
        }
        var pieces: [(start: Timestamp, end: Timestamp)] = []
        pieces.reserveCapacity(steps.count + runs.count)
        // A step leads from a run behind it to a later one: both ends are read on the later run's clock.
        for (k, s) in steps.enumerated() { pieces.append((moved(s.start, stepRuns[k]), moved(s.end, stepRuns[k]))) }
        for (i, r) in runs.enumerated() { pieces.append((moved(r.start, i), moved(r.end, i))) }
        pieces.sort { $0.start < $1.start }
        var merged: [(start: Timestamp, end: Timestamp)] = []
        for p in pieces {
            if let last = merged.last, p.start <= last.end {
                if p.end > last.end { merged[merged.count - 1].end = p.end }
            } else {
                merged.append(p)
            }
        }
        return merged
    }

    /// The steps back of the whole clock (see `ClockSetBack` in Records): a run begun more than the threshold
    /// behind the time before it, after a clock that ran for more than the threshold, from which the capture
    /// goes on at the earlier time for more than the threshold (or to its last packet) while the earlier time
    /// never comes back. That is: no run begun before it takes a packet after its first; the run before the
    /// step was not half the step or more ahead of the time before it (an excursion the capture comes back
    /// from); the packet after its own (when another run's) is not back near that time; no later run begins
    /// half the step or more ahead of the time the capture reached after the step (a clock running beside it:
    /// one interface or flow stamped off, speaking on); and the clock before it stepped back nowhere since the
    /// last such step (two clocks interleaved). Returns the index of each such run, of the run before its
    /// step, and the nanoseconds each run's times are to be read later (the steps back before it, added up).
    /// `leftOut`, `excursions`: as `leftOut()`, `excursions()` give them. O(r²) at worst over the runs after a
    /// candidate step; the runs are few.
    func setBacks(leftOut: [Bool], excursions: [Bool]) -> (runs: [Int], from: [Int], shifts: [Int64]) {
        let threshold = CaptureSummary.silenceThreshold
        var found: [Int] = []
        var steppedFrom: [Int] = []
        var shifts = [Int64](repeating: 0, count: runs.count)
        var reach = runs.first?.lastPacket ?? 0  // the latest packet number of the runs before `i`
        var holder = runs.isEmpty ? -1 : 0  // the run holding packet `reach`
        var since = 0  // the first run after the last step back found
        var backward = -1  // the latest run on the timeline begun over the threshold behind the time before it
        func behind(_ r: Run) -> Bool {
            guard let before = r.before else { return false }
            return before > r.start && before.nanoseconds(since: r.start) > threshold
        }
        for i in runs.indices where i > 0 {
            let b = runs[i]
            let previous = holder
            defer {
                if b.lastPacket > reach {
                    reach = b.lastPacket
                    holder = i
                }
                if !leftOut[i], !excursions[i], behind(b) { backward = i }
            }
            // The clock before ran on its own: no step back on it since the last one found (two clocks
            // interleaved, one interface or flow stamped off), and the step comes from a run on it.
            guard let before = b.before, behind(b), reach < b.firstPacket, !leftOut[i], backward <= since,
                  previous >= 0, !leftOut[previous] else { continue }
            let shift = before.nanoseconds(since: b.start)
            // A run far ahead of the time before it that the capture then comes back from: an excursion.
            if let p = runs[previous].before, runs[previous].start > p,
               runs[previous].start.nanoseconds(since: p) >= shift / 2 { continue }
            if let after = b.after, after > b.start, after >= before || before.nanoseconds(since: after) <= threshold {
                continue
            }
            // The clock before: from the first run since the last step to the step.
            let earliest = runs[since..<i].map(\.start).min() ?? before
            guard before.nanoseconds(since: earliest) > threshold else { continue }
            // The clock after: on at the earlier time, with no run beginning far ahead of it.
            var latest = b.end
            var steady = true
            for r in runs[(i + 1)...] {
                if r.start > latest, r.start.nanoseconds(since: latest) >= shift / 2 { steady = false; break }
                if r.end > latest { latest = r.end }
            }
            guard steady, latest.nanoseconds(since: b.start) > threshold || b.lastPacket == noted else { continue }
            found.append(i)
            steppedFrom.append(previous)
            since = i
        }
        var shift: Int64 = 0
        var next = 0
        for i in runs.indices {
            if next < found.count, found[next] == i {
                let before = runs[i].before ?? runs[i].start
                shift = shift.addingReportingOverflow(before.nanoseconds(since: runs[i].start)).partialValue
                next += 1
            }
            shifts[i] = shift
        }
        return (found, steppedFrom, shifts)
    }
}
