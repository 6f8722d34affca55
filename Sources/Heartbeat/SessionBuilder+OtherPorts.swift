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
    /// the pull or push interval, within the tolerance), most clients first, then by address and port.
    func periodicOtherPorts() -> [HeartbeatReport.PeriodicOtherPort] {
        let needed = model.checkIn.inferPeriodicMinIntervals
        var clients: [Endpoint: Int] = [:]
        for (pair, times) in otherPorts.starts where periodicGaps(times.sorted()) >= needed {
            clients[pair.server, default: 0] += 1
        }
        return clients.map { server, n in
            HeartbeatReport.PeriodicOtherPort(server: server, clients: n,
                                              connections: otherPorts.connections[server] ?? 0)
        }.sorted { ($1.clients, $0.server.address, $0.server.port) < ($0.clients, $1.server.address, $1.server.port) }
    }
}
