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
        /// Clients tracked at once (default 100,000).
        public var maxClients: Int
        /// Connections kept per client (default 20,000, about 70 days of 5-minute check-ins).
        public var maxConnectionsPerClient: Int

        public init(maxClients: Int = 100_000, maxConnectionsPerClient: Int = 20_000) {
            self.maxClients = maxClients
            self.maxConnectionsPerClient = maxConnectionsPerClient
        }
    }

    public let model: ReferenceModel
    public let limits: Limits
    /// Threads `finish()` and `report()` build clients' check-ins on (default 1: the calling thread).
    /// The report is the same for any number. More threads finish sooner on more cores, and may cost
    /// memory: glibc gives each thread its own heap arena (about 20 % more peak memory with 2 threads
    /// on a day-long fleet capture, unless the process caps arenas as `sepbeat` does).
    public var threads: Int = 1
    /// The client's communication file, if given (its servers and intervals apply).
    let sylink: SyLinkFile?
    /// `option` (--interval), `sylink` or `model`.
    private let intervalSource: String
    private(set) var directory: ManagerDirectory
    private var perClient: [IPAddress: [ConnectionRecord]] = [:]
    /// Records kept per client and server, counted as the traffic layer handed them out (before
    /// rejoining), for `managerConnections`; counted here so the build need not.
    private var piecesPerClient: [IPAddress: [Endpoint: Int]] = [:]
    /// Of those, the records that carried no HTTP or TLS (no payload, or bytes of another protocol): to a
    /// manager's address on a port no entry lists they are not check-ins kept out by the configuration (an RPC
    /// or file-sharing connection, a port scan), so they count as on other ports, not in `unlistedPorts`.
    private var silentPiecesPerClient: [IPAddress: [Endpoint: Int]] = [:]
    private var secarsEndpoints: Set<Endpoint> = []
    /// The tunnels each proxy carried (the captured server of a tunnel judged as one to its target): the
    /// target and the tunnel's span. A connection of the proxy itself to such a target within such a span
    /// is the proxy's own leg of that tunnel, not a client's check-in (decided when the report is built,
    /// since a proxy may be learned after its legs were filed); its other connections stay its own, as a
    /// proxy host may run a client too.
    private var proxies: [IPAddress: [ProxiedSpan]] = [:]

    /// One tunnel through a proxy, as its leg is matched against it: the target, and when the proxy's own
    /// connection to it may begin (from the client's connection start to `legBy`).
    struct ProxiedSpan: Sendable {
        var target: Endpoint
        var start: Timestamp
        var legBy: Timestamp
    }
    private var seen = 0
    private var ignored = 0
    /// Kept connections that carried payload, with packets from the client only, from the server only, and
    /// both ways: a capture whose such connections all show one direction is named once (`oneDirectionFinding`).
    private var directions = (upOnly: 0, downOnly: 0, both: 0)
    /// Connections dropped: of clients beyond `limits.maxClients`, and of a client beyond
    /// `limits.maxConnectionsPerClient`.
    private var droppedOverClients = 0
    private var droppedOverConnections = 0
    /// `droppedOverConnections` by client (clients tracked only, so at most `limits.maxClients`).
    private var droppedOverConnectionsByClient: [IPAddress: Int] = [:]
    private var dropped: Int { droppedOverClients + droppedOverConnections }
    private var firstTime: Timestamp?
    private var lastTime: Timestamp?
    private var notedSpan: (Timestamp, Timestamp)?
    private var captureFindings: [Finding] = []
    private(set) var silences: [CaptureSilence] = []
    /// Stretches of a few packets stamped far off the capture's clock (`noteOffClock`).
    private(set) var offClock: [OffClockStretch] = []
    /// Steps back of the capture's clock whose later times are read on the clock before them
    /// (`noteClockSetBack`), by first connection.
    private var setBacks: [ClockSetBack] = []

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
    public mutating func ingest(_ captured: ConnectionRecord) {
        let connection = captured.tunnel == nil ? captured : directory.judged(captured)
        seen += 1
        firstTime = min(firstTime ?? connection.start, connection.start)
        lastTime = max(lastTime ?? connection.end, connection.end)
        directory.observe(connection)
        if let tunnel = connection.tunnel, let proxy = tunnel.proxy {
            // The proxy connects once the request came: before its 2xx to a CONNECT (the tunnel's start),
            // or before it answers the first forwarded request.
            let slack = tunnel.kind == .forward ? Self.legAfterRequestNanos : Self.legAfterConnectNanos
            let legBy = Timestamp(nanoseconds: tunnel.start.nanoseconds.addingReportingOverflow(slack).partialValue)
            proxies[proxy.address, default: []].append(
                ProxiedSpan(target: connection.server, start: connection.start, legBy: legBy))
        }
        guard directory.isCandidate(connection) else {
            ignored += 1
            return
        }
        if directory.hasSecarsRequest(connection) { secarsEndpoints.insert(connection.server) }
        let key = connection.client.address
        var list = perClient[key] ?? []
        guard perClient[key] != nil || perClient.count < limits.maxClients else {
            droppedOverClients += 1
            return
        }
        guard list.count < limits.maxConnectionsPerClient else {
            droppedOverConnections += 1
            droppedOverConnectionsByClient[key, default: 0] += 1
            return
        }
        perClient[key] = nil
        // Connects that carried no payload (unanswered or refused SYNs) say nothing of the capture's directions.
        if connection.bytesUp > 0 || connection.bytesDown > 0 {
            switch (connection.packetsUp > 0, connection.packetsDown > 0) {
            case (true, false): directions.upOnly += 1
            case (false, true): directions.downOnly += 1
            case (true, true): directions.both += 1
            case (false, false): break
            }
        }
        let kept = Self.compacted(connection)
        var low = list.count
        if let last = list.last, last.start > kept.start {
            var lo = 0
            var hi = list.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if list[mid].start <= kept.start { lo = mid + 1 } else { hi = mid }
            }
            low = lo
        }
        list.insert(kept, at: low)
        perClient[key] = list
        piecesPerClient[key, default: [:]][kept.server, default: 0] += 1
        if kept.application != .http && kept.application != .tls {
            silentPiecesPerClient[key, default: [:]][kept.server, default: 0] += 1
        }
    }

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
        var c = connection
        // One summary box made (each `c.tls?.x = ...` copies the summary into a new one).
        // The first fatal alert stays: it tells why a handshake failed (`tls-handshake-failed`).
        if var tls = c.tls {
            let kept = tls.alerts.first { $0.level == 2 }.map { [$0] } ?? []
            if tls.certificate != nil || tls.alerts != kept {
                tls.certificate = nil
                tls.alerts = kept
                c.tls = tls
            }
        }
        // Changed through `changeHTTP` (no heap-held coroutine frame per field, as `http?.x = nil` costs).
        for i in c.exchanges.indices {
            guard let h = c.exchanges[i].http else { continue }
            let headers = h.userAgent != nil || h.contentType != nil || h.host != nil
            // Found byte by byte in an ASCII target (each byte its own character there), which a secars
            // query makes hundreds of bytes long; by character otherwise.
            let ascii = h.target.utf8.allSatisfy { $0 < 0x80 }
            let query = ascii ? h.target.utf8.firstIndex(of: UInt8(ascii: "?")) : h.target.firstIndex(of: "?")
            guard headers || query != nil else { continue }
            c.exchanges[i].changeHTTP { t in
                if headers {
                    t.userAgent = nil
                    t.contentType = nil
                    t.host = nil
                }
                if let q = query { t.target = String(h.target[..<q]) + "?…" }
            }
        }
        // The CONNECT exchanges: their target, method and status are read (step 2), their headers not.
        if var tunnel = c.tunnel, tunnel.setUp.contains(where: { $0.http?.host != nil || $0.http?.userAgent != nil }) {
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

    /// A record with no SYN and no payload either way (at most one byte each way, the most a keep-alive
    /// probe carries) and no exchange: a lone RST or ACK, or the keep-alives of a connection the capture
    /// joined. Nothing was exchanged, so it is no check-in (a failed connect always has its SYN).
    static func isEmptyPiece(_ c: ConnectionRecord) -> Bool {
        guard c.handshake == .midstream, c.exchanges.isEmpty, c.tunnel == nil else { return false }
        return c.bytesUp - c.anomaliesUp.repeatedBytes <= 1 && c.bytesDown - c.anomaliesDown.repeatedBytes <= 1
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
        var lo = 0
        var hi = spans.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if spans[mid].start <= c.start { lo = mid + 1 } else { hi = mid }
        }
        // Tunnels that began by `c.start`, latest first; check-ins of one client rarely overlap many.
        var i = lo - 1
        while i >= 0, i >= lo - 64 {
            if c.start <= spans[i].legBy { return true }
            i -= 1
        }
        return false
    }

    /// Tells the first and last packet times of the whole capture (otherwise taken from the records).
    public mutating func noteCaptureSpan(first: Timestamp, last: Timestamp) {
        notedSpan = (first, last)
    }

    /// Records that a capture file ended inside a packet record at `offset` bytes.
    public mutating func noteCaptureTruncated(file: String, offset: Int64) {
        let code = FindingCode.captureTruncated
        captureFindings.append(Finding(code: code, severity: model.severity(of: code),
                                       message: "\(file) is cut short at byte offset \(offset)"))
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
        var kept = perClient
        return build(&kept, pieces: piecesPerClient)
    }

    /// The final report. The same as `report()`, but each client's kept records are let go as soon as
    /// its check-ins are built, so the records and the sessions are not all held at once; the builder
    /// keeps only its counters afterwards (a later `report()` has no check-ins).
    public mutating func finish() -> HeartbeatReport {
        var kept = perClient
        perClient = [:]
        let pieces = piecesPerClient
        piecesPerClient = [:]
        return build(&kept, pieces: pieces)
    }

    /// The report from `perClient` (emptied client by client as their check-ins are built); `pieces`
    /// counts each client's records per server as they were filed.
    private func build(
        _ connections: inout [IPAddress: [ConnectionRecord]], pieces piecesByServer: [IPAddress: [Endpoint: Int]]
    ) -> HeartbeatReport {
        let captureEnd = notedSpan?.1 ?? lastTime
        // A proxy's own legs of the tunnels it carried (both legs captured) are not a client's check-ins:
        // counted apart. Its other connections stay (a proxy host may run a client of its own).
        var proxyLegs = 0
        var piecesByServer = piecesByServer
        for (proxy, spans) in proxies {
            guard var conns = connections[proxy] else { continue }
            let byTarget = Self.spansByTarget(spans)
            // Legs, then the later pieces of a leg (the same two endpoints, split by the idle timeout).
            var legEnds: Set<[Endpoint]> = []
            for c in conns where Self.isLeg(c, of: byTarget) { legEnds.insert([c.client, c.server]) }
            var legs: [Endpoint: Int] = [:]
            conns.removeAll { c in
                guard legEnds.contains([c.client, c.server]) else { return false }
                legs[c.server, default: 0] += 1
                return true
            }
            for (server, n) in legs { piecesByServer[proxy]?[server]? -= n }
            proxyLegs += legs.values.reduce(0, +)
            connections[proxy] = conns.isEmpty ? nil : conns
        }
        if !setBacks.isEmpty {
            for i in connections.values.indices { Self.readAfterSetBacks(&connections.values[i], setBacks) }
        }
        var rejoinedCount = 0
        // Each client's list is rejoined in place, so no list is held twice.
        for i in connections.values.indices { rejoinedCount += rejoin(&connections.values[i]) }
        let managers = resolveManagers(connections)
        // With managers configured, servers tried at the interval with every connect failing are noted only.
        let unconfiguredDown = directory.hasConfiguredManagers
            ? periodicConnectManagers(connections, known: managers) : [:]
        let classifier = StepClassifier(model: model, directory: directory, captureEnd: captureEnd)
        let audit = IntervalAudit(model: model, pullSeconds: pullInterval.seconds, pushSeconds: pushInterval,
                                  silences: silences, offClock: offClock)
        var hidden = [SilenceTally](repeating: SilenceTally(), count: silences.count)
        var managerConnections = 0

        // Clients are independent: each one's check-ins are built on one of a few threads, then joined
        // in client order, so the result does not depend on the threads.
        var work = connections.keys.sorted().map { client in
            (client: client, conns: connections.removeValue(forKey: client) ?? [])
        }
        // A manager's address on a port no entry lists: no check-in, counted apart and noted.
        var unlisted: [Endpoint: (connections: Int, clients: [IPAddress])] = [:]
        var silentUnlisted = 0
        for item in work {
            // Counted as the traffic layer handed them out, so the count adds up with `connections`.
            for (server, n) in piecesByServer[item.client] ?? [:] where n > 0 {
                if isManagerServer(server, managers) {
                    managerConnections += n
                } else if managers[server.address]?.configured != nil {
                    let silent = min(n, silentPiecesPerClient[item.client]?[server] ?? 0)
                    silentUnlisted += silent
                    guard n > silent else { continue }
                    unlisted[server, default: (0, [])].connections += n - silent
                    unlisted[server, default: (0, [])].clients.append(item.client)
                }
            }
        }
        let unlistedPorts = unlisted.sorted { ($0.key.address, $0.key.port) < ($1.key.address, $1.key.port) }.map {
            HeartbeatReport.UnlistedPortUse(server: $0.key, connections: $0.value.connections,
                                            clients: $0.value.clients)
        }
        let unlistedConnections = unlistedPorts.reduce(0) { $0 + $1.connections }
        var outcomes = buildClients(&work) { client, conns in
            // Most clients talk to managers only: their list is kept as it is, not copied. By index: the
            // records are read, not copied.
            if !conns.indices.allSatisfy({ isManagerServer(conns[$0].server, managers) }) {
                conns.removeAll { !isManagerConnection($0, managers) }
            }
            // Pieces with no SYN and no payload (a lone RST or ACK, keep-alives of a connection the capture
            // joined): nothing was exchanged, so no check-in; counted.
            let before = conns.count
            if conns.contains(where: Self.isEmptyPiece) { conns.removeAll { Self.isEmptyPiece($0) } }
            let emptyPieces = before - conns.count
            var tally = GroupTally()
            let drafts = conns.isEmpty ? [] : group(conns, tally: &tally)
            guard !drafts.isEmpty else {
                // Nothing but pieces, content downloads or pushes: counted, no client.
                return ClientOutcome(client: client, emptyPieces: emptyPieces, tally: tally)
            }
            var memo = StepClassifier.TextMemo()
            var mine = drafts.map { classifier.classify($0, memo: &memo) }
            mine.sort { $0.start < $1.start }  // in place: the list is not copied
            foldRetries(&mine)
            let result = audit.audit(client: client, sessions: mine)
            for (i, f) in result.findings { mine[i].findings.append(f) }
            // Until the final numbering, `id` is a key unique to the client that pair findings refer to.
            for i in mine.indices { mine[i].id = i }
            let pairs = pairFindings(client: client, sessions: &mine, conns: conns, managers: managers)
            // Step texts were shared as they were made (`StepClassifier.TextMemo`): the findings' are left.
            Self.shareEqualFindingTexts(&mine)
            return ClientOutcome(sessions: mine, summary: result.summary, pairs: pairs, unobserved: result.unobserved,
                                 joinSplits: tally.splits, emptyPieces: emptyPieces,
                                 contentDownloads: tally.contentDownloads, serverPushes: tally.serverPushes)
        }

        var sessions: [SessionReport] = []
        sessions.reserveCapacity(outcomes.reduce(0) { $0 + ($1?.sessions.count ?? 0) })
        var clients: [ClientSummary] = []
        var pairs: [PairFinding] = []
        var joinSplits = 0
        var emptyPieces = 0
        var contentDownloads = 0
        var serverPushes = 0
        for (i, item) in work.enumerated() {
            // Taken out, so each client's check-ins are not held twice once joined.
            guard var outcome = outcomes[i].take() else { continue }
            joinSplits += outcome.joinSplits
            emptyPieces += outcome.emptyPieces
            contentDownloads += outcome.contentDownloads
            serverPushes += outcome.serverPushes
            guard !outcome.sessions.isEmpty else { continue }
            for u in outcome.unobserved where hidden.indices.contains(u.silence) {
                hidden[u.silence].add(client: item.client, expected: u.expected)
            }
            // Keys made unique in the run.
            let base = sessions.count
            for i in outcome.sessions.indices { outcome.sessions[i].id += base }
            for var p in outcome.pairs {
                p.keys = p.keys.map { $0 + base }
                pairs.append(p)
            }
            clients.append(outcome.summary)
            sessions += outcome.sessions
        }
        // In place: a sorted copy would hold every check-in twice at the report's peak.
        Self.sortInStartOrder(&sessions)
        // Keys are 0..<sessions.count (one per check-in, made unique above), so arrays index them.
        var finalID = [Int](repeating: 0, count: sessions.count)
        for i in sessions.indices where finalID.indices.contains(sessions[i].id) { finalID[sessions[i].id] = i + 1 }
        var pairsByFirst = [[PairFinding]](repeating: [], count: sessions.count)
        for p in pairs {
            if let first = p.keys.first, pairsByFirst.indices.contains(first) { pairsByFirst[first].append(p) }
        }
        var findings: [Finding] = []
        for i in sessions.indices {
            let key = sessions[i].id
            sessions[i].id = i + 1
            for j in sessions[i].findings.indices { sessions[i].findings[j].session = i + 1 }
            findings += sessions[i].findings.filter { !$0.code.isPerPair }
            for p in pairsByFirst.indices.contains(key) ? pairsByFirst[key] : [] {
                var f = p.finding
                f.session = i + 1
                f.sessions = p.keys.compactMap { finalID.indices.contains($0) ? finalID[$0] : nil }.sorted()
                findings.append(f)
            }
        }
        findings += captureFindings + silenceFindings(hidden)
        if let oneWay = oneDirectionFinding() { findings.append(oneWay) }
        findings += stopFindings(sessions, clients, pull: pullInterval.seconds)
        findings += clockShiftFindings(sessions, clients)
        findings = findings.enumerated().sorted { a, b in
            switch (a.element.time, b.element.time) {
            case let (x?, y?) where x != y: return x < y
            case (.some, .none): return true
            case (.none, .some): return false
            default: return a.offset < b.offset
            }
        }.map(\.element)

        let counts = findings.reduce(into: [Severity: Int]()) { $0[$1.severity, default: 0] += 1 }
        let errors = counts[.error] ?? 0
        return HeartbeatReport(
            managers: managerReports(managers, sessions: sessions), sessions: sessions, clients: clients,
            findings: findings,
            summary: .init(clients: clients.count, sessions: sessions.count,
                           checkIns: sessions.count { !$0.failed && !$0.pending },
                           failed: sessions.count(where: \.failed),
                           pending: sessions.contains(where: \.pending) ? sessions.count(where: \.pending) : nil,
                           verdict: Self.verdict(errors: errors, settled: sessions.count { !$0.pending }),
                           errors: errors, warnings: counts[.warning] ?? 0, infos: counts[.info] ?? 0),
            expectations: .init(pullIntervalSeconds: pullInterval.seconds, pushIntervalSeconds: pushInterval,
                                toleranceSeconds: model.interval.toleranceSeconds,
                                acceleratedMaxSeconds: model.interval.acceleratedMaxSeconds,
                                acceleratedRunMaxSeconds: model.interval.acceleratedRunMaxSeconds,
                                intervalSource: pullInterval.source,
                                pushToleranceSeconds: differs(pushRules.toleranceSeconds,
                                                              model.interval.toleranceSeconds),
                                pushAcceleratedMaxSeconds: differs(pushRules.acceleratedMaxSeconds,
                                                                   model.interval.acceleratedMaxSeconds),
                                pushAcceleratedRunMaxSeconds: differs(pushRules.acceleratedRunMaxSeconds,
                                                                      model.interval.acceleratedRunMaxSeconds)),
            counts: .init(connections: seen, managerConnections: managerConnections,
                          otherServerConnections: seen - managerConnections - proxyLegs - ignored - dropped
                              - unlistedConnections - silentUnlisted,
                          unlistedPortConnections: unlistedConnections,
                          ignoredConnections: ignored + silentUnlisted, droppedByLimits: dropped, rejoinedConnections: rejoinedCount,
                          proxyLegConnections: proxyLegs, joinSplits: joinSplits, emptyPieces: emptyPieces,
                          contentDownloads: contentDownloads, serverPushes: serverPushes),
            silences: silences,
            offClock: offClock,
            limitDrops: dropped == 0 ? nil : .init(
                maxClients: limits.maxClients, overMaxClients: droppedOverClients,
                maxConnectionsPerClient: limits.maxConnectionsPerClient,
                overMaxConnectionsPerClient: droppedOverConnections,
                overMaxConnectionsByClient: droppedOverConnectionsByClient),
            unconfiguredDown: unconfiguredDown,
            unlistedPorts: unlistedPorts)
    }

    /// Sorts `sessions` by start, client and client port, check-ins equal in all three kept in their order (as
    /// a stable sort by those keys leaves them). Small keys are sorted, then each check-in is swapped along its
    /// cycle to its place (fewer than one swap a check-in): sorting the check-ins themselves moved each of them
    /// several times, and a check-in is about 200 bytes.
    static func sortInStartOrder(_ sessions: inout [SessionReport]) {
        struct Key {
            var start: Int64
            var client: IPAddress
            var port: UInt16
            /// Where the check-in is now.
            var position: Int
        }
        var keys: [Key] = []
        keys.reserveCapacity(sessions.count)
        for i in sessions.indices {
            keys.append(Key(start: sessions[i].start.nanoseconds, client: sessions[i].client,
                            port: sessions[i].clientPort, position: i))
        }
        // The position makes every key unique, so the order does not depend on the sort's stability.
        keys.sort { a, b in
            if a.start != b.start { return a.start < b.start }
            if a.client != b.client { return a.client < b.client }
            if a.port != b.port { return a.port < b.port }
            return a.position < b.position
        }
        // Place i takes the check-in now at keys[i].position. Each cycle of places is closed with one swap less
        // than its length; a place done is marked by its key's position pointing at itself. Swapped in the
        // buffer: moved, not copied (a copy retains and releases each of the check-in's texts and lists).
        sessions.withUnsafeMutableBufferPointer { buffer in
            for i in keys.indices where keys[i].position != i {
                var j = i
                while keys[j].position != i {
                    let from = keys[j].position
                    buffer.swapAt(j, from)
                    keys[j].position = j
                    j = from
                }
                keys[j].position = j
            }
        }
    }

    /// Fewer connections than this, all one-sided, say nothing of the capture (a few unanswered connects).
    static let oneDirectionMinConnections = 3

    /// A `capture-gap` finding when every connection kept that carried payload shows packets of one direction
    /// only (at least `oneDirectionMinConnections`): a capture of one leg of a TAP, or of one path of
    /// asymmetric routing.
    /// Said once instead of each check-in's missing answers and sizes, which are then not judged.
    func oneDirectionFinding() -> Finding? {
        let oneSided = directions.upOnly + directions.downOnly
        guard directions.both == 0, oneSided >= Self.oneDirectionMinConnections else { return nil }
        let which = directions.downOnly == 0 ? "from clients only"
            : directions.upOnly == 0 ? "from servers only"
            : "\(directions.upOnly) from clients only, \(directions.downOnly) from servers only"
        let code = FindingCode.captureGap
        return Finding(code: code, severity: model.severity(of: code), message: "every one of the \(oneSided) "
            + "connections on management ports that carried data holds packets of one direction (\(which)): the "
            + "capture sees one direction (one leg of a TAP, or asymmetric routing); answers, sizes and steps that "
            + "need the other direction are not judged, and an unanswered connect cannot be told from a refused one")
    }

    /// `fail` with an error finding; else `n/a` when no check-in was set up or failed (nothing was
    /// recognised, or only connects still pending), so nothing was judged; else `pass`.
    static func verdict(errors: Int, settled: Int) -> String {
        errors > 0 ? "fail" : settled == 0 ? "n/a" : "pass"
    }

    // MARK: - Expectations

    private var pullInterval: (seconds: Double, source: String) { (model.interval.seconds, intervalSource) }

    /// The push heartbeat's tolerance and accelerated range, derived from the push interval.
    var pushRules: IntervalRules { model.intervalRules(forSeconds: pushInterval) }

    private func differs(_ push: Double, _ pull: Double) -> Double? { push == pull ? nil : push }

    var pushInterval: Double {
        if let s = sylink?.pushHeartbeatSeconds, s > 0, Double(s) <= ReferenceModel.maxIntervalSeconds {
            return Double(s)
        }
        return model.push.heartbeatSeconds
    }
}

