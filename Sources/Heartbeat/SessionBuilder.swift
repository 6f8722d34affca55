import Core
import Records

/// Rebuilds check-ins per client and manager from connection records, incrementally.
///
/// Feed every `ConnectionRecord` with `ingest(_:)` as the layers below complete them
/// (roughly in order of connection end; any order works: each record is filed by start
/// time). `report()` gives a rolling report at any point without consuming anything;
/// `finish()` gives the final one.
///
/// Only records that could be management traffic are kept (a model or configured port, a
/// configured address, or a secars.dll request); the rest are counted and dropped. Memory is
/// proportional to the kept records, bounded by `Limits`; records past a limit are counted
/// in `HeartbeatReport.counts.droppedByLimits`. `report()` costs O(n log n) in kept records.
public struct SessionBuilder: Sendable {
    /// Bounds on what the builder keeps.
    public struct Limits: Hashable, Sendable {
        /// Clients tracked at once (default 1,000,000). Nothing is set aside per client: the memory follows
        /// the clients seen (their connections' records), so the bound is there against a capture of
        /// scanned or spoofed addresses, not to size anything; a site of 200,000 push clients keeps all.
        public var maxClients: Int
        /// Connections kept per client (default 20,000, about 70 days of 5-minute check-ins).
        public var maxConnectionsPerClient: Int

        public init(maxClients: Int = 1_000_000, maxConnectionsPerClient: Int = 20_000) {
            self.maxClients = maxClients
            self.maxConnectionsPerClient = maxConnectionsPerClient
        }
    }

    public let model: ReferenceModel
    public let limits: Limits
    /// Threads `finish()` and `report()` build clients' check-ins on (default 1: the calling thread).
    /// The report is the same for any number. More threads finish sooner on more cores, and may cost
    /// memory: glibc gives each thread its own heap arena (up to 8 per core; `sepbeat` caps them at
    /// four), and memory freed in one arena is not reused by the others.
    public var threads: Int = 1
    /// The client's communication file, if given (its servers and intervals apply).
    let sylink: SyLinkFile?
    /// `option` (--interval), `sylink` or `model`.
    private let intervalSource: String
    private(set) var directory: ManagerDirectory
    private var perClient: [IPAddress: [ConnectionRecord]] = [:]
    /// Equal TLS summaries, HTTP transactions and strings of the kept records, shared (bounded tables).
    private var interner = RecordInterner()
    /// Records kept per client and server, counted as the traffic layer handed them out (before
    /// rejoining), for `managerConnections`; counted here so the build need not.
    private var piecesPerClient: [IPAddress: [Endpoint: Int]] = [:]
    /// Of those, the records that carried no HTTP or TLS (no payload, or bytes of another protocol): to a
    /// manager's address on a port no entry lists they are not check-ins kept out by the configuration (an RPC
    /// or file-sharing connection, a port scan), so they count as on other ports, not in `unlistedPorts`.
    private(set) var silentPiecesPerClient: [IPAddress: [Endpoint: Int]] = [:]
    private(set) var secarsEndpoints: Set<Endpoint> = []
    /// The tunnels each proxy carried (the captured server of a tunnel judged as one to its target): the
    /// target and the tunnel's span. A connection of the proxy itself to such a target within such a span
    /// is the proxy's own leg of that tunnel, not a client's check-in (decided when the report is built,
    /// since a proxy may be learned after its legs were filed); its other connections stay its own, as a
    /// proxy host may run a client too.
    private(set) var proxies: [IPAddress: [ProxiedSpan]] = [:]
    /// Tunnels to a host name (`CONNECT` or absolute form) that no record filed before them tied to an address,
    /// as captured: filed when the report is built (`settleNamedTunnels()`), when every record of the capture
    /// had its chance to tie the name (an SNI or `Host` header seen after the tunnel began ties it too).
    private var namedTunnels: [ConnectionRecord] = []
    /// Kept records of a tunnel judged as one to the proxy (its target tied to no address), for
    /// `HeartbeatReport.Counts.untiedTunnelsToManagers`: with none, the records are not looked through for them.
    private(set) var untiedKept = 0
    /// Of those, the `CONNECT`s a proxy refused whose target is a configured name that nothing tied: no check-in
    /// is built from them (there is no address to judge them as), so each is a `connect-failed` of its own.
    private(set) var untiedRefusals: [Finding] = []
    /// Connections to a proxy whose `CONNECT` the snap length cut and that carried no tunnel, by client and
    /// proxy: how many, and the first one's start (`cutTunnelFindings`).
    private(set) var cutTunnels: [ProxyUse: (connections: Int, first: Timestamp)] = [:]

