import Core
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
                                      overMaxConnectionsPerClient: 4,
                                      overMaxConnectionsByClient: [IPAddress("10.0.2.1")!: 2,
                                                                   IPAddress("10.0.2.2")!: 2]))
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

    /// The default bound on clients is 1,000,000: a site of more than 100,000 clients (the bound before) keeps
    /// every client's check-ins.
    @Test func theDefaultClientLimitKeepsMoreThanAHundredThousandClients() {
        #expect(SessionBuilder.Limits().maxClients == 1_000_000)
        var f = RecordFactory()
        var b = SessionBuilder(model: .builtIn)
        for n in 0..<100_001 {
            b.ingest(f.idle(client: "10.\(n >> 16).\((n >> 8) & 255).\(n & 255)", start: at(Double(n % 300))))
        }
        #expect(b.dropped == 0)
        #expect(b.seen == 100_001)
    }

    /// A client whose later connections the per-client limit dropped is not called silent by the audit,
    /// which says instead what was dropped and from when the client is not judged; the others are as before.
    @Test func theAuditSaysWhatThePerClientLimitDropped() throws {
        // Client .1 checks in 8 times until the end, client .2 only 3 times: 5 connections each kept.
        var f = RecordFactory()
        var records: [ConnectionRecord] = []
        for k in 0..<8 { records.append(f.idle(client: "10.0.2.1", start: at(Double(k * 300)))) }
        for k in 0..<3 { records.append(f.idle(client: "10.0.2.2", start: at(Double(k * 300 + 1)))) }
        let r = Self.report(records, .init(maxClients: 10, maxConnectionsPerClient: 5))
        let audit = FleetAudit(report: r, model: .builtIn, captureStart: at(0), captureEnd: at(2101))
        let limited = try #require(audit.clients.first { $0.client == IPAddress("10.0.2.1") })
        #expect(limited.droppedByLimit == 3)
        #expect(!limited.vanishedEarly)
        #expect(limited.reasons.contains("3 connections past the per-client limit dropped (not judged after "
            + at(1200).rfc3339(fractionDigits: 3) + ")"))
        let quiet = try #require(audit.clients.first { $0.client == IPAddress("10.0.2.2") })
        #expect(quiet.droppedByLimit == 0)
        #expect(quiet.vanishedEarly)
        #expect(quiet.reasons.contains("silent before the capture ended"))
    }
}
