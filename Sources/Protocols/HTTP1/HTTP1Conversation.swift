import Core
import Records

/// The host and port a request in absolute form named, as a client sends plain HTTP to a forward proxy.
public struct ForwardTarget: Hashable, Sendable {
    /// `host:port` as written (`[v6]:port`; the port may be missing).
    public var authority: String
    /// The first such request's start.
    public var start: Timestamp
}

/// One HTTP message as seen in stream order: a row for each request and each response,
/// interim (1xx) responses included.
public struct HTTP1MessageRecord: Hashable, Sendable {
    public var direction: Direction
    /// Time of the message's first byte.
    public var time: Timestamp
    /// Requests: method and target as sent. Nil for responses.
    public var method: String?
    public var target: String?
    /// Responses: status code; nil for requests, HTTP/0.9 responses and responses whose code the snap length cut.
    public var status: Int?
    /// As sent; `HTTP/0.9` for a versionless request or its response.
    public var version: String
}

/// An anomaly with the direction and time it was seen.
public struct HTTP1AnomalyRecord: Hashable, Sendable {
    public var anomaly: HTTP1Anomaly
    public var direction: Direction
    public var time: Timestamp
}

/// Both directions of one HTTP/1.x connection: pairs requests with responses and builds
/// `Exchange` records.
///
/// Responses pair with requests in order (keep-alive and pipelining); 1xx interim responses
/// are counted with their exchange but do not complete it. Each exchange is appended to the
/// caller's array as soon as both its request and its final response have ended. A 101 or a
/// 2xx to CONNECT ends HTTP on the connection; later bytes are counted in `tunnelBytes`.
///
/// Memory: two parsers (each at most one head), the requests awaiting responses (at most
/// `limits.maxPendingRequests`), and the message and anomaly records not yet taken (at most
/// `limits.maxKeptRecords` each; older ones are counted in `droppedRecords`). The exchanges handed out
/// are bounded too: past `limits.foldExchangesAfter`, back-to-back ones are folded into the one before
/// them, and past `limits.maxExchanges` all are (`foldedExchanges` counts them; bytes stay counted), so a
/// keep-alive connection carrying millions of transactions costs what one with 65,536 does.
///
/// Known limits: a request or response lost entirely in a gap shifts the pairing of the ones
/// after it, as in other passive analysers.
public struct HTTP1Conversation: Sendable {
    struct Pending: Sendable {
        /// The exchange without its transaction, which `emit` puts in.
        var exchange: Exchange
        /// Kept beside the exchange while the messages come: changed here in place, where changing it
        /// inside the exchange (`Exchange.changeHTTP`) copied it out of its box and back, three times an
        /// exchange (about 1,000 instructions each).
        var http: HTTPTransaction
        var hasRequest: Bool
        var requestDone: Bool
        var responseDone = false
        var requestEnd: Timestamp
        /// The request's number on the connection (0 for a response without request).
        var serial = 0
    }