    /// A client and the proxy (as captured) it connected to.
    struct ProxyUse: Hashable, Sendable {
        var client: IPAddress
        var proxy: Endpoint
    }
    /// TLS connections on ports nothing lists, for the note on servers reached at the heartbeat interval there.
    var otherPorts = OtherPortStarts()

    /// One tunnel through a proxy, as its leg is matched against it: the target, and when the proxy's own
    /// connection to it may begin (from the client's connection start to `legBy`).
    struct ProxiedSpan: Sendable {
        var target: Endpoint
        var start: Timestamp
        var legBy: Timestamp
        /// For a `CONNECT` tunnel, what went through it: a leg from another address of the proxy is known by it.
        var inside: TunnelBytes?
        /// For plain HTTP forwarded in absolute form, the requests and their answers: the proxy rewrites each
        /// request (origin form, headers of its own), so a leg from its other address carries other bytes but
        /// the same requests, answered the same.
        var forwarded: [ForwardedRequest]?
    }

    /// A request as a proxy forwards it, in origin form: its method, its path (the query left out, as kept
    /// records shorten it), and the status of its answer.
    struct ForwardedRequest: Hashable, Sendable {
        var method: String
        var path: String
        var status: Int?
    }

    /// The requests of `c`'s exchanges (judged: targets in origin form), for matching a forwarding leg; nil when
    /// an exchange is no HTTP request.
    static func forwardedRequests(_ c: ConnectionRecord) -> [ForwardedRequest]? {
        var out: [ForwardedRequest] = []
        for e in c.exchanges {
            guard let h = e.http else { return nil }
            let path = queryMark(in: h.target).map { String(h.target[..<$0]) } ?? h.target
            out.append(ForwardedRequest(method: h.method, path: path, status: h.status))
        }
        return out.isEmpty ? nil : out
    }

    /// The bytes a `CONNECT` tunnel carried each way (repeated bytes and its `CONNECT` exchanges left out),
    /// and the SNI of the TLS in it.
    struct TunnelBytes: Hashable, Sendable {
        var up: Int64
        var down: Int64
        var serverName: String?
    }
    private(set) var seen = 0
    private(set) var ignored = 0
    /// Kept connections that carried payload, with packets from the client only, from the server only, and
    /// both ways: a capture whose such connections all show one direction is named once (`oneDirectionFinding`).
    private(set) var directions = (upOnly: 0, downOnly: 0, both: 0)
    /// Connections dropped: of clients beyond `limits.maxClients`, and of a client beyond
    /// `limits.maxConnectionsPerClient`.
    private(set) var droppedOverClients = 0
    private(set) var droppedOverConnections = 0
    /// `droppedOverConnections` by client (clients tracked only, so at most `limits.maxClients`).
    private(set) var droppedOverConnectionsByClient: [IPAddress: Int] = [:]
    var dropped: Int { droppedOverClients + droppedOverConnections }
    private var firstTime: Timestamp?
    private(set) var lastTime: Timestamp?
    private(set) var notedSpan: (Timestamp, Timestamp)?
    private(set) var captureFindings: [Finding] = []
    private(set) var silences: [CaptureSilence] = []
    /// Stretches of a few packets stamped far off the capture's clock (`noteOffClock`).
    private(set) var offClock: [OffClockStretch] = []
    /// Steps back of the capture's clock whose later times are read on the clock before them
    /// (`noteClockSetBack`), by first connection.
    private(set) var setBacks: [ClockSetBack] = []

