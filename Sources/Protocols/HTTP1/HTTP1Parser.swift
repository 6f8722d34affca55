import Core

/// Incremental HTTP/1.x message framing for one direction of one connection.
///
/// Feed it the direction's reassembled bytes in order, in chunks of any size split anywhere,
/// and tell it about gaps. It appends `HTTP1Event`s to the caller's array as soon as each is
/// known. It keeps no body bytes: only the current head, chunk-size line or trailer section is
/// buffered, at most `limits.maxHeadBytes` bytes.
///
/// Framing follows RFC 9112 section 6, leniently: bare LF line ends, obsolete line folding,
/// header names in any case, lower-case methods and versions (`http/1.1`, which tshark does not
/// recognise) are all accepted and reported as anomalies. Within a stream, any token is accepted
/// as a method; detection and resynchronisation only accept known methods.
///
/// A response parser must know the method of the request each response answers (HEAD and
/// CONNECT change the framing): call `expectResponse(toMethod:http09:)` once per request, in
/// order. With no request waiting, a response is framed as if it answered a GET.
///
/// After a gap inside a head or chunk framing, the parser reports the loss and scans for the
/// next line that begins like a message (a known method and a space, or `HTTP/` and a digit).
/// A head the snap length cut keeps its start line when it was captured (see `skip`).
public struct HTTP1Parser: Sendable {
    public enum Role: Hashable, Sendable {
        case request
        case response
    }

    enum State: Hashable, Sendable {
        /// Collecting a head into `buffer`; an empty buffer means between messages.
        case head
        case fixedBody(remaining: Int64)
        case chunkLine
        case chunkData(remaining: Int64)
        case chunkDataEnd(sawCR: Bool)
        case trailers
        case untilClose
        /// After a CONNECT or Upgrade request: the next bytes say whether HTTP goes on.
        case undecided
        case tunnel
        case lostSync(atLineStart: Bool)
        /// Past `limits.maxHeadBytes` in a head whose start line was read: the rest of the head is counted,
        /// not kept, up to its blank line. `newlines`: line ends just seen (1 after LF, 2 after LF CR).
        case longHead(newlines: Int)
    }

    struct Progress: Hashable, Sendable {
        var start = Timestamp.zero
        var last = Timestamp.zero
        var headLength = 0
        var body: Int64 = 0
        var wire: Int64 = 0
        var missing: Int64 = 0
        var then = State.head
        /// Head bytes past `limits.maxHeadBytes` that were counted but not kept (`State.longHead`).
        var headOverflow = 0
        /// The stream ended inside the body (`finish`), and the Content-Length it announced, when it had one.
        var cutShort = false
        var declaredBody: Int64?
    }

    struct Expectation: Hashable, Sendable {
        var isHead: Bool
        var isConnect: Bool
        var http09: Bool
    }

    public let role: Role
    public let limits: HTTP1Limits
    public private(set) var statistics = HTTP1ParserStatistics()

    var state = State.head
    var buffer: [UInt8] = []
    /// Capacity `buffer` gets when the first head starts (it keeps it between messages).
    static let headBufferStart = 512
    var lineStart = 0
    var leading = 0
    var startDecided = false
    var trailerLines = 0
    var msg = Progress()
    /// While out of sync after a head the snap length cut (`keepCutHead`): `msg` is that message, still going
    /// on, and the bytes passed over until the next message start are its own, as its end is not known.
    var cutMessageOpen = false
    /// When the bytes held while out of sync (a message start still to be decided) began.
    var syncStart = Timestamp.zero
    var expected: [Expectation] = []
    /// The bytes held when the tunnel began (a start that could still have been a request's), which
    /// begin the tunnel's bytes; empty otherwise. The tunnel's other bytes are the ends of the chunks
    /// fed after it began (`statistics.tunnelBytes` counts both).
    public private(set) var tunnelLead: [UInt8] = []
    /// When the first of `tunnelLead`'s bytes went by.
    public private(set) var tunnelLeadTime = Timestamp.zero
    /// Request role: the bytes fed since the end of the latest `CONNECT` head while its answer is not
    /// known and HTTP went on (the client sent requests before the proxy answered): they become the
    /// tunnel's first bytes if the `CONNECT` is answered 2xx (`enterTunnel(replayingSinceConnect:)`).
    /// Nil when no `CONNECT` waits, once it is refused, once the parser switched by itself, after a gap,
    /// or past `limits.maxHeadBytes` bytes (then those requests stay HTTP, left out as `request_in_tunnel`).
    var sinceConnect: [UInt8]?
    /// `CONNECT` heads seen: a chunk's bytes join `sinceConnect` only when no `CONNECT` head ended in them.
    var connectHeads = 0
    /// Whether body bytes are reported as `body` events. `HTTP1Conversation` reads lengths from
    /// `messageEnd` alone and turns this off: a body chunk then adds nothing to the events array, which
    /// the conversation would otherwise fill, walk and empty again for nearly every chunk of a body.
    var reportsBodyEvents = true
    /// When set, the heads' header lists hold only headers with these names (lower case), as
    /// `parseHead` describes for `keeping`. `HTTP1Conversation` reads three headers; building a name and a
    /// value text for every other header line was most of the texts a head cost.
    var keptHeaderNames: [StaticString]?

