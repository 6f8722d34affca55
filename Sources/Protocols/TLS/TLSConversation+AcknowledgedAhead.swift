import Core
import Records

// Server bytes placed by acknowledgements for `TLSConversation`: answers captured before their request, and
// server bytes captured after requests sent once the client had them (see the type's notes).
extension TLSConversation {
    // MARK: - Server bytes captured before the request they answer

    /// Each early answer whose mark the client's stream reached (`all`: every one, at the end) joins the open
    /// exchange (the request just fed), or opens one when there is none or it is answered already (no client
    /// record came before the mark: the request was lost). Requests sent one after another reach their marks in
    /// separate feeds, so each answer joins its own request's exchange.
    mutating func placeEarlyAnswers(all: Bool, into exchanges: inout [Exchange]) {
        while let early = earlyAnswers.first, all || client.streamOffset >= early.mark {
            earlyAnswers.removeFirst()
            if let open = current, open.recordsDown > 0 { closeExchange(into: &exchanges) }
            placeEarlyAnswer(early)
        }
    }

    private mutating func placeEarlyAnswer(_ early: EarlyAnswer) {
        openExchange(start: early.start)
        current?.missingBytes += early.missing
        guard early.records > 0 || early.bytes > 0 else { return }
        if let answer = current?.responseStart, answer <= early.start {} else { current?.responseStart = early.start }
        current?.bytesDown += early.bytes
        current?.recordsDown += early.records
        if let e = current, e.end < early.end { current?.end = early.end }
    }

    // MARK: - Server bytes placed by acknowledgements

    /// Whether server bytes fed now go in parts: an exchange waits for its answer, the late TLS 1.3 flight, or a
    /// late ServerHello may take the client's first record back (`clientFirstRecord`).
    var placesServerBytes: Bool {
        !waiting.isEmpty || serverFlightEnd > server.streamOffset || clientFirstRecord != nil
    }

    /// How many of `count` server bytes from the stream's offset stay on one side of every mark: an exchange's
    /// answer end, the late TLS 1.3 flight's end, `clientFirstRecord`'s mark. Sets what the bytes are
    /// (`inLateServerFlight`); the bytes go to the first waiting exchange, if any (those before it were handed
    /// out by `endServerPart`).
    mutating func serverPart(_ count: Int) -> Int {
        let at = server.streamOffset
        var n = Int64(count)
        if let first = waiting.first, first.answerEnd > at { n = min(n, first.answerEnd - at) }
        inLateServerFlight = serverFlightEnd > at
        if inLateServerFlight { n = min(n, serverFlightEnd - at) }
        if let first = clientFirstRecord {
            // The ServerHello comes before the mark, or not at all.
            if first.mark > at { n = min(n, first.mark - at) } else { clientFirstRecord = nil }
        }
        return Int(n)
    }

    /// After one part of the server's bytes: the waiting exchanges whose answer the stream has reached are
    /// handed out.
    mutating func endServerPart(into exchanges: inout [Exchange]) {
        inLateServerFlight = false
        releaseWaiting(all: false, into: &exchanges)
    }

    mutating func feedServerInParts(_ bytes: UnsafeRawBufferPointer, time: Timestamp,
                                   into exchanges: inout [Exchange]) {
        releaseWaiting(all: false, into: &exchanges)
        var from = 0
        while from < bytes.count {
            let n = serverPart(bytes.count - from)
            if !scratch.isEmpty { scratch.removeAll(keepingCapacity: true) }
            server.feed(UnsafeRawBufferPointer(rebasing: bytes[from..<(from + n)]), time: time, into: &scratch)
            handleScratch(direction: .down, into: &exchanges)
            endServerPart(into: &exchanges)
            from += n
        }
    }

    /// Hands out the waiting exchanges, in order, up to the first whose answer the server's stream has not
    /// reached (`all`: every one).
    mutating func releaseWaiting(all: Bool, into exchanges: inout [Exchange]) {
        var n = 0
        while n < waiting.count, all || waiting[n].answerEnd <= server.streamOffset {
            handOut(waiting[n].exchange, into: &exchanges)
            n += 1
        }
        if n > 0 { waiting.removeFirst(n) }
    }

    /// A server application-data record (or a part of one a gap cut) before the first waiting exchange's mark:
    /// its answer, at the time the bytes were captured. A record lost whole adds its bytes only, once the answer
    /// began, as the open exchange does.
    mutating func answerWaiting(length: Int64, missing: Int64, records: Int, start: Timestamp,
                                end: Timestamp) {
        waiting[0].exchange.missingBytes += missing
        if length == 0 && records > 0 && waiting[0].exchange.recordsDown > 0 { return }
        if waiting[0].exchange.responseStart == nil { waiting[0].exchange.responseStart = start }
        waiting[0].exchange.bytesDown += length
        waiting[0].exchange.recordsDown += records
        if waiting[0].exchange.end < end { waiting[0].exchange.end = end }
    }

    /// Accounts for `gapBytes` missing bytes of one direction, all on one side of every mark (see `serverPart`).
    mutating func skipPart(gapBytes: Int, direction: Direction, time: Timestamp,
                           into exchanges: inout [Exchange]) {
        if !scratch.isEmpty { scratch.removeAll(keepingCapacity: true) }
        let placed: Bool
        switch direction {
        case .up: placed = client.skip(gapBytes: gapBytes, time: time, into: &scratch)
        case .down: placed = server.skip(gapBytes: gapBytes, time: time, into: &scratch)
        }
        // Application data the gap cut: its events place the lost bytes, in the exchange they were sent in.
        if placed {
            handleScratch(direction: direction, into: &exchanges)
            return
        }
        // Client bytes lost after the server answered: most likely the next request. Server data that
        // follows (before any client record) then starts an exchange of its own instead of joining this one.
        if direction == .up, let open = current, open.recordsDown > 0 { clientGapAfterAnswer = true }
        if direction == .down, !waiting.isEmpty, !inLateServerFlight {
            waiting[0].exchange.missingBytes += Int64(gapBytes)
        } else if current != nil {
            current?.missingBytes += Int64(gapBytes)
        } else {
            pendingMissing += Int64(gapBytes)
        }
        handleScratch(direction: direction, into: &exchanges)
    }
}
