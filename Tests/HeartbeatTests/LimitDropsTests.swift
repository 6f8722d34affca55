import Records
import Testing

@testable import Heartbeat

/// Connections dropped by `SessionBuilder.Limits` are counted by the limit that dropped them.
@Suite struct LimitDropsTests {
    /// `clients` clients with `each` idle check-ins, five minutes apart.
    static func records(clients: Int, each: Int) -> [ConnectionRecord] {
        var f = RecordFactory()
        var out: [ConnectionRecord] = []
        for k in 0..<each {
            for n in 0..<clients { out.append(f.idle(client: "10.0.2.\(n + 1)", start: at(Double(k * 300 + n)))) }
        }
        return out
    }

    static func report(_ records: [ConnectionRecord], _ limits: SessionBuilder.Limits) -> HeartbeatReport {
        var b = SessionBuilder(model: .builtIn, limits: limits)
        for r in records { b.ingest(r) }
        return b.finish()
    }

    @Test func eachLimitCountsWhatItDropped() {
        // Three clients of 7 connections under limits of 2 clients and 5 connections each: the third
        // client's 7 go over the client limit, 2 of each other client's over the connection limit.
        let r = Self.report(Self.records(clients: 3, each: 7), .init(maxClients: 2, maxConnectionsPerClient: 5))
        #expect(r.counts.droppedByLimits == 11)
        #expect(r.limitDrops == .init(maxClients: 2, overMaxClients: 7, maxConnectionsPerClient: 5,
                                      overMaxConnectionsPerClient: 4))
        #expect(r.limitDrops?.text == "limit of 2 clients: 7; limit of 5 connections per client: 4")
    }

    @Test func aLimitThatDroppedNothingIsLeftOut() {
        let clients = Self.report(Self.records(clients: 3, each: 5), .init(maxClients: 2, maxConnectionsPerClient: 5))
        #expect(clients.limitDrops?.text == "limit of 2 clients: 5")
        let connections = Self.report(Self.records(clients: 2, each: 6),
                                      .init(maxClients: 2, maxConnectionsPerClient: 5))
        #expect(connections.limitDrops?.text == "limit of 5 connections per client: 2")
        // At both limits exactly: nothing dropped.
        let none = Self.report(Self.records(clients: 2, each: 5), .init(maxClients: 2, maxConnectionsPerClient: 5))
        #expect(none.counts.droppedByLimits == 0)
        #expect(none.limitDrops == nil)
    }
}