    /// - Parameters:
    ///   - model: expectations (already carrying `--interval` / `--server` overrides).
    ///   - sylink: the client's communication file, if given: its servers become managers, and
    ///     its push interval (and a pull interval attribute, unless the model's is pinned) apply.
    ///
    /// A pull interval from SyLink.xml replaces the model's (unless pinned) with the tolerance and
    /// accelerated range derived as `ReferenceModel.withDerivedInterval` describes; `model` is then
    /// the model in effect. `SyLinkFile.parse` range-checks the interval; a hand-built value outside
    /// 1-604,800 s is not used.
    ///
    /// - Parameter pinnedByModelFile: true when the model file itself set `interval.pinned` (no `--interval`
    ///   given): the interval is then reported as the model's, not the option's.
    public init(model: ReferenceModel, sylink: SyLinkFile? = nil, limits: Limits = Limits(),
                pinnedByModelFile: Bool = false) {
        var effective = model
        var source = model.interval.pinned && !pinnedByModelFile ? "option" : "model"
        if !model.interval.pinned, let s = sylink?.pullHeartbeatSeconds,
           let derived = try? model.withDerivedInterval(seconds: Double(s), pinned: false, source: "SyLink.xml") {
            effective = derived
            source = "sylink"
        }
        self.model = effective
        self.intervalSource = source
        self.sylink = sylink
        self.limits = limits
        self.directory = ManagerDirectory(model: effective, sylink: sylink)
    }

    // MARK: - Input

    /// Files one connection. Cost: O(log n) search plus an insert into the client's list.
    ///
    /// A connection through a proxy's `CONNECT` tunnel is filed as one to the tunnel's target
    /// (`ManagerDirectory.judged(_:)`), so it counts, and is classified, as a direct one would be.
    /// A tunnel to a host name that nothing has tied to an address yet waits until the report is built
    /// (`settleNamedTunnels()`), as a connection that begins later may still tie the name.
    public mutating func ingest(_ captured: ConnectionRecord) {
        guard captured.hasTunnel else { return file(captured) }
        let connection = directory.judged(captured)
        if Self.awaitsName(connection) {
            namedTunnels.append(captured)
            return
        }
        file(connection)
    }

    /// Counts and files one connection as judged (a tunnel already judged as one to its target).
    private mutating func file(_ connection: ConnectionRecord) {
        seen += 1
        firstTime = min(firstTime ?? connection.start, connection.start)
        lastTime = max(lastTime ?? connection.end, connection.end)
        directory.observe(connection)
        if connection.connectCut, !connection.hasTunnel {
            let use = ProxyUse(client: connection.client.address, proxy: connection.server)
            let before = cutTunnels[use]
            cutTunnels[use] = ((before?.connections ?? 0) + 1, min(before?.first ?? connection.start, connection.start))
        }
        if connection.hasTunnel, let tunnel = connection.tunnel, let proxy = tunnel.proxy {
            // The proxy connects once the request came: before its 2xx to a CONNECT (the tunnel's start),
            // or before it answers the first forwarded request.
            let slack = tunnel.kind == .forward ? Self.legAfterRequestNanos : Self.legAfterConnectNanos
            let legBy = Timestamp(nanoseconds: tunnel.start.nanoseconds.addingReportingOverflow(slack).partialValue)
            var span = ProxiedSpan(target: connection.server, start: connection.start, legBy: legBy)
            if tunnel.kind == .forward {
                span.forwarded = Self.forwardedRequests(connection)
            } else if tunnel.kind == .connect {
                // What went through the tunnel, the `CONNECT` exchanges set apart: a leg carries the same.
                let setUp = tunnel.setUp.reduce((up: Int64(0), down: Int64(0))) {
                    (Saturating.add($0.up, $1.bytesUp), Saturating.add($0.down, $1.bytesDown))
                }
                span.inside = TunnelBytes(
                    up: Saturating.subtract(Saturating.subtract(connection.bytesUp,
                                                                connection.anomaliesUp.repeatedBytes), setUp.up),
                    down: Saturating.subtract(Saturating.subtract(connection.bytesDown,
                                                                  connection.anomaliesDown.repeatedBytes), setUp.down),
                    serverName: connection.tls?.serverName)
            }
            proxies[proxy.address, default: []].append(span)
        }
        guard directory.isCandidate(connection) else {
            ignored += 1
            noteOtherPort(connection)
            return
        }
        if directory.hasSecarsRequest(connection) { secarsEndpoints.insert(connection.server) }
        let key = connection.client.address
        // Looked up once: the list is then changed in place through its position.
        let known = perClient.index(forKey: key)
        guard known != nil || perClient.count < limits.maxClients else {
            droppedOverClients += 1
            return
        }
        guard (known.map { perClient.values[$0].count } ?? 0) < limits.maxConnectionsPerClient else {
            droppedOverConnections += 1
            droppedOverConnectionsByClient[key, default: 0] += 1
            return
        }
        // Connects that carried no payload (unanswered or refused SYNs) say nothing of the capture's directions.
        if connection.bytesUp > 0 || connection.bytesDown > 0 {
            switch (connection.packetsUp > 0, connection.packetsDown > 0) {
            case (true, false): directions.upOnly += 1
            case (false, true): directions.downOnly += 1
            case (true, true): directions.both += 1
            case (false, false): break
            }
        }
        // Moved in, and the compacted record moved into the list (not copied again there).
        if connection.hasTunnel, connection.tunnel?.proxy == nil { untiedKept += 1 }
        let kept = Self.compacted(consume connection, sharing: &interner)
        let server = kept.server
        let silent = kept.application != .http && kept.application != .tls
        if let known {
            Self.file(consume kept, into: &perClient.values[known])
        } else {
            perClient[key] = [kept]
        }
        piecesPerClient[key, default: [:]][server, default: 0] += 1
        if silent {
            silentPiecesPerClient[key, default: [:]][server, default: 0] += 1
        }
    }

