import Core
import Records

/// Tracks TCP connections by VLAN tags and 4-tuple, and rebuilds each direction's stream.
///
/// Feed segments in capture order with `process(_:)`; call `finish()` at the end of input.
/// Events reach the delegate as described in `StreamDelegate`. The table keeps its clock
/// from segment times (and `advanceClock(to:)`), and about four times a second of capture
/// time it sweeps the table: closed connections whose linger has passed and idle
/// connections are emitted, and holes past `StreamLimits.holeTimeout` become gaps.
///
/// The clock: a segment within `StreamLimits.unconfirmedClockStep` (60 s) of the clock, or behind
/// it, moves it as far as its time (it never goes back). A segment further ahead leaves the clock
/// where it is and is held: it opens (or adds to) a step awaiting confirmation, and its own
/// connection is judged against its own time (emitted as idle or closed, holes timed out, as a
/// sweep at that time would) before it takes the segment. A segment of a second flow that is also
/// ahead confirms the step: the clock moves to the earlier of the two flows' times (the whole
/// capture jumped: a pause, a clock set forward). A packet within the step of the clock, either
/// way, withdraws the step: the old time is still running, so the held segments were stamped by a
/// clock that is off (one interface of a multi-interface capture), and they are counted
/// (`segmentsAheadOfClock`); a packet further behind is odd itself and withdraws nothing. A step
/// still pending at `finish()` is not counted: one flow alone after a quiet stretch (a capture of
/// one client) looks the same, and nothing contradicted it.
/// One flow (or one interface's flows seen one at a time) stamped far ahead thus cannot expire
/// everyone else's connections. O(1) per segment and one pending step of state; the ordinary path
/// costs one comparison more. Known limits: the first segment sets the clock, even if stamped
/// ahead; two flows of a far-ahead interface back to back, with no packet of the others between
/// them, confirm a step like a whole-capture jump; and after a genuine jump followed by one flow
/// alone, the clock waits for a second flow (other connections idle across it end at `finish()`,
/// as open at the end, rather than at their idle timeout: the same record).
///
/// Packet and byte counts follow tshark's `tcp.len` sums: every packet counts, duplicates
/// and retransmissions included, with the payload length as on the wire.
///
/// A new SYN on a 4-tuple starts a new connection (the old one is emitted first) when the
/// old one is closed or the SYN does not fit it (see `Connection.acceptsSyn`); a SYN
/// retransmission with the same ISN stays on the same connection and raises `synCount`.
///
/// Reassembly, per direction (details on `HalfConnectionReassembler`):
/// - offsets are 64-bit from the ISN, so sequence wraparound is ordinary arithmetic;
/// - the first copy of every byte wins; repeats are counted as retransmissions and, when
///   they differ from the first copy, as conflicts; exact SPAN copies are counted as
///   duplicates and dropped from reassembly;
/// - a hole becomes a gap only when more than `gapAfterBufferedBytes` wait beyond it, when
///   it has been open `holeTimeout` of capture time, when holding more would break a memory
///   bound (counted as `limitReached`), or when the connection is emitted. The peer's
///   acknowledgements are never used to declare a gap (mirror ports reorder them);
/// - bytes cut by the snap length are a gap of known size.
///
/// Memory stays within `StreamLimits` however long the capture. The delegate is not
/// retained (it usually owns the table): keep it alive as long as the table is used (a
/// delegate freed earlier is undefined behaviour, not a trap). It must not call back into the
/// table from an event (the table is in the middle of updating a connection).
///
/// Closed connections linger `StreamLimits.closeLinger` (60 s) so that a late final ACK,
/// retransmitted FIN or late RST stays on its connection, as in tshark's streams.
///
/// Known limits: a packet arriving after its connection was emitted (later than
/// `closeLinger`) opens a new, midstream connection; segments more than 2 GiB of
/// sequence space away from where a stream stands are misplaced.
///
/// Stored state is `@exclusivity(unchecked)` (no run-time exclusivity check per access on the
/// per-packet path): it is changed only by the table's own methods, on one thread, and no call
/// re-enters the table (its delegate must not call back into it) while it is being changed.
public final class ConnectionTable {
    public let limits: StreamLimits
    /// Not retained, and not checked per use (`unowned(unsafe)`: no reference counting per
    /// packet): the delegate must outlive every use of the table, as documented above.
    unowned(unsafe) let delegate: any StreamDelegate
    @exclusivity(unchecked) private var connections: [FlowKey: Connection] = [:]
    let budget: BufferBudget
    @exclusivity(unchecked) private var nextID: UInt64 = 1
    @exclusivity(unchecked) private var clock = Timestamp(nanoseconds: Int64.min)
    /// `clock` plus `limits.unconfirmedClockStep` (saturating): a segment later than this steps ahead.
    @exclusivity(unchecked) private var clockReach: Int64
    /// The step ahead of the clock awaiting confirmation (see "The clock" above), if any.
    @exclusivity(unchecked) private var pending: PendingStep?
    @exclusivity(unchecked) private var lastSweep = Timestamp(nanoseconds: Int64.min)
    @exclusivity(unchecked) private var counters = StreamStatistics()
    /// Reused between sweeps so a sweep allocates only when the list must grow.
    @exclusivity(unchecked) private var due: [Connection] = []
    /// Connections by the earliest time a sweep could act on them: a sweep looks at these only.
    @exclusivity(unchecked) private var deadlines = DeadlineQueue()
    @exclusivity(unchecked) private var requeue: [Connection] = []
    /// The connection `lookup` found last (checked with its key before use), not retained: it is
    /// always one the table holds (`emit` clears it when it takes that connection out).
    @exclusivity(unchecked) private var lastFound: Unmanaged<Connection>?
    private static let sweepInterval: Int64 = 250_000_000

