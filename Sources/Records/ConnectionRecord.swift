import Core

/// Which way bytes travelled on a connection.
public enum Direction: UInt8, Hashable, Sendable, CaseIterable {
    /// From the client (the SYN sender, or the side judged to be the client) to the server.
    case up
    /// From the server to the client.
    case down

    public var reversed: Direction { self == .up ? .down : .up }
}

/// How a connection's TCP handshake went, as far as the capture shows.
public enum HandshakeOutcome: String, Hashable, Sendable {
    /// SYN, SYN-ACK and data or ACK from the client: the connection was set up.
    case established
    /// The client's SYN was answered by a RST (port closed or refused).
    case refused
    /// SYN(s) were sent and nothing came back before the capture or the connection ended.
    case unanswered
    /// The capture holds no SYN for this connection: it was already open when capture started.
    case midstream
}

/// The TCP control flags and states seen on one connection, as an option set.
public struct ConnectionState: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    // The named states are inlinable computed constants, so other modules test the bits directly
    // instead of calling an accessor of this module per packet.

    /// The client sent a SYN.
    @inlinable public static var syn: ConnectionState { ConnectionState(rawValue: 1 << 0) }
    /// The server answered with a SYN-ACK.
    @inlinable public static var synAck: ConnectionState { ConnectionState(rawValue: 1 << 1) }
    /// The client sent a FIN.
    @inlinable public static var finFromClient: ConnectionState { ConnectionState(rawValue: 1 << 2) }
    /// The server sent a FIN.
    @inlinable public static var finFromServer: ConnectionState { ConnectionState(rawValue: 1 << 3) }
    /// The client sent a RST.
    @inlinable public static var rstFromClient: ConnectionState { ConnectionState(rawValue: 1 << 4) }
    /// The server sent a RST.
    @inlinable public static var rstFromServer: ConnectionState { ConnectionState(rawValue: 1 << 5) }
    /// No SYN seen: picked up mid-connection.
    @inlinable public static var midstream: ConnectionState { ConnectionState(rawValue: 1 << 6) }
    /// Still open when the capture ended (or when flushed for idleness).
    @inlinable public static var openAtEnd: ConnectionState { ConnectionState(rawValue: 1 << 7) }
    /// Emitted early because the connection table was full (`StreamLimits.maxConnections`).
    /// Not by itself a loss of data: held bytes released as a gap then are counted in
    /// `StreamAnomalies.limitReached` of their direction; later packets of the connection
    /// start a new, midstream record.
    @inlinable public static var evicted: ConnectionState { ConnectionState(rawValue: 1 << 8) }

    /// Short words for people: `SYN SYN-ACK FIN RST midstream`.
    public var words: [String] {
        var w: [String] = []
        if contains(.syn) { w.append("SYN") }
        if contains(.synAck) { w.append("SYN-ACK") }
        if contains(.finFromClient) || contains(.finFromServer) { w.append("FIN") }
        if contains(.rstFromClient) || contains(.rstFromServer) { w.append("RST") }
        if contains(.midstream) { w.append("midstream") }
        if contains(.openAtEnd) { w.append("open") }
        if contains(.evicted) { w.append("evicted") }
        return w
    }
}

/// What the traffic layer noticed on a connection that a careful reader should know.
///
/// Counters only grow. They are reported, never used to drop data.
public struct StreamAnomalies: Hashable, Sendable {
    // Stored as 32-bit counters (saturating), 40 bytes instead of 72: two of these sit in every
    // record and every tracked connection.
    private var counts = InlineArray<8, UInt32>(repeating: 0)
    private var storedGapBytes: Int64 = 0