    public let limits: HTTP1Limits
    public private(set) var requestParser: HTTP1Parser
    public private(set) var responseParser: HTTP1Parser
    /// Whether message rows are kept for `takeMessageRecords()`.
    public var recordsMessages: Bool
    public private(set) var messageRecords: [HTTP1MessageRecord] = []
    public private(set) var anomalies: [HTTP1AnomalyRecord] = []
    public private(set) var anomalyCount = 0
    public private(set) var droppedRecords = 0
    /// Opaque bytes after a protocol switch, client to server and server to client.
    public private(set) var tunnelBytesUp: Int64 = 0
    public private(set) var tunnelBytesDown: Int64 = 0
    /// Exchanges handed out so far (not counting those folded into the one before them).
    public private(set) var exchangeCount = 0
    /// Exchanges folded into the one handed out before them (`limits.foldExchangesAfter`, `maxExchanges`).
    public private(set) var foldedExchanges = 0
    /// The request-target of the `CONNECT` the tunnel belongs to, as sent: the one answered with 2xx
    /// (responses answer requests in order, so not necessarily the last sent). Before any answer, once the
    /// client side switched (it sent bytes that are not a request after a `CONNECT`), the latest `CONNECT`
    /// not refused. Nil otherwise: a 101 after a refused `CONNECT` is no tunnel to its target.
    public var connectTarget: String? {
        answeredConnect ?? (requestParser.isTunnel ? latestConnect?.target : nil)
    }
    /// The target of the `CONNECT` answered with 2xx.
    private var answeredConnect: String?
    /// The latest `CONNECT` sent and its request number, until a final response other than 2xx refuses it.
    private var latestConnect: (target: String, serial: Int)?
    private var requestSerial = 0
    /// The authority (`host:port` as written, any user info left out) of the first request sent in
    /// absolute form (`GET http://host:port/path`, as a client sends plain HTTP to a forward proxy), and
    /// that request's start; nil before any. A later absolute-form request naming another authority is
    /// the anomaly `absolute_form_host_changed`.
    public private(set) var forwardTarget: ForwardTarget?
    /// True once either direction switched protocols (`tunnelStart`).
    public private(set) var tunnelStarted = false
    /// True once the snap length cut a `CONNECT` head (the anomaly `connect_cut`): a tunnel may have followed
    /// that could not be told from the bytes after it.
    public private(set) var connectCut = false
    /// Set by a 2xx to a `CONNECT` while the client's bytes since the latest `CONNECT` are held: they
    /// become the tunnel's first bytes when the client side switches.
    private var replayIntoTunnel = false
    /// How many message rows were kept when the latest `CONNECT`'s row was: the request rows after it are
    /// dropped when the requests go to the tunnel (the tunnel's own rows show them).
    private var rowsThroughLatestConnect = 0

    private var pending: [Pending] = []
    private var events: [HTTP1Event] = []
    private var responseIsFinal = true

    public init(limits: HTTP1Limits = HTTP1Limits(), recordsMessages: Bool = true) {
        self.limits = limits
        self.recordsMessages = recordsMessages
        self.requestParser = HTTP1Parser(role: .request, limits: limits)
        self.responseParser = HTTP1Parser(role: .response, limits: limits)
        // `handle` takes nothing from `body` events (lengths come with `messageEnd`).
        requestParser.reportsBodyEvents = false
        responseParser.reportsBodyEvents = false
        // Only the headers `didReceiveRequestHead` and `didReceiveResponseHead` read get texts.
        requestParser.keptHeaderNames = Self.requestHeadersRead
        responseParser.keptHeaderNames = Self.responseHeadersRead
    }

    /// The request headers `didReceiveRequestHead` reads (one list for all conversations: an array built
    /// per conversation cost two allocations each).
    private static let requestHeadersRead: [StaticString] = ["host", "user-agent"]
    /// The response header `didReceiveResponseHead` reads.
    private static let responseHeadersRead: [StaticString] = ["content-type"]

    /// Parses the next in-order bytes of one direction (borrowed for the call only) and appends
    /// any exchange that completed to `exchanges`.
    public mutating func feed(
        _ bytes: UnsafeRawBufferPointer, direction: Direction, time: Timestamp, into exchanges: inout [Exchange]
    ) {
        if !events.isEmpty { events.removeAll(keepingCapacity: true) }
        if direction == .up {
            requestParser.feed(bytes, time: time, into: &events)
        } else {
            responseParser.feed(bytes, time: time, into: &events)
        }
        // No event, nothing new to hand out: only events mark requests and responses done (a body chunk,
        // the usual chunk, brings none).
        if !events.isEmpty { handle(events, direction, &exchanges) }
    }

    /// Accounts for `gapBytes` missing bytes in one direction (`cutBySnapLength`: see `HTTP1Parser.skip`).
    public mutating func skip(
        gapBytes: Int64, direction: Direction, time: Timestamp, cutBySnapLength: Bool = false,
        into exchanges: inout [Exchange]
    ) {
        if !events.isEmpty { events.removeAll(keepingCapacity: true) }
        if direction == .up {
            requestParser.skip(gapBytes: gapBytes, time: time, cutBySnapLength: cutBySnapLength, into: &events)
        } else {
            responseParser.skip(gapBytes: gapBytes, time: time, cutBySnapLength: cutBySnapLength, into: &events)
        }
        handle(events, direction, &exchanges)
    }

