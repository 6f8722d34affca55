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
    public internal(set) var client: TLSStreamParser
    public internal(set) var server: TLSStreamParser
    public internal(set) var summary = TLSSummary()
    /// ClientHello/ServerHello rows in stream order (the order they were completed); always empty when
    /// made with `keepsHellos` false.
    public internal(set) var hellos: [TLSHelloRow] = []
    /// Whether `hellos` is filled (rows are wanted by `flows --tls` and the oracle tests only; leaving them
    /// out spares an array and its growth per connection).
    let keepsHellos: Bool
    /// Hellos seen (kept in `hellos` or not).
    var helloCount = 0
    /// The first `maxKeptAnomalies` anomalies; `anomalyCount` counts all.
    public internal(set) var anomalies: [TLSDirectedAnomaly] = []
    public internal(set) var anomalyCount = 0
    /// Heartbeat records each way (clear or encrypted); a burst of them is worth a look.
    public internal(set) var heartbeatRecordsUp = 0
    public internal(set) var heartbeatRecordsDown = 0
    /// Application-data records treated as TLS 1.3 handshake by the rule above.
    public internal(set) var handshakeRecordsInApplicationData = 0
    /// Exchanges handed out so far.
    public internal(set) var exchangeCount = 0

    public static let maxKeptAnomalies = 64

    var scratch: [TLSEvent] = []
    var current: Exchange?
    var pendingMissing: Int64 = 0
    var clientFinishedSeen = false
    /// A client gap came after the open exchange's answer: the next server record starts a new exchange.
    var clientGapAfterAnswer = false
    /// The first framed record of either direction was looked at (see `feed`).
    var midstreamChecked = false
    /// `TLSLimits.answerPause`.
    let answerPause: Int64
    /// Exchanges waiting for the server bytes sent before a later request (see "Server bytes acknowledged
    /// before the capture showed them"), in order; empty on the ordinary path, which then costs one test.
    var waiting: [WaitingExchange] = []
    /// The server's stream offset the client had acknowledged when it sent the bytes fed next, when that ran
    /// ahead of the server bytes fed (else it lags, unused).
    var serverAcknowledged: Int64 = 0
    /// The highest such offset that already ended an exchange, or that the open exchange's request followed:
    /// a client record ends the open exchange only on an acknowledgement beyond it.
    var splitAcknowledged: Int64 = 0
    /// TLS 1.3: the server's stream offset the client acknowledged before its Finished, when the server's
    /// flight had not been fed yet: application-data records before it are that flight's handshake.
    var serverFlightEnd: Int64 = 0
    /// The server bytes being handled lie before `serverFlightEnd`.
    var inLateServerFlight = false
    /// TLS 1.3 offered, and the client's first application-data record sent after server bytes not fed yet,
    /// the ServerHello among them maybe: its length and that mark. Once a late ServerHello chooses 1.3, the
    /// record was the client's Finished, not a request, and the server records before the mark its flight.
    var clientFirstRecord: (length: Int64, mark: Int64)?
    /// When the second client record of the first exchange began (its start once the first is taken back).
    var firstExchangeSecondStart: Timestamp?
    /// The client's stream offset the server had acknowledged when it sent the bytes fed next, when that ran
    /// ahead of the client bytes fed (see "Client bytes acknowledged before the capture showed them").
    var clientAcknowledged: Int64 = 0
    /// Server application data sent after client bytes not fed yet, in order: each the answer to the request
    /// those hold, placed once the client's stream reaches its mark; empty on the ordinary path.
    var earlyAnswers: [EarlyAnswer] = []

    /// Server application data captured before the request it answers (see `earlyAnswers`).
    struct EarlyAnswer: Sendable {
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
    struct WaitingExchange: Sendable {
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
}