    /// Inserts `record` into a client's list, kept in start order (after records of the same start).
    static func file(_ record: consuming ConnectionRecord, into list: inout [ConnectionRecord]) {
        var low = list.count
        // The last start read in place (`list.last` would copy the record, retaining all it holds).
        if low > 0, list[low - 1].start > record.start {
            var lo = 0
            var hi = list.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if list[mid].start <= record.start { lo = mid + 1 } else { hi = mid }
            }
            low = lo
        }
        // Grown by an eighth, not doubled as an array grows by itself: a client's list is held until the end of
        // the run, and doubling leaves a quarter of it empty on average. Each growth moves one client's records
        // (a few extra moves a record over the run; no copy of all clients at once).
        if list.count == list.capacity { list.reserveCapacity(list.count + max(4, list.count / 8)) }
        // Most records come in start order: appended, without the general insert's work.
        if low == list.count { list.append(record) } else { list.insert(record, at: low) }
    }

    /// The records kept so far, all clients' (for tests).
    var keptRecords: [ConnectionRecord] { perClient.keys.sorted().flatMap { perClient[$0] ?? [] } }
    /// The room a client's list holds (for tests).
    func keptCapacity(of client: IPAddress) -> Int { perClient[client]?.capacity ?? 0 }

    /// Moves the times of the connections opened after each step back (`setBacks`, by first connection) forward
    /// by it, steps added up, and sorts the list by start again.
    static func readAfterSetBacks(_ list: inout [ConnectionRecord], _ setBacks: [ClockSetBack]) {
        var moved = false
        for i in list.indices {
            var shift: Int64 = 0
            for b in setBacks where list[i].id >= b.firstConnection {
                shift = shift.addingReportingOverflow(b.nanoseconds).partialValue
            }
            guard shift != 0 else { continue }
            list[i].shiftTimes(by: shift) { _ in true }
            moved = true
        }
        if moved { list.sort { ($0.start, $0.id) < ($1.start, $1.id) } }
    }

    /// The record as kept: request targets shortened to their path, with `?…` standing for the query,
    /// and the details no rule reads after ingest let go (certificate, alerts but the first fatal one, User-Agent,
    /// Content-Type, Host: the host-name bindings are learned before this).
    ///
    /// A secars request carries an encrypted `h=` value of hundreds of hex characters that no rule
    /// reads (its meaning is hidden, see docs/heartbeat-model.md); keeping it would make the kept
    /// records of a day-long fleet capture several times larger than everything else together.
    static func compacted(_ connection: ConnectionRecord) -> ConnectionRecord {
        var interner = RecordInterner(slots: 1)
        return compacted(connection, sharing: &interner)
    }

    /// `compacted(_:)`, sharing the record's TLS summary, HTTP transactions and shortened targets with the
    /// equal ones `interner` kept (one buffer for every `/secars/secars.dll?…`; `RecordInterner.share`).
    static func compacted(
        _ connection: consuming ConnectionRecord, sharing interner: inout RecordInterner
    ) -> ConnectionRecord {
        var c = consume connection
        // The summary compacted before it is boxed, so one kept before is shared without a box made for it.
        // The first fatal alert stays: it tells why a handshake failed (`tls-handshake-failed`).
        interner.share(&c) { summary in
            let kept = summary.alerts.first { $0.level == 2 }.map { [$0] } ?? []
            guard summary.certificate != nil || summary.alerts != kept else { return nil }
            var t = copy summary
            t.certificate = nil
            t.alerts = kept
            return t
        } http: { h, interner in
            let headers = h.userAgent != nil || h.contentType != nil || h.host != nil
            let query = Self.queryMark(in: h.target)
            guard headers || query != nil else { return nil }
            var t = copy h
            if headers {
                t.userAgent = nil
                t.contentType = nil
                t.host = nil
            }
            if let query { t.target = interner.shared(h.target[..<query], "?…") }
            return t
        }
        // The CONNECT exchanges: their target, method and status are read (step 2), their headers not.
        if c.hasTunnel, var tunnel = c.tunnel,
           tunnel.setUp.contains(where: { $0.http?.host != nil || $0.http?.userAgent != nil }) {
            for i in tunnel.setUp.indices {
                tunnel.setUp[i].changeHTTP { t in
                    t.host = nil
                    t.userAgent = nil
                    t.contentType = nil
                }
            }
            c.tunnel = tunnel
        }
        return c
    }

    /// Where a request-target's query begins: its first `?` character, nil without one.
    ///
    /// Found byte by byte, and without reading the query (a secars query is hundreds of bytes): a `?` byte
    /// with ASCII bytes before it and an ASCII byte (or nothing) after it is that character, since each
    /// such byte is a character of its own (no character of ASCII bytes holds a `?` with another byte, and
    /// only a non-ASCII mark after it could join it). No `?` byte: no `?` character. Otherwise by character.
    static func queryMark(in target: String) -> String.Index? {
        let bytes = target.utf8
        let quick = bytes.withContiguousStorageIfAvailable { buffer -> Int?? in
            guard let q = buffer.firstIndex(of: UInt8(ascii: "?")) else { return .some(nil) }
            for b in buffer[..<q] where b >= 0x80 { return nil }
            if q + 1 < buffer.count, buffer[q + 1] >= 0x80 { return nil }
            return .some(q)
        }
        if case .some(.some(let found)) = quick {
            return found.map { bytes.index(bytes.startIndex, offsetBy: $0) }
        }
        return target.firstIndex(of: "?")
    }

    /// A record with no SYN and no payload either way (at most one byte each way, the most a keep-alive
    /// probe carries) and no exchange: a lone RST or ACK, or the keep-alives of a connection the capture
    /// joined. Nothing was exchanged, so it is no check-in (a failed connect always has its SYN).
    static func isEmptyPiece(_ c: ConnectionRecord) -> Bool {
        guard c.handshake == .midstream, c.exchanges.isEmpty, c.tunnel == nil else { return false }
        return Saturating.subtract(c.bytesUp, c.anomaliesUp.repeatedBytes) <= 1
            && Saturating.subtract(c.bytesDown, c.anomaliesDown.repeatedBytes) <= 1
    }

    /// Whether `c`, as `ManagerDirectory.judged(_:)` left it, is a tunnel to a host name not tied to an address
    /// yet: a name with a usable port (not address text, nor a number in another form than dotted decimal,
    /// which nothing ties).
    static func awaitsName(_ c: ConnectionRecord) -> Bool {
        guard let tunnel = c.tunnel, tunnel.proxy == nil, tunnel.port != nil, !tunnel.host.isEmpty else { return false }
        return IPAddress(tunnel.host) == nil && !tunnel.hostIsNonDecimalNumber
    }

    /// Files the tunnels held in `namedTunnels`: one whose name is tied by now as one to that address, the
    /// others as captured (to the proxy). Filing one may tie another's name (its SNI is the name other
    /// tunnels' lost `CONNECT`s stand for), so passes go on until one ties none. A refused `CONNECT` to a
    /// configured name still tied to nothing becomes a finding (`untiedRefusals`).
    mutating func settleNamedTunnels() {
        var waiting = namedTunnels.sorted { ($0.start, $0.id) < ($1.start, $1.id) }
        namedTunnels = []
        var tied = true
        while tied, !waiting.isEmpty {
            tied = false
            var still: [ConnectionRecord] = []
            for c in waiting {
                let judged = directory.judged(c)
                if Self.awaitsName(judged) {
                    still.append(c)
                } else {
                    file(judged)
                    tied = true
                }
            }
            waiting = still
        }
        // Each one with its client's next one (read from the end, so each is found at once).
        var nextOfClient: [IPAddress: Int] = [:]
        var refusals: [Finding] = []
        for i in waiting.indices.reversed() {
            let c = waiting[i]
            if let finding = untiedRefusal(c, next: nextOfClient[c.client.address].map { waiting[$0] }) {
                refusals.append(finding)
            }
            nextOfClient[c.client.address] = i
        }
        untiedRefusals += refusals.reversed()
        for c in waiting { file(c) }
    }

    /// The `connect-failed` finding for `c`, a `CONNECT` to a configured host name tied to no address that the
    /// proxy refused; nil for another connection, or for a `407` that the client's `next` such tunnel to
    /// the same target follows (the client coming back with credentials: the proxy's authentication).
    private func untiedRefusal(_ c: ConnectionRecord, next: ConnectionRecord?) -> Finding? {
        guard let tunnel = c.tunnel, tunnel.kind == .refused, directory.isConfiguredName(tunnel.host) else {
            return nil
        }
        let http = tunnel.setUp.last?.http
        if http?.status == 407, let after = next?.tunnel, after.targetText == tunnel.targetText { return nil }
        var answer = http?.status.map(String.init) ?? "-"
        if let reason = http?.reason, !reason.isEmpty { answer += " " + reason }
        return Finding(code: .connectFailed, severity: model.severity(of: .connectFailed),
                       message: "connect to \(tunnel.targetText) refused by proxy \(c.server) (CONNECT → \(answer)): "
                           + "no tunnel; no connection of the capture ties the configured name to an address, so "
                           + "no check-in is built from it",
                       client: c.client.address, time: c.synTime ?? c.start)
    }

    /// A `capture-truncated` finding for each client and proxy of `cutTunnels`: the snap length cut the
    /// `CONNECT`s, so neither the tunnels' targets nor what went through them are known, and check-ins through
    /// the proxy are missing from the client's row (the capture is not complete, whatever else it shows).
    func cutTunnelFindings() -> [Finding] {
        let code = FindingCode.captureTruncated
        let ordered = cutTunnels.sorted {
            ($0.value.first, $0.key.client, $0.key.proxy) < ($1.value.first, $1.key.client, $1.key.proxy)
        }
        return ordered.map { use, cut in
            let heads = cut.connections == 1 ? "its CONNECT head" : "their CONNECT heads"
            return Finding(code: code, severity: model.severity(of: code),
                           message: "\(counted(cut.connections, "connection")) to proxy \(use.proxy) had \(heads) cut "
                               + "by the snap length: no tunnel could be followed (neither its target nor what went "
                               + "through it is known), so check-ins through the proxy are missing",
                           client: use.client, server: use.proxy, time: cut.first)
        }
    }

    /// A proxy's tunnels by target, each list in start order, for `isLeg`.
    static func spansByTarget(_ spans: [ProxiedSpan]) -> [Endpoint: [ProxiedSpan]] {
        var out = Dictionary(grouping: spans, by: \.target)
        for k in out.keys { out[k]?.sort { $0.start < $1.start } }
        return out
    }

    /// How late a proxy's own connection may begin and still be the leg of a tunnel: after the 2xx to its
    /// `CONNECT` (1 s, for clock granularity), or after the first request it forwards (5 s). Narrow, so a
    /// proxy host's own check-ins are not taken for legs (a push tunnel lives for hours).
    static let legAfterConnectNanos: Int64 = 1_000_000_000
    static let legAfterRequestNanos: Int64 = 5_000_000_000

    /// Whether `c`, a connection of a proxy, is its own leg of one of its tunnels (`byTarget`, from
    /// `spansByTarget`): to that tunnel's target, begun between the client's connection start and the
    /// tunnel's `legBy`. Cost: a binary search and a look at the few tunnels before.
    static func isLeg(_ c: ConnectionRecord, of byTarget: [Endpoint: [ProxiedSpan]]) -> Bool {
        guard let spans = byTarget[c.server] else { return false }
        return setUpWhenBegun(c, spans) { _ in true }
    }

    /// Whether one of `spans` (sorted by start) that began by `c.start` was still being set up then (`c` began
    /// by its `legBy`) and passes `test`. Tunnels that began by `c.start` are looked at latest first, 64 at most:
    /// check-ins of one client rarely overlap many.
    private static func setUpWhenBegun(
        _ c: ConnectionRecord, _ spans: [ProxiedSpan], _ test: (ProxiedSpan) -> Bool
    ) -> Bool {
        var lo = 0
        var hi = spans.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if spans[mid].start <= c.start { lo = mid + 1 } else { hi = mid }
        }
        var i = lo - 1
        while i >= 0, i >= lo - 64 {
            if c.start <= spans[i].legBy, test(spans[i]) { return true }
            i -= 1
        }
        return false
    }

    /// Whether `c` carries the very bytes of one of the tunnels `byTarget` holds (`spansByTarget`): to its target,
    /// begun while it was set up, the same bytes each way (repeated bytes left out) and the same SNI.
    static func carriesTunnel(_ c: ConnectionRecord, of byTarget: [Endpoint: [ProxiedSpan]]) -> Bool {
        guard !c.hasTunnel, let spans = byTarget[c.server], c.bytesUp > 0 || c.bytesDown > 0 else { return false }
        let bytes = TunnelBytes(up: Saturating.subtract(c.bytesUp, c.anomaliesUp.repeatedBytes),
                                down: Saturating.subtract(c.bytesDown, c.anomaliesDown.repeatedBytes),
                                serverName: c.tls?.serverName)
        return setUpWhenBegun(c, spans) { $0.inside == bytes }
    }

    /// Whether `c` forwards the very requests of one of the absolute-form tunnels `byTarget` holds
    /// (`spansByTarget`): to its target, begun while the tunnel was set up (by 5 s after its first request), the
    /// same requests in origin form in the same order, answered with the same statuses.
    static func forwardsRequests(_ c: ConnectionRecord, of byTarget: [Endpoint: [ProxiedSpan]]) -> Bool {
        guard !c.hasTunnel, let spans = byTarget[c.server], let requests = forwardedRequests(c) else { return false }
        return setUpWhenBegun(c, spans) { $0.forwarded == requests }
    }

    /// Tells the first and last packet times of the whole capture (otherwise taken from the records).
    public mutating func noteCaptureSpan(first: Timestamp, last: Timestamp) {
        notedSpan = (first, last)
    }

    /// Records that a capture file ended inside a packet record at `offset` bytes (of its decompressed bytes,
    /// when `decompressed`: a compressed file).
    public mutating func noteCaptureTruncated(file: String, offset: Int64, decompressed: Bool = false) {
        let code = FindingCode.captureTruncated
        let place = decompressed ? "decompressed byte offset" : "byte offset"
        captureFindings.append(Finding(code: code, severity: model.severity(of: code),
                                       message: "\(file) is cut short at \(place) \(offset)"))
    }

    /// Records that the snap length cut `packets` packets of a capture file inside their headers (link layer, IP
    /// or TCP), so that they could not be read at all (their connections and check-ins are missing or incomplete).
    public mutating func noteHeadersCut(file: String, packets: Int) {
        let code = FindingCode.captureTruncated
        captureFindings.append(Finding(code: code, severity: model.severity(of: code),
                                       message: "\(file): \(counted(packets, "packet")) cut by the snap length inside "
                                           + "their headers (link layer, IP or TCP) could not be read; connections and "
                                           + "check-ins in them are missing or incomplete"))
    }

    /// Records a capture-level loss, e.g. packets the capturing interface reported as dropped.
    public mutating func noteCaptureGap(_ message: String, time: Timestamp? = nil) {
        let code = FindingCode.captureGap
        captureFindings.append(Finding(code: code, severity: model.severity(of: code), message: message, time: time))
    }

    /// Notes a file of a merged run whose clock looks set forward across `silence` (see
    /// `CaptureSummary.clocksSetForward`): a `capture-gap` finding naming the file and the stretch, as the
    /// intervals of its clients across it are judged as if it had run.
    public mutating func noteClockSetForward(file: String, silence: CaptureSilence, runsOn: Int64) {
        noteCaptureGap("\(file): no packets from \(silence.start.rfc3339(fractionDigits: 3)) to "
            + "\(silence.end.rfc3339(fractionDigits: 3)) (\(formatSpan(nanoseconds: silence.nanoseconds))) while "
            + "the other files' packets went on, and it runs on \(formatSpan(nanoseconds: runsOn)) after the last "
            + "of theirs: its clock may have been set forward there; intervals of its clients across it are judged "
            + "as if it had run (missed check-ins there may be the clock's)", time: silence.start)
    }

    /// Notes a step back of `file`'s whole clock (see `ClockSetBack`): a `capture-gap` warning naming it.
    /// When it is `corrected`, the connections opened from the step on are read `nanoseconds` later (their
    /// times moved forward), so check-ins either side keep their order and the interval across the step is
    /// judged on the clock before it; otherwise (a run of several files) it is only named.
    public mutating func noteClockSetBack(file: String, _ step: ClockSetBack) {
        let by = formatSpan(nanoseconds: step.nanoseconds)
        var text = "\(file): the clock was set back by about \(by) after \(step.before.rfc3339(fractionDigits: 3)) "
            + "(the next packet is stamped \(step.after.rfc3339(fractionDigits: 3)), and the earlier time never "
            + "comes back): "
        if step.corrected {
            text += "times after it are read \(by) later, on the clock before it, so check-ins after it are "
                + "shown and judged on that clock (the interval across the step is not judged)"
            setBacks.append(step)
            setBacks.sort { $0.firstConnection < $1.firstConnection }
            // The interval across the step is not judged: the time the capture took across it is unknown.
            silences.append(CaptureSilence(start: step.before, end: step.before, clockSetBack: true))
            silences.sort { ($0.start, $0.end) < ($1.start, $1.end) }
        } else {
            text += "in a run of several files it is only named; intervals of its clients across it are judged on "
                + "the times as stamped (check-ins either side may interleave)"
        }
        noteCaptureGap(text, time: step.before)
    }

    /// Tells the stretches of the whole input with no packet at all (e.g. the time between two capture
    /// files merged into one run). Intervals a silence covers for more than the tolerance are not judged
    /// (`CaptureSilence.hiding`); each silence that hid expected check-ins becomes one `capture-gap` finding.
    /// Additive: several calls add up. Cost: O(s log s); every interval is then checked against the list.
    public mutating func noteCaptureSilences(_ spans: [CaptureSilence]) {
        silences += spans.filter { $0.end > $0.start }
        silences.sort { ($0.start, $0.end) < ($1.start, $1.end) }
    }

    /// Tells the stretches of a few packets stamped far off the capture's clock (a connection dated a day
    /// away): a client's check-ins starting in them are left out of its intervals when it has check-ins on
    /// the clock too (`IntervalAudit`, `FleetAudit`). Additive.
    public mutating func noteOffClock(_ stretches: [OffClockStretch]) {
        offClock += stretches
        offClock.sort { $0.start < $1.start }
    }

    // MARK: - Output

    /// The report for everything ingested so far; the builder keeps its state.
    public func report() -> HeartbeatReport {
        if !namedTunnels.isEmpty {
            // Settled on a copy: the builder goes on taking records, and a later one may tie a name.
            var settled = self
            settled.settleNamedTunnels()
            return settled.report()
        }
        var kept = perClient
        return build(&kept, pieces: piecesPerClient)
    }

    /// The final report. The same as `report()`, but each client's kept records are let go as soon as
    /// its check-ins are built, so the records and the sessions are not all held at once; the builder
    /// keeps only its counters afterwards (a later `report()` has no check-ins).
    public mutating func finish() -> HeartbeatReport {
        settleNamedTunnels()
        var kept = perClient
        perClient = [:]
        interner = RecordInterner()
        let pieces = piecesPerClient
        piecesPerClient = [:]
        return build(&kept, pieces: pieces)
    }

    // MARK: - Expectations

    var pullInterval: (seconds: Double, source: String) { (model.interval.seconds, intervalSource) }

    /// The push heartbeat's tolerance and accelerated range, derived from the push interval.
    var pushRules: IntervalRules { model.intervalRules(forSeconds: pushInterval) }

    func differs(_ push: Double, _ pull: Double) -> Double? { push == pull ? nil : push }

    var pushInterval: Double {
        if let s = sylink?.pushHeartbeatSeconds, s > 0, Double(s) <= ReferenceModel.maxIntervalSeconds {
            return Double(s)
        }
        return model.push.heartbeatSeconds
    }
}