    /// Holes in the byte stream (lost or not captured segments), and their total size in bytes. Bytes the snap
    /// length cut from captured packets are not holes (`truncatedPackets` counts those packets).
    public var gaps: Int { get { Int(counts[0]) } set { counts[0] = UInt32(clamping: newValue) } }
    public var gapBytes: Int64 { get { storedGapBytes } set { storedGapBytes = newValue } }
    /// Segments that repeated bytes already seen (retransmissions, overlaps).
    public var retransmissions: Int { get { Int(counts[1]) } set { counts[1] = UInt32(clamping: newValue) } }
    /// Payload bytes that repeated bytes already seen: retransmitted or overlapping (`retransmissions`)
    /// or in exact duplicate packets (`duplicates`). The record's byte counts include them (bytes on
    /// the wire); the stream, and so the exchanges, holds each byte once.
    /// Saturates at 4 GiB a direction.
    public var repeatedBytes: Int64 { get { Int64(counts[7]) } set { counts[7] = UInt32(clamping: newValue) } }
    /// Retransmitted bytes that differed from the first copy (first copy wins).
    public var conflicts: Int { get { Int(counts[2]) } set { counts[2] = UInt32(clamping: newValue) } }
    /// Exact duplicate packets (SPAN port copies), counted and dropped.
    public var duplicates: Int { get { Int(counts[3]) } set { counts[3] = UInt32(clamping: newValue) } }
    /// Segments that arrived ahead of a hole and were held until it filled.
    public var outOfOrder: Int { get { Int(counts[4]) } set { counts[4] = UInt32(clamping: newValue) } }
    /// Packets cut short by the capture's snap length.
    public var truncatedPackets: Int { get { Int(counts[5]) } set { counts[5] = UInt32(clamping: newValue) } }
    /// A per-connection or global memory bound was reached and buffered data was skipped
    /// (released as a gap early); also when an evicted connection's held data became a gap.
    /// Never counted for an eviction that lost nothing (see `ConnectionState.evicted`).
    public var limitReached: Int { get { Int(counts[6]) } set { counts[6] = UInt32(clamping: newValue) } }

    public init() {}

    public static func == (a: StreamAnomalies, b: StreamAnomalies) -> Bool {
        guard a.storedGapBytes == b.storedGapBytes else { return false }
        for i in a.counts.indices where a.counts[i] != b.counts[i] { return false }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storedGapBytes)
        for i in counts.indices { hasher.combine(counts[i]) }
    }

    /// Tested in place (made for every connection's record): no empty value made to compare with.
    public var isEmpty: Bool {
        guard storedGapBytes == 0 else { return false }
        for i in counts.indices where counts[i] != 0 { return false }
        return true
    }

    /// Adds `other`'s counts to these (as two pieces of one connection add up; counters saturate).
    public mutating func add(_ other: StreamAnomalies) {
        storedGapBytes += other.storedGapBytes
        for i in counts.indices { counts[i] = UInt32(clamping: Int(counts[i]) + Int(other.counts[i])) }
    }
}

/// The application protocol recognised on a connection's reassembled bytes.
public enum ApplicationProtocol: String, Hashable, Sendable {
    case http
    case tls
    /// Bytes were seen, but they were neither HTTP nor TLS.
    case other
    /// No payload was seen.
    case none
}

/// One TCP connection as the heartbeat layer sees it: endpoints, times, sizes,
/// handshake, and the exchanges carried on it.
///
/// Built from packets by `Analysis`, but could equally be built from a Zeek
/// `conn.log` line joined with `http.log`/`ssl.log`; nothing here refers to packets.
public struct ConnectionRecord: Hashable, Sendable {
    // Stored in an order that packs the small fields together, with the optional times as plain integers
    // (their presence in `flags`) and the stream anomalies, almost always empty, out of line: about 200
    // bytes a record instead of 304, for the same public fields. Equal records compare and hash equal.

    /// Unique within one run, in order of first packet.
    public var id: UInt64
    public var client: Endpoint
    public var server: Endpoint
    /// The VLAN tags of the client's packets (of all packets, unless `vlanDown` is set).
    public var vlan: VLANTags
    /// The VLAN tags of the server's packets, when they came under other tags than the client's (a capture
    /// that tags one direction only: both directions joined into one connection); nil otherwise.
    public var vlanDown: VLANTags?
    public var state: ConnectionState
    public var handshake: HandshakeOutcome
    public var application: ApplicationProtocol
    /// `vlanChanged` and which of the optional times are set (`Flag`).
    @usableFromInline var flags: UInt8 = 0
    /// First and last packet times.
    public var start: Timestamp
    public var end: Timestamp
    /// The optional times' nanoseconds, 0 when unset (so equal records store equal bits).
    @usableFromInline var synNanos: Int64 = 0
    @usableFromInline var synAckNanos: Int64 = 0
    @usableFromInline var closeNanos: Int64 = 0
    public var packetsUp: Int
    public var packetsDown: Int
    /// TCP payload bytes each way as the headers state them (`tcp.len`), retransmissions included.
    public var bytesUp: Int64
    public var bytesDown: Int64
    /// Number of SYNs the client sent (retries show as more than one).
    public var synCount: Int
    /// The TLS handshake summary, for TLS connections. Kept out of line (about 160 bytes that most
    /// records would otherwise carry empty).
    ///
    /// This getter, `tunnel`'s and the anomalies' are inlinable, so reading a field of a record in an array
    /// reads the box in place rather than passing the whole record to a call.
    public var tls: TLSSummary? {
        @inlinable get { tlsStorage?.value }
        set { tlsStorage = newValue.map(TLSSummaryBox.init) }
    }
    @usableFromInline var tlsStorage: TLSSummaryBox?
    /// Set when the connection went to an HTTP proxy and, after a `CONNECT` answered with 2xx, carried
    /// a tunnel: `server` is then the proxy as captured, and `application`, `tls` and `exchanges` describe
    /// the traffic inside the tunnel, as they would for a direct connection. Kept out of line, as `tls` is.
    public var tunnel: ConnectionTunnel? {
        @inlinable get { tunnelStorage?.value }
        set { tunnelStorage = newValue.map(ConnectionTunnelBox.init) }
    }
    @usableFromInline var tunnelStorage: ConnectionTunnelBox?
    /// Whether `tunnel` is set, told without copying the tunnel out of its box (asked of every record).
    @inlinable public var hasTunnel: Bool { tunnelStorage != nil }
    public var exchanges: [Exchange]
    /// Exchanges folded into the one before them to bound memory (`HTTP1Limits.foldExchangesAfter`): their
    /// bytes and times are in `exchanges`, their number only here.
    public var foldedExchanges = 0
    /// Both directions' anomalies when either has any; nil when both are empty (nearly every record).
    @usableFromInline var anomalyStorage: StreamAnomaliesPair?

