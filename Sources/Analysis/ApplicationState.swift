import Core
import Protocols
import Records

/// The protocol detail kept per connection for `flows --http/--tls` and the oracle tests.
public struct ProtocolDetails: Sendable {
    /// HTTP message rows in stream order (requests and responses, 1xx included).
    public var httpMessages: [HTTP1MessageRecord] = []
    /// ClientHello / ServerHello rows in stream order.
    public var tlsHellos: [TLSHelloRow] = []
    /// Named protocol anomalies, as text, with the direction they were seen in.
    public var anomalies: [String] = []

    public init() {}
}

/// Which parser a connection's bytes go to, decided from its first bytes.
///
/// Detection looks at content, not ports: HTTP on any port is HTTP, and non-TLS
/// bytes on 443 are recognised as such. While undecided, each chunk's start is
/// tested (a capture that begins mid-connection may reach a message start later),
/// and so are each direction's first bytes joined across chunks (`prefixBytes` of
/// them, up to the first gap), so a TCP stack that sends a hello or a request a byte
/// or two at a time is still read from its first byte; up to `undecidedLimit` bytes
/// a direction; then the connection is `other`.
/// A connection that begins in plain text and then starts a TLS handshake on the
/// client side (STARTTLS) moves to TLS at that point.
///
/// The bytes of both directions seen while undecided are held (at most `holdLimit` bytes; bytes
/// beyond are kept as missing) and replayed, in their order, to the parser the joined first bytes
/// decide on. Besides, two cases keep HTTP whole when the first bytes do not decide it:
/// - A request with a method detection does not know (`CCM_POST /`, `OPTIONS` alone on its
///   line) is decided only by the response. The client's bytes seen while undecided are held
///   (at most `holdLimit` bytes; bytes beyond are replayed as missing) and, when they start
///   like a request, replayed to the request parser before the response.
/// - When the server side sends the first request (data on a SYN-ACK) or the client side the
///   first response (a capture that judged the roles wrongly), HTTP runs with the roles the
///   other way round; rows and exchanges keep the connection's directions, and the anomaly
///   `http_roles_reversed` is noted.
///
/// An HTTP `CONNECT` answered with 2xx opens a tunnel (an explicit proxy): from the first byte after
/// the `CONNECT` exchange, each direction's bytes go to a second `ApplicationState`, which detects them
/// as a connection's first bytes are detected (TLS in practice; plain HTTP too). A refused `CONNECT`
/// (407, then a retry on the same connection) leaves HTTP going on. The client side may send into the
/// tunnel before the answer comes: bytes that do not start a request go to the tunnel at once; requests
/// (plain HTTP for the target) are held by the request parser and go to the tunnel, with the time they
/// were sent, once the 2xx comes.
/// `finish(into:)` then describes the tunnelled traffic as a direct connection's, and names the tunnel
/// in `ConnectionRecord.tunnel` with the exchanges that set it up. A tunnel inside a tunnel, and a
/// `CONNECT` on a connection whose HTTP roles are reversed, are counted as opaque bytes, not followed.
/// A lost segment does not hide a tunnel: a 2xx that no client byte came before (its `CONNECT` was not
/// captured) and TLS after it open a tunnel named by the ClientHello's SNI (`resolveLostConnect`), and TLS
/// records after a gap where the 2xx should be (the answer lost) are the tunnel's server side.
/// Plain HTTP sent to a proxy in absolute form (`GET http://host:port/path`) is named in
/// `ConnectionRecord.tunnel` too (kind `.forward`, from the first such request), with no set-up.
///
/// A class, and the parsers sit in boxes, so the per-packet path looks the state up once and
/// mutates the parser in place: no copy of parser state per chunk.
///
/// Stored state is `@exclusivity(unchecked)` (no run-time exclusivity check per access on the
/// per-packet path): it is changed only by its own methods, called by the analyzer, on one thread,
/// and no call re-enters the state while it is being changed.
final class ApplicationState {
    enum Parser {
        case undecided
        case http(Box<HTTP1Conversation>)
        case tls(Box<TLSConversation>)
        case other
    }

    /// A parser mutated in place through its reference.
    final class Box<Value> {
        @exclusivity(unchecked) var value: Value
        init(_ value: Value) { self.value = value }
    }

