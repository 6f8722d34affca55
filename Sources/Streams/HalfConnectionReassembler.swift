import Core
import Records

/// Rebuilds the byte stream of one direction of a TCP connection.
///
/// Offsets are 64-bit and relative to the first data byte (ISN + 1 when the SYN was seen, or when the
/// client's ACK of a SYN-ACK the capture lost gave it, else the sequence number of the first segment seen
/// that carries data or FIN). A
/// sequence number is placed relative to the next expected byte with a signed 32-bit
/// difference, so wraparound at 2^32 needs no special case as long as segments land
/// within 2 GiB of where the stream stands.
///
/// Rules, in the order they apply to each segment:
/// - **Duplicates** (exact SPAN copies) are dropped before reaching the reassembler.
/// - **Retransmissions and overlaps**: the first copy of every byte wins. Repeated bytes
///   are compared with the held copy, or with the last `retransmissionCheckBytes` of the
///   delivered stream; differences are reported as a conflict. Older repeats are counted
///   but not compared.
/// - **Out of order**: bytes beyond a hole are copied and held (charged against the
///   per-connection and total bounds, 64 bytes of overhead per held piece).
/// - **Gaps**: a hole becomes a gap (`didSkip`) when (a) the peer acknowledged every byte of
///   it (the receiver got them: the capture lost them) and `acknowledgedHoleGrace` passed with
///   it still open (bytes of the hole shown a little after the ACK still fill it), (b)
///   more than `gapAfterBufferedBytes` wait beyond it, (c) it has been open for `holeTimeout`
///   of capture time, (d) holding more would break a memory bound (also counted as
///   `limitReached`), or (e) the connection is emitted, including the stretch before a FIN
///   that never arrived. An acknowledgement arms only a hole, and only when it was
///   captured after the bytes beyond the hole: on a mirror port the peer's ACK often arrives
///   before the data it acknowledges, and then the hole's bytes may come late too. Bytes
///   acknowledged past everything captured (a lost last segment, with nothing after it yet)
///   become a gap after `holeTimeout`, stamped with the acknowledgement's time (or earlier, see `sentBefore`),
///   up to `acknowledgedTailReach` (64 KiB); a tail longer than that is an odd acknowledgement, no gap.
/// - **Snap length**: the cut tail of a truncated segment is a gap of known size, counted in
///   `truncatedPackets`, not in `gaps` and `gapBytes`: no packet was lost. A later copy that carries
///   those bytes (a retransmission, or the whole copy of a capture merged from two sensors with different
///   snap lengths, the cut copy first) fills the tail while it is held: behind a hole, or, in order, until
///   the connection's next packet (`pendingCut`: the copy of a merged capture comes right after the cut
///   one). Once told as a gap, the parsers above have read past it, so the bytes cannot be put back: they
///   are counted (`StreamNotice.cutSeenLate`), as far as they were the latest tail the snap length cut.
/// - **Keep-alive probes** (sequence one below the next byte, with 0 or 1 garbage byte, nothing
///   held, nothing seen past the next byte) are noticed (`keepAlive`), not placed.
/// - **RST** payload (diagnostic text some stacks send) is counted but not delivered.
/// - **Midstream**: with no SYN, the stream starts at the first segment seen; earlier
///   bytes arriving later count as retransmissions.
///
/// A class held by its `Connection`: the per-packet path mutates it in place through the
/// reference, with no copy of its state.
///
/// Cost: the in-order case copies nothing but the history ring and allocates nothing;
/// out-of-order placement is linear in the number of held pieces.
///
/// Stored state is `@exclusivity(unchecked)` (no run-time exclusivity check per access on the
/// per-packet path): it is changed only by its own methods, called by the table, on one thread, and
/// no call re-enters the reassembler (the delegate must not call back into the table) while it is
/// being changed.
final class HalfConnectionReassembler {
    struct HeldPiece {
        var offset: Int64
        var length: Int64
        /// nil: bytes known to be missing (cut by the snap length).
        var bytes: [UInt8]?
        var time: Timestamp
        /// Bytes known missing that are the whole cut tail of one packet (not what a fill left of one): filled
        /// whole by a later copy, the packet no longer counts as cut (`truncatedPackets`).
        var wholeTail = false
        var end: Int64 { offset + length }
        var charge: Int { (bytes?.count ?? 0) + HalfConnectionReassembler.pieceOverhead }
    }

