import Core
import Records

/// Both directions of one TLS connection: builds the `TLSSummary`, the per-hello rows and the
/// application-data exchanges.
///
/// Feed each direction's in-order bytes with `feed(_:direction:time:into:)` (`.up` = client to
/// server) in the order they were captured; chunks are borrowed for the call only.
///
/// Record layer: `finish` sets `summary.recordVersion` to the lower of the two directions'
/// `TLSStreamParser.applicationDataVersion`, and reports a direction whose records disagree with the
/// ServerHello's choice (`recordVersionMismatch`).
///
/// Exchanges: an exchange is a client burst of application-data records followed by the server's
/// burst. It ends when the client sends application data again after the server has answered, and is
/// appended to the caller's array at that moment; `finish` flushes the last one. Server data with no
/// exchange open starts one with no request bytes. Byte counts are whole records, headers included; of a
/// record a gap cut, the bytes captured (`TLSEvent.cutApplicationData`): the gap's bytes are added to the
/// `missingBytes` of the exchange the record joins, by its start, as are the captured bytes a scan skipped
/// after a gap that cut application data. Other gap bytes (a handshake's) seen while an exchange is open
/// are added to its `missingBytes`, else to the next one's. Around a client gap after
/// the server's answer: server data that follows before any client record starts a new exchange (the
/// lost bytes were its request); a client record sent before the open exchange's answer began, delivered
/// late (held behind the hole), joins that exchange as its request. Server data more than
/// `TLSLimits.answerPause` after the open exchange's last record, with no client record between, starts
/// a new exchange too (a lost request's answer, before the gap is known), and so does client data that long
/// after the open exchange's last record (a request after a request whose answer was lost or held back).
/// A server record that began more than that before the open exchange (an earlier answer's tail held
/// behind a hole) is left out of it.
///
/// Server bytes acknowledged before the capture showed them (`acknowledgedAhead(_:of:)`, from the client's
/// acknowledgement numbers): the sensor missed them and sees them later, held behind a hole or retransmitted
/// (after the server's FIN, say), so in stream order they come after client requests sent once the client
/// had them. A client record sent after the client acknowledged server bytes not fed yet, beyond those
/// acknowledged when the open exchange's request was sent, ends that exchange: it waits, unanswered or
/// partly answered, for the server bytes up to that acknowledgement, and the record starts the next one.
/// Server bytes are then placed by their stream offsets: those before the waiting exchange's mark are its
/// answer (a gap there its missing bytes), later ones go on as usual. Waiting exchanges are handed out in
/// order, once the server's stream reaches their mark (at `finish` at the latest). An answer placed so keeps
/// the time its bytes were captured (its `responseStart` and `end` may come after later requests, up to the
/// retransmission after the FIN); the request keeps its own. Without such acknowledgements (the capture shows
/// bytes before they are acknowledged) nothing of this applies. In TLS 1.3, server records before the mark
/// of the client's Finished are the server's handshake flight, however late they come.
///
/// Client bytes acknowledged before the capture showed them (`acknowledgedAhead(_:of:)` for `.up`, from the
/// server's acknowledgement numbers; the server direction's clock early, say): server application data sent
/// after client bytes not fed yet answers the request those bytes hold. It waits (`earlyAnswers`, each with the
/// client offset it acknowledged) and joins the open exchange once the client's stream reaches that offset, so
/// the request's records come first and the answer keeps its capture time.
///
/// TLS 1.3 (and drafts): the encrypted handshake travels in application_data records. Without keys,
/// the rule is: once the ServerHello chose 1.3, server records before the client's first
/// application_data record are the server's handshake flight, and that first client record is its
/// Finished; neither counts as exchange data. Server records after that Finished and before the client's
/// first request record, each of at most `postHandshakeRecordMax` bytes, are the server's post-handshake
/// messages (NewSessionTicket, which many servers send unasked): handshake too, not an answer with no
/// request. A client certificate (several client records) or 0-RTT data breaks this rule; the extra
/// records then count as data.
public struct TLSConversation: Sendable {
    public private(set) var client: TLSStreamParser
    public private(set) var server: TLSStreamParser
    public private(set) var summary = TLSSummary()
    /// ClientHello/ServerHello rows in stream order (the order they were completed); always empty when
    /// made with `keepsHellos` false.
    public private(set) var hellos: [TLSHelloRow] = []
    /// Whether `hellos` is filled (rows are wanted by `flows --tls` and the oracle tests only; leaving them
    /// out spares an array and its growth per connection).
    private let keepsHellos: Bool
    /// Hellos seen (kept in `hellos` or not).
    private var helloCount = 0
    /// The first `maxKeptAnomalies` anomalies; `anomalyCount` counts all.
    public private(set) var anomalies: [TLSDirectedAnomaly] = []
    public private(set) var anomalyCount = 0
    /// Heartbeat records each way (clear or encrypted); a burst of them is worth a look.
    public private(set) var heartbeatRecordsUp = 0
    public private(set) var heartbeatRecordsDown = 0
    /// Application-data records treated as TLS 1.3 handshake by the rule above.
    public private(set) var handshakeRecordsInApplicationData = 0
    /// Exchanges handed out so far.
    public private(set) var exchangeCount = 0

