import Core
import Records

// MARK: - Matching
//
// A new connection matched to one tracked between the same endpoints: a copy of it captured twice (see
// "Captured twice" on `ConnectionTable`), or its other direction tagged one way ("Tagged one way"), joined
// or left out.

extension ConnectionTable {
    /// What the first segment of a new connection, `first`, is to a connection on other VLAN tags between the
    /// same endpoints.
    enum Match {
        /// The first segment of the other direction of that connection, which came under other tags (see
        /// "Tagged one way"): joined to it.
        case otherDirection(Connection)
        /// A copy of that connection (see "Captured twice"): left out.
        case copy(Connection)
        /// A SYN repeating the client ISN of that connection, which showed its client's SYNs alone (no answer,
        /// no byte): the SYN opens the connection analysed, and that one is left out as its copy (a stray SYN
        /// on other tags must not take the place of the connection that carries the data).
        case supersedes(Connection)
        /// A segment of a direction that connection showed, under other tags, that continues that direction's
        /// stream (see "Tags changed"): the direction moved to these tags.
        case moved(Connection)
    }

    /// What `first`, the first segment of a new connection, is to a connection on other VLAN tags between the
    /// same endpoints, if anything: the other direction of one that showed one direction only (`joins`; a copy
    /// among them too, whose other direction is then left out with it), else one a direction of which moved to
    /// these tags (`moves`; a copy's after the originals, `copyMoves`), else a copy of one opened by a SYN or
    /// SYN-ACK, itself no copy (`isCopy`). A few dictionary lookups, once per connection, and none while every
    /// connection came under one set of tags.
    func match(_ first: TCPSegment) -> Match? {
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
        if !first.flags.contains(.syn) {
            if let o = syn.forward, moves(first, o) { return .moved(o) }
            if let o = syn.backward, moves(first, o) { return .moved(o) }
            if !byEndpoints.isEmpty {
                if let o = byEndpoints[forward], moves(first, o) { return .moved(o) }
                if let o = byEndpoints[backward], moves(first, o) { return .moved(o) }
                // Not the original's: a copy's direction that moved (copies are indexed here).
                if let o = byEndpoints[forward], copyMoves(first, o) { return .moved(o) }
                if let o = byEndpoints[backward], copyMoves(first, o) { return .moved(o) }
            }
        }
        if let o = syn.forward, isCopy(first, of: o) {
            return isSyn && isStub(o, at: first) ? .supersedes(o) : .copy(o)
        }
        if let o = syn.backward, isCopy(first, of: o) { return .copy(o) }
        return nil
    }

    /// Whether `o`, whose client ISN a SYN at `syn` repeats, is a stray SYN's stub rather than that SYN's
    /// original: it showed its client's SYNs alone, the latest at least `capturedTwiceWindow` (1 s) before.
    /// A second sensor's copy of a SYN comes within the clocks' difference of the original, and when that is
    /// more than a round trip the original has its SYN-ACK by then: a stub unanswered for a second is no
    /// original another sensor copies. Within the second, the SYN stays a copy (the two sensors' directions
    /// would otherwise be mixed, the handshake timed across their clocks).
    private func isStub(_ o: Connection, at syn: TCPSegment) -> Bool {
        o.isLoneSyn && syn.timestamp.nanoseconds(since: o.last) >= limits.capturedTwiceWindow
    }

    /// Leaves out `stub`, a connection that showed its client's SYNs alone, as a copy of `c`, just opened by a
    /// SYN with the same client ISN under other tags (`Match.supersedes`): counted as a copy's connection and
    /// packets as if it had been found a copy when opened, and its id handed to `connectionLeftOut` (it had
    /// no event but `connectionOpened`: no byte, no record). Later segments of it are a copy's.
    @inline(never)
    func leaveOutStub(_ stub: Connection, for c: Connection) {
        stub.copyOf = c.id
        stub.original = c
        counters.connectionsCapturedTwice += 1
        counters.segmentsCapturedTwice += stub.packets.up
        delegate.connectionLeftOut(id: stub.id)
        for i in 0..<stub.packets.up {
            delegate.copiedSegment(opens: i == 0, sameTags: false, fillsHole: false)
        }
        if severalTags { byEndpoints[EndpointPair(client: stub.client, server: stub.server)] = stub }
    }

