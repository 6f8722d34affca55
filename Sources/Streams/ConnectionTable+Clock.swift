import Core
import Records

// MARK: - The clock
//
// The table's clock from segment times: segments far off a trusted clock, steps ahead held until
// confirmed or withdrawn, steps back, and the first stretch before the clock is trusted (see "The clock" on
// `ConnectionTable`).

extension ConnectionTable {
    /// A segment stamped far off the trusted clock of a connection on the clock (its latest time within
    /// `unconfirmedClockStep` of it; `ahead`, or ahead of it, `isCurrent`): more than the step behind the
    /// clock, or, `ahead`, at least
    /// `idleTimeout` after the connection's latest time (judged at its own time, it would end the connection
    /// as idle and open a new one of its own). The segment is taken at the connection's latest time, so one
    /// packet stamped a day off (a corrupt time, a stray of another clock) moves none of the connection's
    /// times and neither cuts it nor makes a connection (a check-in) of its own; nil otherwise. Its clock
    /// count is kept (a step held ahead, withdrawn and counted as stamped ahead). A connection whose
    /// packets are all off keeps its own times. Ahead by less than `idleTimeout`, the segment keeps its
    /// time: the capture may have paused (a quiet network) with the connection open across the pause.
    @inline(never)
    func onClock(_ segment: TCPSegment, _ key: FlowKey, ahead: Bool) -> TCPSegment? {
        guard let found = lookup(key) else { return nil }
        let last = found._withUnsafeGuaranteedRef { $0.last }
        guard ahead ? isCurrent(last) : isNearClock(last) else { return nil }
        if ahead, segment.timestamp.nanoseconds(since: last) < limits.idleTimeout { return nil }
        var s = segment
        s.timestamp = last
        return s
    }

    /// Whether a connection whose latest segment came at `time` is current: near the clock, or ahead of it
    /// (its segments held in a step ahead not confirmed yet: in a sparse capture, one client's check-in a
    /// few minutes after the last packet of anyone's). A connection idle since before that is not.
    private func isCurrent(_ time: Timestamp) -> Bool {
        time.nanoseconds >= clockBehind
    }

    /// Whether `time` is within `unconfirmedClockStep` of the clock, either way.
    private func isNearClock(_ time: Timestamp) -> Bool {
        time.nanoseconds <= clockReach && time.nanoseconds >= clockBehind
    }

    /// A connection opened by a segment stamped far off the trusted clock (`openedOffClock`), at a segment
    /// of `time`: when that is on the clock and the opening segment was the only one, with no payload (a SYN
    /// a day off, answered on the clock), the connection's times are taken from this segment on, so the
    /// lone stray opens it at the capture's time. A connection whose segments are all off keeps its own
    /// times; one with more on the clock is judged by them as usual.
    @inline(never)
    func retimeStrayOpening(_ c: Connection, at time: Timestamp) {
        guard starting == nil, isNearClock(time) else { return }
        c.openedOffClock = false
        guard c.packets.up &+ c.packets.down == 1, c.bytes.up == 0, c.bytes.down == 0 else { return }
        c.retime(to: time)
        schedule(c)
    }

    /// A segment of connection `c`, open across a step back of the clock (`Connection.clockSetBack`), stamped
    /// more than `unconfirmedClockStep` behind the connection's latest time: the segment read that much later.
    /// Nil for one near the connection's time.
    @inline(never)
    func readAfterSetBack(_ segment: TCPSegment, _ c: Connection) -> TCPSegment? {
        guard c.last.nanoseconds(since: segment.timestamp) > max(0, limits.unconfirmedClockStep) else { return nil }
        var s = segment
        let (t, overflow) = s.timestamp.nanoseconds.addingReportingOverflow(c.clockSetBack)
        s.timestamp = Timestamp(nanoseconds: overflow ? Int64.max : t)
        return s
    }

