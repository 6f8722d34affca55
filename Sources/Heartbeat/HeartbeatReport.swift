import Core
import Records
import Foundation

/// Everything `sepbeat analyze` reports: check-ins, per-client intervals, findings and a verdict.
///
/// Encodes to the `sepbeat-report/1` JSON layout (see `jsonData()`); times are RFC 3339 UTC
/// text with nine fraction digits, byte counts are TCP payload bytes.
public struct HeartbeatReport: Sendable {
    public var schema = "sepbeat-report/1"
    /// Every manager seen or configured, and where it came from.
    public var managers: [ManagerReport]
    /// Check-ins in start order.
    public var sessions: [SessionReport]
    /// One entry per client, ordered by address.
    public var clients: [ClientSummary]
    /// Every finding (session, client and capture level), in time order; untimed ones last.
    public var findings: [Finding]
    public var summary: Summary
    /// The expectations the run used.
    public var expectations: Expectations
    /// Connections read, and those left out because they did not go to a manager or hit a limit.
    public var counts: Counts
    /// The capture silences passed in with `SessionBuilder.noteCaptureSilences(_:)`, in time order: intervals
    /// they hide are not judged (here and in `FleetAudit`). Not encoded: each one that hid check-ins is a
    /// `capture-gap` finding.
    public var silences: [CaptureSilence] = []
    /// The stretches of a few packets stamped far off the capture's clock, passed in with
    /// `SessionBuilder.noteOffClock(_:)`: a client's check-ins in them are left out of its intervals (here
    /// and in `FleetAudit`) when it has check-ins on the clock too. Not encoded.
    public var offClock: [OffClockStretch] = []
    /// By client, the starts of its push connections' bursts of which no byte was captured, only bytes lost
    /// (`counts.uncapturedBursts`): each stamped when the bytes were acknowledged, so no check-in, but a check-in
    /// sent at an unknown time before it. A gap of the client holding such starts and missing no more check-ins
    /// than it holds is not judged (here and in `FleetAudit`). Not encoded.
    public var uncaptured: [IPAddress: [Timestamp]] = [:]
    /// Which `SessionBuilder.Limits` dropped connections, and how many each; nil when none did. Not
    /// encoded: JSON has the total, `counts.droppedByLimits`.
    public var limitDrops: LimitDrops?
    /// Servers that clients tried on a management port at the expected interval, every connect refused or
    /// unanswered, while managers are configured that do not include them: by address, how many clients
    /// tried it so (what would make it an `inferred-connects` manager with nothing configured). Their
    /// attempts are not judged. Not encoded: the text reports note them.
    public var unconfiguredDown: [IPAddress: Int] = [:]
    /// The clients that stopped checking in while the others went on (`SessionBuilder.wentSilent`), in address
    /// order: each one is a `went-silent` finding. Not encoded otherwise; the audit and `validate` read it.
    public var wentSilent: [WentSilent] = []
    /// Connections carrying HTTP or TLS to a manager's address on a port that neither the model's `ports` nor the
    /// manager's own entry (`--server HOST:PORT`, SyLink.xml) lists, by server in address and port order (those
    /// with no HTTP or TLS are counted in `counts.ignoredConnections`, not here): they make no check-in
    /// (`counts.unlistedPortConnections` counts them). Not encoded otherwise: the text reports note them, with how
    /// to have them judged if they are check-ins (a manager may serve other things on such a port, as its console).
    public var unlistedPorts: [UnlistedPortUse] = []
    /// Servers reached over TLS at the heartbeat interval whose connections are not judged
    /// (`SessionBuilder.periodicOtherPorts`), most clients first, then by address and port: on ports that neither
    /// the model nor any entry lists (a manager on an HTTPS port changed from the model's would look so), and,
    /// with managers configured, servers that are none on a port an entry lists beyond the model's (`portListed`:
    /// a manager left out of `--server` or SyLink.xml would look so). Encoded as `periodicOtherServers` when not
    /// empty (the text and HTML reports note them, with how to have them judged).
    public var periodicOtherPorts: [PeriodicOtherPort] = []