// MARK: - Managers

extension SessionBuilder {
    struct ManagerInfo: Sendable {
        var source: ManagerSource
        var configured: ConfiguredManager?
        /// TLS server names asked of a manager found by periodic TLS (`ManagerReport.serverNames`).
        var serverNames: [String] = []
    }

    /// Server names kept per manager found by periodic TLS.
    static let maxServerNamesPerManager = 4

    /// Decides which server addresses are managers, and why, from each client's (rejoined) connections.
    ///
    /// When managers are configured (`--server`, SyLink.xml, the model's `servers`), periodicity alone makes
    /// no more of them (`inferred-tls`, `inferred-connects`): another agent on the clients that polls an
    /// HTTPS server at the same interval would otherwise join every client's heartbeat timeline. Evidence
    /// tied to a manager stays: a secars.dll request (`inferred-http`), failed connects just before the
    /// client reached a manager (`inferred-failover`).
    func resolveManagers(_ perClient: [IPAddress: [ConnectionRecord]]) -> [IPAddress: ManagerInfo] {
        var out: [IPAddress: ManagerInfo] = [:]
        for m in directory.configured {
            for address in directory.addresses(of: m) {
                if let have = out[address], have.source <= m.source { continue }
                out[address] = ManagerInfo(source: m.source, configured: m)
            }
        }
        for e in secarsEndpoints where out[e.address] == nil {
            out[e.address] = ManagerInfo(source: .inferredHTTP, configured: nil)
        }
        if !directory.hasConfiguredManagers {
            for (address, names) in periodicTLSManagers(perClient, known: out) {
                out[address] = ManagerInfo(source: .inferredTLS, configured: nil, serverNames: names)
            }
        }
        for (address, source) in failoverManagers(perClient, known: out) {
            out[address] = ManagerInfo(source: source, configured: nil)
        }
        if !directory.hasConfiguredManagers {
            for address in periodicConnectManagers(perClient, known: out).keys {
                out[address] = ManagerInfo(source: .inferredConnects, configured: nil)
            }
        }
        return out
    }

