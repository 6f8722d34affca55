import Core
import Records

// The parsers' events for `TLSConversation`: the summary, the hellos and anomalies, and the exchanges that
// application-data records open, join and close.
extension TLSConversation {
    // MARK: - Events

    mutating func handleScratch(direction: Direction, into exchanges: inout [Exchange]) {
        for event in scratch { handle(event, direction: direction, into: &exchanges) }
    }

    private mutating func handle(_ event: TLSEvent, direction: Direction, into exchanges: inout [Exchange]) {
        switch event {
        case .clientHello(let hello, let time), .sslv2ClientHello(let hello, let time):
            helloCount += 1
            if keepsHellos { hellos.append(TLSHelloRow(client: hello, direction: direction, time: time)) }
            summary.clientVersion = hello.highestVersion
            if summary.serverName == nil { summary.serverName = hello.serverName }
            if hello.isSSLv2 && helloCount == 1 { summary.sslv2 = true }
        case .serverHello(let hello, let time), .sslv2ServerHello(let hello, let time):
            helloCount += 1
            if keepsHellos { hellos.append(TLSHelloRow(server: hello, direction: direction, time: time)) }
            summary.negotiatedVersion = hello.negotiatedVersion
            summary.cipherSuite = hello.cipherSuite
            if hello.isSSLv2 { summary.sslv2 = true }
            if let first = clientFirstRecord {
                clientFirstRecord = nil
                if direction == .down, TLSVersion.isTLS13Family(hello.negotiatedVersion) {
                    takeBackClientFinished(first)
                }
            }
        case .certificate(let certificate, _, _):
            if direction == .down && summary.certificate == nil { summary.certificate = certificate }
        case .alert(let level, let description, let time):
            summary.alerts.append(TLSAlert(level: level, description: description, direction: direction, time: time))
        case .applicationData(let length, let start, let end):
            applicationData(length: Int64(length), direction: direction, start: start, end: end, into: &exchanges)
        case .cutApplicationData(let captured, let missing, let newRecord, let start, let end):
            applicationData(length: captured, missing: missing, newRecord: newRecord, direction: direction,
                            start: start, end: end, into: &exchanges)
        case .heartbeat:
            if direction == .up { heartbeatRecordsUp += 1 } else { heartbeatRecordsDown += 1 }
        case .anomaly(let anomaly, let time):
            anomalyCount += 1
            if anomalies.count < TLSConversation.maxKeptAnomalies {
                anomalies.append(TLSDirectedAnomaly(direction: direction, anomaly: anomaly, time: time))
            }
        case .encryptedAlert, .changeCipherSpec, .encryptedHandshake, .notTLS:
            break
        }
    }

    /// A late ServerHello chose TLS 1.3 after the client's first application-data record was taken as a
    /// request (`clientFirstRecord`): that record was its Finished. It leaves the first exchange (not handed out
    /// yet: its answer is still owed), which starts with its next record, and the server records before its mark,
    /// this part of the server's bytes included (`serverPart` cut there), are the server's flight.
    private mutating func takeBackClientFinished(_ first: (length: Int64, mark: Int64)) {
        clientFinishedSeen = true
        handshakeRecordsInApplicationData += 1
        serverFlightEnd = max(serverFlightEnd, first.mark)
        inLateServerFlight = true
        guard exchangeCount == 0 else { return }
        func takeBack(_ e: inout Exchange, next: Timestamp?) {
            e.bytesUp -= first.length
            e.recordsUp -= 1
            if let next { e.start = next }
        }
        if !waiting.isEmpty {
            takeBack(&waiting[0].exchange, next: firstExchangeSecondStart)
        } else if var e = current {
            takeBack(&e, next: firstExchangeSecondStart)
            current = e
        }
    }

    /// The largest server record taken for a TLS 1.3 post-handshake message (a NewSessionTicket is a few
    /// hundred bytes); a larger one before the first request is data.
    static let postHandshakeRecordMax: Int64 = 4_096