    public init(role: Role, limits: HTTP1Limits = HTTP1Limits()) {
        self.role = role
        self.limits = limits
    }

    /// True once the connection switched protocols: everything after is counted as tunnel bytes.
    public var isTunnel: Bool { state == .tunnel }

    /// True while the bytes sent since the latest `CONNECT` are held for the tunnel it may open.
    public var holdsBytesSinceConnect: Bool { sinceConnect != nil }

    /// Request role: the latest `CONNECT` was refused; what followed it is HTTP going on.
    public mutating func connectRefused() {
        sinceConnect = nil
    }

    /// Response role: records the method of the next request still to be answered. Requests
    /// beyond `limits.maxPendingRequests` push out the oldest. `http09`: the request had no
    /// version, so its response has no status line and lasts until the connection closes.
    public mutating func expectResponse(toMethod method: String, http09: Bool = false) {
        if expected.count >= limits.maxPendingRequests { expected.removeFirst() }
        expected.append(Expectation(
            isHead: asciiCaseInsensitiveEqual(method, "HEAD"),
            isConnect: asciiCaseInsensitiveEqual(method, "CONNECT"),
            http09: http09))
    }

    /// Stops HTTP parsing because the other direction switched protocols (101, or a 2xx to
    /// CONNECT). Takes effect between messages; a message in progress is left to finish.
    /// `replayingSinceConnect` (a 2xx to the latest `CONNECT`): the bytes sent since that `CONNECT`, when
    /// held, are the tunnel's first bytes whatever they held (requests sent before the answer, a message
    /// in progress), and the switch takes effect at once.
    public mutating func enterTunnel(
        time: Timestamp, replayingSinceConnect: Bool = false, into events: inout [HTTP1Event]
    ) {
        if replayingSinceConnect, state != .tunnel, let held = sinceConnect {
            sinceConnect = nil
            state = .tunnel
            buffer.removeAll()
            leading = 0
            msg = Progress()
            events.append(.tunnelStart(time: time))
            if !held.isEmpty {
                tunnelLead = held
                statistics.tunnelBytes += Int64(held.count)
                events.append(.tunnel(count: Int64(held.count), missing: false, time: tunnelLeadTime))
            }
            return
        }
        switch state {
        case .undecided:
            startTunnel(withBuffered: true, time: time, into: &events)
        case .head where buffer.isEmpty:
            leading = 0
            startTunnel(withBuffered: false, time: time, into: &events)
        default:
            break
        }
    }

    // MARK: - Input