    /// Bits of `flags`. Computed, not stored: another module reads a stored `static let` through a call to
    /// its addressor, and around that call the optimizer copied the whole record (every `synTime` read of an
    /// array's record retained and released each of its references).
    @usableFromInline enum Flag {
        @inlinable static var vlanChanged: UInt8 { 1 << 0 }
        @inlinable static var synTime: UInt8 { 1 << 1 }
        @inlinable static var synAckTime: UInt8 { 1 << 2 }
        @inlinable static var closeTime: UInt8 { 1 << 3 }
        @inlinable static var connectCut: UInt8 { 1 << 4 }
        @inlinable static var openedSimultaneously: UInt8 { 1 << 5 }
        @inlinable static var lateServerSyn: UInt8 { 1 << 6 }
        @inlinable static var totalsOnly: UInt8 { 1 << 7 }
    }

    /// Whether a direction's packets moved to other VLAN tags partway and went on there (a path or tagging
    /// change): the connection was kept whole; `vlan` and `vlanDown` hold each direction's first tags.
    @inlinable public var vlanChanged: Bool {
        get { flags & Flag.vlanChanged != 0 }
        set { flags = newValue ? flags | Flag.vlanChanged : flags & ~Flag.vlanChanged }
    }

    /// Whether both ends sent a SYN (a simultaneous open): one connection, its client the first SYN's sender.
    @inlinable public var openedSimultaneously: Bool {
        get { flags & Flag.openedSimultaneously != 0 }
        set { flags = newValue ? flags | Flag.openedSimultaneously : flags & ~Flag.openedSimultaneously }
    }

    /// Whether the end that answered the handshake (sent the SYN-ACK) later sent a SYN of its own while the
    /// connection was open: left out, so the connection kept its roles rather than a new one taking the server for
    /// a client.
    @inlinable public var lateServerSyn: Bool {
        get { flags & Flag.lateServerSyn != 0 }
        set { flags = newValue ? flags | Flag.lateServerSyn : flags & ~Flag.lateServerSyn }
    }

    /// Whether the record was made from a log that keeps the connection's totals but not its bytes and times
    /// within it (Zeek's conn.log, `ZeekLogs`): HTTP exchanges count their bodies only (http.log has no head
    /// sizes), a TLS connection's one exchange spans it with all its bytes, the handshake's included, and no
    /// exchange has a reply time. The heartbeat layer then judges neither steps 3-6 of an HTTPS check-in nor
    /// the idle minimum of a check-in's size.
    @inlinable public var totalsOnly: Bool {
        get { flags & Flag.totalsOnly != 0 }
        set { flags = newValue ? flags | Flag.totalsOnly : flags & ~Flag.totalsOnly }
    }

    /// Whether the snap length cut a `CONNECT` head of this connection to a proxy, which is then dropped: no
    /// tunnel is known (not even its target), so a check-in it carried is lost, and the heartbeat layer says so.
    @inlinable public var connectCut: Bool {
        get { flags & Flag.connectCut != 0 }
        set { flags = newValue ? flags | Flag.connectCut : flags & ~Flag.connectCut }
    }