    /// Moves the table's clock forward (it never goes back) and sweeps the table: emits closed
    /// connections whose linger has passed and idle connections, and turns expired holes into
    /// gaps. Visits only the connections whose deadline has come (O(k log n) for k of them);
    /// `process` does the same at most four times a second of capture time, so call this during
    /// quiet periods of a live capture, or before reading results.
    ///
    /// `time` is trusted (a live capture's wall clock, a test): it moves the clock however far
    /// ahead. A step held ahead that it reaches is confirmed. For packet times use
    /// `advanceClock(toPacketTime:)`.
    public func advanceClock(to time: Timestamp) {
        if time > clock { setClock(time) }
        if let p = pending, p.latest.nanoseconds <= clockReach { confirmPending(p) }
        lastSweep = clock
        sweep(now: clock)
    }

    /// `advanceClock(to:)` for the time of a packet the table may not see (another IP protocol,
    /// or any packet, periodically): a time within `unconfirmedClockStep` of the clock moves it (and
    /// withdraws a step held ahead, as a segment would); a time further ahead moves nothing, since
    /// only segments' flows can confirm a step. Then sweeps.
    public func advanceClock(toPacketTime time: Timestamp) {
        if time.nanoseconds <= clockReach || clock.nanoseconds == Int64.min {
            if time > clock { setClock(time) }
            if pending != nil { withdrawPending(at: time) }
        }
        lastSweep = clock
        sweep(now: clock)
    }

    /// The per-segment clock: sweeps only when `sweepInterval` has passed since the last sweep.
    /// For segments within `clockReach` (and the first one).
    @inline(__always)
    func tick(_ time: Timestamp) {
        if time > clock { setClock(time) }
        if pending != nil { withdrawPending(at: time) }
        guard clock.nanoseconds(since: lastSweep) >= ConnectionTable.sweepInterval else { return }
        lastSweep = clock
        sweep(now: clock)
    }

    // MARK: - The clock's steps ahead

    /// A step ahead of the clock awaiting confirmation: the flow that made it, whether another flow
    /// joined it, the earliest and latest times its segments carried, and how many were held so far.
    struct PendingStep {
        var key: FlowKey
        var otherFlow = false
        var first: Timestamp
        var latest: Timestamp
        var segments: Int

        /// A step begun by no segment yet (`add` the first).
        init(key: FlowKey, at time: Timestamp) {
            self.key = key
            first = time
            latest = time
            segments = 0
        }

        /// One more segment, of `key` at `time`.
        mutating func add(_ key: FlowKey, at time: Timestamp) {
            segments += 1
            if key != self.key { otherFlow = true }
            if time < first { first = time }
            if time > latest { latest = time }
        }
    }

    /// `clock` plus the unconfirmed step, saturating at `Int64.max`.
    static func reach(from clock: Timestamp, limits: StreamLimits) -> Int64 {
        let step = max(0, limits.unconfirmedClockStep)
        let (r, overflow) = clock.nanoseconds.addingReportingOverflow(step)
        return overflow ? Int64.max : r
    }

    private func setClock(_ time: Timestamp) {
        clock = time
        clockReach = ConnectionTable.reach(from: time, limits: limits)
        let (b, overflow) = time.nanoseconds.subtractingReportingOverflow(max(0, limits.unconfirmedClockStep))
        clockBehind = overflow ? Int64.min : b
    }