    /// A server that clients reached over TLS at the heartbeat interval and whose connections are not judged.
    public struct PeriodicOtherPort: Hashable, Sendable {
        public var server: Endpoint
        /// Clients that reached it at the interval.
        public var clients: Int
        /// Its TLS connections, from any client (on a port nothing lists: counted up to `OtherPortStarts.maxPairs`
        /// client and server pairs).
        public var connections: Int
        /// The median of the gaps at the pull or push interval (within the tolerance) between the check-in starts
        /// of the clients that reached it at the interval: the interval seen, in seconds.
        public var intervalSeconds: Double
        /// Whether its address is a manager (by its check-ins on listed ports, or configured): on a port nothing
        /// lists, that server most likely serves check-ins there too. Never true with `portListed`.
        public var addressIsManager: Bool
        /// True for a server on a port an entry lists and the model's ports do not, whose address is no manager
        /// (with managers configured, periodic TLS makes none); false for one on a port nothing lists.
        public var portListed: Bool

        public init(server: Endpoint, clients: Int, connections: Int, intervalSeconds: Double,
                    addressIsManager: Bool = false, portListed: Bool = false) {
            self.server = server
            self.clients = clients
            self.connections = connections
            self.intervalSeconds = intervalSeconds
            self.addressIsManager = addressIsManager
            self.portListed = portListed
        }
    }

    /// Connections to one manager address and port no entry lists (`unlistedPorts`).
    public struct UnlistedPortUse: Hashable, Sendable {
        public var server: Endpoint
        public var connections: Int
        /// The clients that made them, in address order.
        public var clients: [IPAddress]
    }

    /// Connections dropped by each of `SessionBuilder.Limits`, with the limits' values.
    public struct LimitDrops: Hashable, Sendable {
        /// `Limits.maxClients`, and the connections of clients beyond that many.
        public var maxClients: Int
        public var overMaxClients: Int
        /// `Limits.maxConnectionsPerClient`, and the connections of a client beyond that many.
        public var maxConnectionsPerClient: Int
        public var overMaxConnectionsPerClient: Int
        /// The clients whose connections passed `maxConnectionsPerClient`, and how many of each were dropped:
        /// their later check-ins are not in the report (the interval audit says so instead of calling
        /// them silent).
        public var overMaxConnectionsByClient: [IPAddress: Int] = [:]

        /// The limits reached and what each dropped, e.g. `limit of 100000 clients: 20; limit of 20000
        /// connections per client: 3`; a limit that dropped nothing is left out.
        public var text: String {
            var parts: [String] = []
            if overMaxClients > 0 { parts.append("limit of \(maxClients) clients: \(overMaxClients)") }
            if overMaxConnectionsPerClient > 0 {
                parts.append("limit of \(maxConnectionsPerClient) connections per client: "
                    + "\(overMaxConnectionsPerClient)")
            }
            return parts.joined(separator: "; ")
        }
    }

    public struct Summary: Encodable, Hashable, Sendable {
        public var clients: Int
        /// Every entry of `sessions`: `checkIns + failed`.
        public var sessions: Int
        /// Check-ins that reached a manager.
        public var checkIns: Int
        /// Check-ins that failed (`SessionReport.failed`): counted here, never as check-ins.
        public var failed: Int
        /// Check-ins whose only connects were still unanswered when the capture ended, less than the
        /// connect timeout after their SYN: neither set up nor failed yet. nil (left out of JSON) when 0.
        public var pending: Int? = nil
        /// `fail` when any finding has error severity; else `n/a` when no check-in was recognised (none
        /// set up and none failed: no manager or no client, or only pending connects), as nothing was
        /// judged; else `pass`. Only `fail` changes the exit status.
        public var verdict: String
        public var errors: Int
        public var warnings: Int
        public var infos: Int
    }