    /// TLS: periodic check-ins from one client to one HTTPS endpoint at the expected interval, as separate
    /// connections (pull) or as bursts on one long-lived connection (push) (`inferred-tls`). Each address
    /// comes with the TLS server names its clients asked for on such connections (sorted, at most
    /// `maxServerNamesPerManager`).
    func periodicTLSManagers(_ perClient: [IPAddress: [ConnectionRecord]], known: [IPAddress: ManagerInfo])
        -> [IPAddress: [String]]
    {
        var found: Set<IPAddress> = []
        var names: [IPAddress: [String]] = [:]
        for conns in perClient.values {
            var starts: [Endpoint: [Timestamp]] = [:]
            // By index: the records are read, not copied.
            for i in conns.indices {
                let server = conns[i].server
                guard directory.httpsPorts.contains(server.port), known[server.address] == nil,
                      conns[i].application != .http,
                      conns[i].handshake == .established
                        || conns[i].handshake == .midstream && conns[i].application == .tls
                else { continue }
                if let sni = conns[i].tls?.serverName {
                    // A few short names compared in place: cheaper than hashing each connection's.
                    let have = names[server.address] ?? []
                    if have.count < Self.maxServerNamesPerManager, !have.contains(sni) {
                        names[server.address, default: []].append(sni)
                    }
                }
                guard !found.contains(server.address) else { continue }
                let longLived = conns[i].duration >= model.push.minOpenSeconds
                if longLived {
                    // The manager's own pushes are not the client's timer.
                    let clientSeen = conns[i].exchanges.contains { $0.recordsUp > 0 }
                    starts[server, default: []] += splitBursts(conns[i].exchanges).compactMap { burst in
                        clientSeen && isServerPush(burst) ? nil : burst.first?.start
                    }
                } else {
                    starts[server, default: []].append(conns[i].start)
                }
            }
            let needed = model.checkIn.inferPeriodicMinIntervals
            for (endpoint, times) in starts where periodicGaps(times.sorted()) >= needed {
                found.insert(endpoint.address)
            }
        }
        var out: [IPAddress: [String]] = [:]
        for address in found { out[address] = (names[address] ?? []).sorted() }
        return out
    }