    /// A segment of `key` at `time`, more than the step behind the trusted clock. Segments of two flows
    /// within the step of one another, spanning `clockStepConfirmation` of their own time with no segment
    /// near the clock in between, take the clock back to their latest time: the capture's clock was set
    /// back, or the clock the table trusted was an interface stamped ahead that spoke alone first, and the
    /// capture's own time goes on behind it. Only a step still held ahead is counted (withdrawn); a step
    /// ahead from then on is held and counted as usual.
    @inline(never)
    func stepBack(_ time: Timestamp, key: FlowKey) {
        let step = max(0, limits.unconfirmedClockStep)
        // The old clock of a confirmed step: segments near it take the clock back to it. Segments far from it
        // too may be the whole capture's clock set back after a quiet minute that was taken for a step ahead
        // (a sparse capture): they make a step of their own, which forgets the old clock once confirmed.
        var nearOld = false
        if let old = previous {
            nearOld = (time > old ? time.nanoseconds(since: old) : old.nanoseconds(since: time)) <= step
            if nearOld, time > old { previous = time }
        }
        var b = back ?? PendingStep(key: key, at: time)
        if b.first.nanoseconds(since: time) > step || time.nanoseconds(since: b.latest) > step {
            b = PendingStep(key: key, at: time)  // another clock still
        }
        b.add(key, at: time)
        guard b.otherFlow, b.latest.nanoseconds(since: b.first) >= max(0, limits.clockStepConfirmation) else {
            back = b
            return
        }
        back = nil
        if let p = pending {
            pending = nil
            if p.first.nanoseconds(since: clock) < limits.idleTimeout {
                // Held less than the idle timeout ahead: the capture went on after a quiet stretch (a sparse
                // capture) and its clock was set back from there, so those segments were on its clock, and the
                // step is measured from them.
                delegate.clockStep(.confirmed(segments: p.segments))
                setClock(p.latest)
            } else {
                // Held ahead of a clock now further behind still: stamped ahead, as a withdrawn step's are.
                counters.segmentsAheadOfClock += p.segments
                delegate.clockStep(.withdrawn(segments: p.segments))
            }
        }
        if !nearOld { previous = nil }
        if previous != nil { twoClocks = true }
        // Connections open on the clock before the step read their segments after it that much later, so one
        // open across a clock set back keeps one clock (its exchanges are not run together backwards).
        if previous == nil, clock > b.first {
            let offset = clock.nanoseconds(since: b.first)
            for c in connections.values where c.clockSetBack == 0 && c.last.nanoseconds(since: b.first) > step {
                c.clockSetBack = offset
            }
        }
        previous = nil
        setClock(b.latest)
        lastSweep = b.latest
    }

    /// A segment of `key` at `time`, beyond `clockReach`: the first segment sets the clock. Otherwise,
    /// next to a pending step: within `unconfirmedClockStep` of it, the segment joins it (held, its own
    /// connection judged at `time`), and the step is confirmed once segments of two flows span
    /// `clockStepConfirmation` (the clock moves to its latest time). Further from it, two clocks
    /// disagree and the earlier is taken for the capture's: a segment far behind the step withdraws it
    /// (counted) and moves the clock to its own time; one far ahead confirms the step and is then held
    /// itself, unless it is the step's own single flow moving on after a quiet stretch (the step starts
    /// again from it, uncounted).
    func stepAhead(_ time: Timestamp, key: FlowKey) {
        guard clock.nanoseconds != Int64.min else {
            var near = PendingStep(key: key, at: time)
            near.add(key, at: time)
            starting = StartingClock(near: near)
            tick(time)
            return
        }
        let step = max(0, limits.unconfirmedClockStep)
        if let p = pending {
            if time.nanoseconds(since: p.latest) > step {
                if p.key == key, !p.otherFlow {
                    pending = nil
                } else {
                    confirmPending(p)
                    tick(p.latest)
                }
            } else if p.first.nanoseconds(since: time) > step {
                pending = nil
                counters.segmentsAheadOfClock += p.segments
                delegate.clockStep(.withdrawn(segments: p.segments))
                tick(time)
                return
            }
        }
        var p = pending ?? PendingStep(key: key, at: time)
        p.add(key, at: time)
        pending = p
        delegate.clockStep(.held)
        judgeOwnConnection(key, at: time)
        let confirmation = twoClocks ? max(limits.unconfirmedClockStep, limits.clockStepConfirmation)
            : limits.clockStepConfirmation
        if p.otherFlow, p.latest.nanoseconds(since: p.first) >= max(0, confirmation) {
            confirmPending(p)
            tick(p.latest)
        }
    }

