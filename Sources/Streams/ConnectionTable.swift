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
/// where it is and is held: it opens (or joins) a step awaiting confirmation, and its own
/// connection is judged against its own time (emitted as idle or closed, holes timed out, as a
/// sweep at that time would) before it takes the segment. Segments of at least two flows, within
/// the step of one another, that span `StreamLimits.clockStepConfirmation` (10 s) of their own
/// time confirm the step: the whole capture jumped (a pause, a clock set forward) and goes on at
/// its new time; the clock moves there. A packet within the step of the old clock withdraws the
/// step: the old time is still running, so the held segments were stamped by a clock that is off
/// (one interface of a multi-interface capture), and they are counted (`segmentsAheadOfClock`).
/// When two clocks far apart both run ahead of the table's, the earlier is taken for the capture's
/// (a stray flow is stamped ahead, not behind): a segment far behind the pending step withdraws it
/// and moves the clock to its own time, and one far ahead confirms it. A packet further behind
/// the clock is odd itself and withdraws nothing. A step still pending at `finish()` is not
/// counted: one flow alone after a quiet stretch (a capture of one client) looks the same, and
/// nothing contradicted it.
/// An interface stamped far ahead thus cannot expire everyone else's connections while the others
/// speak at least every 10 s. O(1) per segment and one pending step of state; the ordinary path
/// costs one comparison more. The first segment sets the clock, which is trusted once segments of
/// two flows near it span 10 s: before that, segments of two flows more than the step behind it
/// take the clock back to theirs (and the segments near the old clock are counted), as an
/// interface stamped ahead may well speak first. Once trusted, the clock can still go back (a step
/// back): segments of two flows, within the step of one another and more than the step behind the
/// clock, spanning 10 s of their own time with no segment near the clock in between, take it back to
/// their latest time (an interface ahead that had the capture to itself for longer than 10 s, or a
/// capture whose clock was set back). After a confirmed step ahead, the old clock is followed: segments
/// near it take the clock back the same way even between segments at the new time (two clocks running
/// together; the earlier is the capture's), and from then on a step ahead needs `unconfirmedClockStep`
/// (60 s) of its own time to be confirmed, so an interface behind that goes quiet for 10 s no longer
/// moves the clock back and forth. Known limits: between a wrongly confirmed step and the way back
/// (10 s of the old clock's time) the old clock's connections are cut (the heartbeat layer rejoins
/// them); and after a genuine jump followed by one flow alone, the clock waits for a second flow
/// (other connections idle across it end at `finish()`, as open at the end, rather than at their idle
/// timeout: the same record).
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
///   bound (counted as `limitReached`), when the connection is emitted, or when the peer
///   acknowledged it (in an ACK captured after the bytes beyond it) and then sent bytes of its
///   own or let `acknowledgedHoleGrace` pass (see `HalfConnectionReassembler`);
/// - bytes cut by the snap length are a gap of known size.
///
/// Memory stays within `StreamLimits` however long the capture. The delegate is not
/// retained (it usually owns the table): keep it alive as long as the table is used (a
/// delegate freed earlier is undefined behaviour, not a trap). It must not call back into the
/// table from an event (the table is in the middle of updating a connection).
///
/// Captured twice: a SPAN of an access port plus the trunk (or a router on a stick) holds every frame
/// twice, once untagged and once with a VLAN tag, so the same connection comes under two keys; two
/// sensors' captures merged do the same, seconds apart when their clocks differ. A new connection whose
/// first segment carries the numbers of a tracked connection on other VLAN tags between the same
/// endpoints is a copy (see `isCopy`): a SYN with that one's client ISN, or, its own SYN lost, a SYN-ACK
/// acknowledging that ISN (and repeating the server's ISN when that one's SYN-ACK was seen), within
/// `StreamLimits.capturedTwiceISNWindow` (10 s) of that one's SYN (SYN-ACK); or, both lost, a segment whose
/// sequence and acknowledgement numbers fall within that one's bytes, weaker evidence, within
/// `capturedTwiceWindow` (1 s) of its latest segment. A copy stays in the table (its packets find it, its
/// flags close it) but is neither reassembled nor reported to the delegate beyond `copiedSegment` per
/// segment; the first connection alone is analysed. The numbers are the evidence: two different
/// connections with the same addresses on different VLANs (overlapping address spaces) pick their ISNs
/// apart, so they stay two, and a new connection reusing a 4-tuple seconds later picks another ISN.
/// Two sensors on one VLAN give copies on the same key (see `isCopyOnSameTags`, `isCopyInPlace`): a SYN
/// repeating the client ISN of the established, closed connection on its key within 10 s is a copy (the
/// original is emitted then, as closed, and the copy takes the key); a SYN repeating it while that
/// connection is still open, after its client acknowledged the SYN-ACK (no stack sends its SYN again
/// then), is left out and counted, but the copy's later segments cannot be told from the original's
/// own and fall onto it as retransmissions. One dictionary entry per connection opened by a SYN or
/// SYN-ACK, one or two lookups per new connection; nothing on the per-packet path but a flag test. Known
/// limit: only connections opened by a SYN or SYN-ACK are originals, so a copy coming after one that lost
/// both is not recognised.
///
/// Tagged one way: a SPAN or trunk port may tag one direction only (the client's frames under VLAN 100, the
/// server's untagged), so each direction of one connection comes under its own key. A new connection whose
/// first segment is the first of the direction a connection on other tags between the same endpoints has
/// not shown, and carries its numbers (see `joins`), is that direction: it is joined to that connection,
/// whose key and the new one both find it, and one connection is analysed and reported (its record names
/// the tags of each direction, and the table counts it when it ends). A copy differs in that each tag set
/// shows both directions: a copy's first segment repeats a direction its original showed already, so the
/// rule above applies. Where a copy's first segment came before its original showed that direction (its
/// SYN lost, its SYN-ACK ahead of the original's), it is joined first; the first segment then seen of a
/// direction under the other direction's tags shows the two were copies: such segments are left out and
/// counted as a copy's, each direction analysed from the tags it was first seen under. A copy of a joined
/// connection (two sensors) on the same tags is one as above, and its other direction joins the copy; a
/// copy of a connection that showed one direction, on other tags, may be joined, then found out the same
/// way. Joining costs nothing while the capture has one set of tags, and a flag test per packet; the
/// connections opened by neither SYN nor SYN-ACK are indexed too (`byEndpoints`) once it has more.
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
    /// Retransmission-history rings of emitted and settled connections, reused by new ones.
    let historyRings = HistoryRings()
    @exclusivity(unchecked) private var nextID: UInt64 = 1
    @exclusivity(unchecked) private var clock = Timestamp(nanoseconds: Int64.min)
    /// `clock` plus `limits.unconfirmedClockStep` (saturating): a segment later than this steps ahead.
    @exclusivity(unchecked) private var clockReach: Int64
    /// `clock` less `limits.unconfirmedClockStep` (saturating): a segment earlier than this is far behind.
    @exclusivity(unchecked) private var clockBehind = Int64.min
    /// Once the clock is trusted, the segments far behind it since the last segment near it (see "The
    /// clock" above: a step back), if any.
    @exclusivity(unchecked) private var back: PendingStep?
    /// After a step ahead was confirmed, the old clock, moved on by segments near it: while it runs on, the
    /// segments near it count towards taking the clock back even between segments near the new one.
    @exclusivity(unchecked) private var previous: Timestamp?
    /// Whether two clocks were seen running together (a confirmed step taken back): a step ahead must then
    /// hold for `unconfirmedClockStep` of its own time, not `clockStepConfirmation`, to be confirmed.
    @exclusivity(unchecked) private var twoClocks = false
    /// The step ahead of the clock awaiting confirmation (see "The clock" above), if any.
    @exclusivity(unchecked) private var pending: PendingStep?
    /// Until the clock the first segments set has been borne out (see "The clock" above), what the
    /// segments near it and those far behind it have shown; nil before the first segment and once trusted.
    @exclusivity(unchecked) private var starting: StartingClock? {
        didSet { clockStarting = starting != nil }
    }
    /// `starting != nil`, kept as a flag: the per-segment test reads one byte instead of the optional's tag.
    @exclusivity(unchecked) private var clockStarting = false
    @exclusivity(unchecked) private var lastSweep = Timestamp(nanoseconds: Int64.min)
    @exclusivity(unchecked) private var counters = StreamStatistics()
    /// Reused between sweeps so a sweep allocates only when the list must grow.
    @exclusivity(unchecked) private var due: [Connection] = []
    /// Connections by the earliest time a sweep could act on them: a sweep looks at these only.
    @exclusivity(unchecked) private var deadlines = DeadlineQueue()
    @exclusivity(unchecked) private var requeue: [Connection] = []
    /// Open connections by last activity, and closed ones (lingering) by theirs: a full table
    /// evicts from these (closed ones first) without sorting itself. See `RecencyQueue`.
    @exclusivity(unchecked) private var recent = RecencyQueue()
    @exclusivity(unchecked) private var recentClosed = RecencyQueue()
    /// Connections opened by a SYN or SYN-ACK, by client and server without VLAN tags (the latest per pair):
    /// where a copy of one captured under other tags finds its original (see "Captured twice" above).
    @exclusivity(unchecked) private var bySyn: [EndpointPair: Connection] = [:]
    /// The other connections (opened by neither, and copies), the same way, once connections came under more
    /// than one set of tags (`severalTags`): where the other direction of one, under other tags, finds it
    /// (see "Tagged one way" above).
    @exclusivity(unchecked) private var byEndpoints: [EndpointPair: Connection] = [:]
    /// The tags of the first connection, and whether a connection came under other tags since.
    @exclusivity(unchecked) private var firstTags: VLANTags?
    @exclusivity(unchecked) private var severalTags = false
    /// The keys (tags) of joined connections' other directions, to the connection (see "Tagged one way").
    @exclusivity(unchecked) private var joinedKeys: [FlowKey: Connection] = [:]
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
        recent.removeAll()
        recentClosed.removeAll()
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

    /// The id the next connection opened will get (ids are in order of first packet).
    public var nextConnectionID: UInt64 { nextID }

    /// Counts the segment, places its payload, and emits whatever the segment completes.
    /// `segment.payload` is only read during the call.
    public func process(_ segment: TCPSegment) {
        counters.segments += 1
        let key = FlowKey(segment)
        if segment.timestamp.nanoseconds <= clockReach {
            if clockStarting {
                checkStartingClock(segment.timestamp, key: key)
            } else if segment.timestamp.nanoseconds < clockBehind {
                stepBack(segment.timestamp, key: key)
                if !clockStarting, segment.timestamp.nanoseconds < clockBehind,
                    let s = onClock(segment, key, ahead: false) {
                    tick(segment.timestamp)
                    place(s, key: key)
                    return
                }
            } else if back != nil, previous == nil {
                back = nil
            }
            tick(segment.timestamp)
        } else {
            stepAhead(segment.timestamp, key: key)
            if !clockStarting, segment.timestamp.nanoseconds > clockReach, let s = onClock(segment, key, ahead: true) {
                place(s, key: key)
                return
            }
        }
        place(segment, key: key)
    }

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
    private func onClock(_ segment: TCPSegment, _ key: FlowKey, ahead: Bool) -> TCPSegment? {
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
    private func retimeStrayOpening(_ c: Connection, at time: Timestamp) {
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
    private func readAfterSetBack(_ segment: TCPSegment, _ c: Connection) -> TCPSegment? {
        guard c.last.nanoseconds(since: segment.timestamp) > max(0, limits.unconfirmedClockStep) else { return nil }
        var s = segment
        let (t, overflow) = s.timestamp.nanoseconds.addingReportingOverflow(c.clockSetBack)
        s.timestamp = Timestamp(nanoseconds: overflow ? Int64.max : t)
        return s
    }

    /// Places `segment` (of `key`) into its connection, opening one when none is tracked or a SYN
    /// starts a new one.
    @inline(__always)
    private func place(_ segment: TCPSegment, key: FlowKey) {
        let isSyn = segment.flags.contains(.syn) && !segment.flags.contains(.ack)
        var copyOf: UInt64 = 0
        var sameTags = false
        if let found = lookup(key) {
            // Not retained while it is absorbed: the table holds it, and absorbing takes nothing out
            // of the table (the delegate must not call back into it).
            let absorbed = found._withUnsafeGuaranteedRef { existing in
                if existing.clockSetBack != 0, let s = readAfterSetBack(segment, existing) {
                    absorb(s, into: existing, direction: existing.direction(of: s))
                    schedule(existing)
                    return true
                }
                if existing.openedOffClock { retimeStrayOpening(existing, at: segment.timestamp) }
                if existing.joined != nil, existing.copyOf == 0,
                    segment.vlan != existing.tags(of: existing.direction(of: segment)),
                    !isSyn || existing.acceptsSyn(segment) {
                    leaveOutUnderOtherTags(segment, of: existing)
                    return true
                }
                guard isSyn, !existing.acceptsSyn(segment) else {
                    if isSyn, isCopyInPlace(segment, of: existing) { return true }
                    absorb(segment, into: existing, direction: existing.direction(of: segment))
                    schedule(existing)
                    return true
                }
                return false
            }
            if absorbed { return }
            // A strong reference: emitting takes the connection out of the table.
            let existing = found.takeUnretainedValue()
            if isCopyOnSameTags(segment, of: existing) {
                // Its original is over (closed, lingering): it leaves now, and the copy takes the key.
                copyOf = existing.copyOf != 0 ? existing.copyOf : existing.id
                sameTags = true
                emit(existing, end: .closed, now: segment.timestamp)
            } else {
                emit(existing, end: .reused, now: segment.timestamp)
                counters.connectionsReused += 1
            }
        }
        var original: Connection?
        if copyOf == 0, let found = match(segment) {
            switch found {
            case .otherDirection(let c):
                join(segment, key: key, to: c)
                return
            case .copy(let o):
                copyOf = o.id
                original = o
            }
        }
        let connection = open(segment, key: key, copyOf: copyOf, sameTags: sameTags, original: original)
        absorb(segment, into: connection, direction: connection.direction(of: segment))
        // Opened far off the trusted clock: a lone stray if its next segment is on the clock
        // (`retimeStrayOpening`). Far behind, the next sweep would take it out as idle before that segment
        // came (a SYN stamped a day back, answered on the clock): it is scheduled by that segment.
        if !clockStarting, segment.timestamp.nanoseconds > clockReach || segment.timestamp.nanoseconds < clockBehind {
            connection.openedOffClock = true
            if segment.timestamp.nanoseconds < clockBehind { return }
        }
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

    /// A step ahead of the clock awaiting confirmation: the flow that made it, whether another flow
    /// joined it, the earliest and latest times its segments carried, and how many were held so far.
    private struct PendingStep {
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
    private static func reach(from clock: Timestamp, limits: StreamLimits) -> Int64 {
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
    private func stepBack(_ time: Timestamp, key: FlowKey) {
        let step = max(0, limits.unconfirmedClockStep)
        if let old = previous {
            // The old clock of a confirmed step: only segments near it take the clock back to it.
            guard (time > old ? time.nanoseconds(since: old) : old.nanoseconds(since: time)) <= step else { return }
            if time > old { previous = time }
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
            // Held ahead of a clock now further behind still: stamped ahead, as a withdrawn step's are.
            pending = nil
            counters.segmentsAheadOfClock += p.segments
            delegate.clockStep(.withdrawn(segments: p.segments))
        }
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
    private func stepAhead(_ time: Timestamp, key: FlowKey) {
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
    private struct StartingClock {
        var near: PendingStep
        var behind: PendingStep?
    }

    /// Before the clock is trusted, for a segment not ahead of it. The clock is trusted once segments
    /// of two flows near it span `clockStepConfirmation`, as for a step ahead. Segments of two flows,
    /// within the step of each other, more than the step behind it show that the first segments
    /// were stamped ahead (an interface whose clock is off may well speak first, with several
    /// flows): the clock goes back to the earliest of them, and the segments near the old clock are
    /// counted (`segmentsAheadOfClock`); one flow behind alone (a stray stamped behind) moves nothing.
    private func checkStartingClock(_ time: Timestamp, key: FlowKey) {
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
        guard let c = connections[key] ?? joinedConnection(key) else { return nil }
        let found = Unmanaged.passUnretained(c)
        lastFound = found
        return found
    }

    /// The connection whose other direction comes under `key`'s tags (see "Tagged one way"), if any.
    @inline(never)
    private func joinedConnection(_ key: FlowKey) -> Connection? {
        joinedKeys.isEmpty ? nil : joinedKeys[key]
    }

    /// Opens the connection of `key` with `segment`; `copyOf` (not 0): a copy of that connection, found on
    /// the same tags (`sameTags`) or on other ones (`original`, while it is in the table).
    private func open(
        _ segment: TCPSegment, key: FlowKey, copyOf: UInt64 = 0, sameTags: Bool = false, original: Connection? = nil
    ) -> Connection {
        if connections.count >= limits.maxConnections { evictLeastRecent() }
        let roles = Connection.roles(firstPacket: segment)
        let c = Connection(
            id: nextID, key: key, client: roles.client, server: roles.server,
            time: segment.timestamp, limits: limits)
        nextID += 1
        connections[key] = c
        recent.push(c)
        if recent.isCrowded(live: connections.count) { rebuildRecency() }
        counters.connectionsOpened += 1
        counters.connectionsHighWater = max(counters.connectionsHighWater, connections.count)
        c.firstSequence = segment.sequence
        c.firstFromClient = segment.source == c.client
        if copyOf != 0 {
            c.copyOf = copyOf
            c.copyOnSameTags = sameTags
            c.original = original
            counters.connectionsCapturedTwice += 1
            // Where the other direction of the copy finds it, when it comes under other tags (two sensors of
            // a capture that tags one direction only).
            if severalTags { byEndpoints[EndpointPair(client: c.client, server: c.server)] = c }
            delegate.connectionLeftOut(id: c.id)
            return c
        }
        if segment.flags.contains(.syn) {
            // Opened by its SYN or SYN-ACK: where a copy under other tags finds it.
            bySyn[EndpointPair(client: c.client, server: c.server)] = c
            c.indexedISN = segment.sequence
        } else if severalTags {
            byEndpoints[EndpointPair(client: c.client, server: c.server)] = c
        }
        delegate.connectionOpened(
            id: c.id, client: c.client, server: c.server, vlan: key.vlan, time: segment.timestamp)
        return c
    }

    /// What the first segment of a new connection, `first`, is to a connection on other VLAN tags between the
    /// same endpoints.
    private enum Match {
        /// The first segment of the other direction of that connection, which came under other tags (see
        /// "Tagged one way"): joined to it.
        case otherDirection(Connection)
        /// A copy of that connection (see "Captured twice"): left out.
        case copy(Connection)
    }

    /// What `first`, the first segment of a new connection, is to a connection on other VLAN tags between the
    /// same endpoints, if anything: the other direction of one that showed one direction only (`joins`; a copy
    /// among them too, whose other direction is then left out with it), else a copy of one opened by a SYN or
    /// SYN-ACK, itself no copy (`isCopy`). At most four dictionary lookups, once per connection, and none
    /// while every connection came under one set of tags.
    private func match(_ first: TCPSegment) -> Match? {
        guard severalTags || noteTags(first.vlan) else { return nil }
        let isSyn = first.flags.contains(.syn) && !first.flags.contains(.ack)
        let forward = EndpointPair(client: first.source, server: first.destination)
        let backward = EndpointPair(client: first.destination, server: first.source)
        let syn = (forward: bySyn[forward], backward: isSyn ? nil : bySyn[backward])
        if let o = syn.forward, joins(first, o) { return .otherDirection(o) }
        if let o = syn.backward, joins(first, o) { return .otherDirection(o) }
        if !byEndpoints.isEmpty {
            if let o = byEndpoints[forward], joins(first, o) { return .otherDirection(o) }
            if let o = byEndpoints[backward], joins(first, o) { return .otherDirection(o) }
        }
        if let o = syn.forward, isCopy(first, of: o) { return .copy(o) }
        if let o = syn.backward, isCopy(first, of: o) { return .copy(o) }
        return nil
    }

    /// Notes the tags of a new connection while every one so far came under the same tags: false while that
    /// holds (no connection can match one on other tags). On the first other tags, the connections not in
    /// `bySyn` are indexed in `byEndpoints`, as every later one is.
    @inline(never)
    private func noteTags(_ tags: VLANTags) -> Bool {
        guard let seen = firstTags else {
            firstTags = tags
            return false
        }
        guard seen != tags else { return false }
        severalTags = true
        for c in connections.values where c.indexedISN == nil {
            byEndpoints[EndpointPair(client: c.client, server: c.server)] = c
        }
        return true
    }

    /// Whether `first`, the first segment of a new connection, is the first segment of the other direction of
    /// `c` (same endpoints), which came under other VLAN tags (see "Tagged one way"): `c` is on other tags,
    /// joined to no other, has every packet so far the other way, and `first` carries its numbers:
    /// - a SYN: its ISN is the one `c`'s SYN-ACK acknowledged;
    /// - a SYN-ACK: it acknowledges `c`'s client ISN;
    /// - any other segment (with ACK): its acknowledgement number within `acknowledgementReach` of the bytes
    ///   `c` saw (of its first segment's number before any), and its sequence number within that of what `c`
    ///   acknowledged; or, `c` having acknowledged nothing (its client's SYNs alone), it acknowledges the
    ///   client ISN (a reset refusing the connect, data after a SYN-ACK not captured).
    /// No time window: exact ISNs, or both numbers within 2^-12 of their space each, of a connection that
    /// shows one direction only. A copy of a connection under other tags (each tag set with both directions)
    /// shows the direction of its first segment on the original's tags already, so it is no match here.
    private func joins(_ first: TCPSegment, _ c: Connection) -> Bool {
        guard c.inTable, c.joined == nil, c.key.vlan != first.vlan else { return false }
        let fromClient = first.source == c.client
        guard fromClient ? c.packets.up == 0 : c.packets.down == 0 else { return false }
        let syn = first.flags.contains(.syn)
        let ack = first.flags.contains(.ack)
        if fromClient {
            if syn { return !ack && c.synAckAcknowledges == first.sequence &+ 1 }
            guard ack, let acknowledged = c.serverAcknowledgement else { return false }
            let serverBase = c.firstFromClient ? nil : c.firstSequence
            return ConnectionTable.within(first.acknowledgement, c.down, base: serverBase)
                && ConnectionTable.within(first.sequence, c.up, base: acknowledged)
        }
        let clientNext = c.clientISN.map { $0 &+ 1 }
        guard ack else { return false }
        if syn { return clientNext != nil && first.acknowledgement == clientNext }
        guard let acknowledged = c.clientAcknowledgement else {
            return clientNext != nil && first.acknowledgement == clientNext
        }
        let clientBase = clientNext ?? (c.firstFromClient ? c.firstSequence : nil)
        return ConnectionTable.within(first.acknowledgement, c.up, base: clientBase)
            && ConnectionTable.within(first.sequence, c.down, base: acknowledged)
    }

    /// Joins the connection of `key`, whose first segment `first` is, to `c` as its other direction (see
    /// "Tagged one way"): `key` finds `c` from now on.
    @inline(never)
    private func join(_ first: TCPSegment, key: FlowKey, to c: Connection) {
        c.joined = (first.vlan, c.direction(of: first))
        joinedKeys[key] = c
        absorb(first, into: c, direction: c.direction(of: first))
        schedule(c)
    }

    /// A segment of joined connection `c` under the tags of its other direction: that direction was captured
    /// under both tag sets, so the two were copies (see "Tagged one way"). The segment is left out and counted
    /// as a copy's, the connection once, as captured twice; its bytes fill a hole of `c`.
    @inline(never)
    private func leaveOutUnderOtherTags(_ s: TCPSegment, of c: Connection) {
        let opens = !c.joinedWereCopies
        if opens {
            c.joinedWereCopies = true
            counters.connectionsCapturedTwice += 1
        }
        counters.segmentsCapturedTwice += 1
        let fills = s.payloadLength > 0 && fillHole(of: c, from: s)
        delegate.copiedSegment(opens: opens, sameTags: false, fillsHole: fills)
    }

    /// Whether `first`, the first segment of a new connection, copies `original` (same endpoints): on other
    /// VLAN tags, `original` itself no copy, within `capturedTwiceWindow` of its SYN (for a SYN) or of its
    /// latest segment, and carrying its sequence numbers:
    /// - a SYN: its ISN is the one of `original`'s SYN, or the one its SYN-ACK acknowledged (its SYN lost);
    /// - a SYN-ACK (the copy's SYN lost): it acknowledges `original`'s client ISN, and its own ISN is the one
    ///   of `original`'s SYN-ACK when that was seen;
    /// - any other segment (both lost): its sequence and acknowledgement numbers both within
    ///   `acknowledgementReach` of the bytes `original` saw in their directions.
    /// ISNs are exact 32-bit evidence; two sequence ranges are 2^-24 of the space in all: different
    /// connections with the same addresses on other VLANs (overlapping address spaces) stay two.
    private func isCopy(_ first: TCPSegment, of original: Connection) -> Bool {
        guard original.inTable, original.copyOf == 0, original.key.vlan != first.vlan else { return false }
        let syn = first.flags.contains(.syn)
        let ack = first.flags.contains(.ack)
        let clientNext = original.clientISN.map { $0 &+ 1 } ?? original.synAckAcknowledges
        let wide = max(limits.capturedTwiceWindow, limits.capturedTwiceISNWindow)
        if syn, !ack {
            guard first.sequence &+ 1 == clientNext else { return false }
            return isNear(first.timestamp, original.synTime ?? original.synAckTime, within: wide)
        }
        let fromClient = first.source == original.client
        if syn {
            guard !fromClient, let acked = clientNext, first.acknowledgement == acked else { return false }
            if let serverNext = original.down.baseSequence, first.sequence &+ 1 != serverNext { return false }
            return isNear(first.timestamp, original.synAckTime ?? original.synTime, within: wide)
                || isNear(first.timestamp, original.last, within: limits.capturedTwiceWindow)
        }
        guard ack, isNear(first.timestamp, original.last, within: limits.capturedTwiceWindow) else { return false }
        let (upValue, downValue) = fromClient
            ? (first.sequence, first.acknowledgement) : (first.acknowledgement, first.sequence)
        return ConnectionTable.within(upValue, original.up, base: clientNext)
            && ConnectionTable.within(downValue, original.down, base: nil)
    }

    /// Fills a hole of `original` (the connection a copy copies, while in the table) with the bytes of `s`, a
    /// segment of the copy: a segment one sensor lost and the other captured is no gap. Counted
    /// (`segmentsFilledFromCopy`) when it filled any byte.
    @inline(never)
    private func fillHole(of original: Connection?, from s: TCPSegment) -> Bool {
        guard let o = original, o.inTable else { return false }
        let direction = o.direction(of: s)
        let half = direction == .up ? o.up : o.down
        guard half.fillHole(from: s, ctx: context(o, direction)) else { return false }
        counters.segmentsFilledFromCopy += 1
        schedule(o)
        return true
    }

    /// Whether `time` is within `window` of `reference` (either way); false without a reference.
    private func isNear(_ time: Timestamp, _ reference: Timestamp?, within window: Int64) -> Bool {
        guard let t = reference else { return false }
        let apart = time > t ? time.nanoseconds(since: t) : t.nanoseconds(since: time)
        return apart <= window
    }

    /// Whether `syn`, a SYN on the key of `existing` that does not belong to it, is a copy of it captured
    /// under the same tags (two sensors on one VLAN, their clocks seconds apart): `existing` was
    /// established and is closed, the SYN repeats its client ISN, within `capturedTwiceISNWindow` of its
    /// SYN. A stack never sends the SYN of a connection again once the handshake completed and the
    /// connection closed; a new connection on the same 4-tuple picks another ISN. A refused connect is
    /// left alone: a stack may retry a SYN answered by a reset (Windows does, half a second later), possibly
    /// with the same ISN.
    private func isCopyOnSameTags(_ syn: TCPSegment, of existing: Connection) -> Bool {
        guard existing.isClosed, existing.handshake == .established, syn.source == existing.client,
            let isn = existing.clientISN, syn.sequence == isn else { return false }
        let wide = max(limits.capturedTwiceWindow, limits.capturedTwiceISNWindow)
        return isNear(syn.timestamp, existing.synTime, within: wide)
    }

    /// Whether `syn`, a SYN that `existing` accepts (its client ISN), is the SYN of a copy captured on the
    /// same tags while `existing` is open (a second sensor on the same VLAN, its clock behind by less than
    /// the connection lasts): `existing` is established and its client acknowledged the SYN-ACK, after which
    /// no stack sends its SYN again. The SYN is left out and counted, the first one as a copied connection;
    /// the copy's later segments cannot be told from `existing`'s own on the same key, so they fall onto it
    /// as retransmissions (known limit, see "Captured twice").
    private func isCopyInPlace(_ syn: TCPSegment, of existing: Connection) -> Bool {
        guard existing.copyOf == 0, existing.clientAcknowledged, existing.state.contains(.synAck),
            existing.clientISN == syn.sequence, syn.source == existing.client else { return false }
        let opens = !existing.copiedInPlace
        if opens {
            existing.copiedInPlace = true
            counters.connectionsCapturedTwice += 1
        }
        counters.segmentsCapturedTwice += 1
        delegate.copiedSegment(opens: opens, sameTags: true, fillsHole: false)
        return true
    }

    /// Whether sequence number `value` lies within `acknowledgementReach` of the bytes `half` saw, counted
    /// from its first byte's sequence number (`fallback` before it saw any; false when neither is known).
    private static func within(_ value: UInt32, _ half: HalfConnectionReassembler, base fallback: UInt32?) -> Bool {
        guard let base = half.baseSequence ?? fallback else { return false }
        let offset = Int64(Int32(bitPattern: value &- base))
        let reach = HalfConnectionReassembler.acknowledgementReach
        return offset >= -reach && offset <= half.seenEnd + reach
    }

    private func absorb(_ s: TCPSegment, into c: Connection, direction: Direction) {
        c.count(s, direction: direction)
        if c.copyOf != 0 {
            // A copy of a connection captured under other VLAN tags: counted, its flags kept (so it closes
            // and lingers as its original does), not reassembled.
            c.noteFlags(s, direction: direction)
            counters.segmentsCapturedTwice += 1
            let fills = s.payloadLength > 0 && fillHole(of: c.original, from: s)
            delegate.copiedSegment(
                opens: c.packets.up + c.packets.down == 1, sameTags: c.copyOnSameTags, fillsHole: fills)
            return
        }
        // Each half passed straight from its `let` (choosing one into a local retains it).
        if direction == .up {
            absorb(s, into: c, half: c.up, direction: .up)
        } else {
            absorb(s, into: c, half: c.down, direction: .down)
        }
    }

    private func absorb(_ s: TCPSegment, into c: Connection, half: HalfConnectionReassembler, direction: Direction) {
        // A new context for `accept`: the acknowledgement may have released what the other direction held.
        let ctx = context(c, direction)
        if half.dropDuplicate(s, ctx: ctx) { return }
        c.noteFlags(s, direction: direction)
        if s.flags.contains(.ack), !s.flags.contains(.rst) {
            // Before this segment's own bytes: the other direction's bytes it releases were sent first.
            let data = s.payloadLength > 0
            if direction == .up {
                c.down.peerAcknowledged(s.acknowledgement, now: s.timestamp, carriesData: data, ctx: context(c, .down))
                if data { noteAcknowledgedAhead(c.down, by: s, sender: half, connection: c.id, direction: .down) }
            } else {
                c.up.peerAcknowledged(s.acknowledgement, now: s.timestamp, carriesData: data, ctx: context(c, .up))
                if data { noteAcknowledgedAhead(c.up, by: s, sender: half, connection: c.id, direction: .up) }
            }
        }
        half.accept(s, ctx: context(c, direction))
    }

    /// Tells the delegate that `s`, a segment whose bytes `sender` is about to deliver, acknowledged bytes of
    /// `acknowledged` (the other direction, `direction`) that were not delivered yet: the capture shows them
    /// later (held behind a hole, or retransmitted after the peer's FIN) or never (a gap). They were sent before
    /// this segment's bytes, whatever their capture time; the delegate may place them so
    /// (`StreamDelegate.didAcknowledgeAhead`). One byte alone is not said: most likely a FIN the capture lost,
    /// which takes a sequence number too. A subtraction and a comparison per data segment: on the in-order path
    /// the capture shows bytes before their acknowledgement, and nothing more is done.
    private func noteAcknowledgedAhead(
        _ acknowledged: HalfConnectionReassembler, by s: TCPSegment, sender: HalfConnectionReassembler,
        connection: UInt64, direction: Direction
    ) {
        // The highest acknowledgement first (one subtraction); then this segment's own, which a segment
        // retransmitted or held out of order may carry lower.
        guard acknowledged.acknowledgedTail > 1, sender.continuesStream(s) else { return }
        let ahead = acknowledged.acknowledgedAhead(of: s.acknowledgement)
        guard ahead > 1 else { return }
        delegate.didAcknowledgeAhead(bytes: ahead, direction: direction, connection: connection, time: s.timestamp)
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
        if c.indexedISN != nil {
            let pair = EndpointPair(client: c.client, server: c.server)
            if bySyn[pair] === c { bySyn[pair] = nil }
        } else if !byEndpoints.isEmpty {
            let pair = EndpointPair(client: c.client, server: c.server)
            if byEndpoints[pair] === c { byEndpoints[pair] = nil }
        }
        if let j = c.joined {
            var other = c.key
            other.vlan = j.tags
            if joinedKeys[other] === c { joinedKeys[other] = nil }
            if c.copyOf == 0, !c.joinedWereCopies { counters.connectionsTaggedPerDirection += 1 }
        }
        if c.copyOf != 0 {
            // Never reported (see "Captured twice"): it only leaves the table.
            c.original = nil
            c.up.releaseBuffers(into: historyRings)
            c.down.releaseBuffers(into: historyRings)
            return
        }
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
        c.up.releaseBuffers(into: historyRings)
        c.down.releaseBuffers(into: historyRings)
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
        if let since = c.up.tailSince { d = min(d, from(since, limits.holeTimeout)) }
        if let since = c.down.tailSince { d = min(d, from(since, limits.holeTimeout)) }
        if let since = c.up.holeAcknowledgedSince { d = min(d, from(since, limits.acknowledgedHoleGrace)) }
        if let since = c.down.holeAcknowledgedSince { d = min(d, from(since, limits.acknowledgedHoleGrace)) }
        return d
    }

    /// Queues `c` again when its state brought its deadline earlier than the one queued.
    private func schedule(_ c: Connection) {
        if c.closedAt != nil, !c.queuedClosed { queueClosed(c) }
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
        // Nothing due (most sweeps): the lists, empty between sweeps, are not touched.
        guard deadlines.earliest <= now.nanoseconds else { return }
        while deadlines.earliest <= now.nanoseconds, let (deadline, c) = deadlines.pop() {
            guard c.inTable, c.scheduled == deadline else { continue }
            c.scheduled = Int64.max
            if isDue(c, now: now) { due.append(c) } else { requeue.append(c) }
        }
        if !requeue.isEmpty {
            for c in requeue { schedule(c) }
            requeue.removeAll(keepingCapacity: true)
        }
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
                c.up.releaseBuffers(into: historyRings)
                c.down.releaseBuffers(into: historyRings)
            }
        }
    }

    /// A closed connection lingering for late packets: flushes held data (its holes will not
    /// be filled now) and frees its reassembly buffers, so lingering costs only fixed state.
    private func settle(_ c: Connection, now: Timestamp) {
        c.settled = true
        c.up.flush(now: now, ctx: context(c, .up))
        c.down.flush(now: now, ctx: context(c, .down))
        c.up.releaseBuffers(into: historyRings)
        c.down.releaseBuffers(into: historyRings)
    }

    /// Moves a connection that just closed into the recency queue of closed ones (its entry in the
    /// queue of open ones is dropped when it surfaces).
    @inline(never)
    private func queueClosed(_ c: Connection) {
        c.queuedClosed = true
        recentClosed.push(c)
        if recentClosed.isCrowded(live: connections.count) { rebuildRecency() }
    }

    /// Drops the recency queues' stale entries (emitted connections, old keys): one entry per connection.
    private func rebuildRecency() {
        recent.removeAll()
        recentClosed.removeAll()
        for c in connections.values {
            c.queuedClosed = c.closedAt != nil
            if c.queuedClosed { recentClosed.push(c) } else { recent.push(c) }
        }
    }

    /// Emits 1/64 of the table (at least one connection): closed connections lingering for late
    /// packets first (emitted as closed: nothing is lost), then the least recently active open
    /// ones (evicted), each group by last activity, then id: the order of sorting the whole table by
    /// (closed first, `last`, id). The recency queues hand them out in that order: O(k log n) for k
    /// evicted (plus connections that were active since they were queued, each queued again once).
    private func evictLeastRecent() {
        counters.limitReached += 1
        var remaining = max(1, connections.count / 64)
        while remaining > 0, let c = recentClosed.popLeastRecent(where: { _ in true }) {
            emit(c, end: .closed, now: clock)
            remaining -= 1
        }
        while remaining > 0, let c = recent.popLeastRecent(where: { $0.closedAt == nil }) {
            if c.copyOf == 0 {
                delegate.didNotice(.limitReached(.connections), direction: .up, connection: c.id, time: clock)
            }
            emit(c, end: .evicted, now: clock)
            remaining -= 1
        }
    }
}

/// A connection's client and server without VLAN tags: where a copy captured under other tags finds it.
private struct EndpointPair: Hashable {
    var client: Endpoint
    var server: Endpoint

    /// Four words into the hasher (one lookup per SYN in a flood), two when both addresses are IPv4
    /// (`FlowKey.ipv4Pair`); equal pairs feed equal words.
    func hash(into hasher: inout Hasher) {
        let families = UInt64(client.address.isIPv6 ? 1 : 0) | UInt64(server.address.isIPv6 ? 2 : 0)
        if let pair = FlowKey.ipv4Pair(client.address, server.address) {
            hasher.combine(pair)
        } else {
            hasher.combine(client.address.high ^ server.address.high &* 31)
            hasher.combine(client.address.low)
            hasher.combine(server.address.low)
        }
        hasher.combine(UInt64(client.port) | UInt64(server.port) << 16 | families << 32)
    }
}