    /// Time of the first SYN, of the SYN-ACK, and of the first RST/FIN, when seen.
    @inlinable public var synTime: Timestamp? {
        get { time(synNanos, Flag.synTime) }
        set {
            synNanos = newValue?.nanoseconds ?? 0
            flags = newValue == nil ? flags & ~Flag.synTime : flags | Flag.synTime
        }
    }
    @inlinable public var synAckTime: Timestamp? {
        get { time(synAckNanos, Flag.synAckTime) }
        set {
            synAckNanos = newValue?.nanoseconds ?? 0
            flags = newValue == nil ? flags & ~Flag.synAckTime : flags | Flag.synAckTime
        }
    }
    @inlinable public var closeTime: Timestamp? {
        get { time(closeNanos, Flag.closeTime) }
        set {
            closeNanos = newValue?.nanoseconds ?? 0
            flags = newValue == nil ? flags & ~Flag.closeTime : flags | Flag.closeTime
        }
    }

    @inlinable func time(_ nanos: Int64, _ flag: UInt8) -> Timestamp? {
        flags & flag != 0 ? Timestamp(nanoseconds: nanos) : nil
    }

    public var anomaliesUp: StreamAnomalies {
        @inlinable get { anomalyStorage?.up ?? StreamAnomalies() }
        set { anomalyStorage = StreamAnomaliesPair.make(up: newValue, down: anomaliesDown) }
    }
    public var anomaliesDown: StreamAnomalies {
        @inlinable get { anomalyStorage?.down ?? StreamAnomalies() }
        set { anomalyStorage = StreamAnomaliesPair.make(up: anomaliesUp, down: newValue) }
    }

    /// Sets both directions' anomalies, as setting `anomaliesUp` then `anomaliesDown` does, with one pair made
    /// at most (each setter makes one, and tests both for being empty).
    public mutating func setAnomalies(up: StreamAnomalies, down: StreamAnomalies) {
        anomalyStorage = StreamAnomaliesPair.make(up: up, down: down)
    }

    /// Inlinable: a call from another module built the record through memory (made for every connection).
    @inlinable
    public init(
        id: UInt64, client: Endpoint, server: Endpoint, vlan: VLANTags = .none,
        start: Timestamp, end: Timestamp
    ) {
        self.id = id
        self.client = client
        self.server = server
        self.vlan = vlan
        self.vlanDown = nil
        self.state = []
        self.handshake = .midstream
        self.application = .none
        self.start = start
        self.end = end
        self.packetsUp = 0
        self.packetsDown = 0
        self.bytesUp = 0
        self.bytesDown = 0
        self.synCount = 0
        self.tlsStorage = nil
        self.tunnelStorage = nil
        self.exchanges = []
        self.anomalyStorage = nil
    }

    public var duration: Double { end.seconds(since: start) }

    /// Whether packets of either direction were cut by the snap length (a header-only capture): their payload
    /// past the cut was not captured, though no packet was lost.
    public var cutBySnapLength: Bool { anomaliesUp.truncatedPackets > 0 || anomaliesDown.truncatedPackets > 0 }
}

/// A record's two `StreamAnomalies`, out of line and immutable (a change makes a new pair), compared by
/// value; never made for two empty ones.
@usableFromInline
final class StreamAnomaliesPair: Hashable, Sendable {
    @usableFromInline let up: StreamAnomalies
    @usableFromInline let down: StreamAnomalies
    init(up: StreamAnomalies, down: StreamAnomalies) {
        self.up = up
        self.down = down
    }
    /// The pair, or nil when both are empty.
    static func make(up: StreamAnomalies, down: StreamAnomalies) -> StreamAnomaliesPair? {
        up.isEmpty && down.isEmpty ? nil : StreamAnomaliesPair(up: up, down: down)
    }
    @usableFromInline
    static func == (a: StreamAnomaliesPair, b: StreamAnomaliesPair) -> Bool {
        a === b || (a.up == b.up && a.down == b.down)
    }
    @usableFromInline func hash(into hasher: inout Hasher) {
        hasher.combine(up)
        hasher.combine(down)
    }
}

/// An immutable, shared `TLSSummary` (a changed summary gets a new box), compared by value. Records may
/// share one box (`RecordInterner`): nothing changes a box once made.
@usableFromInline
final class TLSSummaryBox: Hashable, Sendable {
    @usableFromInline let value: TLSSummary
    init(_ value: TLSSummary) { self.value = value }
    @usableFromInline
    static func == (a: TLSSummaryBox, b: TLSSummaryBox) -> Bool { a === b || a.value == b.value }
    @usableFromInline func hash(into hasher: inout Hasher) { hasher.combine(value) }
}