    /// Ends one direction: a close-delimited response body ends here.
    public mutating func finish(direction: Direction, time: Timestamp, into exchanges: inout [Exchange]) {
        if !events.isEmpty { events.removeAll(keepingCapacity: true) }
        if direction == .up {
            requestParser.finish(time: time, into: &events)
        } else {
            responseParser.finish(time: time, into: &events)
        }
        handle(events, direction, &exchanges)
    }

    /// Ends both directions and hands out every exchange still open, including requests that
    /// never got a response (`http.status` nil).
    public mutating func finish(time: Timestamp, into exchanges: inout [Exchange]) {
        finish(direction: .up, time: time, into: &exchanges)
        finish(direction: .down, time: time, into: &exchanges)
        while !pending.isEmpty { emit(pending.removeFirst(), &exchanges) }
    }

    /// Returns and forgets the message rows collected so far.
    public mutating func takeMessageRecords() -> [HTTP1MessageRecord] {
        defer { messageRecords.removeAll() }
        return messageRecords
    }

    /// Returns and forgets the anomalies collected so far.
    public mutating func takeAnomalies() -> [HTTP1AnomalyRecord] {
        defer { anomalies.removeAll() }
        return anomalies
    }

    /// The authority of an `http://` absolute-form request-target (scheme in any case; user info before
    /// `@` left out), up to the path, query or fragment; nil for any other target or an empty authority.
    static func absoluteFormAuthority(_ target: String) -> String? {
        let utf8 = target.utf8
        // Most targets start with `/`: a first byte other than `h` or `H` cannot begin `http://`, and is
        // known without the text of the first seven characters.
        guard let b = utf8.first, b == 104 || b == 72 else { return nil }
        guard utf8.count > 7, asciiCaseInsensitiveEqual(String(target.prefix(7)), "http://") else { return nil }
        let rest = target.dropFirst(7)
        var authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        // An empty port and the scheme's own (80) name the same server as none (RFC 3986 3.2.3, 6.2.3).
        if authority.hasSuffix(":") {
            authority = authority.dropLast()
        } else if authority.hasSuffix(":80") {
            authority = authority.dropLast(3)
        }
        return authority.isEmpty ? nil : String(authority)
    }

    // MARK: - Events

    private mutating func handle(_ events: [HTTP1Event], _ direction: Direction, _ exchanges: inout [Exchange]) {
        for event in events {
            switch event {
            case .requestHead(let head): didReceiveRequestHead(head, &exchanges)
            case .responseHead(let head): didReceiveResponseHead(head)
            case .simpleResponse(let start): didReceiveSimpleResponse(start)
            case .messageEnd(let end):
                if direction == .up {
                    didEndRequest(end)
                } else {
                    didEndResponse(end)
                }
            case .anomaly(let a, let t):
                if a == .connectCut { connectCut = true }
                note(a, direction, t)
            case .tunnelStart(let t):
                tunnelStarted = true
                if direction == .down {
                    // The client side switches too.
                    var upEvents: [HTTP1Event] = []
                    requestParser.enterTunnel(time: t, replayingSinceConnect: replayIntoTunnel, into: &upEvents)
                    handle(upEvents, .up, &exchanges)
                }
            case .tunnel(let count, _, _):
                if direction == .up { tunnelBytesUp += count } else { tunnelBytesDown += count }
            case .body, .skipped:
                break
            }
        }
        emitFinished(&exchanges)
    }

    private mutating func didReceiveRequestHead(_ head: HTTP1RequestHead, _ exchanges: inout [Exchange]) {
        if answeredConnect != nil {
            // Sent after the CONNECT the proxy answered: tunnel data that read as a request (pipelined).
            note(.requestInTunnel, .up, head.start)
            return
        }
        requestSerial += 1
        var transaction = HTTPTransaction(method: head.method, target: head.target, version: head.version)
        transaction.host = head.headers.first(named: "Host")
        transaction.userAgent = head.headers.first(named: "User-Agent")
        var exchange = Exchange(index: 0, kind: .http, start: head.start, end: head.start)
        exchange.bytesUp = Int64(head.headLength)
        if asciiCaseInsensitiveEqual(head.method, "CONNECT") {
            latestConnect = (head.target, requestSerial)
        } else if let authority = Self.absoluteFormAuthority(head.target) {
            if let first = forwardTarget {
                if first.authority.lowercased() != authority.lowercased() {
                    note(.absoluteFormHostChanged, .up, head.start)
                }
            } else {
                forwardTarget = ForwardTarget(authority: authority, start: head.start)
            }
        }
        if pending.count >= limits.maxPendingRequests {
            note(.tooManyPendingRequests, .up, head.start)
            emit(pending.removeFirst(), &exchanges)
        }
        pending.append(Pending(exchange: exchange, http: transaction, hasRequest: true, requestDone: false,
                               requestEnd: head.start, serial: requestSerial))
        responseParser.expectResponse(toMethod: head.method, http09: head.version == "HTTP/0.9")
        record(HTTP1MessageRecord(
            direction: .up, time: head.start, method: head.method, target: head.target, status: nil,
            version: head.version))
        if latestConnect?.serial == requestSerial { rowsThroughLatestConnect = messageRecords.count }
    }

