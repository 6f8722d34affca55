import Core
import Records

// MARK: - Output: the report
//
// The report `report()` and `finish()` give: proxy legs set apart, records rejoined and managers resolved,
// each client's check-ins built and audited, then numbered, ordered and summed up for the whole run.

extension SessionBuilder {
    /// Takes out the legs of a proxy whose upstream side has another address (two interfaces) than the one its
    /// clients' tunnels go to: an address none of them went to whose every connection that carried bytes
    /// carries a tunnel's very bytes (`carriesTunnel`) or forwards an absolute-form tunnel's very requests
    /// (`forwardsRequests`), with the later pieces of those connections. An address with any other connection
    /// (a client of its own, or a client whose check-in looks like another's tunnel by chance) keeps them all.
    /// Returns the connections taken out, also taken from `pieces`.
    func removeUpstreamLegs(
        _ connections: inout [IPAddress: [ConnectionRecord]], pieces: inout [IPAddress: [Endpoint: Int]]
    ) -> Int {
        let byTarget = Self.spansByTarget(proxies.values.flatMap {
            $0.filter { $0.inside != nil || $0.forwarded != nil }
        })
        guard !byTarget.isEmpty else { return 0 }
        var removed = 0
        for (address, conns) in connections where proxies[address] == nil {
            var legEnds: Set<[Endpoint]> = []
            for c in conns where Self.carriesTunnel(c, of: byTarget) || Self.forwardsRequests(c, of: byTarget) {
                legEnds.insert([c.client, c.server])
            }
            // A later piece of a leg (split by the idle timeout) goes with it; any other connection that carried
            // bytes keeps all of the address's own.
            guard !legEnds.isEmpty, !conns.contains(where: {
                ($0.bytesUp > 0 || $0.bytesDown > 0) && !legEnds.contains([$0.client, $0.server])
            }) else { continue }
            removed += Self.takeOutLegs(legEnds, of: address, from: &connections, pieces: &pieces)
        }
        return removed
    }

    /// Takes the connections of `address` whose two endpoints are among `legEnds` (legs and their later pieces)
    /// out of its list and out of its `pieces`; returns how many.
    static func takeOutLegs(
        _ legEnds: Set<[Endpoint]>, of address: IPAddress, from connections: inout [IPAddress: [ConnectionRecord]],
        pieces: inout [IPAddress: [Endpoint: Int]]
    ) -> Int {
        guard var conns = connections[address] else { return 0 }
        var legs: [Endpoint: Int] = [:]
        conns.removeAll { c in
            guard legEnds.contains([c.client, c.server]) else { return false }
            legs[c.server, default: 0] += 1
            return true
        }
        for (server, n) in legs { pieces[address]?[server]? -= n }
        connections[address] = conns.isEmpty ? nil : conns
        return legs.values.reduce(0, +)
    }