    public struct Expectations: Encodable, Hashable, Sendable {
        public var pullIntervalSeconds: Double
        public var pushIntervalSeconds: Double
        public var toleranceSeconds: Double
        /// Gaps up to this are an accelerated heartbeat (derived from a short interval, see the model docs).
        public var acceleratedMaxSeconds: Double
        /// An accelerated run lasting longer than this is a `heartbeat-storm` (derived from a short interval too).
        public var acceleratedRunMaxSeconds: Double
        /// `model`, `option` (--interval) or `sylink`.
        public var intervalSource: String
        /// The push heartbeat's tolerance, accelerated maximum and longest accelerated run, derived from the push
        /// interval as the pull interval's are (`ReferenceModel.intervalRules(forSeconds:)`); nil (left out of
        /// JSON) where they equal the pull interval's.
        public var pushToleranceSeconds: Double?
        public var pushAcceleratedMaxSeconds: Double?
        public var pushAcceleratedRunMaxSeconds: Double?

        /// The rules gaps of check-ins in `mode` are judged with.
        public func rules(for mode: SessionReport.Mode) -> IntervalRules {
            let pull = IntervalRules(toleranceSeconds: toleranceSeconds, acceleratedMaxSeconds: acceleratedMaxSeconds,
                                     acceleratedRunMaxSeconds: acceleratedRunMaxSeconds)
            guard mode == .push else { return pull }
            return IntervalRules(
                toleranceSeconds: pushToleranceSeconds ?? pull.toleranceSeconds,
                acceleratedMaxSeconds: pushAcceleratedMaxSeconds ?? pull.acceleratedMaxSeconds,
                acceleratedRunMaxSeconds: pushAcceleratedRunMaxSeconds ?? pull.acceleratedRunMaxSeconds)
        }

        /// Whether push check-ins are judged with other rules than pull ones.
        public var pushRulesDiffer: Bool {
            pushToleranceSeconds != nil || pushAcceleratedMaxSeconds != nil || pushAcceleratedRunMaxSeconds != nil
        }
    }