    static let pieceOverhead = 64
    /// How far past the furthest byte seen an acknowledgement may reach: the capture lost a
    /// segment's worth or a window of bytes, or (on a mirror port) the ACK arrived before them.
    static let acknowledgementReach: Int64 = 1 << 20
    /// The most acknowledged-but-never-seen bytes, with nothing captured after them, taken as a lost tail
    /// (a gap). A burst's last segments the capture lost are what the sender had in flight: at most the
    /// receiver's window, and 64 KiB is the largest window without scaling (44 full segments), more than
    /// the lost tails of the traffic we analyse. Beyond it the capture supports nothing (no later byte): the
    /// acknowledgement is odd (a bogus number, a middlebox), counted once (`farAcknowledgement`), no gap;
    /// unless a FIN was captured past the acknowledged bytes (a capture filtered to FINs): then a gap.
    static let acknowledgedTailReach: Int64 = 64 << 10

    @exclusivity(unchecked) private(set) var started = false
    /// Before this direction started: `base` holds the peer's first acknowledgement, against which its later
    /// ones count as `acknowledged` (see `peerAcknowledgedBeforeStart`).
    @exclusivity(unchecked) private var provisionalBase = false
    /// Whether the provisional `base` is where the stream begins: the peer's first acknowledgement was its ACK of
    /// a SYN-ACK the capture lost (`peerAcknowledgedHandshake`). Bytes first shown a little past it follow a hole.
    @exclusivity(unchecked) private var startAcknowledged = false
    @exclusivity(unchecked) private(set) var midstream = false
    @exclusivity(unchecked) private var base: UInt32 = 0
    /// Offset of the next byte to deliver: everything before it was delivered or skipped.
    @exclusivity(unchecked) var next: Int64 = 0
    @exclusivity(unchecked) private(set) var finOffset: Int64?
    @exclusivity(unchecked) var pieces: [HeldPiece] = []
    /// Bytes charged to the budget for held pieces, and payload bytes among them.
    @exclusivity(unchecked) var heldCharge = 0
    @exclusivity(unchecked) var heldPayload = 0
    /// The highest offset the peer acknowledged (its cumulative ACK), once this direction started.
    /// Every byte before it reached the receiver, so a hole before it was lost by the capture only.
    @exclusivity(unchecked) var acknowledged: Int64 = 0
    /// When an acknowledgement of `acknowledged` was last seen. A hole is skipped only on one seen after
    /// the bytes beyond it: a mirror port that shows an ACK ahead of its data may show the hole's bytes
    /// late too.
    @exclusivity(unchecked) var acknowledgedAt = Timestamp.zero
    /// The end of the furthest bytes (or FIN) seen in this direction: an acknowledgement more than
    /// `acknowledgementReach` past it is not believed (a bogus number must not skip every later hole).
    @exclusivity(unchecked) private(set) var seenEnd: Int64 = 0
    /// When `seenEnd` last grew: the time of the latest bytes (or FIN) this direction showed.
    @exclusivity(unchecked) private var seenEndAt = Timestamp.zero
    /// Whether the segment that last moved `seenEnd` came without PSH (nor FIN): its sender had more of the
    /// same write to send at once.
    @exclusivity(unchecked) private var seenEndUnpushed = false
    /// Bytes before `end` that the peer first acknowledged in a segment carrying bytes of its own, past all this
    /// direction showed then and more than `acknowledgedHoleGrace` after the latest of those, which came without
    /// PSH: taken as sent right after them, at `time` (the rest of that write). The peer's own ACK of them was
    /// lost too (an ACK comes within the grace), and its next bytes (a request a push interval later) are no
    /// time for them, which would join them to its next burst. Bytes after a pushed segment may be a new
    /// message sent any time later (a request whose answer acknowledges it), so they keep the acknowledgement's
    /// time. A hole or tail within them becomes a gap stamped no later than `time` (`lostBytesTime`).
    @exclusivity(unchecked) var sentBefore: (end: Int64, time: Timestamp)?
    /// When the peer acknowledged bytes past all this direction showed, with nothing held (a lost last
    /// segment): after `holeTimeout` with no sign of them they become a gap, stamped with this time.
    @exclusivity(unchecked) var tailSince: Timestamp?
    /// The acknowledgement last counted as reaching too far (`acknowledgedTailReach`), so that it is counted
    /// once however often it is repeated.
    @exclusivity(unchecked) var farAcknowledged: Int64 = -1
    /// When an acknowledgement covering the current hole (captured after the bytes beyond it) armed it:
    /// `acknowledgedHoleGrace` later, still open, the hole becomes a gap. Cleared when the hole closes.
    @exclusivity(unchecked) var holeAcknowledgedSince: Timestamp?
    /// When the current hole (before the first held piece) was last seen to open or shrink.
    @exclusivity(unchecked) private(set) var holeSince: Timestamp?
    /// Bytes the snap length cut off the latest segment, in order: `next` is past them, but the delegate is told
    /// of their gap only before anything else of this connection (`releaseCut`), so that a copy of the packet
    /// coming next (two sensors' captures merged) can give them instead (`fillPendingCut`).
    /// Set through `holdBack(_:ctx:)`, which keeps `holdsCut` and the table's count of them in step.
    @exclusivity(unchecked) var pendingCut: HeldPiece?
    /// Whether the gap of a cut tail is held back (`pendingCut`) until the connection's next packet. A stored flag:
    /// asked before every delivery, one byte to load.
    @exclusivity(unchecked) var holdsCut = false
    /// The stream offsets of the latest bytes the snap length cut that were delivered as a gap (empty: none):
    /// a later copy's bytes there came too late (`StreamNotice.cutSeenLate`).
    @exclusivity(unchecked) var cutDelivered: Range<Int64> = 0..<0
    @exclusivity(unchecked) private var history: ByteHistory
    @exclusivity(unchecked) var duplicates = DuplicateFilter()
    @exclusivity(unchecked) var anomalies = StreamAnomalies()

