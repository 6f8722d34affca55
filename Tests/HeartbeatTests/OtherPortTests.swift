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
        #expect(named.intervalSeconds == 300)
        #expect(!named.addressIsManager && !named.portListed)
        #expect(r.sessions.isEmpty)
    }

    /// The same server on 443 for another client makes it an `inferred-tls` manager: the note's entry says so.
    @Test func aServerThatIsAManagerOnAListedPortIsMarkedSo() throws {
        var f = RecordFactory()
        let periodic = (0..<6).map { Double($0) * 300 }
        let r = analyze(checkIns(&f, port: 8443, at: periodic.map { $0 + 2 })
            + checkIns(&f, client: "10.0.0.6", port: 443, at: periodic))
        let named = try #require(r.periodicOtherPorts.first)
        #expect(r.periodicOtherPorts.count == 1)
        #expect(named.server.port == 8443 && named.addressIsManager && !named.portListed)
        #expect(r.sessions.count == 6)
    }

    /// With a manager configured on 8443, another server clients reach over TLS at the interval on 8443 is no
    /// manager (periodicity makes none then): its connections count as other servers' on management ports, and
    /// it is named, marked as on a listed port, and not counted among the ignored connections. On the model's own
    /// ports it is not named.
    @Test func aServerOnAConfiguredPortThatIsNoManagerIsNamedAsOnAListedPort() throws {
        var f = RecordFactory()
        let periodic = (0..<6).map { Double($0) * 300 }
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1:8443")
        let manager = periodic.map { f.connection(server: "198.51.100.1", port: 8443, start: at($0 + 1),
                                                  exchanges: [.tls(900, 4_000)]) }
        // Pull and push intervals alike: the interval seen is the median of the gaps, 301 here.
        let other = checkIns(&f, port: 8443, at: [0, 300, 601, 903, 1_205, 1_505])
            + checkIns(&f, client: "10.0.0.6", port: 8443, at: [0, 40, 1_000])
        let r = analyze(manager + other, model: model)
        let named = try #require(r.periodicOtherPorts.first)
        #expect(r.periodicOtherPorts.count == 1)
        #expect(named.server == Endpoint(address: ip("203.0.113.9"), port: 8443))
        #expect(named.portListed && !named.addressIsManager)
        #expect(named.clients == 1 && named.connections == 9)
        #expect(named.intervalSeconds == 301)
        #expect(r.counts.otherServerConnections == 9)
        #expect(r.counts.periodicOtherPortConnections == 0)
        #expect(r.sessions.count == 6)
        let json = String(decoding: try r.jsonData(), as: UTF8.self)
        #expect(json.contains(#""periodicOtherServers" : ["#) && json.contains(#""portListed" : true"#), "\(json)")

        // On the model's 443, with a manager given there, a poller at the same period is not named: monitoring and
        // EDR agents poll HTTPS servers there every few minutes.
        let on443 = try ReferenceModel.builtIn.withServer("198.51.100.1")
        let polled = analyze(periodic.map { f.connection(server: "198.51.100.1", start: at($0 + 1),
                                                         exchanges: [.tls(900, 4_000)]) }
            + checkIns(&f, port: 443, at: periodic), model: on443)
        #expect(polled.periodicOtherPorts.isEmpty && polled.counts.otherServerConnections == 6)
        // At no steady period: not named. Nothing configured: the server on 443 is a manager, not named.
        #expect(analyze(manager + checkIns(&f, port: 8443, at: [0, 40, 1_000, 1_050, 2_900, 3_100]), model: model)
            .periodicOtherPorts.isEmpty)
        let inferred = analyze(checkIns(&f, port: 443, at: periodic))
        #expect(inferred.periodicOtherPorts.isEmpty && inferred.sessions.count == 6)
        #expect(!String(decoding: try inferred.jsonData(), as: UTF8.self).contains("periodicOtherServers"))
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