    /// The connection of `key`, if tracked, as a sweep at `time` (its own segment's) would find it.
    private func judgeOwnConnection(_ key: FlowKey, at time: Timestamp) {
        guard let found = lookup(key) else { return }
        let c = found.takeUnretainedValue()
        // A connection on the trusted clock is not judged by one of its segments stamped an idle timeout
        // ahead: the segment is taken at the connection's time (`onClock`).
        if starting == nil, isCurrent(c.last), time.nanoseconds(since: c.last) >= limits.idleTimeout { return }
        // Opened at the first clock, not trusted yet, with no byte (the capture's first packets, a handshake,
        // stamped a day back, say): the stray opening is taken at this segment's time, as one off a trusted
        // clock would be.
        if starting != nil, isNearClock(c.last), c.bytes.up == 0, c.bytes.down == 0 {
            c.retime(to: time)
            schedule(c)
            return
        }
        guard isDue(c, now: time) else { return }
        act(on: c, now: time)
        if c.inTable { schedule(c) }
    }

    /// The pending step was a jump of the whole capture: its held segments are not counted.
    private func confirmPending(_ p: PendingStep) {
        pending = nil
        starting = nil
        if clock.nanoseconds != Int64.min, clock < p.first { previous = clock }
        back = nil
        delegate.clockStep(.confirmed(segments: p.segments))
    }

    /// The first stretch of the clock, before it is trusted: the segments within the step of it
    /// (`near`), and those of flows more than the step behind it (`behind`).
    struct StartingClock {
        var near: PendingStep
        var behind: PendingStep?
    }

    /// Before the clock is trusted, for a segment not ahead of it. The clock is trusted once segments
    /// of two flows near it span `clockStepConfirmation`, as for a step ahead. Segments of two flows,
    /// within the step of each other, more than the step behind it show that the first segments
    /// were stamped ahead (an interface whose clock is off may well speak first, with several
    /// flows): the clock goes back to the earliest of them, and the segments near the old clock are
    /// counted (`segmentsAheadOfClock`); one flow behind alone (a stray stamped behind) moves nothing.
    func checkStartingClock(_ time: Timestamp, key: FlowKey) {
        guard var start = starting else { return }
        let step = max(0, limits.unconfirmedClockStep)
        if clock.nanoseconds(since: time) <= step {
            start.near.segments += 1
            if key != start.near.key { start.near.otherFlow = true }
            if time > start.near.latest { start.near.latest = time }
            if start.near.otherFlow,
               clock.nanoseconds(since: start.near.first) >= max(0, limits.clockStepConfirmation) {
                starting = nil
            } else {
                starting = start
            }
            return
        }
        var behind = start.behind ?? PendingStep(key: key, at: time)
        if behind.first.nanoseconds(since: time) > step || time.nanoseconds(since: behind.latest) > step {
            behind = PendingStep(key: key, at: time)  // another clock still
        }
        behind.add(key, at: time)
        guard behind.otherFlow else {
            start.behind = behind
            starting = start
            return
        }
        counters.segmentsAheadOfClock += start.near.segments
        delegate.clockStep(.withdrawn(segments: start.near.segments))
        setClock(behind.first)
        lastSweep = behind.first
        if behind.latest > clock { setClock(behind.latest) }
        behind.otherFlow = true
        starting = StartingClock(near: behind)
    }

    /// A packet at `time`, not ahead of the clock: when it is within the step of the clock (the old
    /// time still running), the held segments were stamped ahead, and stay counted. A packet further
    /// behind is odd itself (a clock set far back) and says nothing about the step.
    @inline(never)
    private func withdrawPending(at time: Timestamp) {
        guard let p = pending, clock.nanoseconds(since: time) <= max(0, limits.unconfirmedClockStep) else { return }
        pending = nil
        counters.segmentsAheadOfClock += p.segments
        delegate.clockStep(.withdrawn(segments: p.segments))
    }
}