    init(limits: StreamLimits) {
        history = ByteHistory(capacity: limits.retransmissionCheckBytes)
    }

    /// The sequence number of data offset 0, once known.
    var baseSequence: UInt32? { started ? base : nil }

    /// Places one segment's payload (and FIN) in the stream and delivers what became in order.
    func accept(_ segment: TCPSegment, ctx: ReassemblyContext) {
        let time = segment.timestamp
        let syn = segment.flags.contains(.syn)
        let fin = segment.flags.contains(.fin)
        if syn, !started {
            start(at: segment.sequence &+ 1)
        }
        let wire = Int64(max(0, segment.payloadLength))
        let captured = segment.capturedCount
        if segment.truncated || Int64(captured) < wire {
            anomalies.truncatedPackets += 1
            notice(.truncated(missingBytes: wire - Int64(captured)), time, ctx)
        }
        guard !segment.flags.contains(.rst) else { return }

        let dataSequence = syn ? segment.sequence &+ 1 : segment.sequence
        if !started {
            guard wire > 0 || fin else { return }
            if startsAfterLostBytes(dataSequence) {
                // The SYN-ACK and the first bytes were lost: they are a hole before this segment, not a later start.
                start(at: base)
            } else {
                start(at: dataSequence)
                midstream = true
            }
        }
        let offset = self.offset(of: dataSequence)
        if !syn, !fin, wire <= 1, offset == next - 1, next == seenEnd, pieces.isEmpty {
            // A keep-alive probe (RFC 1122): one below the next byte, with no or one garbage byte, after
            // everything the direction sent. Not a retransmission, nor a conflict when the byte differs.
            notice(.keepAlive, time, ctx)
            return
        }
        if fin, finOffset == nil { finOffset = offset + wire }
        let end = offset + wire + (fin ? 1 : 0)
        if end > seenEnd {
            seenEnd = end
            seenEndAt = time
            seenEndUnpushed = !fin && !segment.flags.contains(.psh)
        }
        if captured > 0 {
            let data = UnsafeRawBufferPointer(rebasing: segment.payload[0..<captured])
            // A retransmission of the cut packet just before gives its cut bytes; `place` still counts the packet as
            // a retransmission (it repeats what the cut copy showed).
            if holdsCut { fillPendingCut(offset, data, ctx) }
            if offset == next, pieces.isEmpty {
                deliverInOrder(data, time: time, ctx: ctx)
            } else {
                place(offset, count: Int64(captured), data: data, time: time, ctx: ctx)
            }
        }
        if wire > Int64(captured) {
            place(offset + Int64(captured), count: wire - Int64(captured), data: nil, time: time, ctx: ctx)
        }
        enforceHoleRules(now: time, ctx: ctx)
    }