    /// Parses the next in-order bytes of this direction. The bytes are borrowed for the call only;
    /// at most a head's worth is copied. Cost: linear in the bytes of heads and chunk lines,
    /// constant per chunk for body bytes.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, time: Timestamp, into events: inout [HTTP1Event]) {
        var i = 0
        while i < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[i...])
            let heads = connectHeads
            let used: Int
            switch state {
            case .head: used = consumeHead(rest, time, &events)
            case .fixedBody(let remaining): used = consumeFixed(rest, remaining, time, &events)
            case .chunkLine: used = consumeChunkLine(rest, time, &events)
            case .chunkData(let remaining): used = consumeChunkData(rest, remaining, time, &events)
            case .chunkDataEnd(let sawCR): used = consumeChunkDataEnd(rest, sawCR, time, &events)
            case .trailers: used = consumeTrailers(rest, time, &events)
            case .untilClose:
                addBody(Int64(rest.count), missing: false, time, &events)
                used = rest.count
            case .undecided: used = consumeUndecided(rest, time, &events)
            case .tunnel:
                statistics.tunnelBytes += Int64(rest.count)
                events.append(.tunnel(count: Int64(rest.count), missing: false, time: time))
                used = rest.count
            case .lostSync(let atLineStart): used = consumeLostSync(rest, atLineStart, time, &events)
            case .longHead(let newlines): used = consumeLongHead(rest, newlines, time, &events)
            }
            if sinceConnect != nil, heads == connectHeads { holdSinceConnect(rest, count: used, time: time) }
            i += used
        }
    }

    /// Adds bytes sent after the latest `CONNECT` to `sinceConnect`; past `limits.maxHeadBytes` nothing
    /// is held any longer.
    private mutating func holdSinceConnect(_ rest: UnsafeRawBufferPointer, count: Int, time: Timestamp) {
        guard count > 0, var held = sinceConnect else { return }
        sinceConnect = nil
        guard held.count + count <= limits.maxHeadBytes else { return }
        if held.isEmpty { tunnelLeadTime = time }
        held.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[..<count]))
        sinceConnect = held
    }

    /// Accounts for `gapBytes` bytes of this direction that were never captured. Inside a
    /// Content-Length or close-delimited body they count as missing body bytes and framing goes
    /// on; inside a head or chunk framing the message ends incomplete and the parser resynchronises.
    ///
    /// `cutBySnapLength`: the bytes are the end of a packet whose payload the snap length cut (a header-only
    /// capture). A head they cut is not dropped when its start line was captured (`keepCutHead`): it is
    /// reported with no header known (`cutShort`), and the parser resynchronises as after any gap in a head,
    /// the message going on, its body length not known, until the next message start (`headCutShort`).
    public mutating func skip(
        gapBytes: Int64, time: Timestamp, cutBySnapLength: Bool = false, into events: inout [HTTP1Event]
    ) {
        guard gapBytes > 0 else { return }
        statistics.missingBytes += gapBytes
        sinceConnect = nil
        var left = gapBytes
        while left > 0 {
            switch state {
            case .head, .longHead:
                anomaly(buffer.isEmpty && leading == 0 ? .gapBetweenMessages : .gapInHead, time, &events)
                if !cutBySnapLength || !keepCutHead(time, &events) { loseSync(atLineStart: true, time, &events) }
                emitSkipped(left, missing: true, time, &events)
                left = 0
            case .fixedBody(let remaining):
                let n = min(left, remaining)
                addBody(n, missing: true, time, &events)
                left -= n
                if remaining - n > 0 {
                    state = .fixedBody(remaining: remaining - n)
                } else {
                    endMessage(complete: true, &events)
                }
            case .chunkData(let remaining) where left <= remaining:
                addBody(left, missing: true, time, &events)
                state = left == remaining ? .chunkDataEnd(sawCR: false) : .chunkData(remaining: remaining - left)
                left = 0
            case .chunkData, .chunkLine, .chunkDataEnd, .trailers:
                msg.missing += left
                msg.wire += left
                msg.last = time
                anomaly(.gapInChunkFraming, time, &events)
                endMessage(complete: false, &events)
                loseSync(atLineStart: true, time, &events)
                left = 0
            case .untilClose:
                addBody(left, missing: true, time, &events)
                left = 0
            case .undecided:
                startTunnel(withBuffered: true, time: time, into: &events)
            case .tunnel:
                statistics.tunnelBytes += left
                events.append(.tunnel(count: left, missing: true, time: time))
                left = 0
            case .lostSync:
                loseSync(atLineStart: true, time, &events)
                emitSkipped(left, missing: true, time, &events)
                left = 0
            }
        }
    }

    /// The direction ended (FIN, RST, or end of capture). Ends a close-delimited body; a message
    /// cut short is reported and ended incomplete. The parser is ready for nothing more after it.
    public mutating func finish(time: Timestamp, into events: inout [HTTP1Event]) {
        switch state {
        case .head, .longHead:
            if !buffer.isEmpty {
                anomaly(.headCutShort, time, &events)
                loseSync(atLineStart: true, time, &events)
            }
        case .fixedBody, .chunkLine, .chunkData, .chunkDataEnd, .trailers:
            anomaly(.bodyCutShort, time, &events)
            msg.cutShort = true
            if case .fixedBody(let remaining) = state { msg.declaredBody = msg.body + remaining }
            msg.then = .head
            endMessage(complete: false, &events)
        case .untilClose:
            msg.then = .head
            endMessage(complete: true, &events)
        case .undecided:
            if !buffer.isEmpty { startTunnel(withBuffered: true, time: time, into: &events) }
        case .tunnel:
            break
        case .lostSync:
            loseSync(atLineStart: true, time, &events)
        }
        if cutMessageOpen { endCutMessage(&events) }
        buffer.removeAll()
        leading = 0
        if state != .tunnel { state = .head }
    }

    // MARK: - Shared steps

    mutating func anomaly(_ a: HTTP1Anomaly, _ time: Timestamp, _ events: inout [HTTP1Event]) {
        statistics.anomalies += 1
        events.append(.anomaly(a, time: time))
    }

    mutating func emitSkipped(_ count: Int64, missing: Bool, _ time: Timestamp, _ events: inout [HTTP1Event]) {
        guard count > 0 else { return }
        if !missing { statistics.skippedBytes += count }
        events.append(.skipped(count: count, missing: missing, time: time))
        if cutMessageOpen {
            msg.wire += count
            if missing { msg.missing += count }
            msg.last = time
        }
    }

    /// Ends the message whose head the snap length cut (`cutMessageOpen`): a message start was found after it,
    /// or the stream ended. Its bytes after the head were all passed over; its body length is not known.
    mutating func endCutMessage(_ events: inout [HTTP1Event]) {
        cutMessageOpen = false
        statistics.messages += 1
        events.append(.messageEnd(HTTP1MessageEnd(
            headLength: msg.headLength, bodyLength: 0, bodyWireLength: msg.wire, missingBytes: msg.missing,
            complete: false, end: msg.last, headCutShort: true)))
        msg = Progress()
    }

    /// Drops what is buffered (reported as skipped) and scans for the next message start.
    mutating func loseSync(atLineStart: Bool, _ time: Timestamp, _ events: inout [HTTP1Event]) {
        emitSkipped(Int64(buffer.count + leading), missing: false, time, &events)
        buffer.removeAll(keepingCapacity: true)
        leading = 0
        state = .lostSync(atLineStart: atLineStart)
    }

    mutating func addBody(_ n: Int64, missing: Bool, _ time: Timestamp, _ events: inout [HTTP1Event]) {
        guard n > 0 else { return }
        msg.body += n
        msg.wire += n
        if missing { msg.missing += n }
        msg.last = time
        if reportsBodyEvents { events.append(.body(count: n, missing: missing, time: time)) }
    }

    mutating func endMessage(complete: Bool, _ events: inout [HTTP1Event]) {
        statistics.messages += 1
        events.append(.messageEnd(HTTP1MessageEnd(
            headLength: msg.headLength, bodyLength: msg.body, bodyWireLength: msg.wire,
            missingBytes: msg.missing, complete: complete, end: msg.last, cutShort: msg.cutShort,
            declaredBodyLength: msg.declaredBody)))
        buffer.removeAll(keepingCapacity: true)
        leading = 0
        lineStart = 0
        let next = msg.then
        let end = msg.last
        msg = Progress()
        if next == .tunnel {
            startTunnel(withBuffered: false, time: end, into: &events)
        } else {
            state = next
        }
    }

    mutating func startTunnel(withBuffered: Bool, time: Timestamp, into events: inout [HTTP1Event]) {
        state = .tunnel
        sinceConnect = nil
        events.append(.tunnelStart(time: time))
        if withBuffered, !buffer.isEmpty {
            tunnelLead = buffer
            tunnelLeadTime = time
            statistics.tunnelBytes += Int64(buffer.count)
            events.append(.tunnel(count: Int64(buffer.count), missing: false, time: time))
        }
        buffer.removeAll()
    }
}
