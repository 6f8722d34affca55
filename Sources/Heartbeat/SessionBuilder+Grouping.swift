import Core
import Records

// MARK: - Grouping

extension SessionBuilder {
    /// Splits one client's manager connections (in start order) into check-in drafts.
    ///
    /// A draft's attempts and connections are runs of consecutive records of `conns`, so each draft
    /// refers to them as a slice of the list: no record is copied.
    ///
    /// A connection starting within `checkIn.joinGapSeconds` after the previous one ended continues its
    /// check-in, unless the check-in would then end more than `checkIn.joinMaxSeconds` after its first
    /// connection started: it starts a new one, and `splits` counts it (a client polling every second
    /// is thousands of short check-ins, not one of hours).
    func group(_ conns: [ConnectionRecord], splits: inout Int) -> [CheckInDraft] {
        let window = model.checkIn.attemptWindowSeconds
        let joinGap = model.checkIn.joinGapSeconds
        let joinMax = model.checkIn.joinMaxSeconds
        var drafts: [CheckInDraft] = []
        // Failed connects not yet given to a check-in: always a run of consecutive records.
        var pending = 0..<0
        var current: CheckInDraft?
        // Where `current`'s connections start in `conns`.
        var currentFirst = 0
        func flushPending() {
            if !pending.isEmpty { drafts.append(CheckInDraft(attempts: conns[pending])) }
            pending = 0..<0
        }
        func closeCurrent() {
            if let c = current { drafts.append(c) }
            current = nil
        }
        for i in conns.indices {
            if conns[i].handshake == .refused || conns[i].handshake == .unanswered {
                closeCurrent()
                if let last = pending.last, conns[i].start.seconds(since: conns[last].end) > window { flushPending() }
                pending = (pending.isEmpty ? i : pending.lowerBound)..<(i + 1)
                continue
            }
            let bursts = pushBursts(conns[i])
            if pending.isEmpty, let prev = current?.connections.indices.last,
               conns[prev].server.address == conns[i].server.address, conns[i].start >= conns[prev].end,
               conns[i].start.seconds(since: conns[prev].end) <= joinGap, bursts == nil {
                if conns[i].end.seconds(since: conns[currentFirst].start) <= joinMax {
                    current?.connections = conns[currentFirst...i]
                    current?.exchanges += conns[i].exchanges
                    current?.showsClose = !conns[i].state.contains(.openAtEnd)
                    continue
                }
                splits += 1
            }
            closeCurrent()
            var attempts: ArraySlice<ConnectionRecord> = []
            if let last = pending.last,
               (conns[i].synTime ?? conns[i].start).seconds(since: conns[last].end) <= window {
                attempts = conns[pending]
                pending = 0..<0
            } else {
                flushPending()
            }
            let opening = conns[i].handshake == .established && conns[i].synTime != nil
            let closed = !conns[i].state.contains(.openAtEnd)
            guard let bursts else {
                current = CheckInDraft(attempts: attempts, connections: conns[i...i], exchanges: conns[i].exchanges,
                                       mode: .pull, showsOpening: opening, showsClose: closed)
                currentFirst = i
                continue
            }
            for (n, burst) in bursts.enumerated() {
                drafts.append(CheckInDraft(
                    attempts: n == 0 ? attempts : [], connections: conns[i...i], exchanges: burst, mode: .push,
                    showsOpening: n == 0 && opening, showsClose: n == bursts.count - 1 && closed, burst: n))
            }
        }
        closeCurrent()
        flushPending()
        return drafts
    }

    /// A long-lived connection with more than one burst, or long-lived in a push-mode setup.
    func isPush(_ c: ConnectionRecord) -> Bool { pushBursts(c) != nil }

    /// The bursts of `c` when it is a push connection (`isPush`), nil otherwise.
    private func pushBursts(_ c: ConnectionRecord) -> [[Exchange]]? {
        guard c.duration >= model.push.minOpenSeconds else { return nil }
        let bursts = splitBursts(c.exchanges)
        let push = bursts.count > 1 || sylink?.communicationMode == .push || c.state.contains(.openAtEnd)
        return push ? bursts : nil
    }

    /// Exchanges separated by more than `push.burstGapSeconds` start a new burst. Always at least one burst.
    func splitBursts(_ exchanges: [Exchange]) -> [[Exchange]] {
        var out: [[Exchange]] = [[]]
        for e in exchanges.sorted(by: { $0.start < $1.start }) {
            if let prev = out[out.count - 1].last, e.start.seconds(since: prev.end) > model.push.burstGapSeconds {
                out.append([])
            }
            out[out.count - 1].append(e)
        }
        return out
    }
}