    /// The report from `perClient` (emptied client by client as their check-ins are built); `pieces`
    /// counts each client's records per server as they were filed.
    func build(
        _ connections: inout [IPAddress: [ConnectionRecord]], pieces piecesByServer: [IPAddress: [Endpoint: Int]]
    ) -> HeartbeatReport {
        let captureEnd = notedSpan?.1 ?? lastTime
        // A proxy's own legs of the tunnels it carried (both legs captured) are not a client's check-ins:
        // counted apart. Its other connections stay (a proxy host may run a client of its own).
        var proxyLegs = 0
        var piecesByServer = piecesByServer
        for (proxy, spans) in proxies {
            guard let conns = connections[proxy] else { continue }
            let byTarget = Self.spansByTarget(spans)
            // Legs, then the later pieces of a leg (the same two endpoints, split by the idle timeout).
            var legEnds: Set<[Endpoint]> = []
            for c in conns where Self.isLeg(c, of: byTarget) { legEnds.insert([c.client, c.server]) }
            proxyLegs += Self.takeOutLegs(legEnds, of: proxy, from: &connections, pieces: &piecesByServer)
        }
        if !proxies.isEmpty { proxyLegs += removeUpstreamLegs(&connections, pieces: &piecesByServer) }
        if !setBacks.isEmpty {
            for i in connections.values.indices { Self.readAfterSetBacks(&connections.values[i], setBacks) }
        }
        var rejoinedCount = 0
        // Each client's list is rejoined in place, so no list is held twice.
        for i in connections.values.indices { rejoinedCount += rejoin(&connections.values[i]) }
        let managers = resolveManagers(connections)
        // Tunnels to a target that is no address nor a name, filed to a proxy taken for a manager: the notes on such
        // tunnels say their check-ins are in their clients' rows (as check-ins to the proxy).
        var untiedToManagers = 0
        if untiedKept > 0 {
            for conns in connections.values {
                untiedToManagers += conns.count { c in
                    guard let t = c.tunnel, t.proxy == nil, t.port == nil || t.hostIsNonDecimalNumber else {
                        return false
                    }
                    return managers[c.server.address] != nil
                }
            }
        }
        // With managers configured, servers tried at the interval with every connect failing are noted only.
        let unconfiguredDown = directory.hasConfiguredManagers
            ? periodicConnectManagers(connections, known: managers) : [:]
        // Before the clients' lists are handed to the build (which empties them).
        let periodicListed = periodicListedPortServers(connections, managers: managers)
        let classifier = StepClassifier(model: model, directory: directory, captureEnd: captureEnd)
        let audit = IntervalAudit(model: model, pullSeconds: pullInterval.seconds, pushSeconds: pushInterval,
                                  silences: silences, offClock: offClock, intervalSource: pullInterval.source)
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
            let openAtEnd = conns.filter { $0.state.contains(.openAtEnd) }.map(\.id)
            let drafts = conns.isEmpty ? [] : group(conns, tally: &tally)
            guard !drafts.isEmpty else {
                // Nothing but pieces, content downloads or pushes: counted, no client.
                return ClientOutcome(client: client, emptyPieces: emptyPieces, tally: tally)
            }
            var memo = StepClassifier.TextMemo()
            var mine = drafts.map { classifier.classify($0, memo: &memo) }
            mine.sort { $0.start < $1.start }  // in place: the list is not copied
            foldRetries(&mine)
            let result = audit.audit(client: client, sessions: mine, uncaptured: tally.uncaptured)
            for (i, f) in result.findings { mine[i].findings.append(f) }
            // Until the final numbering, `id` is a key unique to the client that pair findings refer to.
            for i in mine.indices { mine[i].id = i }
            let pairs = pairFindings(client: client, sessions: &mine, conns: conns, managers: managers)
            // Step texts were shared as they were made (`StepClassifier.TextMemo`): the findings' are left.
            Self.shareEqualFindingTexts(&mine)
            var outcome = ClientOutcome(sessions: mine, summary: result.summary, pairs: pairs,
                                        unobserved: result.unobserved, joinSplits: tally.splits,
                                        emptyPieces: emptyPieces, contentDownloads: tally.contentDownloads,
                                        serverPushes: tally.serverPushes, uncaptured: tally.uncaptured)
            outcome.openAtEnd = openAtEnd
            return outcome
        }