    /// Every connection read is in exactly one of `managerConnections`, `otherServerConnections`,
    /// `unlistedPortConnections`, `ignoredConnections`, `droppedByLimits` and `proxyLegConnections`.
    public struct Counts: Encodable, Hashable, Sendable {
        public var connections: Int
        public var managerConnections: Int
        /// On a management port, to a server not recognised as a manager.
        public var otherServerConnections: Int
        /// To a configured manager's address on a port neither the model nor its entry lists, carrying HTTP or TLS
        /// (check-ins on a port the configuration does not name, or other web services of the manager host): no
        /// check-in, noted in the text reports (`HeartbeatReport.unlistedPorts`). Encoded only when not 0.
        public var unlistedPortConnections: Int = 0
        /// Not on a management port; with them, connections to a manager's address on a port no entry lists that
        /// carried no HTTP or TLS (no payload, or another protocol: nothing a check-in would carry).
        public var ignoredConnections: Int
        /// Connections dropped because `SessionBuilder.Limits` were reached.
        public var droppedByLimits: Int
        /// Connection records joined to an earlier piece of the same TCP connection (the traffic layer
        /// emits a connection quiet past its idle timeout, and its later packets as a new record).
        public var rejoinedConnections: Int
        /// On a management port, from an address known as a proxy (the captured server of a tunnelled
        /// check-in): the proxy's own legs to the servers, left out of check-ins. Encoded only when not 0.
        public var proxyLegConnections: Int = 0
        /// Manager connections starting within `checkIn.joinGapSeconds` after the previous one ended that began a
        /// check-in of their own, because joining them would have made it span more than `checkIn.joinMaxSeconds`.
        /// Encoded only when not 0.
        public var joinSplits: Int = 0
        /// Manager connection records with no SYN and no payload (a lone RST or ACK, keep-alives of a connection
        /// the capture joined): no check-in. Encoded only when not 0.
        public var emptyPieces: Int = 0
        /// Plain-HTTP manager connections with no request for `http.secarsPath` (content downloads) that
        /// joined no check-in: no check-in. Encoded only when not 0.
        public var contentDownloads: Int = 0
        /// Bursts of push connections that carried no client byte (messages the manager pushed): no
        /// check-in. Encoded only when not 0.
        public var serverPushes: Int = 0
        /// Bursts of push connections of which no byte was captured, only bytes lost (`isUncaptured`: after a
        /// stretch the capture missed, at the first acknowledgement after it): no check-in, as when they were
        /// sent is unknown. Encoded only when not 0.
        public var uncapturedBursts: Int = 0
        /// Of `ignoredConnections`: TLS connections to servers on ports nothing lists that clients reached at the
        /// heartbeat interval (`HeartbeatReport.periodicOtherPorts` not `portListed`), which may be check-ins on a
        /// port the model does not know; `periodicOtherServers` names the servers. Encoded only when not 0.
        public var periodicOtherPortConnections: Int = 0
        /// Tunnels whose target is tied to no address and is no host name either (numeric but not dotted decimal,
        /// or no usable port), filed as connections to a proxy taken for a manager (plain-HTTP secars requests
        /// in absolute form make it one): their check-ins are in their clients' rows, as check-ins to the proxy.
        /// Not encoded: the notes on such tunnels read it.
        public var untiedTunnelsToManagers: Int = 0
        /// Connections to a proxy whose `CONNECT` head the snap length cut (`ConnectionRecord.connectCut`) and that
        /// carried no tunnel: what went through them is lost, each client's a `capture-truncated` finding. Not
        /// encoded: the findings say it, and the note on a capture with no manager reads it.
        public var cutTunnels: Int = 0

        private enum Keys: String, CodingKey {
            case connections, managerConnections, otherServerConnections, ignoredConnections, droppedByLimits
            case rejoinedConnections, proxyLegConnections, joinSplits, emptyPieces, contentDownloads, serverPushes
            case unlistedPortConnections, periodicOtherPortConnections, uncapturedBursts
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(connections, forKey: .connections)
            try c.encode(managerConnections, forKey: .managerConnections)
            try c.encode(otherServerConnections, forKey: .otherServerConnections)
            if unlistedPortConnections != 0 { try c.encode(unlistedPortConnections, forKey: .unlistedPortConnections) }
            try c.encode(ignoredConnections, forKey: .ignoredConnections)
            if periodicOtherPortConnections != 0 {
                try c.encode(periodicOtherPortConnections, forKey: .periodicOtherPortConnections)
            }
            try c.encode(droppedByLimits, forKey: .droppedByLimits)
            try c.encode(rejoinedConnections, forKey: .rejoinedConnections)
            if proxyLegConnections != 0 { try c.encode(proxyLegConnections, forKey: .proxyLegConnections) }
            if joinSplits != 0 { try c.encode(joinSplits, forKey: .joinSplits) }
            if emptyPieces != 0 { try c.encode(emptyPieces, forKey: .emptyPieces) }
            if contentDownloads != 0 { try c.encode(contentDownloads, forKey: .contentDownloads) }
            if serverPushes != 0 { try c.encode(serverPushes, forKey: .serverPushes) }
            if uncapturedBursts != 0 { try c.encode(uncapturedBursts, forKey: .uncapturedBursts) }
        }
    }

    /// 0 when no finding has error severity, 1 otherwise.
    public var exitStatus: Int32 { summary.verdict == "fail" ? 1 : 0 }

    /// Findings with error severity first, then warnings, then infos; time order within each.
    public var findingsBySeverity: [Finding] {
        findings.enumerated().sorted { a, b in
            a.element.severity != b.element.severity ? a.element.severity > b.element.severity : a.offset < b.offset
        }.map(\.element)
    }

