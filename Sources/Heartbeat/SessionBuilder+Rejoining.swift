import Core
import Records

// MARK: - Rejoining

extension SessionBuilder {
    /// Joins the pieces of one TCP connection that the traffic layer handed out separately.
    ///
    /// A connection quiet for longer than the traffic layer's idle timeout is emitted as open, and its
    /// next packets start a new record with no SYN. A push connection, quiet for an interval between
    /// bursts, arrives in such pieces. A piece with no SYN on the same endpoints and VLAN that starts
    /// after an earlier piece ended open, without FIN or RST, continues that piece. `conns` must be in
    /// start order; it keeps that order, the joined pieces removed (the count is returned). Records are
    /// moved, not copied. Cost: O(n) with a dictionary of open pieces.
    func rejoin(_ conns: inout [ConnectionRecord]) -> Int {
        struct Key: Hashable {
            var client: Endpoint
            var server: Endpoint
            var vlan: VLANTags
        }
        let closed: ConnectionState = [.finFromClient, .finFromServer, .rstFromClient, .rstFromServer]
        // Only a piece without a SYN can continue another; most lists have none.
        // By index: the records are read, not copied.
        guard conns.indices.contains(where: { conns[$0].handshake == .midstream }) else { return 0 }
        var open: [Key: Int] = [:]
        var kept = 0  // conns[..<kept] is the result so far
        for r in conns.indices {
            let key = Key(client: conns[r].client, server: conns[r].server, vlan: conns[r].vlan)
            if conns[r].handshake == .midstream, let i = open[key], conns[i].end <= conns[r].start {
                let piece = conns[r]
                Self.join(&conns[i], piece)
            } else {
                if kept != r { conns.swapAt(kept, r) }
                open[key] = kept
                kept += 1
            }
            if let i = open[key], !conns[i].state.contains(.openAtEnd) || !conns[i].state.isDisjoint(with: closed) {
                open[key] = nil
            }
        }
        let removed = conns.count - kept
        conns.removeLast(removed)
        return removed
    }

    /// `c` continued by `next` (a later piece of the same connection).
    static func join(_ c: inout ConnectionRecord, _ next: ConnectionRecord) {
        c.end = max(c.end, next.end)
        c.closeTime = c.closeTime ?? next.closeTime
        c.packetsUp = Int(Saturating.add(Int64(c.packetsUp), Int64(next.packetsUp)))
        c.packetsDown = Int(Saturating.add(Int64(c.packetsDown), Int64(next.packetsDown)))
        c.bytesUp = Saturating.add(c.bytesUp, next.bytesUp)
        c.bytesDown = Saturating.add(c.bytesDown, next.bytesDown)
        c.state = c.state.subtracting(.openAtEnd).union(next.state.subtracting(.midstream))
        if c.application == .none || c.application == .other && next.application != .none {
            c.application = next.application
        }
        if c.tls == nil, let tls = next.tls { c.tls = tls }
        let base = c.exchanges.count
        c.exchanges.reserveCapacity(base + next.exchanges.count)
        for (i, e) in next.exchanges.enumerated() {
            var e = e
            e.index = base + i
            c.exchanges.append(e)
        }
        c.anomaliesUp.add(next.anomaliesUp)
        c.anomaliesDown.add(next.anomaliesDown)
    }
}