    /// Addresses one client tried on a management port again and again at the expected interval, every
    /// attempt refused or unanswered (`inferred-connects`): a manager down for the whole capture, whose
    /// clients' failed check-ins would otherwise show nowhere.
    ///
    /// Failed connects are weaker evidence than TLS sessions, so besides the periodicity rule of
    /// `periodicTLSManagers` (at least `checkIn.inferPeriodicMinIntervals` gaps at the pull or push interval
    /// ± tolerance) most of the gaps must be on time: attempts are first taken together into tries (a try
    /// takes in the attempts starting within `tryGapSeconds` of its first: SYNs re-sent on new ports, a
    /// client going down its server list), and at least half the gaps between tries must be on time. A
    /// stray refused SYN, a scan (one or two SYNs per address and port) or connects retried at no steady
    /// period make no manager, nor do the addresses of a client that would make more than
    /// `maxConnectsManagersPerClient` of them (a sweep repeated at the interval). An endpoint the client
    /// ever set up a connection to (or was seen on already open) is not counted: its address is a manager
    /// by the other rules, or is none.
    /// Returns each address with the number of clients that tried it so.
    func periodicConnectManagers(_ perClient: [IPAddress: [ConnectionRecord]], known: [IPAddress: ManagerInfo])
        -> [IPAddress: Int]
    {
        let tryGap = tryGapSeconds
        let needed = model.checkIn.inferPeriodicMinIntervals
        var out: [IPAddress: Int] = [:]
        for conns in perClient.values {
            var starts: [Endpoint: [Timestamp]] = [:]
            var mine: Set<IPAddress> = []
            for i in conns.indices where conns[i].handshake == .refused || conns[i].handshake == .unanswered {
                // By index: the records are read, not copied.
                let server = conns[i].server
                guard known[server.address] == nil, directory.managementPorts.contains(server.port) else { continue }
                starts[server, default: []].append(conns[i].synTime ?? conns[i].start)
            }
            // Most clients have no failed connect: the endpoints they reached are looked at only otherwise.
            guard !starts.isEmpty else { continue }
            var reached: Set<Endpoint> = []
            for i in conns.indices where conns[i].handshake == .established || conns[i].handshake == .midstream {
                if starts[conns[i].server] != nil { reached.insert(conns[i].server) }
            }
            for (endpoint, times) in starts where !reached.contains(endpoint) {
                var tries: [Timestamp] = []
                for t in times.sorted() where tries.last.map({ t.seconds(since: $0) > tryGap }) ?? true {
                    tries.append(t)
                }
                let onTime = periodicGaps(tries)
                if onTime >= needed, 2 * onTime >= tries.count - 1 { mine.insert(endpoint.address) }
            }
            guard mine.count <= Self.maxConnectsManagersPerClient else { continue }
            for address in mine { out[address, default: 0] += 1 }
        }
        return out
    }