    /// Stable JSON: keys sorted, pretty-printed, slashes unescaped, ending with a newline.
    public func jsonData() throws -> Data {
        var data = try Self.encoder().encode(self)
        data.append(0x0a)
        return data
    }

    /// The encoder `jsonData()` uses, for callers embedding the report in a larger document.
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return e
    }
}

extension HeartbeatReport: Encodable {
    private enum Keys: String, CodingKey {
        case schema, managers, sessions, clients, findings, summary, expectations, counts, periodicOtherServers
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(schema, forKey: .schema)
        try c.encode(managers, forKey: .managers)
        try c.encode(sessions, forKey: .sessions)
        try c.encode(clients, forKey: .clients)
        try c.encode(findings, forKey: .findings)
        try c.encode(summary, forKey: .summary)
        try c.encode(expectations, forKey: .expectations)
        try c.encode(counts, forKey: .counts)
        if !periodicOtherPorts.isEmpty { try c.encode(periodicOtherPorts, forKey: .periodicOtherServers) }
    }
}

extension HeartbeatReport.PeriodicOtherPort: Encodable {
    private enum Keys: String, CodingKey {
        case server, address, port, clients, connections, intervalSeconds, addressIsManager, portListed
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(server.description, forKey: .server)
        try c.encode(server.address.description, forKey: .address)
        try c.encode(server.port, forKey: .port)
        try c.encode(clients, forKey: .clients)
        try c.encode(connections, forKey: .connections)
        try c.encode(intervalSeconds, forKey: .intervalSeconds)
        try c.encode(addressIsManager, forKey: .addressIsManager)
        try c.encode(portListed, forKey: .portListed)
    }
}

/// A manager and the source that made it one.
public struct ManagerReport: Encodable, Hashable, Sendable {
    /// Address text, or the host name when nothing in the capture tied it to an address.
    public var address: String
    public var hostName: String?
    /// `option` (--server), `sylink`, `model`, `inferred-http` (secars.dll requests),
    /// `inferred-tls` (periodic TLS check-ins, or TLS to a manager already known by address),
    /// `inferred-failover` (failed connects just before the client reached another manager) or
    /// `inferred-connects` (connects at the expected interval, every one refused or unanswered).
    public var source: String
    /// How a host name was tied to the address: `literal`, `tls-sni`, `http-host`; or a note that nothing did.
    public var resolution: String?
    public var priority: Int?
    /// Ports check-ins were seen on.
    public var ports: [Int]
    public var sessions: Int
    /// For a manager found by periodic TLS (`inferred-tls`): the TLS server names (SNI) its clients asked
    /// for, as captured, sorted, at most `SessionBuilder.maxServerNamesPerManager`. Not encoded: the text
    /// reports' note on managers taking turns reads it.
    public var serverNames: [String] = []

    private enum CodingKeys: String, CodingKey {
        case address, hostName, source, resolution, priority, ports, sessions
    }
}

/// One rebuilt check-in.
///
/// Stored in 128 bytes (it was 144, and its connections a list of their own), as the report holds every
/// check-in until it is written: the one connection most check-ins have is kept in place, and what most have
/// none of (failed connects, a one-sided record-layer version, a list of connections other than one) is kept
/// out of line (`CheckInParts`). The properties read and write as plain ones; equal check-ins compare and hash
/// equal.
public struct SessionReport: Hashable, Sendable {
    public enum Transport: String, Encodable, Hashable, Sendable {
        case http
        case https
    }

    public enum Mode: String, Encodable, Hashable, Sendable {
        case pull
        case push
    }

