import Core
import Records

/// Why a connection left the table.
enum ConnectionEnd {
    /// FIN both ways or a RST, after the linger.
    case closed
    /// No packet for `StreamLimits.idleTimeout`.
    case idle
    /// Pushed out to respect `StreamLimits.maxConnections`.
    case evicted
    /// A new SYN on the same 4-tuple started a new connection.
    case reused
    /// End of input.
    case finished
}

/// One tracked connection: counters, control flags, and a reassembler per direction.
///
/// Stored state is `@exclusivity(unchecked)` (no run-time exclusivity check per access on the
/// per-packet path): it is changed only by the connection table, on one thread, and no call
/// re-enters the table (its delegate must not call back into it) while it is being changed.
final class Connection {
    let id: UInt64
    let key: FlowKey
    let client: Endpoint
    let server: Endpoint
    @exclusivity(unchecked) private(set) var start: Timestamp
    @exclusivity(unchecked) var last: Timestamp
    @exclusivity(unchecked) var synTime: Timestamp?
    @exclusivity(unchecked) var synAckTime: Timestamp?
    @exclusivity(unchecked) var closeTime: Timestamp?
    /// When the connection became closed (FIN both ways, or RST); the linger runs from here.
    @exclusivity(unchecked) var closedAt: Timestamp?
    @exclusivity(unchecked) var packets = (up: 0, down: 0)
    @exclusivity(unchecked) var bytes = (up: Int64(0), down: Int64(0))
    @exclusivity(unchecked) var state: ConnectionState = []
    @exclusivity(unchecked) var synCount = 0
    /// Whether the client sent a segment that acknowledges (ACK, no SYN or RST: it was answered), and
    /// whether the server sent data (no SYN or RST); they tell a set-up connection whose SYN-ACK was not
    /// captured from a failed connect.
    @exclusivity(unchecked) var clientAcknowledged = false
    @exclusivity(unchecked) var serverSentData = false
    /// The client's initial sequence number, from its SYN.
    @exclusivity(unchecked) var clientISN: UInt32?
    /// The acknowledgement number of the server's SYN-ACK (client ISN + 1).
    @exclusivity(unchecked) var synAckAcknowledges: UInt32?
    /// The server's initial sequence number, when it sent a SYN of its own while the client's was unanswered (a
    /// simultaneous open, RFC 9293 3.5: both ends send a SYN, then each a SYN-ACK): one connection, not two.
    @exclusivity(unchecked) var serverSynSequence: UInt32?
    /// Whether the server sent a SYN-ACK (it answered the handshake), and whether it later sent a SYN (no ACK) while
    /// the connection was open: left out, the connection and its roles kept (see `isLateServerSyn`).
    @exclusivity(unchecked) var serverSentSynAck = false
    @exclusivity(unchecked) var lateServerSyn = false
    /// Buffers released: `holeTimeout` after the close (held data flushed first), or after
    /// `closeLinger` without a packet; cleared by the next payload.
    @exclusivity(unchecked) var settled = false
    /// Opened by a segment stamped far off the table's trusted clock, and no segment of it on the clock
    /// since (see `ConnectionTable.retimeStrayOpening`).
    @exclusivity(unchecked) var openedOffClock = false
    /// Open when the table's clock was set back (`ConnectionTable.stepBack`): nanoseconds added to its
    /// segments stamped on the clock after the step, so the connection keeps the clock it began on (0: none).
    /// Not a SYN it does not accept (`acceptsSyn`): that opens a new connection at its stamped time.
    @exclusivity(unchecked) var clockSetBack: Int64 = 0
    /// False once the table has emitted the connection.
    @exclusivity(unchecked) var inTable = true
    /// The deadline of this connection's live entry in the table's `DeadlineQueue`
    /// (`Int64.max`: none); never later than the earliest time a sweep could act on it.
    @exclusivity(unchecked) var scheduled = Int64.max
    /// Whether the table queued it among the closed connections for eviction (`RecencyQueue`).
    @exclusivity(unchecked) var queuedClosed = false
    /// The id of the connection this one copies under other VLAN tags (0: none): see `ConnectionTable`,
    /// "Captured twice".
    @exclusivity(unchecked) var copyOf: UInt64 = 0
    /// Whether this copy was found on the same tags as its original (`copyOf`), not on other ones.
    @exclusivity(unchecked) var copyOnSameTags = false
    /// Whether a copy of this connection on the same tags came while it was open (its copy's SYN was left
    /// out; see `ConnectionTable`, "Captured twice").
    @exclusivity(unchecked) var copiedInPlace = false
    /// The connection this one copies under other VLAN tags, while this copy is in the table: its holes are
    /// filled from this copy's bytes.
    @exclusivity(unchecked) var original: Connection?
    /// For a copy (not reassembled), the sequence number past the furthest byte, SYN or FIN it showed each way
    /// (nil before any): where its streams stand, which a segment of a direction of it that moved to other tags
    /// continues (see `ConnectionTable`, "Tags changed").
    @exclusivity(unchecked) var copyEnd: (up: UInt32?, down: UInt32?) = (nil, nil)
    /// The ISN of the opening SYN or SYN-ACK under which the table indexed this connection, if it did.
    @exclusivity(unchecked) var indexedISN: UInt32?
    /// The sequence number of the segment that opened the connection, and whether the client sent it: where
    /// that direction's numbers stand before its half has bytes (a connection picked up at an ACK).
    @exclusivity(unchecked) var firstSequence: UInt32 = 0
    @exclusivity(unchecked) var firstFromClient = true
    /// The latest acknowledgement number the client, and the server, sent (nil before its first ACK): where
    /// the other direction's numbers stand, which a flow joining as that direction must carry (see
    /// `ConnectionTable`, "Tagged one way").
    @exclusivity(unchecked) var clientAcknowledgement: UInt32?
    @exclusivity(unchecked) var serverAcknowledgement: UInt32?
    /// Set when the other direction of this connection came under other VLAN tags and was joined to it (a
    /// capture that tags one direction only): those tags, and the direction they carry. The table finds the
    /// connection under both keys (see `ConnectionTable`, "Tagged one way").
    @exclusivity(unchecked) var joined: (tags: VLANTags, direction: Direction)?
    /// Whether the connection showed a direction under other tags than that direction's with nothing new (bytes,
    /// a FIN or a reset it had shown already): a copy's, left out. On a joined connection, the two tag sets were
    /// copies of one connection (each with both directions), not one direction each.
    @exclusivity(unchecked) var copiedUnderOtherTags = false
    /// The tags a direction moved to partway through, when segments under other tags continued its stream (a
    /// path or tagging change; see `ConnectionTable`, "Tags changed"): that direction's tags from then on.
    @exclusivity(unchecked) var movedUp: VLANTags?
    @exclusivity(unchecked) var movedDown: VLANTags?
    /// The keys the table registered for the tags a direction moved to (each finds the connection), at most
    /// `ConnectionTable.maxMovedKeys`.
    @exclusivity(unchecked) var movedKeys: [FlowKey] = []
    /// Whether a direction moved to other tags at least once (and maybe back).
    @exclusivity(unchecked) var moved = false
    /// Whether a direction's segments came under other tags, or a direction was joined: the table then checks
    /// each segment's tags against its direction's (one flag test per segment).
    @exclusivity(unchecked) var tagsVary = false
    let up: HalfConnectionReassembler
    let down: HalfConnectionReassembler