    /// Most addresses one client may make managers by failed connects alone (`periodicConnectManagers`): a
    /// client's server list holds a few managers; one trying more addresses at the interval, every try
    /// failing, is a monitor or a scan sweeping them.
    static let maxConnectsManagersPerClient = 8

    /// How far after the first attempt of a try (`periodicConnectManagers`) another attempt still belongs to
    /// it: `checkIn.attemptWindowSeconds`, but less than half the shorter of the pull and push intervals
    /// less the tolerance, so two tries one interval apart stay two.
    var tryGapSeconds: Double {
        let shortest = min(pullInterval.seconds, pushInterval) - model.interval.toleranceSeconds
        return min(model.checkIn.attemptWindowSeconds, shortest / 2)
    }

    /// How many consecutive gaps between `times` (sorted) lie within tolerance of the pull or push interval.
    func periodicGaps(_ times: [Timestamp]) -> Int {
        let tolerance = model.interval.toleranceSeconds
        var onTime = 0
        for i in times.indices.dropFirst() {
            let d = times[i].seconds(since: times[i - 1])
            if abs(d - pullInterval.seconds) <= tolerance || abs(d - pushInterval) <= tolerance { onTime += 1 }
        }
        return onTime
    }

    /// Addresses a client failed to connect to (refused or unanswered, on a management port) no more than
    /// `checkIn.attemptWindowSeconds` before its SYN to a known manager on the same port: the client
    /// tried them first in its server list, so they are managers too (`inferred-failover`).
    func failoverManagers(
        _ perClient: [IPAddress: [ConnectionRecord]], known: [IPAddress: ManagerInfo]
    ) -> [IPAddress: ManagerSource] {
        let window = model.checkIn.attemptWindowSeconds
        var out: [IPAddress: ManagerSource] = [:]
        for conns in perClient.values {
            // By index: the records are read, not copied.
            var reached: [(port: UInt16, syn: Timestamp)] = []
            // A client's connections mostly go to one server after another: its answer is looked up once a run.
            var last: (server: Endpoint, manager: Bool)?
            for i in conns.indices where conns[i].handshake == .established {
                let server = conns[i].server
                let manager: Bool
                if let last, last.server == server {
                    manager = last.manager
                } else {
                    manager = known[server.address] != nil && isManagerServer(server, known)
                    last = (server, manager)
                }
                guard manager else { continue }
                reached.append((server.port, conns[i].synTime ?? conns[i].start))
            }
            for i in conns.indices where conns[i].handshake == .refused || conns[i].handshake == .unanswered {
                let server = conns[i].server
                guard known[server.address] == nil, out[server.address] == nil,
                      directory.allPorts.contains(server.port) else { continue }
                let (start, end) = (conns[i].start, conns[i].end)
                let followed = reached.contains { c in
                    c.port == server.port && c.syn >= start && c.syn.seconds(since: end) <= window
                }
                if followed { out[server.address] = .inferredFailover }
            }
        }
        return out
    }

