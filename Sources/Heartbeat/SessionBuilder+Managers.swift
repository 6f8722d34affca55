import Core
import Records

// MARK: - Managers
//
// Which server addresses are managers, and why (configured, or inferred from the clients' traffic), and
// the report's list of them.

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
                    starts[server, default: []] += burstStarts(conns[i])
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

    /// The starts of a long-lived connection's bursts the client took part in, each a check-in's start on the
    /// client's timer (the manager's own pushes are not).
    func burstStarts(_ c: ConnectionRecord) -> [Timestamp] {
        let clientSeen = c.exchanges.contains { $0.recordsUp > 0 }
        return splitBursts(c.exchanges).compactMap { burst in
            clientSeen && isServerPush(burst) ? nil : burst.first?.start
        }
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

    /// Check-ins per server address, and the server ports they used, for the managers' list. Tallied client by
    /// client on the build's threads, then added up: a look-up per check-in of the whole run on one thread was
    /// part of the serial end of the build.
    struct ServerTally: Sendable {
        var byAddress: [IPAddress: (ports: Set<Int>, count: Int)] = [:]

        init() {}

        init(_ sessions: [SessionReport]) {
            // One look-up a check-in: its server's count and ports are changed in place.
            func add(_ port: Int, to entry: inout (ports: Set<Int>, count: Int)) {
                entry.count += 1
                entry.ports.insert(port)
            }
            for i in sessions.indices {  // by index: the check-ins are read, not copied
                add(Int(sessions[i].serverPort), to: &byAddress[sessions[i].server, default: ([], 0)])
            }
        }

        mutating func add(_ other: ServerTally) {
            for (address, use) in other.byAddress {
                byAddress[address, default: ([], 0)].count += use.count
                byAddress[address, default: ([], 0)].ports.formUnion(use.ports)
            }
        }
    }

    func managerReports(_ managers: [IPAddress: ManagerInfo], checkIns: ServerTally) -> [ManagerReport] {
        var out: [ManagerReport] = []
        for (address, info) in managers.sorted(by: { $0.key < $1.key }) {
            let mine = checkIns.byAddress[address] ?? ([], 0)
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
        // A name configured more than once (SyLink.xml and --server, one port each, a name in two priority
        // blocks) is one manager: one row, for the entry a connection to it would be matched with
        // (`configuredMatch`'s order), not a row per entry.
        var unresolved: [String: ConfiguredManager] = [:]
        var names: [String] = []
        for m in directory.configured where directory.addresses(of: m).isEmpty {
            let name = m.host.lowercased()
            guard let have = unresolved[name] else {
                unresolved[name] = m
                names.append(name)
                continue
            }
            if (m.source, m.priority ?? Int.max) < (have.source, have.priority ?? Int.max) { unresolved[name] = m }
        }
        for m in names.compactMap({ unresolved[$0] }) {
            out.append(ManagerReport(
                address: m.host, hostName: m.host, source: m.source.rawValue,
                resolution: "unresolved: no TLS SNI or HTTP Host header in the capture names this host",
                priority: m.priority, ports: [], sessions: 0))
        }
        return out
    }
}