    /// 1-based, in start order.
    public var id: Int
    public var client: IPAddress
    public var clientPort: UInt16
    public var server: IPAddress
    public var serverPort: UInt16
    public var transport: Transport
    public var mode: Mode
    public var start: Timestamp
    public var end: Timestamp
    public var bytesUp: Int64
    public var bytesDown: Int64
    /// True when no connection of the check-in was set up and at least one connect failed (refused, or
    /// unanswered past the connect timeout or until the client moved on); or when its connection was set up
    /// but none of its exchanges got a whole answer (`tls-handshake-failed`, `no-answer`, `answer-cut-short`).
    public var failed: Bool
    /// True when no connection was set up and the only connects were unanswered when the capture ended,
    /// no longer than the connect timeout after their SYN: not judged. Encoded only when true.
    public var pending: Bool
    /// Where the check-in's TLS version came from, for `validate`'s `tls-version` check. Not encoded.
    public var tlsVersionSource: TLSVersionSource
    public var steps: [StepReport]
    public var findings: [Finding]
    // Read by the inlinable getters below, so the report writers in other modules read them in place.
    /// The id of the check-in's only connection record, when `rare` is nil.
    @usableFromInline var connection: UInt64
    /// nil exactly when the check-in has no attempts, no `tlsImplausibleRecordSide` and one connection.
    @usableFromInline var rare: CheckInParts?

    init(id: Int, client: IPAddress, clientPort: UInt16, server: IPAddress, serverPort: UInt16, transport: Transport,
         mode: Mode, start: Timestamp, end: Timestamp, bytesUp: Int64, bytesDown: Int64, failed: Bool,
         pending: Bool = false, tlsVersionSource: TLSVersionSource = .unknown, tlsImplausibleRecordSide: String? = nil,
         attempts: [AttemptReport], steps: [StepReport], findings: [Finding], connections: [UInt64]) {
        self.id = id
        self.client = client
        self.clientPort = clientPort
        self.transport = transport
        self.mode = mode
        self.failed = failed
        self.pending = pending
        self.server = server
        self.serverPort = serverPort
        self.tlsVersionSource = tlsVersionSource
        self.start = start
        self.end = end
        self.bytesUp = bytesUp
        self.bytesDown = bytesDown
        self.steps = steps
        self.findings = findings
        (connection, rare) = Self.parts(attempts, tlsImplausibleRecordSide, connections)
    }

    /// With `tlsVersionSource` `.recordLayer`: the direction whose application-data records carried a
    /// version no TLS stack writes there, and that version (`up 0x0304`), when the version came from the
    /// other direction's records only; nil otherwise. For `validate`'s `tls-version` check. Not encoded.
    public var tlsImplausibleRecordSide: String? {
        @inlinable get { rare?.tlsImplausibleRecordSide }
        set {
            guard newValue != nil || rare != nil else { return }
            store(attempts, newValue, connections)
        }
    }

    /// Failed connects that preceded the successful one (step 1), or that make up a failed check-in.
    public var attempts: [AttemptReport] {
        @inlinable get { rare?.attempts ?? [] }
        set { store(newValue, tlsImplausibleRecordSide, connections) }
    }

    /// Ids of the connection records used. Made as a list when read: `withConnections` reads them in place.
    public var connections: [UInt64] {
        @inlinable get { rare?.connections ?? [connection] }
        set { store(attempts, tlsImplausibleRecordSide, newValue) }
    }

    /// Calls `body` with the ids of the connection records used, read in place (no list made for the one
    /// connection most check-ins have).
    @inlinable public func withConnections(_ body: (UnsafeBufferPointer<UInt64>) -> Void) {
        if let rare { return rare.connections.withUnsafeBufferPointer(body) }
        var one = connection
        withUnsafePointer(to: &one) { body(UnsafeBufferPointer(start: $0, count: 1)) }
    }

    /// Keeps the parts out of line, or only the one connection when there is nothing else.
    private mutating func store(_ attempts: [AttemptReport], _ side: String?, _ connections: [UInt64]) {
        (connection, rare) = Self.parts(attempts, side, connections)
    }