    init(id: UInt64, key: FlowKey, client: Endpoint, server: Endpoint, time: Timestamp, limits: StreamLimits) {
        self.id = id
        self.key = key
        self.client = client
        self.server = server
        self.start = time
        self.last = time
        up = HalfConnectionReassembler(limits: limits)
        down = HalfConnectionReassembler(limits: limits)
    }

    /// Takes the connection's times from `time` on: it was opened by one segment stamped far off the
    /// capture's clock (see `ConnectionTable.retimeStrayOpening`).
    func retime(to time: Timestamp) {
        start = time
        last = time
        if synTime != nil { synTime = time }
        if synAckTime != nil { synAckTime = time }
        if closeTime != nil { closeTime = time }
        if closedAt != nil { closedAt = time }
    }

    /// Decides the client of a new connection from its first packet: the SYN sender is the
    /// client; else the SYN-ACK sender is the server; else the lower port is the server
    /// (which is the well-known port when one side is below 1024); equal ports: the
    /// destination is the server.
    static func roles(firstPacket s: TCPSegment) -> (client: Endpoint, server: Endpoint) {
        if s.flags.contains(.syn) {
            return s.flags.contains(.ack) ? (s.destination, s.source) : (s.source, s.destination)
        }
        if s.source.port < s.destination.port { return (s.destination, s.source) }
        return (s.source, s.destination)
    }

