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
    ///
    /// Not check-ins, counted in `tally`: a plain-HTTP connection whose requests are none of them for
    /// `http.secarsPath` (a content download), unless it continues a check-in within the join gap; a
    /// burst of a push connection carrying no client byte (a message the manager pushed); and one of which
    /// nothing was captured, only bytes lost.
    func group(_ conns: [ConnectionRecord], tally: inout GroupTally) -> [CheckInDraft] {
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
        // Failed connects taken by a push connection whose first burst is no check-in: a check-in of their own.
        func flushAttempts(_ attempts: ArraySlice<ConnectionRecord>) {
            if !attempts.isEmpty { drafts.append(CheckInDraft(attempts: attempts)) }
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
            let content = bursts == nil && isContentDownload(conns[i])
            if pending.isEmpty, let prev = current?.connections.indices.last,
               conns[prev].server.address == conns[i].server.address, conns[i].start >= conns[prev].end,
               conns[i].start.seconds(since: conns[prev].end) <= joinGap, bursts == nil {
                if conns[i].end.seconds(since: conns[currentFirst].start) <= joinMax {
                    current?.connections = conns[currentFirst...i]
                    current?.exchanges += conns[i].exchanges
                    current?.showsClose = !conns[i].state.contains(.openAtEnd)
                    continue
                }
                if !content { tally.splits += 1 }
            }
            if content {
                // Not the client's heartbeat: it neither starts a check-in nor takes the failed connects
                // before it (they stay for the next check-in, or one of their own).
                tally.contentDownloads += 1
                continue
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
            // Bursts the manager sent with no client byte are its pushes, not check-ins; the first burst of a
            // connection picked up midstream may be the tail of a check-in whose request came before the capture.
            // Only on a connection whose client records were captured somewhere (not a capture of the
            // server's direction alone).
            let midstream = conns[i].handshake == .midstream
            let clientSeen = conns[i].exchanges.contains { $0.recordsUp > 0 }
            // A burst of lost bytes alone is stamped when they were acknowledged (after a stretch the capture
            // missed, the first keep-alive), not when they were sent: no check-in, whatever its place. On a
            // connection the snap length cut, such a burst's bytes may all have been cut from packets captured at
            // their own time: it stays a check-in.
            let uncaptured = conns[i].cutBySnapLength ? [] : bursts.indices.filter { isUncaptured(bursts[$0]) }
            tally.uncaptured += uncaptured.compactMap { bursts[$0].first?.start }
            let checkIns = bursts.indices.filter { n in
                !uncaptured.contains(n) && (!clientSeen || !isServerPush(bursts[n])
                    || n == 0 && midstream && mayBeginBeforeCapture(bursts[n], conns[i]))
            }
            tally.serverPushes += bursts.count - checkIns.count - uncaptured.count
            // Failed connects go with the connection's first burst; when that one is no check-in, they are one.
            if checkIns.first != 0 { flushAttempts(attempts) }
            for (k, n) in checkIns.enumerated() {
                drafts.append(CheckInDraft(
                    attempts: n == 0 ? attempts : [], connections: conns[i...i], exchanges: bursts[n], mode: .push,
                    showsOpening: n == 0 && opening, showsClose: k == checkIns.count - 1 && closed, burst: n))
            }
        }
        closeCurrent()
        flushPending()
        return drafts
    }

    /// A plain-HTTP connection carrying requests, none of them for `http.secarsPath`: a content download
    /// (`GET /content/...`, possibly minutes after the check-in that learnt of it), not a heartbeat. Every
    /// check-in asks for `secarsPath` first (its index check), so a connection without such a request is
    /// not one. TLS hides the path: a content download over HTTPS stays a check-in.
    func isContentDownload(_ c: ConnectionRecord) -> Bool {
        guard !c.exchanges.isEmpty else { return false }
        for e in c.exchanges {
            // Every request captured (a capture of the server's direction alone shows no request at all).
            guard let h = e.http, e.bytesUp > 0, !h.method.isEmpty else { return false }
            // A target the snap length cut before it could be told from the secars path does not say no.
            if directory.isSecars(h) || directory.mayBeCutSecars(h) { return false }
        }
        return true
    }

    /// A burst with no client byte (no request record, nothing of one lost): a message the manager pushed.
    func isServerPush(_ burst: [Exchange]) -> Bool {
        !burst.isEmpty
            && burst.allSatisfy { $0.bytesUp == 0 && $0.recordsUp == 0 && $0.missingBytes == 0 && $0.http == nil }
    }

    /// A burst of which nothing was captured: no byte either way, only bytes lost in gaps (`missingBytes`).
    func isUncaptured(_ burst: [Exchange]) -> Bool {
        !burst.isEmpty && burst.allSatisfy { $0.bytesUp == 0 && $0.bytesDown == 0 && $0.http == nil }
    }

    /// Whether a connection picked up midstream may have begun this, its first, burst before the capture: the
    /// burst's first exchange came within `push.burstGapSeconds` of the connection's first packet.
    func mayBeginBeforeCapture(_ burst: [Exchange], _ c: ConnectionRecord) -> Bool {
        guard let e = burst.first else { return false }
        return e.start.seconds(since: c.start) <= model.push.burstGapSeconds
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

/// What `SessionBuilder.group` counted while grouping one client's connections.
struct GroupTally: Sendable {
    /// Connections within the join gap that started a new check-in (`checkIn.joinMaxSeconds`).
    var splits = 0
    /// Plain-HTTP connections without a request for `secarsPath` (`isContentDownload`) that joined no check-in.
    var contentDownloads = 0
    /// Bursts of push connections with no client byte (`isServerPush`).
    var serverPushes = 0
    /// The starts of push connections' bursts of which no byte was captured, only bytes lost (`isUncaptured`).
    var uncaptured: [Timestamp] = []
}