    /// Starts the stream at `sequence`. Acknowledgements counted against another base before it
    /// (`peerAcknowledgedBeforeStart`) are dropped.
    private func start(at sequence: UInt32) {
        if provisionalBase, sequence != base { acknowledged = 0 }
        provisionalBase = false
        base = sequence
        started = true
    }

    /// The peer's acknowledgement before this direction's first segment was captured (its clock late, say, or
    /// the capture point seeing the other direction first): the first one, in a connection whose handshake
    /// was captured the peer's ACK of the SYN-ACK, is taken as the stream's start, and later ones count the
    /// bytes the peer had received before the capture showed any (`acknowledgedAhead(of:)`). Nothing is held
    /// or skipped on them; once the stream starts at another sequence number, they are dropped.
    private func peerAcknowledgedBeforeStart(_ sequence: UInt32) {
        if !provisionalBase {
            base = sequence
            provisionalBase = true
        }
        let offset = self.offset(of: sequence)
        guard offset > acknowledged, offset <= Self.acknowledgementReach else { return }
        acknowledged = offset
    }

    /// `peerAcknowledged` before this direction started, for an acknowledgement sent from the client's ISN + 1 (its
    /// SYN captured): the ACK of a SYN-ACK the capture lost. Taken as any other; when it is the peer's first, it
    /// also marks where the stream begins (`startAcknowledged`), so that bytes the capture lost before the first
    /// segment it shows are a gap, not a later start.
    func peerAcknowledgedHandshake(_ sequence: UInt32) {
        if !provisionalBase { startAcknowledged = true }
        peerAcknowledgedBeforeStart(sequence)
    }

    /// Whether the first segment shown, its data from `sequence`, starts past the beginning the peer's ACK of the
    /// SYN-ACK gave (`startAcknowledged`): by at most `acknowledgedTailReach`, the most a sender has in flight
    /// unacknowledged. Bytes before that beginning (a mirror showing them late) start the stream as they do with
    /// no beginning known.
    private func startsAfterLostBytes(_ sequence: UInt32) -> Bool {
        guard startAcknowledged, provisionalBase else { return false }
        let lost = Int64(Int32(bitPattern: sequence &- base))
        return lost > 0 && lost <= Self.acknowledgedTailReach
    }

    /// Fills the current hole (the bytes before the first held piece) with what `segment` carries of it:
    /// the same bytes captured by a copy of this connection under other VLAN tags (see `ConnectionTable`,
    /// "Captured twice"), whose sequence numbers are this direction's. Only bytes inside the hole are taken,
    /// so nothing is counted as repeated; the segment's flags are not. Returns whether it filled any.
    func fillHole(from segment: TCPSegment, ctx: ReassemblyContext) -> Bool {
        guard started, let first = pieces.first, first.offset > next, !segment.flags.contains(.rst) else {
            return false
        }
        let dataSequence = segment.flags.contains(.syn) ? segment.sequence &+ 1 : segment.sequence
        let offset = self.offset(of: dataSequence)
        let start = max(offset, next)
        let end = min(offset + Int64(segment.capturedCount), first.offset)
        guard start < end else { return false }
        let data = UnsafeRawBufferPointer(rebasing: segment.payload[Int(start - offset)..<Int(end - offset)])
        place(start, count: end - start, data: data, time: segment.timestamp, ctx: ctx)
        enforceHoleRules(now: segment.timestamp, ctx: ctx)
        return true
    }