    func direction(of s: TCPSegment) -> Direction {
        s.source == client ? .up : .down
    }

    /// Whether the connection showed its client's SYNs alone: no answer, no other segment, no byte.
    var isLoneSyn: Bool {
        copyOf == 0 && joined == nil && packets.down == 0 && packets.up == synCount && bytes.up == 0
            && !state.contains(.synAck)
    }

    /// Whether a direction moved to other tags partway (`moved`) with no copy shown under other
    /// tags: a path or tagging change within the connection, counted when it ends.
    var tagsChanged: Bool {
        moved && !copiedUnderOtherTags && copyOf == 0
    }

    /// The VLAN tags the segments of `direction` come under now: those it moved to, else its first ones.
    func tags(of direction: Direction) -> VLANTags {
        if let moved = direction == .up ? movedUp : movedDown { return moved }
        return firstTags(of: direction)
    }

    /// The VLAN tags `direction` was first seen under: the key's, or the joined direction's.
    func firstTags(of direction: Direction) -> VLANTags {
        if let j = joined, j.direction == direction { return j.tags }
        return key.vlan
    }

    /// Whether `s`, a segment of `direction` under other tags than that direction's, continues its stream
    /// rather than repeating it (see `ConnectionTable`, "Tags changed"): it brings bytes past the furthest seen
    /// or the next to deliver, a FIN or reset not seen yet that way, or, carrying none of these, sits at the
    /// next byte and acknowledges more than the direction's latest ACK (an ACK sent after the ones seen). An ACK
    /// repeating the latest one cannot be told from a copy's (two sensors): it is not taken, so no packet is
    /// counted twice.
    func continues(_ s: TCPSegment, direction: Direction) -> Bool {
        let half = direction == .up ? up : down
        guard !s.flags.contains(.syn) else { return false }
        if s.flags.contains(.rst) {
            return !state.contains(direction == .up ? .rstFromClient : .rstFromServer)
        }
        if half.bringsNew(s) { return true }
        guard s.payloadLength == 0, !s.flags.contains(.fin), s.flags.contains(.ack), half.isAtNext(s) else {
            return false
        }
        guard let latest = direction == .up ? clientAcknowledgement : serverAcknowledgement else { return true }
        return Int32(bitPattern: s.acknowledgement &- latest) > 0
    }

    /// Notes where `s`, a segment of this copy in `direction`, leaves that direction's stream (`copyEnd`).
    func noteCopyEnd(_ s: TCPSegment, direction: Direction) {
        guard !s.flags.contains(.rst) else { return }
        var end = s.sequence &+ UInt32(truncatingIfNeeded: max(0, s.payloadLength))
        if s.flags.contains(.syn) { end &+= 1 }
        if s.flags.contains(.fin) { end &+= 1 }
        let known = direction == .up ? copyEnd.up : copyEnd.down
        if let k = known, Int32(bitPattern: end &- k) <= 0 { return }
        if direction == .up { copyEnd.up = end } else { copyEnd.down = end }
    }