    /// The stored `connection` and `rare` for these parts.
    private static func parts(
        _ attempts: [AttemptReport], _ side: String?, _ connections: [UInt64]
    ) -> (connection: UInt64, rare: CheckInParts?) {
        if attempts.isEmpty, side == nil, connections.count == 1, let only = connections.first { return (only, nil) }
        return (0, CheckInParts(attempts: attempts, tlsImplausibleRecordSide: side, connections: connections))
    }
}

/// What few check-ins have (`SessionReport.rare`), kept out of line; never changed (a change makes a new one).
@usableFromInline final class CheckInParts: Hashable, Sendable {
    @usableFromInline let attempts: [AttemptReport]
    @usableFromInline let tlsImplausibleRecordSide: String?
    @usableFromInline let connections: [UInt64]

    init(attempts: [AttemptReport], tlsImplausibleRecordSide: String?, connections: [UInt64]) {
        self.attempts = attempts
        self.tlsImplausibleRecordSide = tlsImplausibleRecordSide
        self.connections = connections
    }

    @usableFromInline static func == (a: CheckInParts, b: CheckInParts) -> Bool {
        a.attempts == b.attempts && a.tlsImplausibleRecordSide == b.tlsImplausibleRecordSide
            && a.connections == b.connections
    }

    @usableFromInline func hash(into hasher: inout Hasher) {
        hasher.combine(attempts)
        hasher.combine(tlsImplausibleRecordSide)
        hasher.combine(connections)
    }
}

/// Where a check-in's TLS version was read: the hellos of one of its connections, or only the record
/// headers of its application data (the handshake was not captured), or nowhere (plain HTTP, or neither).
public enum TLSVersionSource: UInt8, Hashable, Sendable {
    /// No version known: plain HTTP, or no hello and no application-data record parsed. Also a
    /// record-layer 0x0303 under a minimum of TLS 1.3, which it cannot settle.
    case unknown
    /// A ClientHello or ServerHello of one of the check-in's connections.
    case hello
    /// Only the record-layer version of application-data records (`TLSSummary.recordVersion`).
    case recordLayer
    /// The record layer's version, lower than the hellos' (the client's offer with no ServerHello seen, or
    /// the ServerHello's choice): `TLSSummary.judgedVersion`.
    case recordLayerBelowHello
}

extension SessionReport: Encodable {
    private enum Keys: String, CodingKey {
        case id, client, clientPort, server, serverPort, transport, mode, start, end, bytesUp, bytesDown
        case failed, pending, attempts, steps, findings, connections
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(id, forKey: .id)
        try c.encode(client.description, forKey: .client)
        try c.encode(clientPort, forKey: .clientPort)
        try c.encode(server.description, forKey: .server)
        try c.encode(serverPort, forKey: .serverPort)
        try c.encode(transport, forKey: .transport)
        try c.encode(mode, forKey: .mode)
        try c.encode(start.rfc3339(), forKey: .start)
        try c.encode(end.rfc3339(), forKey: .end)
        try c.encode(bytesUp, forKey: .bytesUp)
        try c.encode(bytesDown, forKey: .bytesDown)
        try c.encode(failed, forKey: .failed)
        if pending { try c.encode(pending, forKey: .pending) }
        try c.encode(attempts, forKey: .attempts)
        try c.encode(steps, forKey: .steps)
        try c.encode(findings, forKey: .findings)
        try c.encode(connections, forKey: .connections)
    }
}

/// A connect that did not set up a session.
public struct AttemptReport: Hashable, Sendable, Encodable {
    public var server: String
    public var serverPort: UInt16
    public var time: String
    /// `refused` (SYN answered by RST) or `unanswered`.
    public var outcome: String
    public var syns: Int
}