    /// Whether `first`, the first segment of a new connection (neither SYN nor SYN-ACK), is `c`'s, a direction
    /// of which moved to `first`'s tags (see "Tags changed"): `c` is on other tags, no copy, showed `first`'s
    /// direction already, `first` carries its numbers (both within `acknowledgementReach` of the bytes seen each
    /// way, as a joining segment's) and continues that direction's stream (`Connection.continues`). No time
    /// window, as for joining: a tracked connection's numbers both ways, and new bytes of it.
    private func moves(_ first: TCPSegment, _ c: Connection) -> Bool {
        guard c.inTable, c.copyOf == 0, first.flags.contains(.ack) else { return false }
        let fromClient = first.source == c.client
        guard first.vlan != c.tags(of: fromClient ? .up : .down) else { return false }
        guard fromClient ? c.packets.up > 0 : c.packets.down > 0 else { return false }
        let (sent, received) = fromClient ? (c.up, c.down) : (c.down, c.up)
        guard ConnectionTable.within(first.sequence, sent, base: nil),
            ConnectionTable.within(first.acknowledgement, received, base: nil) else { return false }
        return c.continues(first, direction: fromClient ? .up : .down)
    }

    /// Whether `first`, the first segment of a new connection (neither SYN nor SYN-ACK), is `c`'s, a copy a
    /// direction of which moved to `first`'s tags (see "Tags changed"): as `moves`, from the copy's own numbers
    /// (`Connection.copyEnd`; a copy is not reassembled, and its original may have left the table): `c` showed
    /// both directions, `first`'s numbers both within `acknowledgementReach` of where they stand, and it
    /// continues the copy's stream (`Connection.copyContinues`). Asked after `moves`, so a segment that
    /// continues the original's stream is the original's. The copy stays a copy: its segments under the new tags
    /// are left out and counted as captured twice, as its earlier ones.
    private func copyMoves(_ first: TCPSegment, _ c: Connection) -> Bool {
        guard c.inTable, c.copyOf != 0, first.flags.contains(.ack) else { return false }
        let fromClient = first.source == c.client
        guard first.vlan != c.tags(of: fromClient ? .up : .down),
            let sent = fromClient ? c.copyEnd.up : c.copyEnd.down,
            let received = fromClient ? c.copyEnd.down : c.copyEnd.up else { return false }
        let reach = HalfConnectionReassembler.acknowledgementReach
        let sequence = Int64(Int32(bitPattern: first.sequence &- sent))
        let acknowledgement = Int64(Int32(bitPattern: first.acknowledgement &- received))
        guard abs(sequence) <= reach, abs(acknowledgement) <= reach else { return false }
        return c.copyContinues(first, direction: fromClient ? .up : .down)
    }

    /// Takes `s`, the first segment under `key`'s tags, into `c` as a direction that moved there (see "Tags
    /// changed"): `key` finds `c` from now on.
    @inline(never)
    func move(_ s: TCPSegment, key: FlowKey, to c: Connection) {
        if c.movedKeys.count < ConnectionTable.maxMovedKeys, !c.movedKeys.contains(key) {
            c.movedKeys.append(key)
            joinedKeys[key] = c
        }
        moveTags(s, of: c)
    }

    /// At most this many keys per connection for the tags its directions moved to: segments under further
    /// tags find it through `match`, a few lookups each, so a hostile capture cannot grow the table's index.
    static let maxMovedKeys = 4