    public init(limits: StreamLimits = .init(), delegate: any StreamDelegate) {
        self.limits = limits
        self.delegate = delegate
        self.budget = BufferBudget(limit: limits.maxBufferedBytesTotal)
        self.clockReach = ConnectionTable.reach(from: Timestamp(nanoseconds: Int64.min), limits: limits)
    }

    deinit {
        // The queue holds a retain on each queued connection (see `DeadlineQueue`).
        deadlines.removeAll()
    }

    /// Table-wide counters so far.
    public var statistics: StreamStatistics {
        var s = counters
        s.bufferedBytes = budget.used
        s.bufferedBytesHighWater = budget.highWater
        s.limitReached = counters.limitReached + budget.limitHits
        return s
    }

    /// Connections tracked right now.
    public var openConnections: Int { connections.count }

    /// Counts the segment, places its payload, and emits whatever the segment completes.
    /// `segment.payload` is only read during the call.
    public func process(_ segment: TCPSegment) {
        counters.segments += 1
        let key = FlowKey(segment)
        if segment.timestamp.nanoseconds <= clockReach {
            tick(segment.timestamp)
        } else {
            stepAhead(segment.timestamp, key: key)
        }
        let isSyn = segment.flags.contains(.syn) && !segment.flags.contains(.ack)

        if let found = lookup(key) {
            // Not retained while it is absorbed: the table holds it, and absorbing takes nothing out
            // of the table (the delegate must not call back into it).
            let absorbed = found._withUnsafeGuaranteedRef { existing in
                guard isSyn, !existing.acceptsSyn(segment) else {
                    absorb(segment, into: existing, direction: existing.direction(of: segment))
                    schedule(existing)
                    return true
                }
                return false
            }
            if absorbed { return }
            // A strong reference: emitting takes the connection out of the table.
            let existing = found.takeUnretainedValue()
            emit(existing, end: .reused, now: segment.timestamp)
            counters.connectionsReused += 1
        }
        let connection = open(segment, key: key)
        absorb(segment, into: connection, direction: connection.direction(of: segment))
        schedule(connection)
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
    private func tick(_ time: Timestamp) {
        if time > clock { setClock(time) }
        if pending != nil { withdrawPending(at: time) }
        guard clock.nanoseconds(since: lastSweep) >= ConnectionTable.sweepInterval else { return }
        lastSweep = clock
        sweep(now: clock)
    }

    // MARK: - The clock's steps ahead

    /// A step ahead of the clock awaiting confirmation: the flow that made it, the latest time
    /// its segments carried, and how many of them were held (counted) so far.
    private struct PendingStep {
        var key: FlowKey
        var latest: Timestamp
        var segments: Int
    }

    /// `clock` plus the unconfirmed step, saturating at `Int64.max`.
    private static func reach(from clock: Timestamp, limits: StreamLimits) -> Int64 {
        let step = max(0, limits.unconfirmedClockStep)
        let (r, overflow) = clock.nanoseconds.addingReportingOverflow(step)
        return overflow ? Int64.max : r
    }

    private func setClock(_ time: Timestamp) {
        clock = time
        clockReach = ConnectionTable.reach(from: time, limits: limits)
    }

    /// A segment of `key` at `time`, beyond `clockReach`: the first segment sets the clock; a
    /// second flow confirms the pending step (the clock moves to the earlier of the two flows'
    /// times); otherwise the segment is held: counted, and its own connection judged at `time`.
    private func stepAhead(_ time: Timestamp, key: FlowKey) {
        guard clock.nanoseconds != Int64.min else {
            tick(time)
            return
        }
        if let p = pending, p.key != key {
            let to = min(p.latest, time)
            // Both flows reached `to`. The pending flow's segments were part of the jump only if they are
            // within the step of where the clock now goes; one still far ahead of it (a stray flow whose
            // step a genuine jump of the others overtook) keeps them counted.
            pending = nil
            if p.latest.nanoseconds <= ConnectionTable.reach(from: to, limits: limits) {
                delegate.clockStep(.confirmed(segments: p.segments))
            } else {
                counters.segmentsAheadOfClock += p.segments
                delegate.clockStep(.withdrawn(segments: p.segments))
            }
            tick(to)
            if time.nanoseconds <= clockReach { return }
        }
        if var p = pending {
            p.segments += 1
            if time > p.latest { p.latest = time }
            pending = p
        } else {
            pending = PendingStep(key: key, latest: time, segments: 1)
        }
        delegate.clockStep(.held)
        // Its own connection, as a sweep at its own time would find it.
        guard let found = lookup(key) else { return }
        let c = found.takeUnretainedValue()
        guard isDue(c, now: time) else { return }
        act(on: c, now: time)
        if c.inTable { schedule(c) }
    }

    /// The pending step was a jump of the whole capture: its held segments are not counted.
    private func confirmPending(_ p: PendingStep) {
        pending = nil
        delegate.clockStep(.confirmed(segments: p.segments))
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

    /// Emits every connection still tracked, in id order, flushing held data as gaps.
    public func finish() {
        due.removeAll(keepingCapacity: true)
        due.append(contentsOf: connections.values)
        due.sort { $0.id < $1.id }
        for c in due {
            emit(c, end: c.isClosed ? .closed : .finished, now: c.last)
        }
        due.removeAll(keepingCapacity: true)
    }

    // MARK: - Per segment

    /// The connection of `key`: the last one looked up when the key repeats (consecutive
    /// packets of one flow hash nothing), else the dictionary's.
    /// Not retained: the connection stays in the table until `emit` takes it out.
    private func lookup(_ key: FlowKey) -> Unmanaged<Connection>? {
        if let last = lastFound, last._withUnsafeGuaranteedRef({ $0.key == key }) { return last }
        guard let c = connections[key] else { return nil }
        let found = Unmanaged.passUnretained(c)
        lastFound = found
        return found
    }

    private func open(_ segment: TCPSegment, key: FlowKey) -> Connection {
        if connections.count >= limits.maxConnections { evictLeastRecent() }
        let roles = Connection.roles(firstPacket: segment)
        let c = Connection(
            id: nextID, key: key, client: roles.client, server: roles.server,
            time: segment.timestamp, limits: limits)
        nextID += 1
        connections[key] = c
        counters.connectionsOpened += 1
        counters.connectionsHighWater = max(counters.connectionsHighWater, connections.count)
        delegate.connectionOpened(
            id: c.id, client: c.client, server: c.server, vlan: key.vlan, time: segment.timestamp)
        return c
    }

    private func absorb(_ s: TCPSegment, into c: Connection, direction: Direction) {
        c.count(s, direction: direction)
        // Each half passed straight from its `let` (choosing one into a local retains it).
        if direction == .up {
            absorb(s, into: c, half: c.up, direction: .up)
        } else {
            absorb(s, into: c, half: c.down, direction: .down)
        }
    }

    private func absorb(_ s: TCPSegment, into c: Connection, half: HalfConnectionReassembler, direction: Direction) {
        // One context for both calls: neither dropping a duplicate nor noting flags changes
        // what the other direction holds.
        let ctx = context(c, direction)
        if half.dropDuplicate(s, ctx: ctx) { return }
        c.noteFlags(s, direction: direction)
        half.accept(s, ctx: ctx)
    }

    private func context(_ c: Connection, _ direction: Direction) -> ReassemblyContext {
        ReassemblyContext(
            table: self, connection: c.id, direction: direction,
            peerHeld: direction == .up ? c.down.heldCharge : c.up.heldCharge)
    }

    // MARK: - Emitting

    private func emit(_ c: Connection, end: ConnectionEnd, now: Timestamp) {
        if let last = lastFound, last.toOpaque() == Unmanaged.passUnretained(c).toOpaque() { lastFound = nil }
        connections[c.key] = nil
        c.inTable = false
        if end == .evicted {
            // Held bytes released as a gap only because the table was full: data lost to a limit.
            if c.up.heldCharge > 0 { c.up.anomalies.limitReached += 1 }
            if c.down.heldCharge > 0 { c.down.anomalies.limitReached += 1 }
        }
        c.up.flush(now: now, ctx: context(c, .up))
        c.down.flush(now: now, ctx: context(c, .down))
        switch end {
        case .closed: counters.connectionsClosed += 1
        case .idle: counters.connectionsTimedOut += 1
        case .evicted: counters.connectionsEvicted += 1
        case .reused: break
        case .finished: counters.connectionsOpenAtEnd += 1
        }
        delegate.connectionClosed(c.record(end: end))
        // A queued deadline may still refer to `c` until it comes due: let its buffers go now, so
        // what the queue keeps alive is the fixed state alone.
        c.up.releaseBuffers()
        c.down.releaseBuffers()
    }

    /// Whether a sweep at `now` acts on `c`: emits it, settles it, or applies the hole rule.
    private func isDue(_ c: Connection, now: Timestamp) -> Bool {
        let quiet = now.nanoseconds(since: c.last)
        let closedFor = c.closedAt.map { now.nanoseconds(since: $0) } ?? -1
        let lingered = closedFor >= limits.closeLinger
        let settling = !c.settled && (closedFor >= limits.holeTimeout || quiet >= limits.closeLinger)
        return lingered || settling || quiet >= limits.idleTimeout
            || c.up.holeExpired(now: now, limits: limits) || c.down.holeExpired(now: now, limits: limits)
    }

    /// The earliest clock at which `isDue(c)` can hold, given c's state now. Each clause of
    /// `isDue` reads `now.nanoseconds(since: t) >= span`, which (saturating) first holds at
    /// `t + span`; so for any earlier clock `isDue` is false.
    private func deadline(_ c: Connection) -> Int64 {
        func from(_ t: Timestamp, _ span: Int64) -> Int64 {
            let (d, overflow) = t.nanoseconds.addingReportingOverflow(span)
            return overflow ? (span > 0 ? Int64.max : Int64.min) : d
        }
        /// `closedFor` is -1 while the connection is open.
        func fromClose(_ span: Int64) -> Int64 {
            guard let closedAt = c.closedAt else { return -1 >= span ? Int64.min : Int64.max }
            return from(closedAt, span)
        }
        var d = min(from(c.last, limits.idleTimeout), fromClose(limits.closeLinger))
        if !c.settled { d = min(d, fromClose(limits.holeTimeout), from(c.last, limits.closeLinger)) }
        if let since = c.up.holeSince { d = min(d, from(since, limits.holeTimeout)) }
        if let since = c.down.holeSince { d = min(d, from(since, limits.holeTimeout)) }
        return d
    }

    /// Queues `c` again when its state brought its deadline earlier than the one queued.
    private func schedule(_ c: Connection) {
        let d = deadline(c)
        guard d < c.scheduled else { return }
        c.scheduled = d
        deadlines.push(d, c)
        // Stale entries (of emitted connections, or superseded) stay below a quarter of the live ones
        // plus 1,024, so the queue keeps few emitted connections alive.
        if deadlines.count > connections.count + max(1024, connections.count / 4) { rebuildDeadlines() }
    }

    /// Entries in the deadline queue, stale ones included (for tests of its bound).
    var queuedDeadlines: Int { deadlines.count }

    /// Drops stale entries (emitted connections, superseded deadlines): one entry per connection.
    private func rebuildDeadlines() {
        deadlines.removeAll()
        for c in connections.values {
            c.scheduled = deadline(c)
            deadlines.push(c.scheduled, c)
        }
    }

    /// Acts on every connection due at `now`, in id order. Only connections whose queued
    /// deadline has come are looked at; the outcome is the same as testing every connection.
    private func sweep(now: Timestamp) {
        due.removeAll(keepingCapacity: true)
        requeue.removeAll(keepingCapacity: true)
        while deadlines.earliest <= now.nanoseconds, let (deadline, c) = deadlines.pop() {
            guard c.inTable, c.scheduled == deadline else { continue }
            c.scheduled = Int64.max
            if isDue(c, now: now) { due.append(c) } else { requeue.append(c) }
        }
        for c in requeue { schedule(c) }
        requeue.removeAll(keepingCapacity: true)
        guard !due.isEmpty else { return }
        due.sort { $0.id < $1.id }
        for c in due { act(on: c, now: now) }
        for c in due where c.inTable { schedule(c) }
        due.removeAll(keepingCapacity: true)
    }

    /// What a sweep at `now` does to a connection that `isDue`: emits it (closed after its linger,
    /// or idle), or times out its holes, settles it after its close, or frees a quiet one's history.
    private func act(on c: Connection, now: Timestamp) {
        if let closedAt = c.closedAt, now.nanoseconds(since: closedAt) >= limits.closeLinger {
            emit(c, end: .closed, now: now)
        } else if now.nanoseconds(since: c.last) >= limits.idleTimeout {
            emit(c, end: .idle, now: now)
        } else {
            c.up.checkHoleTimeout(now: now, ctx: context(c, .up))
            c.down.checkHoleTimeout(now: now, ctx: context(c, .down))
            if !c.settled, let closedAt = c.closedAt, now.nanoseconds(since: closedAt) >= limits.holeTimeout {
                settle(c, now: now)
            } else if !c.settled, now.nanoseconds(since: c.last) >= limits.closeLinger {
                // Quiet (e.g. a push-mode connection between check-ins): a retransmission this late
                // is rare, so the history rings go; they come back with the next data.
                c.settled = true
                c.up.releaseBuffers()
                c.down.releaseBuffers()
            }
        }
    }

    /// A closed connection lingering for late packets: flushes held data (its holes will not
    /// be filled now) and frees its reassembly buffers, so lingering costs only fixed state.
    private func settle(_ c: Connection, now: Timestamp) {
        c.settled = true
        c.up.flush(now: now, ctx: context(c, .up))
        c.down.flush(now: now, ctx: context(c, .down))
        c.up.releaseBuffers()
        c.down.releaseBuffers()
    }

    /// Emits 1/64 of the table (at least one connection): closed connections lingering for late
    /// packets first (emitted as closed: nothing is lost), then the least recently active open
    /// ones (evicted). O(n log n), run once per n/64 new connections while the table is full.
    private func evictLeastRecent() {
        counters.limitReached += 1
        due.removeAll(keepingCapacity: true)
        due.append(contentsOf: connections.values)
        due.sort { a, b in
            let (ca, cb) = (a.closedAt != nil, b.closedAt != nil)
            if ca != cb { return ca }
            return (a.last, a.id) < (b.last, b.id)
        }
        let count = max(1, connections.count / 64)
        for c in due.prefix(count) {
            if c.closedAt != nil {
                emit(c, end: .closed, now: clock)
            } else {
                delegate.didNotice(.limitReached(.connections), direction: .up, connection: c.id, time: clock)
                emit(c, end: .evicted, now: clock)
            }
        }
        due.removeAll(keepingCapacity: true)
    }
}