    /// Index of the request whose response is due: the oldest without a final response.
    private mutating func answeredIndex(start: Timestamp, version: String) -> Int {
        if let i = pending.firstIndex(where: { !$0.responseDone }) { return i }
        note(.responseWithoutRequest, .down, start)
        let exchange = Exchange(index: 0, kind: .http, start: start, end: start)
        pending.append(Pending(exchange: exchange, http: HTTPTransaction(method: "", target: "", version: version),
                               hasRequest: false, requestDone: true, requestEnd: start))
        return pending.count - 1
    }

    private mutating func didReceiveResponseHead(_ head: HTTP1ResponseHead) {
        let i = answeredIndex(start: head.start, version: head.version)
        responseIsFinal = !head.isInterim
        if pending[i].exchange.responseStart == nil { pending[i].exchange.responseStart = head.start }
        pending[i].exchange.bytesDown += Int64(head.headLength)
        if head.statusCut {
            // Taken as the final answer (most are): its code stays unknown (nil), its bytes counted here.
            pending[i].http.responseStatusCut = true
        } else if responseIsFinal {
            let contentType = head.headers.first(named: "Content-Type")
            pending[i].http.status = head.status
            pending[i].http.reason = head.reason
            pending[i].http.contentType = contentType
            if pending[i].hasRequest, asciiCaseInsensitiveEqual(pending[i].http.method, "CONNECT") {
                connectAnswered(i, status: head.status, time: head.start)
            }
        }
        record(HTTP1MessageRecord(
            direction: .down, time: head.start, method: nil, target: nil, status: head.statusCut ? nil : head.status,
            version: head.version))
    }

    /// The final response to the `CONNECT` at `pending[i]`: 2xx opens the tunnel to its target, and the
    /// bytes sent after it are the tunnel's. Those sent after the latest `CONNECT`, held by the request
    /// parser, go to the tunnel as its first bytes, whatever they hold (a request sent before the answer
    /// came, too). Requests read before that (a `CONNECT` pipelined after the answered one, and what came
    /// between them), or all of them when nothing is held (past the bound, or a gap), are tunnel data
    /// that read as requests: dropped with the anomaly `request_in_tunnel` each. Another status refuses
    /// the `CONNECT`.
    private mutating func connectAnswered(_ i: Int, status: Int, time: Timestamp) {
        guard status >= 200, status < 300 else {
            if latestConnect?.serial == pending[i].serial {
                latestConnect = nil
                requestParser.connectRefused()
            }
            return
        }
        answeredConnect = pending[i].http.target
        let heldFrom = requestParser.holdsBytesSinceConnect ? latestConnect?.serial : nil
        replayIntoTunnel = heldFrom != nil
        latestConnect = nil
        let after = pending.index(after: i)
        for p in pending[after...] where p.hasRequest && p.serial <= heldFrom ?? Int.max {
            note(.requestInTunnel, .up, p.exchange.start)
        }
        pending.removeSubrange(after...)
        if replayIntoTunnel, rowsThroughLatestConnect < messageRecords.count {
            let kept = messageRecords[rowsThroughLatestConnect...].filter { $0.direction != .up }
            messageRecords.replaceSubrange(rowsThroughLatestConnect..., with: kept)
        }
    }

    private mutating func didReceiveSimpleResponse(_ start: Timestamp) {
        let i = answeredIndex(start: start, version: "HTTP/0.9")
        responseIsFinal = true
        if pending[i].exchange.responseStart == nil { pending[i].exchange.responseStart = start }
        record(HTTP1MessageRecord(
            direction: .down, time: start, method: nil, target: nil, status: nil, version: "HTTP/0.9"))
    }