    /// Whether `s`, a segment of `direction` of this copy under other tags than that direction's, continues the
    /// copy's stream (as `continues` does for a connection analysed, from `copyEnd`, a copy having no
    /// reassembly): bytes past the furthest seen, a FIN or reset not seen yet that way, or, carrying none, a
    /// segment at the end that acknowledges more than the direction's latest ACK.
    func copyContinues(_ s: TCPSegment, direction: Direction) -> Bool {
        guard !s.flags.contains(.syn), let end = direction == .up ? copyEnd.up : copyEnd.down else { return false }
        if s.flags.contains(.rst) {
            return !state.contains(direction == .up ? .rstFromClient : .rstFromServer)
        }
        if s.flags.contains(.fin), !state.contains(direction == .up ? .finFromClient : .finFromServer) { return true }
        if s.payloadLength > 0 {
            let past = s.sequence &+ UInt32(truncatingIfNeeded: s.payloadLength)
            return Int32(bitPattern: past &- end) > 0
        }
        guard !s.flags.contains(.fin), s.flags.contains(.ack), Int32(bitPattern: s.sequence &- end) >= 0 else {
            return false
        }
        guard let latest = direction == .up ? clientAcknowledgement : serverAcknowledgement else { return true }
        return Int32(bitPattern: s.acknowledgement &- latest) > 0
    }

    var isClosed: Bool {
        state.contains(.rstFromClient) || state.contains(.rstFromServer)
            || (state.contains(.finFromClient) && state.contains(.finFromServer))
    }

    var heldCharge: Int { up.heldCharge + down.heldCharge }

    /// Whether `s`, a SYN (without ACK) from the server's side, is its half of a simultaneous open: the client's
    /// SYNs alone were seen so far (or the server's SYN is repeated, with the same ISN, before any SYN-ACK).
    /// Those SYNs may carry the request (data on SYN): its bytes stay the client's stream's first, as on a
    /// connection the server answered with a SYN-ACK.
    /// Not when the first SYN came from the lower port: that end is likelier the server (a manager's 8014 or 443
    /// against a client's ephemeral port), so the other end's SYN starts the connection with the roles its way.
    func opensSimultaneously(_ s: TCPSegment) -> Bool {
        guard s.source == server, copyOf == 0, !isClosed, !state.contains(.synAck) else { return false }
        guard client.port >= server.port else { return false }
        if let isn = serverSynSequence { return s.sequence == isn }
        return joined == nil && packets.down == 0 && packets.up == synCount
    }

    /// Whether `s`, a SYN (without ACK), comes from the end that answered this connection's handshake (it sent the
    /// SYN-ACK) while the connection is open. That end listens on its port: a SYN of its own, whatever its sequence
    /// number, opens no connection toward the client's port (taken as one, the manager read as a client), so the
    /// table leaves it out. Once the connection ended (FIN both ways or a reset), a SYN starts a new one, as before.
    func isLateServerSyn(_ s: TCPSegment) -> Bool {
        s.source == server && serverSentSynAck && copyOf == 0 && !isClosed
    }

    /// Whether a SYN (without ACK) belongs to this connection rather than starting a new one
    /// on the same 4-tuple: it must come from the client with the ISN already seen, or, when
    /// no SYN was seen yet, fit the sequence numbers already seen from the client.
    func acceptsSyn(_ s: TCPSegment) -> Bool {
        guard !isClosed, s.source == client else { return false }
        if let isn = clientISN { return s.sequence == isn }
        let next = s.sequence &+ 1
        if let acked = synAckAcknowledges { return acked == next }
        if let base = up.baseSequence { return base == next }
        return packets.up == 0
    }