    static let undecidedLimit: Int64 = 64 * 1024
    /// Most client bytes held while undecided. 4 KiB: a request head of a usual size, and small
    /// beside the reassembly buffers a connection may already hold. The copy is freed as soon as
    /// the connection is decided or given up as `other`; worst case 4 KiB x
    /// `StreamLimits.maxConnections` (1 GiB at the default) if every connection stays undecided.
    static let holdLimit = 4096
    /// First bytes of a direction joined across chunks for detection: more than any start test reads
    /// (a TLS record header 5, a request line's method and target start 14, a status line 6).
    static let prefixBytes = 64

    /// Bytes (or a gap's size) seen while undecided, in order, with their direction. `cut`: the gap is bytes the
    /// snap length cut (see `didSkip`).
    struct Held {
        var time: Timestamp
        var bytes: [UInt8]
        var gap: Int64
        var direction: Direction = .up
        var cut = false
    }

    @exclusivity(unchecked) var parser: Parser = .undecided
    @exclusivity(unchecked) var held: [Held] = []
    @exclusivity(unchecked) var heldBytes = 0
    /// Each direction's first bytes while undecided (up to `prefixBytes`), and whether more may still
    /// be joined to them (no gap yet, not full).
    @exclusivity(unchecked) var prefix: (up: [UInt8], down: [UInt8]) = ([], [])
    @exclusivity(unchecked) var prefixOpen: (up: Bool, down: Bool) = (true, true)
    /// HTTP with the roles the other way round: requests travel down, responses up.
    @exclusivity(unchecked) var httpReversed = false
    /// Bytes seen while undecided, up and down (inline: no allocation per connection).
    @exclusivity(unchecked) var undecidedBytes: (up: Int64, down: Int64) = (0, 0)
    @exclusivity(unchecked) var exchanges: [Exchange] = []
    @exclusivity(unchecked) var details: ProtocolDetails?
    @exclusivity(unchecked) var sawPayload = false
    @exclusivity(unchecked) var midstream: Bool
    /// Times of the first and last stream bytes delivered, and the longest stretch between two
    /// deliveries: every delivery comes with a packet of the connection, so these bound the
    /// connection's quiet stretches from above (read by `ParallelCaptureRun`).
    @exclusivity(unchecked) var firstDelivery: Timestamp?
    @exclusivity(unchecked) var lastDelivery: Timestamp?
    @exclusivity(unchecked) var longestBetweenDeliveries: Int64 = 0
    /// The traffic inside a `CONNECT` tunnel, once one began.
    @exclusivity(unchecked) var tunnel: ApplicationState?
    /// Which directions go to `tunnel` now (each from its first byte after the `CONNECT` exchange).
    @exclusivity(unchecked) var tunnelled: (up: Bool, down: Bool) = (false, false)
    /// When the tunnel's first byte went by.
    @exclusivity(unchecked) var tunnelStart: Timestamp = .zero
    /// The input file of the connection's first stream bytes (where per-file counts of it go).
    @exclusivity(unchecked) var fileIndex = 0
    /// False for the state inside a tunnel: a tunnel there is counted, not followed.
    let followsTunnels: Bool
    /// The connection's first bytes are a 2xx answer with nothing from the client before it (its request
    /// was not captured): held undecided until the next bytes tell a tunnel (TLS) from plain HTTP.
    @exclusivity(unchecked) var awaitingLostConnect = false
    /// The tunnel's `CONNECT` was not captured (a 2xx with no request, then TLS): its target is unknown.
    @exclusivity(unchecked) var lostConnect = false
    /// Bytes of the server side missing after a `CONNECT` while the client side had gone into the tunnel:
    /// the answer may have been lost, so TLS records there start the tunnel's server side.
    @exclusivity(unchecked) var downLostBeforeTunnel = false
    /// While no payload byte of the connection was captured: its missing bytes in turns, client then server,
    /// by size and time. A header-only capture (the snap length cut every segment to its headers) leaves
    /// nothing to detect a protocol by; these become its exchanges (`finish(into:)`), so a push connection's
    /// bursts are still told apart by their times.
    @exclusivity(unchecked) var cutTurns: [Exchange] = []
    /// The client's first bytes were the start of a `CONNECT` the snap length cut before any parser could be
    /// decided on them (`shortConnectCut(_:)`): the connection is then one whose `CONNECT` head was cut
    /// (`ConnectionRecord.connectCut`), as one the request parser saw cut past its method is.
    @exclusivity(unchecked) var connectCutShort = false