    private mutating func didEndRequest(_ end: HTTP1MessageEnd) {
        guard let i = pending.lastIndex(where: { $0.hasRequest && !$0.requestDone }) else { return }
        pending[i].requestDone = true
        pending[i].requestEnd = end.end
        pending[i].exchange.bytesUp += end.bodyWireLength
        pending[i].exchange.missingBytes += end.missingBytes
        pending[i].http.requestBodyLength = end.bodyLength
        if pending[i].exchange.end < end.end { pending[i].exchange.end = end.end }
    }

    private mutating func didEndResponse(_ end: HTTP1MessageEnd) {
        guard let i = pending.firstIndex(where: { !$0.responseDone }) else { return }
        pending[i].exchange.bytesDown += end.bodyWireLength
        pending[i].exchange.missingBytes += end.missingBytes
        if pending[i].exchange.end < end.end { pending[i].exchange.end = end.end }
        guard responseIsFinal else { return }
        pending[i].responseDone = true
        // A head the snap length cut announced no length that was seen: not known.
        pending[i].http.responseBodyLength = end.headCutShort ? nil : end.bodyLength
        // The stream ended inside the body: the exchange says so, for the layers that judge the answer.
        pending[i].http.responseCutShort = end.cutShort
        pending[i].http.declaredResponseBodyLength = end.declaredBodyLength
    }

    private mutating func emitFinished(_ exchanges: inout [Exchange]) {
        // Tested in place: `pending.first` copied the whole request (its transaction's texts retained and
        // released) once per exchange and once more per call.
        while !pending.isEmpty, pending[0].requestDone, pending[0].responseDone {
            emit(pending.removeFirst(), &exchanges)
        }
    }

    private mutating func emit(_ p: Pending, _ exchanges: inout [Exchange]) {
        var exchange = p.exchange
        exchange.http = p.http
        if exchangeCount >= limits.foldExchangesAfter, let last = exchanges.indices.last,
           exchanges[last].kind == .http,
           exchangeCount >= limits.maxExchanges || exchange.start.seconds(since: exchanges[last].end) <= 1 {
            Self.fold(exchange, into: &exchanges[last])
            foldedExchanges += 1
            return
        }
        exchange.index = exchangeCount
        exchangeCount += 1
        exchanges.append(exchange)
    }

    /// Adds `e` to `last`: bytes, records and missing bytes add up, the end is the later one, and an HTTP error
    /// status (400 or above) of `e` replaces a better one of `last`, so folding hides no error.
    private static func fold(_ e: Exchange, into last: inout Exchange) {
        last.bytesUp += e.bytesUp
        last.bytesDown += e.bytesDown
        last.recordsUp += e.recordsUp
        last.recordsDown += e.recordsDown
        last.missingBytes += e.missingBytes
        if last.end < e.end { last.end = e.end }
        guard let h = e.http else { return }
        last.http?.requestBodyLength += h.requestBodyLength
        let before = last.http?.responseBodyLength ?? 0
        if let b = h.responseBodyLength { last.http?.responseBodyLength = before + b }
        if h.responseCutShort {
            // Only the connection's last answer can be cut short: the folded exchange says so, its announced
            // length counted as its body is (after the bodies folded before it).
            last.http?.responseCutShort = true
            last.http?.declaredResponseBodyLength = h.declaredResponseBodyLength.map { before + $0 }
        }
        if let status = h.status, status >= 400, (last.http?.status ?? 0) < status {
            last.http?.status = status
            last.http?.reason = h.reason
        }
    }

    private mutating func note(_ a: HTTP1Anomaly, _ direction: Direction, _ time: Timestamp) {
        anomalyCount += 1
        guard anomalies.count < limits.maxKeptRecords else {
            droppedRecords += 1
            return
        }
        anomalies.append(HTTP1AnomalyRecord(anomaly: a, direction: direction, time: time))
    }

    private mutating func record(_ r: HTTP1MessageRecord) {
        guard recordsMessages else { return }
        guard messageRecords.count < limits.maxKeptRecords else {
            droppedRecords += 1
            return
        }
        messageRecords.append(r)
    }
}