    func isManagerConnection(_ c: ConnectionRecord, _ managers: [IPAddress: ManagerInfo]) -> Bool {
        isManagerServer(c.server, managers)
    }

    func isManagerServer(_ server: Endpoint, _ managers: [IPAddress: ManagerInfo]) -> Bool {
        guard managers[server.address] != nil else { return false }
        return directory.allPorts.contains(server.port) || secarsEndpoints.contains(server)
            || directory.configuredMatch(server) != nil
    }

    private func managerReports(_ managers: [IPAddress: ManagerInfo], sessions: [SessionReport]) -> [ManagerReport] {
        var out: [ManagerReport] = []
        var byServer: [IPAddress: (ports: Set<Int>, count: Int)] = [:]
        // One look-up a check-in: its server's count and ports are changed in place.
        func add(_ port: Int, to entry: inout (ports: Set<Int>, count: Int)) {
            entry.count += 1
            entry.ports.insert(port)
        }
        for i in sessions.indices {  // by index: the check-ins are read, not copied
            add(Int(sessions[i].serverPort), to: &byServer[sessions[i].server, default: ([], 0)])
        }
        for (address, info) in managers.sorted(by: { $0.key < $1.key }) {
            let mine = byServer[address] ?? ([], 0)
            let name = info.configured.flatMap { $0.literal == nil ? $0.host : nil }
            var resolution: String?
            if let name { resolution = directory.binding(of: name, at: address) } else if info.configured != nil {
                resolution = "literal"
            }
            out.append(ManagerReport(
                address: address.description, hostName: name, source: info.source.rawValue, resolution: resolution,
                priority: info.configured?.priority, ports: mine.ports.sorted(), sessions: mine.count,
                serverNames: info.serverNames))
        }
        for m in directory.configured where directory.addresses(of: m).isEmpty {
            out.append(ManagerReport(
                address: m.host, hostName: m.host, source: m.source.rawValue,
                resolution: "unresolved: no TLS SNI or HTTP Host header in the capture names this host",
                priority: m.priority, ports: [], sessions: 0))
        }
        return out
    }
}