    public static let maxKeptAnomalies = 64

    private var scratch: [TLSEvent] = []
    private var current: Exchange?
    private var pendingMissing: Int64 = 0
    private var clientFinishedSeen = false
    /// A client gap came after the open exchange's answer: the next server record starts a new exchange.
    private var clientGapAfterAnswer = false
    /// The first framed record of either direction was looked at (see `feed`).
    private var midstreamChecked = false
    /// `TLSLimits.answerPause`.
    private let answerPause: Int64
    /// Exchanges waiting for the server bytes sent before a later request (see "Server bytes acknowledged
    /// before the capture showed them"), in order; empty on the ordinary path, which then costs one test.
    private var waiting: [WaitingExchange] = []
    /// The server's stream offset the client had acknowledged when it sent the bytes fed next, when that ran
    /// ahead of the server bytes fed (else it lags, unused).
    private var serverAcknowledged: Int64 = 0
    /// The highest such offset that already ended an exchange, or that the open exchange's request followed:
    /// a client record ends the open exchange only on an acknowledgement beyond it.
    private var splitAcknowledged: Int64 = 0
    /// TLS 1.3: the server's stream offset the client acknowledged before its Finished, when the server's
    /// flight had not been fed yet: application-data records before it are that flight's handshake.
    private var serverFlightEnd: Int64 = 0
    /// The server bytes being handled lie before `serverFlightEnd`.
    private var inLateServerFlight = false
    /// TLS 1.3 offered, and the client's first application-data record sent after server bytes not fed yet,
    /// the ServerHello among them maybe: its length and that mark. Once a late ServerHello chooses 1.3, the
    /// record was the client's Finished, not a request, and the server records before the mark its flight.
    private var clientFirstRecord: (length: Int64, mark: Int64)?
    /// When the second client record of the first exchange began (its start once the first is taken back).
    private var firstExchangeSecondStart: Timestamp?
    /// The client's stream offset the server had acknowledged when it sent the bytes fed next, when that ran
    /// ahead of the client bytes fed (see "Client bytes acknowledged before the capture showed them").
    private var clientAcknowledged: Int64 = 0
    /// Server application data sent after client bytes not fed yet, in order: each the answer to the request
    /// those hold, placed once the client's stream reaches its mark; empty on the ordinary path.
    private var earlyAnswers: [EarlyAnswer] = []

    /// Server application data captured before the request it answers (see `earlyAnswers`).
    private struct EarlyAnswer: Sendable {
        /// The client's stream offset the server had acknowledged when it sent it: the request's end.
        var mark: Int64
        var bytes: Int64 = 0
        var records = 0
        var missing: Int64 = 0
        var start: Timestamp
        var end: Timestamp
    }

    /// An exchange ended by a client record sent after server bytes not fed yet: the server bytes before
    /// `answerEnd` (stream offset) are its answer. One closed after it waits with the same mark.
    private struct WaitingExchange: Sendable {
        var exchange: Exchange
        var answerEnd: Int64
    }

    public init(limits: TLSLimits = TLSLimits(), midstream: Bool = false, keepsHellos: Bool = true) {
        client = TLSStreamParser(limits: limits, midstream: midstream)
        server = TLSStreamParser(limits: limits, midstream: midstream)
        answerPause = limits.answerPause
        self.keepsHellos = keepsHellos
    }

    /// True when either direction's first bytes were not TLS.
    public var isNotTLS: Bool { client.stopReason == .notTLS || server.stopReason == .notTLS }