        var sessions: [SessionReport] = []
        sessions.reserveCapacity(outcomes.reduce(0) { $0 + ($1?.sessions.count ?? 0) })
        var clients: [ClientSummary] = []
        var pairs: [PairFinding] = []
        var checkInsByServer = ServerTally()
        var joinSplits = 0
        var emptyPieces = 0
        var contentDownloads = 0
        var serverPushes = 0
        var uncaptured: [IPAddress: [Timestamp]] = [:]
        var openAtEnd: Set<UInt64> = []
        for (i, item) in work.enumerated() {
            // Taken out, so each client's check-ins are not held twice once joined.
            guard var outcome = outcomes[i].take() else { continue }
            joinSplits += outcome.joinSplits
            emptyPieces += outcome.emptyPieces
            contentDownloads += outcome.contentDownloads
            serverPushes += outcome.serverPushes
            if !outcome.uncaptured.isEmpty { uncaptured[item.client] = outcome.uncaptured }
            guard !outcome.sessions.isEmpty else { continue }
            openAtEnd.formUnion(outcome.openAtEnd)
            for u in outcome.unobserved where hidden.indices.contains(u.silence) {
                hidden[u.silence].add(client: item.client, expected: u.expected)
            }
            // Keys made unique in the run.
            let base = sessions.count
            for var p in outcome.pairs {
                p.keys = p.keys.map { $0 + base }
                pairs.append(p)
            }
            clients.append(outcome.summary)
            checkInsByServer.add(outcome.servers)
            // Moved, not copied: a copy retains each of the check-in's texts and lists, and dropping the client's
            // list then releases them all again. Popped from the end, so the list is reversed first (swapped in
            // its buffer, which moves too); `consume`, or the optimizer copies the popped check-in.
            outcome.sessions.withUnsafeMutableBufferPointer { $0.reverse() }
            while var session = outcome.sessions.popLast() {
                session.id += base
                sessions.append(consume session)
            }
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
        findings += captureFindings + untiedRefusals + cutTunnelFindings() + silenceFindings(hidden)
        if let oneWay = oneDirectionFinding() { findings.append(oneWay) }
        let stops = stopPauses(sessions, clients, pull: pullInterval.seconds)
        findings += stopFindings(stops)
        // Clients that stopped checking in while the others went on: a warning at each one's last check-in.
        let silent = captureEnd.map {
            wentSilent(sessions, clients, stops: stops.map(\.silence), openAtEnd: openAtEnd, end: $0)
        } ?? []
        for (w, i) in silent {
            let f = wentSilentFinding(w, session: i + 1)
            sessions[i].findings.append(f)
            findings.append(f)
        }
        findings += clockShiftFindings(sessions, clients)
        findings += policyChangeFindings(clients)
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
        let unlistedPeriodic = periodicOtherPorts(managers: managers)
        // Of the ignored connections: those on listed ports count among the other servers' instead.
        let periodicOtherPortConnections = unlistedPeriodic.reduce(0) { $0 + $1.connections }
        let periodicOtherPorts = Self.sortedForNote(unlistedPeriodic + periodicListed)
        return HeartbeatReport(
            managers: managerReports(managers, checkIns: checkInsByServer), sessions: sessions, clients: clients,
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
                          ignoredConnections: ignored + silentUnlisted, droppedByLimits: dropped,
                          rejoinedConnections: rejoinedCount,
                          proxyLegConnections: proxyLegs, joinSplits: joinSplits, emptyPieces: emptyPieces,
                          contentDownloads: contentDownloads, serverPushes: serverPushes,
                          uncapturedBursts: uncaptured.values.reduce(0) { $0 + $1.count },
                          periodicOtherPortConnections: periodicOtherPortConnections,
                          untiedTunnelsToManagers: untiedToManagers,
                          cutTunnels: cutTunnels.values.reduce(0) { $0 + $1.connections }),
            silences: silences,
            offClock: offClock,
            uncaptured: uncaptured,
            limitDrops: dropped == 0 ? nil : .init(
                maxClients: limits.maxClients, overMaxClients: droppedOverClients,
                maxConnectionsPerClient: limits.maxConnectionsPerClient,
                overMaxConnectionsPerClient: droppedOverConnections,
                overMaxConnectionsByClient: droppedOverConnectionsByClient),
            unconfiguredDown: unconfiguredDown,
            wentSilent: silent.map(\.silent),
            unlistedPorts: unlistedPorts,
            periodicOtherPorts: periodicOtherPorts)
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
}