    /// Takes the peer's cumulative acknowledgement `sequence` (sent at `now`, in a packet with
    /// `carriesData` or not): a hole it covers is armed, and becomes a gap `acknowledgedHoleGrace` later if
    /// still open, the bytes after it delivered with their own times, so a burst that lost a segment in
    /// the capture is not held until the hole times out (on a quiet connection, its next burst). A hole
    /// armed by an earlier packet becomes a gap at once when the peer sends bytes (its answer): the bytes
    /// after the hole were sent before them. Bytes of the hole shown late come before that on a mirror, or
    /// with a spurious retransmission while the peer is still quiet. One comparison when nothing is held.
    func peerAcknowledged(_ sequence: UInt32, now: Timestamp, carriesData: Bool, ctx: ReassemblyContext) {
        guard started else {
            peerAcknowledgedBeforeStart(sequence)
            return
        }
        if carriesData, holeAcknowledgedSince != nil {
            while let first = pieces.first, first.offset <= acknowledged, acknowledgedAt > first.time {
                skipHole(now: now, ctx: ctx)
            }
        }
        let offset = self.offset(of: sequence)
        guard offset >= acknowledged, offset <= seenEnd + Self.acknowledgementReach else { return }
        if carriesData, seenEndUnpushed, offset > max(acknowledged, seenEnd),
            now.nanoseconds(since: seenEndAt) > ctx.limits.acknowledgedHoleGrace {
            sentBefore = (offset, seenEndAt)
        }
        acknowledged = offset
        acknowledgedAt = now
        if !pieces.isEmpty { skipAcknowledgedHoles(now: now, ctx: ctx) }  // a hole to arm or skip
        if tailSince == nil, pieces.isEmpty, acknowledgedTail > 1 { tailSince = now }
    }

    /// Bytes the peer acknowledged past those delivered or skipped (up to a FIN seen, whose sequence number is
    /// no byte): as a tail, counted only with nothing held. Also the table's quick test, per data segment of the
    /// peer, before it asks `acknowledgedAhead(of:)` (`StreamDelegate.didAcknowledgeAhead`).
    var acknowledgedTail: Int64 {
        (finOffset.map { min(acknowledged, $0) } ?? acknowledged) - next
    }

    /// Bytes before `sequence` (a peer's acknowledgement) past those delivered or skipped, up to a FIN seen; 0 for
    /// an acknowledgement not believed (see `peerAcknowledged`).
    func acknowledgedAhead(of sequence: UInt32) -> Int64 {
        guard started || provisionalBase else { return 0 }
        let offset = self.offset(of: sequence)
        guard offset <= seenEnd + Self.acknowledgementReach else { return 0 }
        return max(0, (finOffset.map { min(offset, $0) } ?? offset) - next)
    }

    /// Whether `segment` brings what this direction did not show: bytes past the furthest seen, bytes at the next
    /// to deliver (a hole's), or a FIN not seen yet; anything, before the direction started.
    func bringsNew(_ segment: TCPSegment) -> Bool {
        guard started else { return true }
        if segment.flags.contains(.fin), finOffset == nil { return true }
        guard segment.payloadLength > 0 else { return false }
        let offset = self.offset(of: segment.sequence)
        let end = offset + Int64(segment.payloadLength)
        return end > seenEnd || (offset <= next && end > next)
    }

    /// Whether `segment` begins at or past the next byte to deliver (an ACK sent after the bytes seen).
    func isAtNext(_ segment: TCPSegment) -> Bool {
        guard started else { return true }
        return offset(of: segment.sequence) >= next
    }

    /// Whether `accept` delivers some of `segment`'s bytes at once: they begin at or before the next byte
    /// and reach past it (a stream not started yet begins with them).
    func continuesStream(_ segment: TCPSegment) -> Bool {
        guard segment.capturedCount > 0, !segment.flags.contains(.rst) else { return false }
        guard started else { return true }
        let dataSequence = segment.flags.contains(.syn) ? segment.sequence &+ 1 : segment.sequence
        let offset = self.offset(of: dataSequence)
        return offset <= next && offset + Int64(segment.capturedCount) > next
    }

    /// Applies the time rule for holes (called on every sweep of the table).
    func checkHoleTimeout(now: Timestamp, ctx: ReassemblyContext) {
        enforceHoleRules(now: now, ctx: ctx)
    }

    /// True when the time rule would act at `now` (lets the table pick connections cheaply).
    func holeExpired(now: Timestamp, limits: StreamLimits) -> Bool {
        if let since = holeAcknowledgedSince, now.nanoseconds(since: since) >= limits.acknowledgedHoleGrace {
            return true
        }
        if let since = tailSince, now.nanoseconds(since: since) >= limits.holeTimeout { return true }
        guard let since = holeSince else { return false }
        return now.nanoseconds(since: since) >= limits.holeTimeout
    }

