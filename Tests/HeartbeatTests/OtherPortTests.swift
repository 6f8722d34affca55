import Core
import Records
import Testing

@testable import Heartbeat

/// TLS on ports nothing lists, kept as start times for the note on servers reached at the heartbeat interval.
@Suite struct OtherPortTests {
    /// `times` (seconds after `epoch`) of TLS check-ins from `client` to 203.0.113.9 on `port`.
    private func checkIns(_ f: inout RecordFactory, client: String = "10.0.0.5", port: UInt16,
                          at times: [Double]) -> [ConnectionRecord] {
        times.map { f.connection(client: client, server: "203.0.113.9", port: port, start: at($0),
                                 exchanges: [.tls(900, 4_000)]) }
    }

    @Test func periodicTLSOnAnUnlistedPortIsNamedWithItsClients() throws {
        var f = RecordFactory()
        let periodic = (0..<6).map { Double($0) * 300 }
        let records = checkIns(&f, port: 8443, at: periodic)
            + checkIns(&f, client: "10.0.0.6", port: 8443, at: periodic.map { $0 + 7 })
            // Not at the interval: counted among the server's connections, not among its clients.
            + checkIns(&f, client: "10.0.0.7", port: 8443, at: [0, 40, 1_000, 1_050, 2_900])
        let r = analyze(records)
        let named = try #require(r.periodicOtherPorts.first)
        #expect(r.periodicOtherPorts.count == 1)
        #expect(named.server == Endpoint(address: ip("203.0.113.9"), port: 8443))
        #expect(named.clients == 2)
        #expect(named.connections == 17)
        #expect(r.sessions.isEmpty)
    }

    @Test func irregularOrListedOrPlainConnectionsAreNotNamed() {
        var f = RecordFactory()
        #expect(analyze(checkIns(&f, port: 8443, at: [0, 40, 1_000, 1_050, 2_900, 3_100])).periodicOtherPorts.isEmpty)
        // A mail client polling IMAPS every five minutes is no manager on another port.
        #expect(analyze(checkIns(&f, port: 993, at: (0..<6).map { Double($0) * 300 })).periodicOtherPorts.isEmpty)
        // On 443 the server is a manager (`inferred-tls`): its check-ins are judged.
        let listed = analyze(checkIns(&f, port: 443, at: (0..<6).map { Double($0) * 300 }))
        #expect(listed.periodicOtherPorts.isEmpty)
        #expect(listed.sessions.count == 6)
        // Plain HTTP with no secars request (a secars request would make its server a manager on any port).
        let http = (0..<6).map { i in
            f.connection(server: "203.0.113.9", port: 8080, start: at(Double(i) * 300),
                         exchanges: [.http("GET", 300, 900, target: "/status")])
        }
        #expect(analyze(http).periodicOtherPorts.isEmpty)
    }

    @Test func startsAreBoundedPerPairAndInPairs() {
        var starts = OtherPortStarts()
        let server = Endpoint(address: ip("203.0.113.9"), port: 8443)
        starts.note(server, client: ip("10.0.0.1"), times: (0..<100).map { at(Double($0)) })
        #expect(starts.starts.values.first?.count == OtherPortStarts.maxStarts)
        #expect(starts.overflow == 100 - OtherPortStarts.maxStarts)
        for i in 0..<(OtherPortStarts.maxPairs + 10) {
            let client = IPAddress(ipv4: UInt32(0x0a01_0000 + i))
            starts.note(server, client: client, times: [epoch])
        }
        #expect(starts.starts.count == OtherPortStarts.maxPairs)
        #expect(starts.overflow == 100 - OtherPortStarts.maxStarts + 11)
    }
}