    init(keepDetails: Bool, midstream: Bool, followsTunnels: Bool = true) {
        details = keepDetails ? ProtocolDetails() : nil
        self.midstream = midstream
        self.followsTunnels = followsTunnels
    }

    /// A copy to finish in this one's place (a provisional record of a connection still open, see
    /// `TrafficAnalyzer.soFar`): every stored property copied, the parsers into boxes of their own and the
    /// tunnel's state copied the same way, so finishing or feeding the copy leaves this one as it was. The
    /// conversations are values (their exchanges copy on write), so the copy costs a few references until
    /// either side changes.
    func copy() -> ApplicationState {
        let c = ApplicationState(keepDetails: false, midstream: midstream, followsTunnels: followsTunnels)
        switch parser {
        case .undecided: c.parser = .undecided
        case .http(let box): c.parser = .http(Box(box.value))
        case .tls(let box): c.parser = .tls(Box(box.value))
        case .other: c.parser = .other
        }
        c.held = held
        c.heldBytes = heldBytes
        c.prefix = prefix
        c.prefixOpen = prefixOpen
        c.connectCutShort = connectCutShort
        c.httpReversed = httpReversed
        c.undecidedBytes = undecidedBytes
        c.exchanges = exchanges
        c.details = details
        c.sawPayload = sawPayload
        c.firstDelivery = firstDelivery
        c.lastDelivery = lastDelivery
        c.longestBetweenDeliveries = longestBetweenDeliveries
        c.tunnel = tunnel?.copy()
        c.tunnelled = tunnelled
        c.tunnelStart = tunnelStart
        c.fileIndex = fileIndex
        c.awaitingLostConnect = awaitingLostConnect
        c.lostConnect = lostConnect
        c.downLostBeforeTunnel = downLostBeforeTunnel
        c.cutTurns = cutTurns
        return c
    }

    var application: ApplicationProtocol {
        switch parser {
        case .undecided, .other: return sawPayload ? .other : .none
        case .http: return .http
        case .tls(let t): return t.value.isNotTLS ? .other : .tls
        }
    }

    func didReceive(_ data: UnsafeRawBufferPointer, direction: Direction, time: Timestamp) {
        if let last = lastDelivery {
            longestBetweenDeliveries = max(longestBetweenDeliveries, time.nanoseconds(since: last))
        } else {
            firstDelivery = time
        }
        lastDelivery = time
        guard !data.isEmpty else { return }
        // Bytes were captured: the turns of missing bytes so far will not be used (see `finish(into:)`).
        if !sawPayload, !cutTurns.isEmpty { cutTurns = [] }
        sawPayload = true
        switch parser {
        case .undecided:
            if awaitingLostConnect {
                resolveLostConnect(tunnelFollows: TLSStreamParser.looksLikeTLS(data))
                didReceive(data, direction: direction, time: time)
                return
            }
            decide(data, direction: direction)
            if direction == .down, mayAnswerLostConnect(data) {
                parser = .undecided
                awaitingLostConnect = true
                hold(data, direction: direction, time: time)
                return
            }
            if case .undecided = parser {
                hold(data, direction: direction, time: time)
                if decideOnJoinedPrefix(adding: data, direction: direction) {
                    replayHeld()
                    return
                }
                if direction == .up { undecidedBytes.up += Int64(data.count) }
                else { undecidedBytes.down += Int64(data.count) }
                let limit = ApplicationState.undecidedLimit
                let thisWay = direction == .up ? undecidedBytes.up : undecidedBytes.down
                if (undecidedBytes.up >= limit && undecidedBytes.down >= limit) || thisWay >= limit * 4 {
                    parser = .other
                    releaseUndecided()
                }
                return
            }
            if direction == .down { replayHeldRequests() }
            releaseUndecided()
            didReceive(data, direction: direction, time: time)
        case .http(let http):
            if direction == .up ? tunnelled.up : tunnelled.down, let inner = tunnel {
                inner.didReceive(data, direction: direction, time: time)
                return
            }
            if direction == .down, downLostBeforeTunnel, tunnelled.up, let inner = tunnel,
               TLSStreamParser.looksLikeTLS(data) {
                // The answer to the `CONNECT` was lost and TLS records follow: the server side of the tunnel.
                tunnelled.down = true
                details?.anomalies.append("down: answer to the CONNECT not captured; TLS records followed "
                    + "(read as the tunnel's server side)")
                inner.didReceive(data, direction: direction, time: time)
                return
            }
            http.value.feed(
                data, direction: httpReversed ? direction.reversed : direction, time: time, into: &exchanges)
            if http.value.tunnelStarted { followTunnel(http, fed: direction, data: data, gap: 0, time: time) }
        case .tls(let tls):
            tls.value.feed(data, direction: direction, time: time, into: &exchanges)
        case .other:
            if direction == .up, TLSStreamParser.looksLikeTLS(data) {
                parser = .tls(Box(TLSConversation(midstream: false, keepsHellos: details != nil)))
                didReceive(data, direction: direction, time: time)
            }
        }
    }