    /// Releases everything held: holes become gaps, then bytes the peer acknowledged that the capture never
    /// showed (`skipAcknowledgedTail`), then a missing stretch before a FIN: the steps of `flushSteps`, taken, and
    /// the state they lead to (nothing held, no hole or tail timer running).
    func flush(now: Timestamp, ctx: ReassemblyContext) {
        releaseCut(ctx: ctx)
        let end = flushSteps(
            now: now, gap: { emitGap($0, $1, ctx, cutBySnapLength: $2) },
            bytes: { held, time in held.withUnsafeBytes { deliver($0, time, ctx) } },
            farAcknowledgement: { tail, since in
                farAcknowledged = acknowledged
                notice(.farAcknowledgement(bytes: tail), since, ctx)
            })
        if !pieces.isEmpty {
            ctx.budget.release(heldCharge)
            heldCharge = 0
            heldPayload = 0
            pieces.removeAll(keepingCapacity: true)
            holeSince = nil
            holeAcknowledgedSince = nil
        }
        tailSince = nil
        next = end
    }

    /// The steps of `flush`, in order, reading the state and changing none of it: each hole before a held piece
    /// becomes a gap (as `skipHole` declares it) and the pieces from there are delivered (`bytes`, or `gap` for
    /// bytes known missing), as `drain` delivers them; then the bytes the peer acknowledged past them become a
    /// gap, or a far acknowledgement is noticed, as in `skipAcknowledgedTail`; then the stretch before a FIN is a
    /// gap. `gap`'s third argument says the bytes are ones the snap length cut (no gap counted, see `emitGap`).
    /// Returns the offset the stream then reaches. `flush` takes the steps, `previewFlush` records them, so the
    /// two cannot drift apart.
    private func flushSteps(
        now: Timestamp, gap: (Int64, Timestamp, Bool) -> Void, bytes: ([UInt8], Timestamp) -> Void,
        farAcknowledgement: (Int64, Timestamp) -> Void
    ) -> Int64 {
        // The cut tail held back comes first: `next` is already past it.
        if let cut = pendingCut { gap(cut.length, cut.time, true) }
        var next = self.next
        var armedSince = holeAcknowledgedSince
        var i = 0
        while i < pieces.count {
            let first = pieces[i]
            if first.offset > next {
                gap(first.offset - next, holeGapTime(first, now: now, armedSince: armedSince), false)
                next = first.offset
            }
            while i < pieces.count, pieces[i].offset <= next {
                let piece = pieces[i]
                i += 1
                if let held = piece.bytes {
                    bytes(held, piece.time)
                } else {
                    gap(piece.length, piece.time, true)
                }
                next = piece.end
            }
            // Delivering a piece clears the acknowledgement's arming (`drain`).
            armedSince = nil
        }
        let tail = (finOffset.map { min(acknowledged, $0) } ?? acknowledged) - next
        if started, tail > 1 {
            let since = tailSince ?? acknowledgedAt
            if tailIsGap(tail) {
                gap(tail, lostBytesTime(upTo: next + tail, min(since, now)), false)
                next += tail
            } else if farAcknowledged != acknowledged {
                farAcknowledgement(tail, since)
            }
        }
        if let fin = finOffset, fin > next {
            gap(fin - next, now, false)
            next = fin
        }
        return next
    }

    /// After `flush`: gives the retransmission history ring to `spare` and frees the held-piece list's storage.
    /// Later segments still work (retransmitted bytes are counted, no longer compared).
    func releaseBuffers(into spare: HistoryRings) {
        history.release(into: spare)
        if pieces.isEmpty { pieces = [] }
    }

    // MARK: - Placement

    func offset(of sequence: UInt32) -> Int64 {
        let expected = base &+ UInt32(truncatingIfNeeded: next)
        return next + Int64(Int32(bitPattern: sequence &- expected))
    }