/// Per-client totals: check-ins, intervals between their starts, missed and accelerated counts.
public struct ClientSummary: Hashable, Sendable {
    public var client: IPAddress
    /// Every session of the client: `checkIns + failed`.
    public var sessions: Int
    /// Check-ins that reached a manager.
    public var checkIns: Int
    /// Check-ins that failed (`SessionReport.failed`): counted here, never as check-ins.
    public var failed: Int
    /// Check-ins still unanswered when the capture ended (see `SessionReport.pending`); encoded when above 0.
    public var pending: Int = 0
    /// nil when the client has fewer than two check-ins.
    public var intervalSeconds: IntervalStats?
    /// Check-ins judged missing between seen ones (never before the first or after the last).
    public var missed: Int
    /// Intervals not judged because a capture silence hides them (`CaptureSilence`); left out of
    /// `intervalSeconds`. Encoded only when above 0.
    public var notObserved: Int = 0
    /// Intervals inside the accelerated range.
    public var accelerated: Int
    /// The configured interval of its main mode, in seconds (the model's, `--interval`'s or SyLink.xml's), as
    /// `FleetAudit.Client.expectedIntervalSeconds`.
    public var expectedIntervalSeconds: Double
    /// The interval its gaps were judged against instead, in seconds, when not the configured one: its own median
    /// on another interval (`interval-mismatch`), or the later level when its interval changed (as
    /// `FleetAudit.Client.judgedAgainst`); encoded only then.
    public var judgedAgainstSeconds: Double?
    /// The lasting changes of its own interval, in time order (of its main mode, else of the other): one, or a change
    /// and its revert (300 s, 60 s, then 300 s again), or a change and another; encoded only when two or more.
    public var intervalChanges: [IntervalChange] = []
    /// Its first change, encoded whenever there is one: a client with one change (the usual case) reads as before
    /// changes could be listed, and a reader of it alone still learns that the interval changed and from what.
    public var intervalChange: IntervalChange? { intervalChanges.first }

    /// The interval its gaps were judged against: `judgedAgainstSeconds`, else the configured one.
    var judgedIntervalSeconds: Double { judgedAgainstSeconds ?? expectedIntervalSeconds }
}

/// A client's regular intervals (gaps between consecutive check-ins above the accelerated range and not
/// hidden by a capture silence), in seconds: the same figures `sepbeat audit` gives (`FleetAudit.Spread`).
public struct IntervalStats: Encodable, Hashable, Sendable {
    public var median: Double
    public var min: Double
    public var max: Double
    /// 95th percentile, interpolated between ranks (`FleetAudit.quantile`).
    public var p95: Double
    /// Regular intervals counted.
    public var count: Int
}

extension ClientSummary: Encodable {
    private enum Keys: String, CodingKey {
        case client, sessions, checkIns, failed, pending, intervalSeconds, missed, notObserved, accelerated
        case expectedIntervalSeconds, judgedAgainstSeconds, intervalChange, intervalChanges
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(client.description, forKey: .client)
        try c.encode(sessions, forKey: .sessions)
        try c.encode(checkIns, forKey: .checkIns)
        try c.encode(failed, forKey: .failed)
        if pending > 0 { try c.encode(pending, forKey: .pending) }
        if let intervalSeconds {
            try c.encode(intervalSeconds, forKey: .intervalSeconds)
        } else {
            try c.encodeNil(forKey: .intervalSeconds)
        }
        try c.encode(missed, forKey: .missed)
        if notObserved > 0 { try c.encode(notObserved, forKey: .notObserved) }
        try c.encode(accelerated, forKey: .accelerated)
        try c.encode(expectedIntervalSeconds, forKey: .expectedIntervalSeconds)
        try c.encodeIfPresent(judgedAgainstSeconds, forKey: .judgedAgainstSeconds)
        try c.encodeIfPresent(intervalChange, forKey: .intervalChange)
        if intervalChanges.count >= 2 { try c.encode(intervalChanges, forKey: .intervalChanges) }
    }
}