    /// `cutBySnapLength`: the bytes are the end of a segment the snap length cut (`StreamDelegate.didSkip`); HTTP
    /// keeps the start line of a head they cut (`HTTP1Parser.skip`).
    func didSkip(_ gapBytes: Int64, direction: Direction, time: Timestamp, cutBySnapLength: Bool = false) {
        switch parser {
        case .undecided:
            if !held.isEmpty { holdGap(gapBytes, direction: direction, time: time, cut: cutBySnapLength) }
            if cutBySnapLength, direction == .up, prefixOpen.up, followsTunnels, Self.shortConnectCut(prefix.up) {
                connectCutShort = true
                let cut = HTTP1Anomaly.connectCut
                details?.anomalies.append("up: \(cut.code) (\(cut.description))")
            }
            // The bytes after a gap do not continue the direction's first bytes.
            if direction == .up { prefixOpen.up = false } else { prefixOpen.down = false }
            if !sawPayload { addCutTurn(gapBytes, direction: direction, time: time) }
        case .other:
            break
        case .http(let http):
            if direction == .up ? tunnelled.up : tunnelled.down, let inner = tunnel {
                inner.didSkip(gapBytes, direction: direction, time: time)
                return
            }
            if direction == .down { downLostBeforeTunnel = true }
            http.value.skip(
                gapBytes: gapBytes, direction: httpReversed ? direction.reversed : direction, time: time,
                cutBySnapLength: cutBySnapLength, into: &exchanges)
            if http.value.tunnelStarted { followTunnel(http, fed: direction, data: nil, gap: gapBytes, time: time) }
        case .tls(let tls):
            tls.value.skip(gapBytes: Int(clamping: gapBytes), direction: direction, time: time, into: &exchanges)
        }
    }

    /// The next bytes of the other direction were sent after `bytes` of `direction` not delivered yet (see
    /// `StreamDelegate.didAcknowledgeAhead`). TLS places its late bytes by it (`TLSConversation`); HTTP pairs
    /// a response with its request by the messages' order, which late bytes do not change, so it needs none.
    func didAcknowledgeAhead(_ bytes: Int64, direction: Direction) {
        switch parser {
        case .tls(let tls):
            tls.value.acknowledgedAhead(bytes, of: direction)
        case .http:
            // Inside a tunnel both ways, the bytes not delivered yet are the tunnel's.
            if tunnelled.up, tunnelled.down, let inner = tunnel {
                inner.didAcknowledgeAhead(bytes, direction: direction)
            }
        case .undecided, .other:
            break
        }
    }

    private func decide(_ data: UnsafeRawBufferPointer, direction: Direction) {
        if TLSStreamParser.looksLikeTLS(data) {
            parser = .tls(Box(TLSConversation(midstream: midstream, keepsHellos: details != nil)))
        } else if direction == .up ? HTTP1Parser.looksLikeRequest(data) : HTTP1Parser.looksLikeResponse(data) {
            parser = .http(Box(HTTP1Conversation(recordsMessages: details != nil)))
        } else if direction == .down ? HTTP1Parser.looksLikeRequest(data) : HTTP1Parser.looksLikeResponse(data) {
            parser = .http(Box(HTTP1Conversation(recordsMessages: details != nil)))
            httpReversed = true
        }
    }