    /// Places `count` bytes at `start`: `data` holds them, or nil when they are known missing.
    private func place(
        _ start: Int64, count: Int64, data: UnsafeRawBufferPointer?, time: Timestamp, ctx: ReassemblyContext
    ) {
        var at = start
        var consumed = 0
        var repeated: Int64 = 0
        var differing = 0
        var held: Int64 = 0
        // `consumed` passed in, not captured: a captured `var` is checked for exclusive access at
        // run time on every use.
        func slice(_ consumed: Int, _ n: Int64) -> UnsafeRawBufferPointer? {
            data.map { UnsafeRawBufferPointer(rebasing: $0[consumed..<(consumed + Int(n))]) }
        }

        while at < start + count {
            let remaining = start + count - at
            if at < next {
                let n = min(remaining, next - at)
                if let d = slice(consumed, n) {
                    differing += history.differences(at: at, d, end: next)
                    if !cutDelivered.isEmpty { noteCutSeenLate(at, at + n, time, ctx) }
                }
                repeated += n
                at += n
                consumed += Int(n)
                continue
            }
            let i = pieces.firstIndex { $0.end > at } ?? pieces.count
            if i < pieces.count, pieces[i].offset <= at {
                let n = min(remaining, pieces[i].end - at)
                if let d = slice(consumed, n) {
                    if let kept = pieces[i].bytes {
                        let from = Int(at - pieces[i].offset)
                        for k in 0..<Int(n) where kept[from + k] != d[k] { differing += 1 }
                    } else if fillCutPiece(i, at: at, d, ctx) {
                        // Bytes the snap length cut from the first copy: new, not repeated.
                        at += n
                        consumed += Int(n)
                        continue
                    }
                }
                repeated += n
                at += n
                consumed += Int(n)
                continue
            }
            let n = (i < pieces.count ? min(pieces[i].offset, at + remaining) : at + remaining) - at
            if at == next {
                if let d = slice(consumed, n) {
                    deliver(d, time, ctx)
                } else {
                    holdCut(at: at, n, time, wholeTail: at == start && n == count, ctx)
                }
                next += n
                at += n
                consumed += Int(n)
                drain(now: time, ctx: ctx)
                continue
            }
            var piece = HeldPiece(offset: at, length: n, bytes: slice(consumed, n).map { Array($0) }, time: time)
            piece.wholeTail = data == nil && at == start && n == count
            if let refused = ctx.refusal(toHold: piece.charge, alreadyHeld: heldCharge) {
                anomalies.limitReached += 1
                ctx.budget.limitHits += 1
                notice(.limitReached(refused), time, ctx)
                if let first = pieces.first, first.offset < at {
                    skipHole(now: time, ctx: ctx)
                } else {
                    emitGap(at - next, time, ctx)
                    next = at
                }
                continue
            }
            pieces.insert(piece, at: i)
            heldCharge += piece.charge
            heldPayload += piece.bytes?.count ?? 0
            ctx.budget.charge(piece.charge)
            if holeSince == nil { holeSince = time }
            held += n
            at += n
            consumed += Int(n)
        }

        if repeated > 0 {
            anomalies.retransmissions += 1
            anomalies.repeatedBytes += repeated
            notice(.retransmission(bytes: repeated), time, ctx)
        }
        if differing > 0 {
            anomalies.conflicts += 1
            notice(.conflict(bytes: differing), time, ctx)
        }
        if held > 0 {
            anomalies.outOfOrder += 1
            notice(.outOfOrder(bytes: held), time, ctx)
        }
        drain(now: time, ctx: ctx)
    }

    /// `place` for the usual segment: its bytes start at `next` and nothing is held, so they are all
    /// delivered at once, and nothing is repeated, compared, held or drained (the hole timers are cleared
    /// as `drain` clears them with nothing held). The same outcome as `place`, without its loop over the
    /// pieces and its per-piece tests: about a hundred instructions a data segment.
    @inline(__always)
    private func deliverInOrder(_ data: UnsafeRawBufferPointer, time: Timestamp, ctx: ReassemblyContext) {
        deliver(data, time, ctx)
        next += Int64(data.count)
        holeSince = nil
        holeAcknowledgedSince = nil
    }

    /// Delivers held pieces that start at `next`.
    func drain(now: Timestamp, ctx: ReassemblyContext) {
        var progressed = false
        while let first = pieces.first, first.offset <= next {
            pieces.removeFirst()
            heldCharge -= first.charge
            heldPayload -= first.bytes?.count ?? 0
            ctx.budget.release(first.charge)
            if let bytes = first.bytes {
                bytes.withUnsafeBytes { deliver($0, first.time, ctx) }
            } else {
                emitCut(at: first.offset, first.length, first.time, ctx)
            }
            next = first.end
            progressed = true
        }
        if pieces.isEmpty {
            holeSince = nil
            holeAcknowledgedSince = nil
            // An acknowledgement that reached past everything seen while a hole was held started no tail timer
            // (`peerAcknowledged` starts one only with nothing held): start it now, from that acknowledgement,
            // or the lost last segment waits for the peer's next ACK (a keep-alive minutes later) and is stamped
            // with its time.
            if tailSince == nil, acknowledgedTail > 1 { tailSince = acknowledgedAt }
        } else if progressed {
            holeSince = now
            holeAcknowledgedSince = nil
        }
    }

