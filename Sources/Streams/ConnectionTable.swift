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
/// retransmission with the same ISN stays on the same connection and raises `synCount`. A SYN from
/// the end that sent the SYN-ACK, while its connection is open, starts none: it is counted on the
/// connection and left out (see `Connection.isLateServerSyn`).
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
/// repeating the client ISN of the established, closed connection on its key within 10 s, or of the refused
/// one within `refusedCopyWindow` (100 ms), is a copy (the
/// original is emitted then, as closed, and the copy takes the key); a SYN repeating it while that
/// connection is still open, after its client acknowledged the SYN-ACK (no stack sends its SYN again
/// then), is left out and counted, but the copy's later segments cannot be told from the original's
/// own and fall onto it as retransmissions. A stray SYN under other tags with the client ISN of a later
/// connection is no original: a connection that showed its client's SYNs alone, unanswered for
/// `capturedTwiceWindow` (1 s) when a SYN with its ISN comes under other tags, is left out as that SYN's
/// copy (`Match.supersedes`), and the SYN's connection is analysed. One dictionary entry per connection
/// opened by a SYN or SYN-ACK, one or two lookups per new connection; nothing on the per-packet path but a
/// flag test. Known limit: only connections opened by a SYN or SYN-ACK are originals, so a copy coming
/// after one that lost both is not recognised.
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
/// Tags changed: a direction's frames may move to other tags partway through a connection (a path or tagging
/// change). A segment of a tracked connection under other tags than its direction's, carrying its numbers,
/// that continues that direction's stream (`Connection.continues`: bytes past those seen or the next awaited,
/// a FIN or reset not sent yet, an ACK past the latest) is the connection's, and the direction goes on under
/// those tags (`match` finds it for a new key, `underOtherTags` for a known one; up to `maxMovedKeys` keys
/// find it). One that repeats the direction is a copy's, left out as above; so with two sensors each segment
/// is taken from whichever copy brought it first. Counted when the connection ends unless it showed a copy.
/// A copy's direction moves the same way, judged from the copy's own numbers (`Connection.copyEnd`: a copy is
/// not reassembled, and its original may be gone) once the original did not take the segment: it stays a copy,
/// its segments under the new tags left out and counted as captured twice (`copyMoves`).
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
    @exclusivity(unchecked) var connections: [FlowKey: Connection] = [:]
    let budget: BufferBudget
    /// Retransmission-history rings of emitted and settled connections, reused by new ones.
    let historyRings = HistoryRings()
    /// Reassemblers holding the gap of a cut tail back until their connection's next packet
    /// (`HalfConnectionReassembler.holdsCut`): while 0, as whole captures keep it, no packet asks its connection.
    @exclusivity(unchecked) var cutsHeldBack = 0
    @exclusivity(unchecked) private var nextID: UInt64 = 1
    @exclusivity(unchecked) var clock = Timestamp(nanoseconds: Int64.min)
    /// `clock` plus `limits.unconfirmedClockStep` (saturating): a segment later than this steps ahead.
    @exclusivity(unchecked) var clockReach: Int64
    /// `clock` less `limits.unconfirmedClockStep` (saturating): a segment earlier than this is far behind.
    @exclusivity(unchecked) var clockBehind = Int64.min
    /// Once the clock is trusted, the segments far behind it since the last segment near it (see "The
    /// clock" above: a step back), if any.
    @exclusivity(unchecked) var back: PendingStep?
    /// After a step ahead was confirmed, the old clock, moved on by segments near it: while it runs on, the
    /// segments near it count towards taking the clock back even between segments near the new one.
    @exclusivity(unchecked) var previous: Timestamp?
    /// Whether two clocks were seen running together (a confirmed step taken back): a step ahead must then
    /// hold for `unconfirmedClockStep` of its own time, not `clockStepConfirmation`, to be confirmed.
    @exclusivity(unchecked) var twoClocks = false
    /// The step ahead of the clock awaiting confirmation (see "The clock" above), if any.
    @exclusivity(unchecked) var pending: PendingStep?
    /// Until the clock the first segments set has been borne out (see "The clock" above), what the
    /// segments near it and those far behind it have shown; nil before the first segment and once trusted.
    @exclusivity(unchecked) var starting: StartingClock? {
        didSet { clockStarting = starting != nil }
    }
    /// `starting != nil`, kept as a flag: the per-segment test reads one byte instead of the optional's tag.
    @exclusivity(unchecked) private var clockStarting = false
    @exclusivity(unchecked) var lastSweep = Timestamp(nanoseconds: Int64.min)
    @exclusivity(unchecked) var counters = StreamStatistics()
    /// Reused between sweeps so a sweep allocates only when the list must grow.
    @exclusivity(unchecked) var due: [Connection] = []
    /// Connections by the earliest time a sweep could act on them: a sweep looks at these only.
    @exclusivity(unchecked) var deadlines = DeadlineQueue()
    @exclusivity(unchecked) var requeue: [Connection] = []
    /// Open connections by last activity, and closed ones (lingering) by theirs: a full table
    /// evicts from these (closed ones first) without sorting itself. See `RecencyQueue`.
    @exclusivity(unchecked) var recent = RecencyQueue()
    @exclusivity(unchecked) var recentClosed = RecencyQueue()
    /// Connections opened by a client's SYN, queued apart: evicted before the other open ones while they are
    /// lone SYNs (`Connection.isLoneSyn`), so a flood of SYNs does not cut connections in use. One that got
    /// an answer or a byte moves to `recent` when its entry surfaces.
    @exclusivity(unchecked) var recentLoneSyns = RecencyQueue()
    /// Connections opened by a SYN or SYN-ACK, by client and server without VLAN tags (the latest per pair):
    /// where a copy of one captured under other tags finds its original (see "Captured twice" above).
    @exclusivity(unchecked) var bySyn: [EndpointPair: Connection] = [:]
    /// The other connections (opened by neither, and copies), the same way, once connections came under more
    /// than one set of tags (`severalTags`): where the other direction of one, under other tags, finds it
    /// (see "Tagged one way" above).
    @exclusivity(unchecked) var byEndpoints: [EndpointPair: Connection] = [:]
    /// The tags of the first connection, and whether a connection came under other tags since.
    @exclusivity(unchecked) var firstTags: VLANTags?
    @exclusivity(unchecked) var severalTags = false
    /// The keys (tags) of joined connections' other directions, to the connection (see "Tagged one way").
    @exclusivity(unchecked) var joinedKeys: [FlowKey: Connection] = [:]
    /// The connection `lookup` found last (checked with its key before use), not retained: it is
    /// always one the table holds (`emit` clears it when it takes that connection out).
    @exclusivity(unchecked) var lastFound: Unmanaged<Connection>?
    static let sweepInterval: Int64 = 250_000_000

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
        recentLoneSyns.removeAll()
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
        // The flow key is built here only off the usual path (a clock not yet trusted or a step); `place` builds
        // it when the segment is not of the connection found last.
        var key: FlowKey?
        if segment.timestamp.nanoseconds <= clockReach {
            if clockStarting {
                let k = FlowKey(segment)
                key = k
                checkStartingClock(segment.timestamp, key: k)
            } else if segment.timestamp.nanoseconds < clockBehind {
                let k = FlowKey(segment)
                key = k
                stepBack(segment.timestamp, key: k)
                if !clockStarting, segment.timestamp.nanoseconds < clockBehind,
                    let s = onClock(segment, k, ahead: false) {
                    tick(segment.timestamp)
                    place(s, known: k)
                    return
                }
            } else if back != nil, previous == nil {
                back = nil
            }
            tick(segment.timestamp)
        } else {
            let k = FlowKey(segment)
            key = k
            stepAhead(segment.timestamp, key: k)
            if !clockStarting, segment.timestamp.nanoseconds > clockReach, let s = onClock(segment, k, ahead: true) {
                place(s, known: k)
                return
            }
        }
        place(segment, known: key)
    }

    /// Places `segment` (of the flow key `known`, when the caller built it) into its connection, opening one when
    /// none is tracked or a SYN starts a new one.
    @inline(__always)
    private func place(_ segment: TCPSegment, known: FlowKey?) {
        let isSyn = segment.flags.contains(.syn) && !segment.flags.contains(.ack)
        var copyOf: UInt64 = 0
        var sameTags = false
        // Consecutive segments of one flow (most of them) find the connection found last by its key's endpoints,
        // without building the segment's key; it is that connection's key. Read without a retain: `lastFound` is
        // always a connection the table holds (see there).
        let key: FlowKey
        let lookedUp: Unmanaged<Connection>?
        if known == nil, let last = lastFound, last._withUnsafeGuaranteedRef({ $0.key.holds(segment) }) {
            key = last._withUnsafeGuaranteedRef { $0.key }
            lookedUp = last
        } else {
            key = known ?? FlowKey(segment)
            lookedUp = lookup(key)
        }
        if let found = lookedUp {
            // Not retained while it is absorbed: the table holds it, and absorbing takes nothing out
            // of the table (the delegate must not call back into it).
            let absorbed = found._withUnsafeGuaranteedRef { existing in
                // A SYN the connection does not accept is a new connection on the clock after the step, not one
                // of its segments read later: rotated files joined in the wrong order show a push connection's
                // later half first, and its own SYN and first half after the step back.
                if existing.clockSetBack != 0, !isSyn || existing.acceptsSyn(segment),
                    let s = readAfterSetBack(segment, existing) {
                    absorb(s, into: existing, direction: existing.direction(of: s))
                    schedule(existing)
                    return true
                }
                if existing.openedOffClock { retimeStrayOpening(existing, at: segment.timestamp) }
                if existing.tagsVary, existing.copyOf == 0,
                    segment.vlan != existing.tags(of: existing.direction(of: segment)),
                    !isSyn || existing.acceptsSyn(segment) {
                    underOtherTags(segment, of: existing)
                    return true
                }
                if isSyn, existing.opensSimultaneously(segment) {
                    if existing.serverSynSequence == nil { counters.simultaneousOpens += 1 }
                    existing.serverSynSequence = segment.sequence
                    absorb(segment, into: existing, direction: .down)
                    schedule(existing)
                    return true
                }
                if isSyn, existing.isLateServerSyn(segment) {
                    // Counted as a packet of the connection, its bytes (if any) kept out of the stream. The server's
                    // own SYN of a simultaneous open sent again (its ISN) is a retransmission, not a late SYN.
                    existing.count(segment, direction: .down)
                    if segment.sequence != existing.serverSynSequence {
                        if !existing.lateServerSyn { counters.lateServerSyns += 1 }
                        existing.lateServerSyn = true
                    }
                    schedule(existing)
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
            case .moved(let c):
                move(segment, key: key, to: c)
                return
            case .supersedes(let stub):
                let connection = open(segment, key: key)
                absorb(segment, into: connection, direction: .up)
                leaveOutStub(stub, for: connection)
                schedule(connection)
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

    // MARK: - Per segment

    /// The connection of `key`: the last one looked up when the key repeats (consecutive
    /// packets of one flow hash nothing), else the dictionary's.
    /// Not retained: the connection stays in the table until `emit` takes it out.
    func lookup(_ key: FlowKey) -> Unmanaged<Connection>? {
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
        if segment.flags.contains(.syn) && !segment.flags.contains(.ack) {
            recentLoneSyns.push(c)
            if recentLoneSyns.isCrowded(live: connections.count) { rebuildRecency() }
        } else {
            recent.push(c)
            if recent.isCrowded(live: connections.count) { rebuildRecency() }
        }
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

    func absorb(_ s: TCPSegment, into c: Connection, direction: Direction) {
        // A cut tail held back is told before this packet's events, unless the packet may give its bytes.
        if cutsHeldBack > 0, c.up.holdsCut || c.down.holdsCut { releaseCuts(of: c, before: s, direction: direction) }
        c.count(s, direction: direction)
        if c.copyOf != 0 {
            // A copy of a connection captured under other VLAN tags: counted, its flags kept (so it closes
            // and lingers as its original does), not reassembled.
            c.noteFlags(s, direction: direction)
            c.noteCopyEnd(s, direction: direction)
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

    func absorb(_ s: TCPSegment, into c: Connection, half: HalfConnectionReassembler, direction: Direction) {
        // A new context for `accept`: the acknowledgement may have released what the other direction held.
        let ctx = context(c, direction)
        if half.dropDuplicate(s, ctx: ctx) { return }
        c.noteFlags(s, direction: direction)
        if s.flags.contains(.ack), !s.flags.contains(.rst) {
            // Before this segment's own bytes: the other direction's bytes it releases were sent first.
            let data = s.payloadLength > 0
            if direction == .up {
                if !c.down.started, let isn = c.clientISN, s.sequence == isn &+ 1 {
                    // The server's SYN-ACK not captured: the client's ACK of it gives where the server's bytes begin.
                    c.down.peerAcknowledgedHandshake(s.acknowledgement)
                } else {
                    c.down.peerAcknowledged(
                        s.acknowledgement, now: s.timestamp, carriesData: data, ctx: context(c, .down))
                }
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

    /// Tells the delegate of the cut tails `c` holds back (`HalfConnectionReassembler.releaseCut`), but for one of
    /// `direction` that `s`, a packet of that direction, may give the bytes of.
    @inline(never)
    func releaseCuts(of c: Connection, before s: TCPSegment? = nil, direction: Direction = .up) {
        if !(direction == .up && s.map(c.up.mayFillCut) == true) { c.up.releaseCut(ctx: context(c, .up)) }
        if !(direction == .down && s.map(c.down.mayFillCut) == true) { c.down.releaseCut(ctx: context(c, .down)) }
    }

    func context(_ c: Connection, _ direction: Direction) -> ReassemblyContext {
        ReassemblyContext(
            table: self, connection: c.id, direction: direction,
            peerHeld: direction == .up ? c.down.heldCharge : c.up.heldCharge)
    }
}