    /// Takes `s`, a segment of `c` under other tags than its direction's that continues its stream, into `c`,
    /// and notes that its direction moved to those tags.
    private func moveTags(_ s: TCPSegment, of c: Connection) {
        let direction = c.direction(of: s)
        let tags: VLANTags? = s.vlan == c.firstTags(of: direction) ? nil : s.vlan
        if direction == .up { c.movedUp = tags } else { c.movedDown = tags }
        c.moved = true
        c.tagsVary = true
        absorb(s, into: c, direction: direction)
        schedule(c)
    }

    /// A segment of `c` (whose tags vary: joined, or moved) under other tags than its direction's: taken in as
    /// a move when it continues that direction's stream (see "Tags changed"), else left out as a copy's
    /// (`leaveOutUnderOtherTags`).
    @inline(never)
    func underOtherTags(_ s: TCPSegment, of c: Connection) {
        if c.continues(s, direction: c.direction(of: s)) {
            moveTags(s, of: c)
        } else {
            leaveOutUnderOtherTags(s, of: c)
        }
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
    func join(_ first: TCPSegment, key: FlowKey, to c: Connection) {
        c.joined = (first.vlan, c.direction(of: first))
        c.tagsVary = true
        joinedKeys[key] = c
        absorb(first, into: c, direction: c.direction(of: first))
        schedule(c)
    }

    /// A segment of `c` under other tags than its direction's that repeats that direction (see `underOtherTags`):
    /// that direction was captured under both tag sets, so it is a copy's (on a joined connection, the two tag
    /// sets were copies: see "Tagged one way"). The segment is left out and counted as a copy's, the connection
    /// once, as captured twice; its bytes fill a hole of `c`.
    @inline(never)
    func leaveOutUnderOtherTags(_ s: TCPSegment, of c: Connection) {
        let opens = !c.copiedUnderOtherTags
        if opens {
            c.copiedUnderOtherTags = true
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
    func fillHole(of original: Connection?, from s: TCPSegment) -> Bool {
        guard let o = original, o.inTable else { return false }
        let direction = o.direction(of: s)
        let half = direction == .up ? o.up : o.down
        // The original's events keep their order: a cut tail it holds back is told first.
        if o.up.holdsCut || o.down.holdsCut { releaseCuts(of: o) }
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
    /// connection closed; a new connection on the same 4-tuple picks another ISN. A refused connect is a
    /// copy only within `refusedCopyWindow` of its SYN: a stack may retry a SYN answered by a reset (Windows
    /// does, half a second later), possibly with the same ISN, and such a retry stays a connect of its own.
    func isCopyOnSameTags(_ syn: TCPSegment, of existing: Connection) -> Bool {
        guard existing.isClosed, syn.source == existing.client,
            let isn = existing.clientISN, syn.sequence == isn else { return false }
        switch existing.handshake {
        case .established:
            let wide = max(limits.capturedTwiceWindow, limits.capturedTwiceISNWindow)
            return isNear(syn.timestamp, existing.synTime, within: wide)
        case .refused:
            return isNear(syn.timestamp, existing.synTime, within: limits.refusedCopyWindow)
        case .unanswered, .midstream:
            return false
        }
    }

    /// Whether `syn`, a SYN that `existing` accepts (its client ISN), is the SYN of a copy captured on the
    /// same tags while `existing` is open (a second sensor on the same VLAN, its clock behind by less than
    /// the connection lasts): `existing` is established and its client acknowledged the SYN-ACK, after which
    /// no stack sends its SYN again. The SYN is left out and counted, the first one as a copied connection;
    /// the copy's later segments cannot be told from `existing`'s own on the same key, so they fall onto it
    /// as retransmissions (known limit, see "Captured twice").
    func isCopyInPlace(_ syn: TCPSegment, of existing: Connection) -> Bool {
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
}

/// A connection's client and server without VLAN tags: where a copy captured under other tags finds it.
struct EndpointPair: Hashable {
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