    // MARK: - Events

    func deliver(_ data: UnsafeRawBufferPointer, _ time: Timestamp, _ ctx: ReassemblyContext) {
        if holdsCut { releaseCut(ctx: ctx) }
        // No ring for an empty delivery: it keeps nothing (as before a ring was taken ahead of the append).
        if history.needsRing, !data.isEmpty { history.takeRing(from: ctx.table.historyRings) }
        history.append(data)
        ctx.delegate.didReceive(data: data, direction: ctx.direction, connection: ctx.connection, time: time)
    }

    /// `cutBySnapLength`: the bytes are a held piece known missing (`HeldPiece.bytes` nil), the end of a segment
    /// the snap length cut (counted in `truncatedPackets`), not lost ones, so not counted as a gap: a header-only
    /// capture lost no packet.
    func emitGap(
        _ bytes: Int64, _ time: Timestamp, _ ctx: ReassemblyContext, cutBySnapLength: Bool = false
    ) {
        guard bytes > 0 else { return }
        if holdsCut { releaseCut(ctx: ctx) }
        if !cutBySnapLength {
            anomalies.gaps += 1
            anomalies.gapBytes += bytes
        }
        history.reset()
        ctx.delegate.didSkip(gapBytes: bytes, direction: ctx.direction, connection: ctx.connection, time: time,
                             cutBySnapLength: cutBySnapLength)
    }

    /// Holds back the gap of `bytes` bytes the snap length cut at `next` (`pendingCut`; `wholeTail`: all the cut
    /// tail of the packet): the stream goes on past them, as after the gap (the retransmission history forgets what
    /// came before).
    private func holdCut(
        at offset: Int64, _ bytes: Int64, _ time: Timestamp, wholeTail: Bool, _ ctx: ReassemblyContext
    ) {
        releaseCut(ctx: ctx)
        history.reset()
        holdBack(HeldPiece(offset: offset, length: bytes, bytes: nil, time: time, wholeTail: wholeTail), ctx: ctx)
    }

    /// `emitGap` for `bytes` bytes the snap length cut, at stream offset `offset`: remembered as the latest cut
    /// delivered.
    func emitCut(at offset: Int64, _ bytes: Int64, _ time: Timestamp, _ ctx: ReassemblyContext) {
        emitGap(bytes, time, ctx, cutBySnapLength: true)
        cutDelivered = offset..<(offset + bytes)
    }

    func notice(_ notice: StreamNotice, _ time: Timestamp, _ ctx: ReassemblyContext) {
        if holdsCut { releaseCut(ctx: ctx) }
        ctx.delegate.didNotice(notice, direction: ctx.direction, connection: ctx.connection, time: time)
    }
}

// MARK: - Provisional end

extension HalfConnectionReassembler {
    /// What `flush(now:ctx:)` would deliver now, as events appended to `events`, and the anomalies it would
    /// leave, changing nothing: `flushSteps` recorded. For a report made while the capture goes on
    /// (`ConnectionTable.provisionalEnds`).
    func previewFlush(now: Timestamp, direction: Direction, into events: inout [FlushEvent]) -> StreamAnomalies {
        var anomalies = self.anomalies
        // As `emitGap` counts it.
        func gap(_ bytes: Int64, _ time: Timestamp, cutBySnapLength: Bool) {
            guard bytes > 0 else { return }
            if !cutBySnapLength {
                anomalies.gaps += 1
                anomalies.gapBytes += bytes
            }
            events.append(.gap(bytes, direction, time, cutBySnapLength: cutBySnapLength))
        }
        _ = flushSteps(
            now: now, gap: { gap($0, $1, cutBySnapLength: $2) }, bytes: { events.append(.bytes($0, direction, $1)) },
            farAcknowledgement: { events.append(.farAcknowledgement($0, direction, $1)) })
        return anomalies
    }
}
