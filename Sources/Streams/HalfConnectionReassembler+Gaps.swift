import Core
import Records

/// When held-back holes and acknowledged tails become gaps: see `HalfConnectionReassembler`, "Gaps".
extension HalfConnectionReassembler {
    func enforceHoleRules(now: Timestamp, ctx: ReassemblyContext) {
        // Nothing held and no timer running (nearly every segment): no rule below can act.
        if pieces.isEmpty, tailSince == nil, holeSince == nil, holeAcknowledgedSince == nil { return }
        skipAcknowledgedHoles(now: now, ctx: ctx)
        if let since = tailSince {
            if !pieces.isEmpty || acknowledgedTail <= 1 {
                tailSince = nil  // the bytes came (the ACK ran ahead of them), or a hole rule takes over
            } else if now.nanoseconds(since: since) >= ctx.limits.holeTimeout {
                skipAcknowledgedTail(now: now, ctx: ctx)
            }
        }
        while !pieces.isEmpty, heldPayload > ctx.limits.gapAfterBufferedBytes {
            skipHole(now: now, ctx: ctx)
        }
        if holeExpired(now: now, limits: ctx.limits) {
            skipHole(now: now, ctx: ctx)
        }
    }

    /// Declares the bytes the peer acknowledged past the delivered stream a gap, with nothing held (see
    /// `tailSince`). One byte alone is left: most likely a FIN the capture lost, which takes a sequence
    /// number too.
    func skipAcknowledgedTail(now: Timestamp, ctx: ReassemblyContext) {
        let since = tailSince ?? acknowledgedAt
        tailSince = nil
        let tail = acknowledgedTail
        guard started, pieces.isEmpty, tail > 1 else { return }
        guard tailIsGap(tail) else {
            if farAcknowledged != acknowledged {
                farAcknowledged = acknowledged
                notice(.farAcknowledgement(bytes: tail), since, ctx)
            }
            return
        }
        emitGap(tail, lostBytesTime(upTo: next + tail, min(since, now)), ctx)
        next += tail
    }

    /// `time`, or earlier for lost bytes that end by `end` and were sent before it (see `sentBefore`). A gap
    /// begins at the next byte, so a `sentBefore` the stream has passed never reaches `end`.
    func lostBytesTime(upTo end: Int64, _ time: Timestamp) -> Timestamp {
        guard let sent = sentBefore, sent.end >= end else { return time }
        return min(time, sent.time)
    }

    /// Whether acknowledged bytes past everything captured (`tail` of them, nothing held) are a lost tail, a gap,
    /// rather than an odd acknowledgement. A FIN captured past them supports the bytes (the flush counts the
    /// stretch before it a gap).
    func tailIsGap(_ tail: Int64) -> Bool {
        tail <= Self.acknowledgedTailReach || finOffset != nil
    }

    /// Arms the hole whose bytes the peer acknowledged (see `acknowledged`), and skips it, and every later
    /// one armed too, once `acknowledgedHoleGrace` passed since its covering acknowledgement.
    func skipAcknowledgedHoles(now: Timestamp, ctx: ReassemblyContext) {
        while let first = pieces.first, first.offset <= acknowledged, acknowledgedAt > first.time {
            guard let since = holeAcknowledgedSince else {
                holeAcknowledgedSince = acknowledgedAt
                continue
            }
            guard now.nanoseconds(since: since) >= ctx.limits.acknowledgedHoleGrace else { return }
            skipHole(now: now, ctx: ctx)
        }
    }

    /// Declares the hole before the first held piece a gap and delivers what follows it. The gap is stamped
    /// with the time of the bytes after it, not with `now`: a hole declared at the connection's next packet,
    /// minutes later, must not stretch a record the gap ends (or its exchange) up to then; or with the time
    /// of the acknowledgement that covered it, when that came first (a burst's lost last segment,
    /// acknowledged then, found only when the next burst's bytes come).
    func skipHole(now: Timestamp, ctx: ReassemblyContext) {
        guard let first = pieces.first else { return }
        if first.offset > next {
            emitGap(first.offset - next, holeGapTime(first, now: now, armedSince: holeAcknowledgedSince), ctx)
            next = first.offset
        }
        drain(now: now, ctx: ctx)
    }

    /// The time of the gap the hole before `first` becomes (see `skipHole`), the hole armed at `armedSince`.
    func holeGapTime(_ first: HeldPiece, now: Timestamp, armedSince: Timestamp?) -> Timestamp {
        let time = min(first.time, now)
        guard acknowledged >= first.offset else { return time }
        return lostBytesTime(upTo: first.offset, min(time, tailSince ?? armedSince ?? acknowledgedAt))
    }
}