    /// Whether `data`, the server side's first bytes, is a 2xx status line that no client byte came before
    /// (only a gap, or nothing yet): the answer to a request that was not captured, on a connection seen
    /// from its start. On a connection to a proxy it may answer a lost `CONNECT`.
    private func mayAnswerLostConnect(_ data: UnsafeRawBufferPointer) -> Bool {
        guard case .http = parser, followsTunnels, !midstream, !httpReversed, undecidedBytes.up == 0,
              !held.contains(where: { $0.direction == .up && !$0.bytes.isEmpty }), data.count >= 10
        else { return false }
        // `HTTP/1.x 2`: `decide` read the version already.
        return data[8] == UInt8(ascii: " ") && data[9] == UInt8(ascii: "2")
    }

    /// The bytes after a 2xx that answered a request not captured decide what it answered: TLS (either
    /// side) is a tunnel whose `CONNECT` was lost, anything else plain HTTP. For the tunnel a stand-in
    /// `CONNECT` goes to the request parser first, so the held 2xx opens the tunnel as it would have;
    /// the client side's gap held before its first bytes is the lost request, not tunnel bytes.
    private func resolveLostConnect(tunnelFollows: Bool) {
        awaitingLostConnect = false
        let conversation = Box(HTTP1Conversation(recordsMessages: details != nil))
        parser = .http(conversation)
        if tunnelFollows {
            lostConnect = true
            held.removeAll { $0.direction == .up && $0.bytes.isEmpty }
            let time = held.first?.time ?? .zero
            Array(Self.lostConnectRequest.utf8).withUnsafeBytes {
                conversation.value.feed($0, direction: .up, time: time, into: &exchanges)
            }
        }
        replayHeld()
    }

    /// The stand-in for a `CONNECT` that was not captured (its target is named at `finish`).
    static let lostConnectRequest = "CONNECT - HTTP/1.1\r\n\r\n"

    /// Whether `first`, a client's first bytes that the snap length cut, are 3 to 8 bytes of `CONNECT ` (case as
    /// written: methods are case-sensitive): too few for detection, which wants a method, a space and a target,
    /// yet no other registered method starts with `CON`. Fewer bytes name nothing (`C`, `CO` may begin `COPY`),
    /// and no byte at all (headers only) leaves the connection as any other on its port.
    static func shortConnectCut(_ first: [UInt8]) -> Bool {
        first.count >= 3 && Self.connectStart.starts(with: first)
    }

    static let connectStart = Array("CONNECT ".utf8)

    /// A pause longer than this (as `TLSLimits.answerPause`) before a direction's missing bytes starts a turn.
    static let cutTurnPause: Int64 = 60 * 1_000_000_000

    /// Adds `bytes` missing from `direction` to `cutTurns`: client bytes after the server's, or either after a
    /// pause of `cutTurnPause`, start a new turn; server bytes join the open one.
    private func addCutTurn(_ bytes: Int64, direction: Direction, time: Timestamp) {
        if let open = cutTurns.last, time.nanoseconds(since: open.end) <= Self.cutTurnPause,
           direction == .down || open.responseStart == nil {
            let i = cutTurns.count - 1
            if direction == .down, open.responseStart == nil { cutTurns[i].responseStart = time }
            cutTurns[i].end = max(open.end, time)
            cutTurns[i].missingBytes += bytes
            return
        }
        var turn = Exchange(index: cutTurns.count, kind: .other, start: time, end: time)
        if direction == .down { turn.responseStart = time }
        turn.missingBytes = bytes
        cutTurns.append(turn)
    }

    /// Keeps a copy of undecided bytes, up to `holdLimit` for both directions together; the rest is
    /// kept as a gap size.
    private func hold(_ data: UnsafeRawBufferPointer, direction: Direction, time: Timestamp) {
        let room = max(0, ApplicationState.holdLimit - heldBytes)
        let kept = min(room, data.count)
        if kept > 0 {
            held.append(Held(time: time, bytes: Array(data[0..<kept]), gap: 0, direction: direction))
            heldBytes += kept
        }
        if data.count - kept > 0 { holdGap(Int64(data.count - kept), direction: direction, time: time) }
    }