    // MARK: - Input

    /// Parses `bytes` of one direction; completed exchanges are appended to `exchanges`.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, direction: Direction, time: Timestamp,
                              into exchanges: inout [Exchange]) {
        if direction == .down, placesServerBytes {
            feedServerInParts(bytes, time: time, into: &exchanges)
        } else {
            if !scratch.isEmpty { scratch.removeAll(keepingCapacity: true) }
            switch direction {
            case .up: client.feed(bytes, time: time, into: &scratch)
            case .down: server.feed(bytes, time: time, into: &scratch)
            }
            handleScratch(direction: direction, into: &exchanges)
            if direction == .up, !earlyAnswers.isEmpty { placeEarlyAnswers(all: false, into: &exchanges) }
        }
        // A direction that began with application data: the capture joined after the handshake, and the
        // other direction, not heard yet, may begin inside a record (its first segment lost).
        // (The two fields read in place: copying both parsers for them cost more than the check.)
        if !midstreamChecked {
            if let type = direction == .up ? client.firstRecordType : server.firstRecordType {
                midstreamChecked = true
                let otherOffset = direction == .up ? server.streamOffset : client.streamOffset
                if type == TLSContentType.applicationData.rawValue && otherOffset == 0 {
                    if direction == .up { server.expectMidstreamStart() } else { client.expectMidstreamStart() }
                }
            }
        }
    }

    /// Accounts for `gapBytes` missing bytes in one direction.
    public mutating func skip(gapBytes: Int, direction: Direction, time: Timestamp, into exchanges: inout [Exchange]) {
        guard gapBytes > 0 else { return }
        guard direction == .down, placesServerBytes else {
            // Client bytes the server answered, lost: the request of an answer of its own, not more of the
            // exchange answered before.
            if direction == .up, !earlyAnswers.isEmpty, let open = current, open.recordsDown > 0 {
                closeExchange(into: &exchanges)
            }
            skipPart(gapBytes: gapBytes, direction: direction, time: time, into: &exchanges)
            if direction == .up, !earlyAnswers.isEmpty { placeEarlyAnswers(all: false, into: &exchanges) }
            return
        }
        releaseWaiting(all: false, into: &exchanges)
        var left = gapBytes
        while left > 0 {
            let n = serverPart(left)
            skipPart(gapBytes: n, direction: .down, time: time, into: &exchanges)
            endServerPart(into: &exchanges)
            left -= n
        }
    }

    /// The client acknowledged `bytes` of `direction` beyond those fed or skipped so far, in the segment whose
    /// bytes are fed next: they were sent before those bytes (see "Server bytes acknowledged before the
    /// capture showed them" and "Client bytes acknowledged before the capture showed them").
    public mutating func acknowledgedAhead(_ bytes: Int64, of direction: Direction) {
        guard bytes > 0 else { return }
        switch direction {
        case .down: serverAcknowledged = max(serverAcknowledged, server.streamOffset + bytes)
        case .up: clientAcknowledged = max(clientAcknowledged, client.streamOffset + bytes)
        }
    }

    // MARK: - Server bytes captured before the request they answer

    /// Each early answer whose mark the client's stream reached (`all`: every one, at the end) joins the open
    /// exchange (the request just fed), or opens one when there is none or it is answered already (no client
    /// record came before the mark: the request was lost). Requests sent one after another reach their marks in
    /// separate feeds, so each answer joins its own request's exchange.
    private mutating func placeEarlyAnswers(all: Bool, into exchanges: inout [Exchange]) {
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
    private var placesServerBytes: Bool {
        !waiting.isEmpty || serverFlightEnd > server.streamOffset || clientFirstRecord != nil
    }

    /// How many of `count` server bytes from the stream's offset stay on one side of every mark: an exchange's
    /// answer end, the late TLS 1.3 flight's end, `clientFirstRecord`'s mark. Sets what the bytes are
    /// (`inLateServerFlight`); the bytes go to the first waiting exchange, if any (those before it were handed
    /// out by `endServerPart`).
    private mutating func serverPart(_ count: Int) -> Int {
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
    private mutating func endServerPart(into exchanges: inout [Exchange]) {
        inLateServerFlight = false
        releaseWaiting(all: false, into: &exchanges)
    }

    private mutating func feedServerInParts(_ bytes: UnsafeRawBufferPointer, time: Timestamp,
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
    private mutating func releaseWaiting(all: Bool, into exchanges: inout [Exchange]) {
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
    private mutating func answerWaiting(length: Int64, missing: Int64, records: Int, start: Timestamp,
                                        end: Timestamp) {
        waiting[0].exchange.missingBytes += missing
        if length == 0 && records > 0 && waiting[0].exchange.recordsDown > 0 { return }
        if waiting[0].exchange.responseStart == nil { waiting[0].exchange.responseStart = start }
        waiting[0].exchange.bytesDown += length
        waiting[0].exchange.recordsDown += records
        if waiting[0].exchange.end < end { waiting[0].exchange.end = end }
    }

    /// Accounts for `gapBytes` missing bytes of one direction, all on one side of every mark (see `serverPart`).
    private mutating func skipPart(gapBytes: Int, direction: Direction, time: Timestamp,
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

    /// Ends both directions and hands out the last exchange, if any.
    public mutating func finish(time: Timestamp, into exchanges: inout [Exchange]) {
        for direction in Direction.allCases {
            if !scratch.isEmpty { scratch.removeAll(keepingCapacity: true) }
            switch direction {
            case .up: client.finish(time: time, into: &scratch)
            case .down: server.finish(time: time, into: &scratch)
            }
            handleScratch(direction: direction, into: &exchanges)
        }
        placeEarlyAnswers(all: true, into: &exchanges)
        closeExchange(into: &exchanges)
        releaseWaiting(all: true, into: &exchanges)
        summary.recordVersion = Self.lower(client.applicationDataVersion, server.applicationDataVersion)
        summary.implausibleRecordVersionUp = client.implausibleApplicationDataVersion
        summary.implausibleRecordVersionDown = server.implausibleApplicationDataVersion
        noteRecordVersionMismatch(time: time)
    }

    /// After a ServerHello, each direction's application-data records should carry the version it chose
    /// (for TLS 1.3 and its drafts a legacy version, 0x0303 or in drafts 0x0301): a direction whose
    /// lowest record version differs is a `recordVersionMismatch` (not for SSLv2 sessions, whose records
    /// have no version field).
    private mutating func noteRecordVersionMismatch(time: Timestamp) {
        guard let chosen = summary.negotiatedVersion, !summary.sslv2, chosen >= 0x0300 else { return }
        let tls13 = TLSVersion.isTLS13Family(chosen)
        for (direction, version) in [(Direction.up, client.applicationDataVersion),
                                     (.down, server.applicationDataVersion)] {
            // TLS 1.3 records carry 0x0303; drafts and early data were seen with 0x0301 too.
            guard let version, tls13 ? !(0x0301...0x0303).contains(version) : version != chosen else { continue }
            if !scratch.isEmpty { scratch.removeAll(keepingCapacity: true) }
            scratch.append(.anomaly(.recordVersionMismatch(negotiated: chosen, record: version), time: time))
            var none: [Exchange] = []
            handleScratch(direction: direction, into: &none)
        }
    }

    /// The lower of two versions either of which may be missing.
    private static func lower(_ a: UInt16?, _ b: UInt16?) -> UInt16? {
        guard let a else { return b }
        guard let b else { return a }
        return min(a, b)
    }

    // MARK: - Events

    private mutating func handleScratch(direction: Direction, into exchanges: inout [Exchange]) {
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

    private mutating func openExchange(start: Timestamp) {
        guard !hasOpenExchange else { return }
        var e = Exchange(index: exchangeCount, kind: .tls, start: start, end: start)
        e.missingBytes = pendingMissing
        pendingMissing = 0
        current = e
    }

    /// Ends the open exchange: handed out, or, behind exchanges still waiting for their answer, waits with them.
    private mutating func closeExchange(into exchanges: inout [Exchange]) {
        guard let e = current.take() else { return }
        if let last = waiting.last {
            waiting.append(WaitingExchange(exchange: e, answerEnd: last.answerEnd))
        } else {
            handOut(e, into: &exchanges)
        }
    }

    /// Appends `e`, numbered in the order exchanges are handed out.
    private mutating func handOut(_ e: consuming Exchange, into exchanges: inout [Exchange]) {
        e.index = exchangeCount
        exchanges.append(e)
        exchangeCount += 1
    }
}
