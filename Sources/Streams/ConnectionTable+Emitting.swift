import Core
import Records

// MARK: - Emitting
//
// Connections leaving the table: emitted at the end, when closed or idle, or evicted from a full table;
// the sweeps and their deadlines, settling a closed connection, and the recency queues eviction reads.

extension ConnectionTable {
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

    func emit(_ c: Connection, end: ConnectionEnd, now: Timestamp) {
        if let last = lastFound, last.toOpaque() == Unmanaged.passUnretained(c).toOpaque() { lastFound = nil }
        connections[c.key] = nil
        c.inTable = false
        // Found once and removed at its place (a look-up and then a removal by key hashed the pair twice).
        if c.indexedISN != nil {
            let pair = EndpointPair(client: c.client, server: c.server)
            if let i = bySyn.index(forKey: pair), bySyn.values[i] === c { bySyn.remove(at: i) }
        } else if !byEndpoints.isEmpty {
            let pair = EndpointPair(client: c.client, server: c.server)
            if let i = byEndpoints.index(forKey: pair), byEndpoints.values[i] === c { byEndpoints.remove(at: i) }
        }
        if let j = c.joined {
            var other = c.key
            other.vlan = j.tags
            if joinedKeys[other] === c { joinedKeys[other] = nil }
            if c.copyOf == 0, !c.copiedUnderOtherTags { counters.connectionsTaggedPerDirection += 1 }
        }
        if c.moved {
            for k in c.movedKeys where joinedKeys[k] === c { joinedKeys[k] = nil }
            c.movedKeys = []
            if c.tagsChanged { counters.connectionsTagsChanged += 1 }
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
    func isDue(_ c: Connection, now: Timestamp) -> Bool {
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
    func schedule(_ c: Connection) {
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
    func sweep(now: Timestamp) {
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
    func act(on c: Connection, now: Timestamp) {
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
    func rebuildRecency() {
        recent.removeAll()
        recentClosed.removeAll()
        recentLoneSyns.removeAll()
        for c in connections.values {
            c.queuedClosed = c.closedAt != nil
            if c.queuedClosed {
                recentClosed.push(c)
            } else if c.isLoneSyn {
                recentLoneSyns.push(c)
            } else {
                recent.push(c)
            }
        }
    }

    /// Emits 1/64 of the table (at least one connection): closed connections lingering for late
    /// packets first (emitted as closed: nothing is lost), then the least recently active lone SYNs
    /// (a client's SYNs with no answer and no byte: a SYN flood's), then the least recently active other
    /// open ones (evicted), each group by last activity, then id: the order of sorting the whole table by
    /// (closed first, lone SYNs next, `last`, id). The recency queues hand them out in that order:
    /// O(k log n) for k evicted (plus connections that were active since they were queued, each queued again
    /// once, and connections opened by a SYN that got an answer since, each moved to `recent` once).
    func evictLeastRecent() {
        counters.limitReached += 1
        var remaining = max(1, connections.count / 64)
        while remaining > 0, let c = recentClosed.popLeastRecent(where: { _ in true }) {
            emit(c, end: .closed, now: clock)
            remaining -= 1
        }
        func evict(_ c: Connection) {
            if c.copyOf == 0 {
                releaseCuts(of: c)
                delegate.didNotice(.limitReached(.connections), direction: .up, connection: c.id, time: clock)
            }
            emit(c, end: .evicted, now: clock)
            remaining -= 1
        }
        while remaining > 0, let c = recentLoneSyns.popLeastRecent(where: { $0.closedAt == nil }) {
            guard c.isLoneSyn else {
                recent.push(c)  // answered or sent a byte since it opened: an open connection like the others
                continue
            }
            evict(c)
        }
        while remaining > 0, let c = recent.popLeastRecent(where: { $0.closedAt == nil }) { evict(c) }
    }
}