    /// Notes `bytes` missing (or past `holdLimit`) while undecided; consecutive ones of a direction make one
    /// entry, so a stream of tiny segments past the limit does not grow the list.
    /// `cut`: the bytes are the end of a segment the snap length cut; joined to a gap before them, they are not.
    private func holdGap(_ bytes: Int64, direction: Direction, time: Timestamp, cut: Bool = false) {
        if let last = held.last, last.bytes.isEmpty, last.direction == direction {
            held[held.count - 1].gap += bytes
            held[held.count - 1].cut = false
        } else {
            held.append(Held(time: time, bytes: [], gap: bytes, direction: direction, cut: cut))
        }
    }

    /// Joins `data` to the direction's first bytes and tests them as `decide` tests a chunk; true when
    /// that decided the parser. Only while the first bytes run unbroken from the direction's first
    /// chunk (no gap) and hold more than this chunk alone (a chunk alone was tested already).
    private func decideOnJoinedPrefix(adding data: UnsafeRawBufferPointer, direction: Direction) -> Bool {
        let open = direction == .up ? prefixOpen.up : prefixOpen.down
        guard open else { return false }
        var joined = direction == .up ? prefix.up : prefix.down
        let earlier = joined.count
        joined.append(contentsOf: data.prefix(ApplicationState.prefixBytes - earlier))
        if direction == .up { prefix.up = joined } else { prefix.down = joined }
        if joined.count >= ApplicationState.prefixBytes {
            if direction == .up { prefixOpen.up = false } else { prefixOpen.down = false }
        }
        guard earlier > 0, joined.count > earlier else { return false }
        joined.withUnsafeBytes { decide($0, direction: direction) }
        if case .undecided = parser { return false }
        return true
    }

    /// The parser was just decided on a direction's joined first bytes: every chunk held while
    /// undecided (both directions, in order) goes to it.
    private func replayHeld() {
        let chunks = held
        releaseUndecided()
        for chunk in chunks {
            if chunk.gap > 0 {
                didSkip(chunk.gap, direction: chunk.direction, time: chunk.time, cutBySnapLength: chunk.cut)
            } else {
                chunk.bytes.withUnsafeBytes { didReceive($0, direction: chunk.direction, time: chunk.time) }
            }
        }
    }

    /// What detection kept is no longer needed.
    private func releaseUndecided() {
        held.removeAll()
        heldBytes = 0
        prefix = ([], [])
    }

    /// HTTP was decided by the server's side: the client bytes held before are replayed to the
    /// request parser when they start like a request (any method token); otherwise they are
    /// left out, as bytes of a message whose start was not captured.
    private func replayHeldRequests() {
        let requests = held.filter { $0.direction == .up }
        guard !httpReversed, let first = requests.first, !first.bytes.isEmpty else { return }
        guard first.bytes.withUnsafeBytes({ HTTP1Parser.mayStartRequest($0) }) else { return }
        releaseUndecided()
        for chunk in requests {
            if chunk.gap > 0 {
                didSkip(chunk.gap, direction: .up, time: chunk.time, cutBySnapLength: chunk.cut)
            } else {
                chunk.bytes.withUnsafeBytes { didReceive($0, direction: .up, time: chunk.time) }
            }
        }
    }

