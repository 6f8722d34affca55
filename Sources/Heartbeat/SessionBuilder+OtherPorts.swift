import Core
import Records

// MARK: - TLS at the heartbeat interval on ports nothing lists

/// TLS connections to servers on ports that neither the model nor any configured manager lists, kept as start
/// times per server and client (`SessionBuilder.otherPorts`), so that the report can say when clients reach
/// such a server at the heartbeat interval: a manager whose HTTPS port was changed from the model's (a site
/// may serve check-ins on 8443, say) would otherwise leave a report with no check-in and no reason given.
/// Plain HTTP needs none of this: a secars request makes its server a manager on any port.
///
/// Bounded: at most `maxPairs` server and client pairs, `maxStarts` start times each (enough to see a period);
/// what comes past them is counted in `overflow`, not kept.
struct OtherPortStarts: Sendable {
    static let maxPairs = 4_096
    static let maxStarts = 64

    struct Pair: Hashable, Sendable {
        var server: Endpoint
        var client: IPAddress
    }

    /// Start times (check-in starts: a connection's start, or each burst's first exchange on a long-lived one)
    /// per server and client, in the order they came.
    private(set) var starts: [Pair: [Timestamp]] = [:]
    /// Connections of each server, counted while its pair with the connection's client is kept.
    private(set) var connections: [Endpoint: Int] = [:]
    /// Start times not kept: pairs past `maxPairs`, starts past `maxStarts`.
    private(set) var overflow = 0

    mutating func note(_ server: Endpoint, client: IPAddress, times: [Timestamp]) {
        guard !times.isEmpty else { return }
        let pair = Pair(server: server, client: client)
        guard starts[pair] != nil || starts.count < Self.maxPairs else {
            overflow += times.count
            return
        }
        connections[server, default: 0] += 1
        var list = starts.removeValue(forKey: pair) ?? []
        let room = max(0, Self.maxStarts - list.count)
        list += times.prefix(room)
        overflow += times.count - min(room, times.count)
        starts[pair] = list
    }
}

extension SessionBuilder {
    /// Notes `c`, a connection the builder does not keep (so on a port nothing lists, to an address no entry
    /// names, with no secars request), when it carried TLS (`OtherPortStarts`). Cost: one dictionary update per
    /// such connection.
    mutating func noteOtherPort(_ c: ConnectionRecord) {
        guard c.application == .tls, c.handshake == .established || c.handshake == .midstream,
              !Self.otherTLSServicePorts.contains(c.server.port) else { return }
        // A long-lived connection: one start per burst, as `periodicTLSManagers` counts them.
        let times = c.duration >= model.push.minOpenSeconds ? burstStarts(c) : [c.start]
        otherPorts.note(c.server, client: c.client.address, times: times)
    }

    /// Ports of other services that run over TLS and are polled on a timer (mail clients every few minutes): no
    /// manager serves check-ins there. SMTPS 465, NNTPS 563, LDAPS 636, DNS over TLS 853, FTPS 989-990,
    /// IMAPS 993, POP3S 995, LDAP global catalog 3269, XMPP 5223, SIPS 5061, IRC 6697, MQTT 8883.
    static let otherTLSServicePorts: Set<UInt16> = [465, 563, 636, 853, 989, 990, 993, 995, 3269, 5061, 5223, 6697,
                                                    8883]

    /// Servers on ports nothing lists that at least one client reached over TLS at the heartbeat interval (the
    /// rule that makes an `inferred-tls` manager on a listed port: `checkIn.inferPeriodicMinIntervals` gaps at
    /// the pull or push interval, within the tolerance), in `sortedForNote` order. `managers` marks those whose
    /// address is a manager already.
    func periodicOtherPorts(managers: [IPAddress: ManagerInfo]) -> [HeartbeatReport.PeriodicOtherPort] {
        let needed = model.checkIn.inferPeriodicMinIntervals
        var found: [Endpoint: (clients: Int, gaps: [Double])] = [:]
        for (pair, times) in otherPorts.starts {
            let sorted = times.sorted()
            guard periodicGaps(sorted) >= needed else { continue }
            found[pair.server, default: (0, [])].clients += 1
            found[pair.server, default: (0, [])].gaps += onTimeGaps(sorted)
        }
        return Self.sortedForNote(found.map { server, seen in
            HeartbeatReport.PeriodicOtherPort(server: server, clients: seen.clients,
                                              connections: otherPorts.connections[server] ?? 0,
                                              intervalSeconds: Self.medianMicro(seen.gaps),
                                              addressIsManager: managers[server.address] != nil)
        })
    }