    /// Updates counters and control flags for a segment of this connection (duplicates too). Inlined into the
    /// table's `absorb`, its one caller, for every segment.
    @inline(__always)
    func count(_ s: TCPSegment, direction: Direction) {
        last = max(last, s.timestamp)
        let length = Int64(max(0, s.payloadLength))
        if length > 0 { settled = false }
        switch direction {
        case .up:
            packets.up += 1
            bytes.up += length
        case .down:
            packets.down += 1
            bytes.down += length
        }
    }

    /// Records SYN, SYN-ACK, FIN and RST of a segment that is not a duplicate.
    func noteFlags(_ s: TCPSegment, direction: Direction) {
        let time = s.timestamp
        if s.flags.contains(.ack) {
            if direction == .up {
                clientAcknowledgement = s.acknowledgement
            } else {
                serverAcknowledgement = s.acknowledgement
            }
        }
        if !s.flags.contains(.syn), !s.flags.contains(.rst) {
            if direction == .up {
                if s.flags.contains(.ack) { clientAcknowledged = true }
            } else if s.payloadLength > 0 {
                serverSentData = true
            }
        }
        if s.flags.contains(.syn) {
            // In a simultaneous open the client answers the server's SYN with a SYN-ACK too: the server's is the one
            // that answers the connect (and acknowledges the client's ISN).
            if s.flags.contains(.ack) {
                if direction == .down { serverSentSynAck = true }
                if direction == .down || serverSynSequence == nil {
                    state.insert(.synAck)
                    if synAckTime == nil { synAckTime = time }
                    if synAckAcknowledges == nil { synAckAcknowledges = s.acknowledgement }
                }
            } else if direction == .up {
                state.insert(.syn)
                synCount += 1
                if synTime == nil { synTime = time }
                if clientISN == nil { clientISN = s.sequence }
            }
        }
        if s.flags.contains(.fin) {
            state.insert(direction == .up ? .finFromClient : .finFromServer)
            if closeTime == nil { closeTime = time }
        }
        if s.flags.contains(.rst) {
            state.insert(direction == .up ? .rstFromClient : .rstFromServer)
            if closeTime == nil { closeTime = time }
        }
        if closedAt == nil, isClosed { closedAt = time }
    }

    /// The record for the delegate, once both reassemblers are flushed.
    func record(end: ConnectionEnd) -> ConnectionRecord {
        var r = ConnectionRecord(id: id, client: client, server: server, vlan: key.vlan, start: start, end: last)
        if joined != nil, !copiedUnderOtherTags {
            // Each direction under its own tags: the client's packets' tags, and the server's (first ones).
            r.vlan = firstTags(of: .up)
            r.vlanDown = firstTags(of: .down)
        }
        r.vlanChanged = tagsChanged
        r.openedSimultaneously = serverSynSequence != nil
        r.lateServerSyn = lateServerSyn
        r.synTime = synTime
        r.synAckTime = synAckTime
        r.closeTime = closeTime
        r.packetsUp = packets.up
        r.packetsDown = packets.down
        r.bytesUp = bytes.up
        r.bytesDown = bytes.down
        r.synCount = synCount
        r.state = state
        if !state.contains(.syn) { r.state.insert(.midstream) }
        if !isClosed { r.state.insert(.openAtEnd) }
        r.handshake = handshake
        r.setAnomalies(up: up.anomalies, down: down.anomalies)
        if end == .evicted { r.state.insert(.evicted) }
        return r
    }

    /// How the connection began. A SYN-ACK not captured (lost, or a capture that saw one direction)
    /// still shows as `established` when the client acknowledged something (it does so only once
    /// answered) or the server sent data: a set-up connection is never a failed connect. A client's own
    /// reset after its SYN (it gave up), or a server's bare ACK to a SYN, shows nothing of the kind.
    var handshake: HandshakeOutcome {
        guard state.contains(.syn) else { return .midstream }
        if state.contains(.synAck) || clientAcknowledged || serverSentData { return .established }
        if state.contains(.rstFromServer) { return .refused }
        return .unanswered
    }
}