    /// HTTP switched protocols on a direction: after a `CONNECT`, that direction's bytes from the
    /// switch on go to the tunnel's state. They are the bytes the parser held when it switched
    /// (`HTTP1Parser.tunnelLead`, from earlier chunks too), then the end of the chunk just fed
    /// (`data`; a gap's size when `data` is nil) that the parser counted as tunnel bytes.
    private func followTunnel(
        _ http: Box<HTTP1Conversation>, fed: Direction, data: UnsafeRawBufferPointer?, gap: Int64, time: Timestamp
    ) {
        guard followsTunnels, !httpReversed, http.value.connectTarget != nil else { return }
        for d in Direction.allCases where !(d == .up ? tunnelled.up : tunnelled.down) {
            let switched = d == .up ? http.value.requestParser.isTunnel : http.value.responseParser.isTunnel
            guard switched else { continue }
            if d == .up { tunnelled.up = true } else { tunnelled.down = true }
            let parser = d == .up ? http.value.requestParser : http.value.responseParser
            let lead = parser.tunnelLead
            // Bytes sent before the answer (held since the `CONNECT`) keep the time they went by.
            let leadTime = lead.isEmpty ? time : min(time, parser.tunnelLeadTime)
            let inner: ApplicationState
            if let existing = tunnel {
                inner = existing
            } else {
                inner = ApplicationState(keepDetails: details != nil, midstream: false, followsTunnels: false)
                tunnel = inner
                tunnelStart = leadTime
            }
            let counted = parser.statistics.tunnelBytes
            if !lead.isEmpty { lead.withUnsafeBytes { inner.didReceive($0, direction: d, time: leadTime) } }
            let rest = counted - Int64(lead.count)
            guard d == fed, rest > 0 else { continue }
            if let data {
                let n = min(Int(clamping: rest), data.count)
                inner.didReceive(UnsafeRawBufferPointer(rebasing: data[(data.count - n)...]), direction: d, time: time)
            } else {
                inner.didSkip(min(rest, gap), direction: d, time: time)
            }
        }
    }

    /// Fills `record` from the tunnel's state: its application, TLS summary and exchanges, as for a
    /// direct connection; the `CONNECT` exchanges (`exchanges` here) go to `record.tunnel.setUp`.
    private func finishTunnel(_ inner: ApplicationState, target: String, into record: inout ConnectionRecord) {
        var innerRecord = record
        innerRecord.tls = nil
        innerRecord.exchanges = []
        inner.finish(into: &innerRecord)
        record.application = innerRecord.application == .none ? .http : innerRecord.application
        record.tls = innerRecord.tls
        record.exchanges = innerRecord.exchanges
        record.foldedExchanges = innerRecord.foldedExchanges
        var target = target
        if lostConnect {
            // The `CONNECT` was not captured: the target is the name the ClientHello asked for, on the HTTPS
            // port (a check-in's port through a proxy); none without one. Its bytes count as missing only.
            target = innerRecord.tls?.serverName.map { "\($0):443" } ?? ""
            if !exchanges.isEmpty {
                exchanges[0].bytesUp = 0
                exchanges[0].http?.target = target.isEmpty ? "-" : target
            }
            details?.anomalies.append("up: CONNECT not captured (a 2xx answered no request, TLS followed): "
                + (target.isEmpty ? "tunnel target unknown (no SNI)" : "tunnel target taken from the SNI: \(target)"))
        }
        record.tunnel = ConnectionTunnel(target: target, start: tunnelStart, setUp: exchanges)
        if let tunnel = record.tunnel, tunnel.hostIsNonDecimalNumber {
            // `012.1.0.11` (octal to inet_aton: 10.1.0.11), `0x0a.1.0.11`, `10.1.11`: no address to read
            // safely, nor a host name; the connection stays one to the proxy, as for a name not tied.
            details?.anomalies.append("up: CONNECT target host \"\(tunnel.host)\" is a numeric form other than "
                + "dotted decimal (leading zeros, hex or fewer parts, which resolvers read differently): not taken "
                + "as an address")
        }
        if record.tunnel?.port == nil, !lostConnect {
            details?.anomalies.append(
                "up: CONNECT target without a usable port: \(target) (judged as a connection to the proxy)")
        }
        if let innerDetails = inner.details {
            details?.httpMessages += innerDetails.httpMessages
            details?.tlsHellos += innerDetails.tlsHellos
            details?.anomalies += innerDetails.anomalies.map { "tunnel " + $0 }
        }
    }

    /// The connection's last exchange, when it is a `CONNECT` the proxy answered with a final status other
    /// than 2xx (no tunnel followed, nothing else was asked after it): named as a `.refused` tunnel (its
    /// set-up every exchange), so that the heartbeat layer can judge the connection as a refused connect to
    /// the target. Nil otherwise.
    static func refusedConnect(_ exchanges: [Exchange]) -> ConnectionTunnel? {
        guard let last = exchanges.last, let http = last.http, http.method.utf8.count == 7,
              http.method.uppercased() == "CONNECT", let status = http.status, !(200..<300).contains(status),
              var t = ConnectionTunnel(target: http.target, start: last.responseStart ?? last.end, setUp: exchanges)
        else { return nil }
        t.kind = .refused
        return t
    }

