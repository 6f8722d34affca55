import Core
import Records

/// Bytes the snap length cut, filled by a later whole copy of the packet (a retransmission, or the other
/// sensor's copy in a capture merged from two): see `HalfConnectionReassembler`, "Snap length".
extension HalfConnectionReassembler {
    /// True (and counted) when `segment` is an exact copy of a recent packet. A whole copy of one the snap
    /// length cut fills what it can of the cut bytes first (`fillCut`).
    func dropDuplicate(_ segment: TCPSegment, ctx: ReassemblyContext) -> Bool {
        let verdict = duplicates.verdict(segment, window: ctx.limits.duplicateWindow)
        guard verdict != .new else { return false }
        anomalies.duplicates += 1
        anomalies.repeatedBytes += Int64(max(0, segment.payloadLength))
        // Before the notice, which tells the delegate of a cut tail held back as a gap.
        if verdict == .wholeCopyOfCut {
            if segment.payloadLength > 0 {
                fillCut(from: segment, ctx: ctx)
            } else if anomalies.truncatedPackets > 0 {
                // The snap length cut only its header's options (a SYN's): nothing of the stream is missing.
                anomalies.truncatedPackets -= 1
            }
        }
        notice(.duplicate, segment.timestamp, ctx)
        return true
    }

    /// Takes from `segment`, a copy of a packet the snap length cut, the bytes the cut took: held ones are filled
    /// in place, delivered ones counted as come too late. Nothing else is counted: the packet is a duplicate.
    func fillCut(from segment: TCPSegment, ctx: ReassemblyContext) {
        guard started, !segment.flags.contains(.rst), segment.capturedCount > 0 else { return }
        let dataSequence = segment.flags.contains(.syn) ? segment.sequence &+ 1 : segment.sequence
        let offset = self.offset(of: dataSequence)
        let end = offset + Int64(segment.capturedCount)
        let data = UnsafeRawBufferPointer(rebasing: segment.payload[0..<segment.capturedCount])
        fillPendingCut(offset, data, ctx)
        noteCutSeenLate(offset, end, segment.timestamp, ctx)
        var at = max(offset, next)
        while at < end {
            guard let i = pieces.firstIndex(where: { $0.end > at }), pieces[i].offset < end else { break }
            let from = max(at, pieces[i].offset)
            let to = min(end, pieces[i].end)
            if pieces[i].bytes == nil {
                let data = UnsafeRawBufferPointer(rebasing: segment.payload[Int(from - offset)..<Int(to - offset)])
                _ = fillCutPiece(i, at: from, data, ctx)
            }
            at = to
        }
        enforceHoleRules(now: segment.timestamp, ctx: ctx)
    }

    /// Sets `pendingCut`, `holdsCut` and the table's count of reassemblers holding a cut tail back
    /// (`ConnectionTable.cutsHeldBack`, the one test the table makes per packet).
    func holdBack(_ cut: HeldPiece?, ctx: ReassemblyContext) {
        if holdsCut != (cut != nil) { ctx.table.cutsHeldBack += cut == nil ? -1 : 1 }
        pendingCut = cut
        holdsCut = cut != nil
    }

    /// Whether `segment` may give bytes of the cut tail held back (`pendingCut`): its captured bytes reach them.
    func mayFillCut(_ segment: TCPSegment) -> Bool {
        guard let cut = pendingCut, segment.capturedCount > 0 else { return false }
        let dataSequence = segment.flags.contains(.syn) ? segment.sequence &+ 1 : segment.sequence
        let offset = self.offset(of: dataSequence)
        return offset < cut.end && offset + Int64(segment.capturedCount) > cut.offset
    }

    /// Tells the delegate of the cut tail held back (`pendingCut`), as a gap: before any other event of the
    /// connection, so that events keep their order.
    func releaseCut(ctx: ReassemblyContext) {
        guard let cut = pendingCut else { return }
        holdBack(nil, ctx: ctx)
        emitCut(at: cut.offset, cut.length, cut.time, ctx)
    }

    /// Delivers the bytes of `data` (at stream offset `offset`) that fall in the cut tail held back, in its place:
    /// cut bytes before them become the gap, those after stay held back. With the cut packet's time: they were
    /// sent with it.
    func fillPendingCut(_ offset: Int64, _ data: UnsafeRawBufferPointer, _ ctx: ReassemblyContext) {
        guard let cut = pendingCut else { return }
        let from = max(offset, cut.offset)
        let to = min(offset + Int64(data.count), cut.end)
        guard from < to else { return }
        holdBack(nil, ctx: ctx)
        if cut.wholeTail, from == cut.offset, to == cut.end { anomalies.truncatedPackets -= 1 }
        if from > cut.offset { emitCut(at: cut.offset, from - cut.offset, cut.time, ctx) }
        deliver(UnsafeRawBufferPointer(rebasing: data[Int(from - offset)..<Int(to - offset)]), cut.time, ctx)
        if to < cut.end { holdBack(HeldPiece(offset: to, length: cut.end - to, bytes: nil, time: cut.time), ctx: ctx) }
    }

    /// Counts the bytes of a later copy, from `start` to `end`, that the latest cut delivered as a gap: the
    /// parsers above read past them.
    func noteCutSeenLate(_ start: Int64, _ end: Int64, _ time: Timestamp, _ ctx: ReassemblyContext) {
        let late = min(end, cutDelivered.upperBound) - max(start, cutDelivered.lowerBound)
        guard late > 0 else { return }
        // Counted once: another copy of them adds nothing new.
        cutDelivered = 0..<0
        notice(.cutSeenLate(bytes: late), time, ctx)
    }

    /// Puts `data`, the bytes at `at` of a later copy, into held piece `i`, whose bytes the snap length cut: what
    /// is left of the cut around them stays held as cut. False, changing nothing, when a memory bound would not
    /// allow the bytes to be held (they stay cut).
    func fillCutPiece(_ i: Int, at: Int64, _ data: UnsafeRawBufferPointer, _ ctx: ReassemblyContext) -> Bool {
        let piece = pieces[i]
        let end = at + Int64(data.count)
        // The cut bytes were sent with the cut packet: the pieces keep its time.
        var parts: [HeldPiece] = []
        if piece.offset < at {
            parts.append(HeldPiece(offset: piece.offset, length: at - piece.offset, bytes: nil, time: piece.time))
        }
        parts.append(HeldPiece(offset: at, length: Int64(data.count), bytes: Array(data), time: piece.time))
        if end < piece.end {
            parts.append(HeldPiece(offset: end, length: piece.end - end, bytes: nil, time: piece.time))
        }
        let charge = parts.reduce(0) { $0 + $1.charge } - piece.charge
        guard ctx.refusal(toHold: charge, alreadyHeld: heldCharge) == nil else { return false }
        if piece.wholeTail, parts.count == 1 { anomalies.truncatedPackets -= 1 }
        pieces.replaceSubrange(i...i, with: parts)
        heldCharge += charge
        heldPayload += data.count
        ctx.budget.charge(charge)
        return true
    }
}