    /// TLS 1.3, the client's Finished seen, no request record yet and no exchange open or handed out: a
    /// server record now is a post-handshake message.
    private var beforeFirstRequest: Bool {
        guard clientFinishedSeen, !hasOpenExchange, waiting.isEmpty, exchangeCount == 0,
              let v = summary.negotiatedVersion, TLSVersion.isTLS13Family(v) else { return false }
        return true
    }

    private var inTLS13Handshake: Bool {
        guard let v = summary.negotiatedVersion, TLSVersion.isTLS13Family(v) else { return false }
        return !clientFinishedSeen
    }

    /// One application-data record, or a part of one a gap cut (`length` captured bytes and `missing` lost
    /// ones; `newRecord` clear on the parts after the first, so the record counts once).
    private mutating func applicationData(length: Int64, missing: Int64 = 0, newRecord: Bool = true,
                                          direction: Direction, start: Timestamp, end: Timestamp,
                                          into exchanges: inout [Exchange]) {
        let records = newRecord ? 1 : 0
        if inTLS13Handshake || (direction == .down && inLateServerFlight) {
            handshakeRecordsInApplicationData += records
            if direction == .up {
                clientFinishedSeen = true
                // The server's flight, acknowledged before the capture showed it, comes later: its records
                // are still handshake.
                if serverAcknowledged > server.streamOffset { serverFlightEnd = serverAcknowledged }
                splitAcknowledged = max(splitAcknowledged, serverAcknowledged)
            }
            pendingMissing += missing
            return
        }
        // Server bytes sent before a request the open exchange's successor began with: the waiting answer.
        if direction == .down, !waiting.isEmpty {
            answerWaiting(length: length, missing: missing, records: records, start: start, end: end)
            return
        }
        // Server bytes sent after client bytes not fed yet: the answer to the request those hold.
        if direction == .down, clientAcknowledged > client.streamOffset {
            if earlyAnswers.last?.mark != clientAcknowledged {
                earlyAnswers.append(EarlyAnswer(mark: clientAcknowledged, start: start, end: end))
            }
            let last = earlyAnswers.count - 1
            earlyAnswers[last].bytes += length
            earlyAnswers[last].records += records
            earlyAnswers[last].missing += missing
            if end > earlyAnswers[last].end { earlyAnswers[last].end = end }
            return
        }
        // TLS 1.3: a small server record after the client's Finished and before any request, with no client
        // byte awaiting its answer: a post-handshake message (a NewSessionTicket), part of the handshake.
        if direction == .down, length + missing <= Self.postHandshakeRecordMax, beforeFirstRequest {
            handshakeRecordsInApplicationData += records
            pendingMissing += missing
            return
        }
        // A record lost whole (nothing of it captured): its kind is not known. Of the client, after an answer
        // that had no request it is that request; after a whole exchange, most likely the next request, whose
        // answer (or its own captured rest) opens the next exchange: its bytes count there when it came long
        // after the exchange (a later burst), else with the exchange. Of the server, soon after an answer, more of it.
        if length == 0 && newRecord, let open = current, open.recordsDown > 0 {
            if direction == .up && open.recordsUp == 0
                || direction == .down && start.nanoseconds(since: open.end) <= answerPause {
                current?.missingBytes += missing
                return
            }
            if direction == .up {
                clientGapAfterAnswer = true
                // Lost long after the exchange: the next one's (a later burst's) request.
                if start.nanoseconds(since: open.end) > answerPause {
                    pendingMissing += missing
                } else {
                    current?.missingBytes += missing
                }
                return
            }
        }
        switch direction {
        case .up:
            // TLS 1.3 offered, no ServerHello yet, server bytes owed: this first record may be the Finished.
            if records > 0, !hasOpenExchange, waiting.isEmpty, exchangeCount == 0, !clientFinishedSeen,
               summary.negotiatedVersion == nil, serverAcknowledged > server.streamOffset,
               let offered = summary.clientVersion, TLSVersion.isTLS13Family(offered) {
                clientFirstRecord = (length, serverAcknowledged)
            }
            // Sent after the client had server bytes not fed yet, beyond those it had when the open exchange's
            // request went: the open exchange's answer (or its rest) is owed; it waits for it, and this record
            // starts the next exchange.
            if records > 0, serverAcknowledged > splitAcknowledged {
                if serverAcknowledged > server.streamOffset, let open = current {
                    current = nil
                    waiting.append(WaitingExchange(exchange: open, answerEnd: serverAcknowledged))
                }
                splitAcknowledged = serverAcknowledged
            }
            // A client record sent before the open exchange's answer began, delivered after it (held
            // behind a hole in the client's stream until the hole became a gap), is that answer's request.
            if let down = current?.recordsDown, down > 0, let answer = current?.responseStart, start < answer {
                current?.bytesUp += length
                current?.recordsUp += records
                current?.missingBytes += missing
                if let openStart = current?.start, start < openStart { current?.start = start }
                clientGapAfterAnswer = false
                return
            }
            clientGapAfterAnswer = false
            if let down = current?.recordsDown, let openEnd = current?.end,
               down > 0 || start.nanoseconds(since: openEnd) > answerPause {
                closeExchange(into: &exchanges)
            }
            openExchange(start: start)
            if clientFirstRecord != nil, firstExchangeSecondStart == nil, exchangeCount == 0, waiting.isEmpty,
               current?.recordsUp == 1, records > 0 {
                firstExchangeSecondStart = start
            }
            current?.bytesUp += length
            current?.recordsUp += records
            current?.missingBytes += missing
        case .down:
            // A server record that began long before the open exchange did is the tail of an earlier answer,
            // delivered late behind a hole in the server's stream: it is not this exchange's answer.
            if let openStart = current?.start, openStart.nanoseconds(since: start) > answerPause {
                current?.missingBytes += missing
                return
            }
            var paused = false
            if let down = current?.recordsDown, let openEnd = current?.end {
                paused = down > 0 && start.nanoseconds(since: openEnd) > answerPause
            }
            if clientGapAfterAnswer || paused {
                clientGapAfterAnswer = false
                closeExchange(into: &exchanges)
            }
            openExchange(start: start)
            if current?.responseStart == nil { current?.responseStart = start }
            current?.bytesDown += length
            current?.recordsDown += records
            current?.missingBytes += missing
        }
        if let openEnd = current?.end, openEnd < end { current?.end = end }
    }

    /// Whether an exchange is open. The open exchange's fields are read in place here and above (`current?.end`):
    /// a test of the whole optional (`current == nil`, `if let open = current`) copied the exchange, texts and
    /// all, and destroyed the copy.
    private var hasOpenExchange: Bool {
        if case .some = current { return true }
        return false
    }

    mutating func openExchange(start: Timestamp) {
        guard !hasOpenExchange else { return }
        var e = Exchange(index: exchangeCount, kind: .tls, start: start, end: start)
        e.missingBytes = pendingMissing
        pendingMissing = 0
        current = e
    }

    /// Ends the open exchange: handed out, or, behind exchanges still waiting for their answer, waits with them.
    mutating func closeExchange(into exchanges: inout [Exchange]) {
        guard let e = current.take() else { return }
        if let last = waiting.last {
            waiting.append(WaitingExchange(exchange: e, answerEnd: last.answerEnd))
        } else {
            handOut(e, into: &exchanges)
        }
    }

    /// Appends `e`, numbered in the order exchanges are handed out.
    mutating func handOut(_ e: consuming Exchange, into exchanges: inout [Exchange]) {
        e.index = exchangeCount
        exchanges.append(e)
        exchangeCount += 1
    }
}