    /// Ends both directions, and fills `record` with what the parsers found.
    func finish(into record: inout ConnectionRecord) {
        let time = record.end
        if awaitingLostConnect { resolveLostConnect(tunnelFollows: false) }
        switch parser {
        case .undecided, .other:
            // Only sizes and times, and only when the snap length cut the packets: bytes lost otherwise (holes
            // of a capture that missed packets) are no turns of a conversation seen.
            if !sawPayload, record.cutBySnapLength { exchanges = cutTurns }
        case .http(let box):
            // Finished in place: a copy of the conversation would copy its arrays on write.
            box.value.finish(time: time, into: &exchanges)
            record.foldedExchanges = box.value.foldedExchanges
            if httpReversed {
                for i in exchanges.indices {
                    (exchanges[i].bytesUp, exchanges[i].bytesDown) = (exchanges[i].bytesDown, exchanges[i].bytesUp)
                }
            }
            if details != nil {
                let flip = httpReversed
                var messages = box.value.takeMessageRecords()
                if lostConnect, let i = messages.firstIndex(where: { $0.direction == .up }) {
                    messages.remove(at: i)  // the stand-in for the `CONNECT` not captured
                }
                details?.httpMessages = messages.map { m in
                    var m = m
                    if flip { m.direction = m.direction.reversed }
                    return m
                }
                if flip { details?.anomalies.append("down: requests sent by the server side (HTTP roles reversed)") }
                // Code, then words, as TLS anomalies are shown: `up: request_in_tunnel (request pipelined ...)`.
                details?.anomalies += box.value.takeAnomalies().map {
                    "\(flip ? $0.direction.reversed : $0.direction): \($0.anomaly.code) (\($0.anomaly.description))"
                }
            }
            record.connectCut = box.value.connectCut
            if let inner = tunnel, let target = box.value.connectTarget {
                finishTunnel(inner, target: target, into: &record)
                return
            }
            // Plain HTTP to a forward proxy: the first absolute-form request names the server (port 80
            // when it names none, as `http://` means). A port it names that is not usable (99999, 0) is no
            // port 80: the target has no usable port, as a `CONNECT` to it, and the proxy is judged.
            if !httpReversed, let forward = box.value.forwardTarget,
               var t = ConnectionTunnel(target: forward.authority, start: forward.start) {
                t.kind = .forward
                let afterHost = forward.authority.lastIndex(of: "]").map { forward.authority[$0...] }
                    ?? forward.authority[...]
                if t.port == nil {
                    if afterHost.contains(":") {
                        details?.anomalies.append("up: absolute-form request target without a usable port: "
                            + "\(forward.authority) (judged as a connection to the proxy)")
                    } else {
                        t.port = 80
                    }
                }
                record.tunnel = t
                if t.hostIsNonDecimalNumber {
                    details?.anomalies.append("up: absolute-form request host \"\(t.host)\" is a numeric form other "
                        + "than dotted decimal (leading zeros, hex or fewer parts, which resolvers read "
                        + "differently): not taken as an address")
                }
            } else if !httpReversed, let refused = Self.refusedConnect(exchanges) {
                record.tunnel = refused
            }
        case .tls(let box):
            box.value.finish(time: time, into: &exchanges)
            // Read in place: a copy of the conversation retains every array and text it holds.
            record.tls = box.value.summary
            if details != nil {
                let tls = box.value
                details?.tlsHellos = tls.hellos
                details?.anomalies += tls.anomalies.map { "\($0.direction): \($0.anomaly.text)" }
                // Why a connection whose other side spoke TLS is `other` (its TLS is still reported).
                for (direction, parser) in [(Direction.up, tls.client), (.down, tls.server)]
                where parser.stopReason == .notTLS {
                    details?.anomalies.append("\(direction): first bytes are not TLS (the connection counts as other)")
                }
            }
        }
        // Whichever parser the later bytes decided (the proxy's cut `HTTP/1.1`, or the tunnel's TLS records cut to
        // their first bytes): the connection's `CONNECT` was cut all the same.
        if connectCutShort { record.connectCut = true }
        record.application = application
        record.exchanges = exchanges
    }
}