    /// With managers configured (when periodicity makes no manager), servers whose address is none that clients
    /// reached over TLS at the heartbeat interval on a port an entry lists and the model's ports do not
    /// (`portListed`; 8443 of `--server HOST:8443`), by the rule of `periodicOtherPorts`: another manager left out
    /// of `--server` or SyLink.xml looks so (its check-ins count as connections to other servers on management
    /// ports, not judged). The model's own ports (443) are left out: monitoring, inventory and EDR agents poll
    /// HTTPS servers there every few minutes, which is why configured managers turn periodicity off, and a note on
    /// each would be noise; a port a site names for its managers carries few other services. Empty with nothing
    /// configured, as no port is listed but the model's. Cost: one pass over the kept records when such a port is
    /// listed.
    func periodicListedPortServers(_ perClient: [IPAddress: [ConnectionRecord]], managers: [IPAddress: ManagerInfo])
        -> [HeartbeatReport.PeriodicOtherPort]
    {
        let entryPorts = directory.allPorts.subtracting(directory.managementPorts)
        guard !entryPorts.isEmpty else { return [] }
        let needed = model.checkIn.inferPeriodicMinIntervals
        var found: [Endpoint: (clients: Int, connections: Int, gaps: [Double])] = [:]
        for conns in perClient.values {
            var starts: [Endpoint: [Timestamp]] = [:]
            // A client's connections mostly go to one server after another: its address is looked up once a run.
            var last: (server: Endpoint, other: Bool)?
            for i in conns.indices {  // by index: the records are read, not copied
                let server = conns[i].server
                let other: Bool
                if let last, last.server == server {
                    other = last.other
                } else {
                    other = managers[server.address] == nil && entryPorts.contains(server.port)
                    last = (server, other)
                }
                guard other, conns[i].application == .tls,
                      conns[i].handshake == .established || conns[i].handshake == .midstream else { continue }
                // A long-lived connection: one start per burst, as `periodicTLSManagers` counts them.
                let times = conns[i].duration >= model.push.minOpenSeconds ? burstStarts(conns[i]) : [conns[i].start]
                starts[server, default: []] += times
                found[server, default: (0, 0, [])].connections += 1
            }
            for (server, times) in starts {
                let sorted = times.sorted()
                guard periodicGaps(sorted) >= needed else { continue }
                found[server, default: (0, 0, [])].clients += 1
                found[server, default: (0, 0, [])].gaps += onTimeGaps(sorted)
            }
        }
        return Self.sortedForNote(found.compactMap { server, seen in
            seen.clients == 0 ? nil : HeartbeatReport.PeriodicOtherPort(
                server: server, clients: seen.clients, connections: seen.connections,
                intervalSeconds: Self.medianMicro(seen.gaps), portListed: true)
        })
    }

    /// The gaps between `times` (sorted) at the pull or push interval within the tolerance, as `periodicGaps`
    /// counts them.
    func onTimeGaps(_ times: [Timestamp]) -> [Double] {
        let tolerance = model.interval.toleranceSeconds
        var out: [Double] = []
        for i in times.indices.dropFirst() {
            let d = times[i].seconds(since: times[i - 1])
            if abs(d - pullInterval.seconds) <= tolerance || abs(d - pushInterval) <= tolerance { out.append(d) }
        }
        return out
    }

    /// The median of `gaps` (the mean of the middle two for an even count), rounded to the microsecond; 0 when
    /// there are none.
    static func medianMicro(_ gaps: [Double]) -> Double { FleetAudit.micro(Median.of(sorted: gaps.sorted())) }

    /// Most clients first, then by address and port: the order the notes name servers in.
    static func sortedForNote(_ servers: [HeartbeatReport.PeriodicOtherPort]) -> [HeartbeatReport.PeriodicOtherPort] {
        servers.sorted {
            ($1.clients, $0.server.address, $0.server.port) < ($0.clients, $1.server.address, $1.server.port)
        }
    }
}