/// An HTTP `CONNECT` tunnel a connection carried (an explicit proxy), as the request named it; or, with
/// `kind` `.forward`, plain HTTP sent to a proxy in absolute form (`GET http://host:port/path`), where
/// the first such request names the server.
public struct ConnectionTunnel: Hashable, Sendable {
    /// How the proxy was asked to reach the target.
    public enum Kind: String, Hashable, Sendable {
        /// A `CONNECT` answered with 2xx: the rest of the connection is the tunnelled traffic.
        case connect
        /// Requests in absolute form (RFC 9112 3.2.2) that the proxy forwards: no `CONNECT`, no set-up.
        case forward
        /// The last `CONNECT` on the connection was answered with a final status other than 2xx (407, 403,
        /// 502...) and no tunnel opened: nothing reached the target, and the heartbeat layer judges the
        /// connection as a refused connect to it. `start` is the refusal's time.
        case refused
    }

    public var kind: Kind = .connect
    /// The target's host as written in the request: a host name or address text (an IPv6 address
    /// without its brackets).
    public var host: String
    /// The target's port; nil when the request named none that could be read.
    public var port: UInt16?
    /// When the tunnel began: the first byte after the `CONNECT` exchange, either way (for `.forward`,
    /// the first absolute-form request's start).
    public var start: Timestamp
    /// The HTTP exchanges before the tunnel, in order: the `CONNECT` that opened it, and any refused
    /// before it on the same connection (e.g. 407 Proxy Authentication Required, then a retry). Empty
    /// for `.forward`.
    public var setUp: [Exchange]
    /// The proxy as captured, when a layer above replaced the record's `server` by the tunnel's
    /// target (the heartbeat layer judges a tunnelled connection as one to its target); nil as built.
    public var proxy: Endpoint?

    public init(host: String, port: UInt16?, start: Timestamp, setUp: [Exchange] = [], proxy: Endpoint? = nil) {
        self.host = host
        self.port = port
        self.start = start
        self.setUp = setUp
        self.proxy = proxy
    }

    /// Reads a `CONNECT` request-target (`host:port`, `[v6]:port`): its first word, when it holds
    /// whitespace (an anomaly the HTTP parser counts; `CONNECT host:25 / HTTP/1.0` names `host:25`); a
    /// target with no usable port (none, port 0, past 65535, a sign or other bytes than digits) keeps all
    /// of that word as the host. Nil for an empty target.
    public init?(target: String, start: Timestamp, setUp: [Exchange] = []) {
        guard let word = target.split(whereSeparator: { $0 == " " || $0 == "\t" }).first else { return nil }
        var host = word
        var port: UInt16?
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") { port = Self.usablePort(after.dropFirst()) }
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.lastIndex(of: ":"), host.firstIndex(of: ":") == colon,
                  let p = Self.usablePort(host[host.index(after: colon)...]) {
            port = p
            host = host[..<colon]
        }
        self.init(host: String(host), port: port, start: start, setUp: setUp)
    }

    /// A port as RFC 3986 writes it, digits only, that a connection can go to: 1-65535. `UInt16("+443")`
    /// would take the sign, and port 0 reaches no server (`--server` refuses it too).
    static func usablePort(_ text: Substring) -> UInt16? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let port = UInt16(text), port > 0
        else { return nil }
        return port
    }

    /// Whether the host is numeric in a form other than dotted decimal (`012.1.0.11`, octal 10.1.0.11 to
    /// `inet_aton`; `0x0a.1.0.11`; `10.1.11`): no address to read safely, nor a host name, so the
    /// connection stays one to the proxy. An IPv4-mapped IPv6 address and a plain address are not.
    public var hostIsNonDecimalNumber: Bool {
        IPAddress(host) == nil && IPAddress.looksNumeric(host)
            && host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == ".") }
    }

    /// `host:port` (`[host]:port` for an IPv6 address), or the host alone without a port.
    public var targetText: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port.map { "\(h):\($0)" } ?? h
    }
}

/// An immutable, shared `ConnectionTunnel`, compared by value.
@usableFromInline
final class ConnectionTunnelBox: Hashable, Sendable {
    @usableFromInline let value: ConnectionTunnel
    init(_ value: ConnectionTunnel) { self.value = value }
    @usableFromInline
    static func == (a: ConnectionTunnelBox, b: ConnectionTunnelBox) -> Bool { a === b || a.value == b.value }
    @usableFromInline func hash(into hasher: inout Hasher) { hasher.combine(value) }
}
