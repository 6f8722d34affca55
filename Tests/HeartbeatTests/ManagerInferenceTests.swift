import Core
import Records
import Testing

@testable import Heartbeat

/// Managers found from connects that all failed at the expected interval (`inferred-connects`), no
/// inference from periodicity alone once managers are configured, and a configured host name tied to
/// every address an SNI or Host header shows it on.
@Suite struct ManagerInferenceTests {
    // MARK: - Managers down for the whole capture

    /// A client's connects to `server` starting at `offsets` (seconds), each refused or unanswered.
    private func failedConnects(_ offsets: [Double], refused: Bool = true, server: String = "198.51.100.7",
                                port: UInt16 = 443, client: String = "10.0.0.5") -> [ConnectionRecord] {
        var f = RecordFactory()
        return offsets.map {
            f.failed(client: client, server: server, port: port, start: at($0), refused: refused, syns: refused ? 1 : 2)
        }
    }

    @Test func connectsRefusedAtTheIntervalMakeAManagerAndFailedCheckIns() throws {
        let r = analyze(failedConnects([0, 300, 600, 900]), captureEnd: at(1_000))
        let m = try #require(r.managers.first)
        #expect(r.managers.count == 1)
        #expect(m.address == "198.51.100.7" && m.source == "inferred-connects")
        #expect(m.sessions == 4)
        #expect(r.sessions.count == 4 && r.sessions.allSatisfy(\.failed))
        #expect(r.summary.failed == 4 && r.summary.checkIns == 0)
        #expect(r.codes(.connectFailed).count == 4)
        #expect(r.summary.verdict == "fail")
        #expect(r.counts.managerConnections == 4 && r.counts.otherServerConnections == 0)
    }

    @Test func connectsUnansweredAtTheIntervalMakeAManagerToo() throws {
        let r = analyze(failedConnects([0, 300, 600], refused: false, port: 8014), captureEnd: at(700))
        #expect(r.managers.map(\.source) == ["inferred-connects"])
        #expect(r.codes(.connectTimeout).count == 3)
        #expect(r.summary.verdict == "fail")
    }

    @Test func twoGapsAtTheIntervalAreNeededAsForTLS() {
        #expect(analyze(failedConnects([0, 300]), captureEnd: at(400)).managers.isEmpty)
        #expect(analyze(failedConnects([0, 330, 660]), captureEnd: at(700)).managers.count == 1)
        let late = analyze(failedConnects([0, 330.001, 660.002]), captureEnd: at(700))
        #expect(late.managers.isEmpty)
        #expect(late.sessions.isEmpty)
        #expect(late.counts.otherServerConnections == 3)
    }

    @Test func aStrayRefusedSynOrAScanMakesNoManager() {
        #expect(analyze(failedConnects([10]), captureEnd: at(1_000)).managers.isEmpty)
        // A scan: one SYN to each of many addresses on 443 and 8014, every few seconds, repeated an interval later.
        var f = RecordFactory()
        var scan: [ConnectionRecord] = []
        for round in 0..<3 {
            for host in 1...40 {
                for port: UInt16 in [443, 8014] {
                    scan.append(f.failed(server: "198.51.100.\(host)", port: port,
                                         start: at(Double(round) * 1_000 + Double(host) * 0.5), refused: true))
                }
            }
        }
        let r = analyze(scan, captureEnd: at(3_000))
        #expect(r.managers.isEmpty)
        #expect(r.counts.otherServerConnections == scan.count)
    }

    @Test func aSweepRepeatedAtTheIntervalMakesNoManager() {
        // A monitor (or a scan) trying 20 addresses on 443 every 300 s, every one refused or unanswered.
        var f = RecordFactory()
        var sweep: [ConnectionRecord] = []
        for round in 0..<4 {
            for host in 1...20 {
                sweep.append(f.failed(server: "198.51.100.\(host)", start: at(Double(round) * 300 + Double(host)),
                                      refused: host % 2 == 0))
            }
        }
        let r = analyze(sweep, captureEnd: at(1_300))
        #expect(r.managers.isEmpty)
        // A few addresses tried so are a server list all down: each is a manager.
        let few = analyze(sweep.filter { $0.server.address <= ip("198.51.100.3") }, captureEnd: at(1_300))
        #expect(few.managers.count == 3 && few.managers.allSatisfy { $0.source == "inferred-connects" })
    }

    @Test func connectsRetriedAtNoSteadyPeriodMakeNoManager() {
        // Two gaps happen to be about 300 s, but most are not: a program retrying with back-off.
        let r = analyze(failedConnects([0, 300, 420, 720, 1_500, 1_700, 2_600, 4_000]), captureEnd: at(4_100))
        #expect(r.managers.isEmpty)
    }

    @Test func retriesWithinATryCountOnceAndTheTriesAreJudged() throws {
        // Each check-in tries three times within seconds (new ports), one interval apart.
        let offsets: [Double] = [0, 300, 600, 900].flatMap { [$0, $0 + 2, $0 + 5] }
        let r = analyze(failedConnects(offsets), captureEnd: at(1_000))
        #expect(r.managers.map(\.source) == ["inferred-connects"])
        #expect(r.sessions.count == 4 && r.sessions.allSatisfy { $0.failed && $0.attempts.count == 3 })
    }

    @Test func anEndpointTheClientOnceReachedIsNotFoundByItsFailures() {
        var f = RecordFactory()
        var records = failedConnects([0, 300, 600, 900])
        // One established plain-TCP connection (no secars request, no TLS): not a manager by any rule.
        var reached = f.connection(server: "198.51.100.7", start: at(1_200), exchanges: [.tls(10, 10)])
        reached.application = .other
        reached.tls = nil
        records.append(reached)
        let r = analyze(records, captureEnd: at(1_300))
        #expect(r.managers.isEmpty)
    }

    @Test func failedConnectsToAnotherPortThanAManagementOneMakeNoManager() {
        #expect(analyze(failedConnects([0, 300, 600, 900], port: 8443), captureEnd: at(1_000)).managers.isEmpty)
    }

    @Test func theTryGapStaysUnderHalfAShortInterval() throws {
        // 20 s less the derived 2 s tolerance, halved; at the default 300 s, the attempt window.
        #expect(SessionBuilder(model: try ReferenceModel.builtIn.withInterval(seconds: 20)).tryGapSeconds == 9)
        #expect(SessionBuilder(model: .builtIn).tryGapSeconds == 45)
        let model = try ReferenceModel.builtIn.withInterval(seconds: 60)
        #expect(SessionBuilder(model: model).tryGapSeconds == 27)
        // Tries one 60 s interval apart stay apart (the attempt window would have taken them together).
        let r = analyze(failedConnects([0, 3, 60, 63, 120, 123]), model: model, captureEnd: at(200))
        #expect(r.managers.map(\.source) == ["inferred-connects"])
        #expect(r.sessions.count == 3)
    }

    @Test func aManagerDownWhileAnotherServesOtherClientsShowsBoth() throws {
        var f = RecordFactory()
        var records = (0..<4).map { f.idle(client: "10.0.0.1", server: "198.51.100.1", start: at(Double($0) * 300)) }
        records += (0..<4).map {
            f.failed(client: "10.0.0.2", server: "198.51.100.2", start: at(10 + Double($0) * 300), refused: false)
        }
        let r = analyze(records, captureEnd: at(1_300))
        #expect(r.managers.map(\.source) == ["inferred-tls", "inferred-connects"])
        #expect(r.clients.count == 2)
        #expect(r.codes(.connectTimeout).count == 4)
    }

    // MARK: - No periodic inference once managers are configured

    /// Check-ins to 198.51.100.1 every 300 s, and another HTTPS poller's connections 100 s after each.
    private func withPoller(model: ReferenceModel = .builtIn, sylink: SyLinkFile? = nil) -> HeartbeatReport {
        var f = RecordFactory()
        var records: [ConnectionRecord] = []
        for i in 0..<6 {
            records.append(f.idle(server: "198.51.100.1", start: at(Double(i) * 300)))
            records.append(f.connection(server: "203.0.113.5", start: at(Double(i) * 300 + 100),
                                        exchanges: [.tls(900, 3_100)], sni: "telemetry.example.test"))
        }
        return analyze(records, model: model, sylink: sylink, captureEnd: at(1_900))
    }

    @Test func withoutConfiguredManagersAPeriodicPollerIsInferred() {
        let r = withPoller()
        #expect(r.managers.map(\.address) == ["198.51.100.1", "203.0.113.5"])
        #expect(r.sessions.count == 12)
        #expect(!r.codes(.intervalMismatch).isEmpty)
    }

    @Test func aConfiguredServerStopsPeriodicInferenceOfOthers() throws {
        let r = withPoller(model: try ReferenceModel.builtIn.withServer("198.51.100.1"))
        #expect(r.managers.map(\.address) == ["198.51.100.1"])
        #expect(r.managers.map(\.source) == ["option"])
        #expect(r.sessions.count == 6)
        #expect(r.counts.managerConnections == 6 && r.counts.otherServerConnections == 6)
        #expect(r.findings.isEmpty, "\(r.findings)")
    }

    @Test func aSyLinkServerListStopsPeriodicInferenceToo() throws {
        let xml = syLinkXML(servers: #"<ServerPriorityBlock Name="Priority1"><Server Address="198.51.100.1"/>"#
            + "</ServerPriorityBlock>")
        let r = withPoller(sylink: try parseSyLink(xml))
        #expect(r.managers.map(\.source) == ["sylink"])
        #expect(r.sessions.count == 6)
        #expect(r.codes(.unknownServer).isEmpty)
    }

    @Test func aConfiguredServerStopsInferenceFromFailedConnectsAlone() throws {
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        var f = RecordFactory()
        var records = (0..<4).map { f.idle(client: "10.0.0.1", start: at(Double($0) * 300)) }
        records += failedConnects([0, 300, 600, 900], client: "10.0.0.2")
        let r = analyze(records, model: model, captureEnd: at(1_000))
        #expect(r.managers.map(\.address) == ["198.51.100.1"])
        #expect(r.counts.otherServerConnections == 4)
        // Noted for the text reports, not judged.
        #expect(r.unconfiguredDown == [ip("198.51.100.7"): 1])
        #expect(r.findings.isEmpty)
        #expect(analyze(records).unconfiguredDown.isEmpty)
    }

    @Test func failoverAndSecarsInferenceStayWithConfiguredManagers() throws {
        let model = try ReferenceModel.builtIn.withServer("198.51.100.2")
        var f = RecordFactory()
        let refused = f.failed(server: "198.51.100.1", start: at(0), refused: true)
        var records = [refused] + (0..<3).map { f.idle(server: "198.51.100.2", start: at(1 + Double($0) * 300)) }
        records += (0..<2).map {
            f.connection(client: "10.0.0.9", server: "192.0.2.50", port: 8014, start: at(Double($0) * 300),
                         exchanges: [.http("GET", 900, 3_100)])
        }
        let r = analyze(records, model: model)
        #expect(r.managers.map(\.source) == ["inferred-http", "inferred-failover", "option"])
        #expect(r.codes(.failover).count == 1)
        // The failover manager got no check-in of its own (its refused connect is step 1 of one to .2).
        #expect(r.codes(.unknownServer).map { $0.server?.address } == [ip("192.0.2.50")])
    }

    // MARK: - A name on several addresses

    /// TLS check-ins naming `sni`, to each address in turn, one interval apart.
    private func checkIns(naming sni: String, at addresses: [String], count: Int = 6) -> [ConnectionRecord] {
        var f = RecordFactory()
        return (0..<count).map { i in
            f.connection(server: addresses[i % addresses.count], start: at(Double(i) * 300),
                         exchanges: [.tls(900, 3_100)], sni: sni)
        }
    }

    @Test func aConfiguredNameOnAnIPv4AndAnIPv6AddressIsBoth() throws {
        let model = try ReferenceModel.builtIn.withServer("sepm.example.test")
        let r = analyze(checkIns(naming: "sepm.example.test", at: ["198.51.100.1", "2001:db8::1"]), model: model)
        #expect(r.managers.map(\.address) == ["198.51.100.1", "2001:db8::1"])
        #expect(r.managers.allSatisfy {
            $0.source == "option" && $0.hostName == "sepm.example.test" && $0.resolution == "tls-sni"
                && $0.sessions == 3
        })
        #expect(r.sessions.count == 6)
        #expect(r.codes(.unknownServer).isEmpty)
    }

    @Test func aSyLinkNameBehindRoundRobinIsEveryAddress() throws {
        let xml = syLinkXML(servers: #"<ServerPriorityBlock Name="Priority1"><Server Address="sepm.example.test"/>"#
            + #"</ServerPriorityBlock><ServerPriorityBlock Name="Priority2"><Server Address="198.51.100.9"/>"#
            + "</ServerPriorityBlock>")
        let records = checkIns(naming: "SEPM.example.test.", at: ["198.51.100.1", "198.51.100.2", "198.51.100.3"],
                               count: 9)
        let r = analyze(records, sylink: try parseSyLink(xml))
        let named = r.managers.filter { $0.hostName == "sepm.example.test" }
        #expect(named.map(\.address) == ["198.51.100.1", "198.51.100.2", "198.51.100.3"])
        #expect(named.allSatisfy { $0.source == "sylink" && $0.priority == 1 && $0.sessions == 3 })
        #expect(r.sessions.count == 9)
        #expect(r.findings.isEmpty, "\(r.findings)")
        // The literal second server is listed as configured, with no check-ins.
        #expect(r.managers.contains { $0.address == "198.51.100.9" && $0.sessions == 0 })
    }

    @Test func anHTTPHostHeaderTiesAnotherAddressToTheName() throws {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("sepm.example.test")
        var records = checkIns(naming: "sepm.example.test", at: ["198.51.100.1"], count: 3)
        var plain = ExchangeSpec.http("GET", 900, 3_100)
        plain.host = "sepm.example.test:8014"
        records += (0..<3).map {
            f.connection(client: "10.0.0.6", server: "198.51.100.2", port: 8014, start: at(Double($0) * 300),
                         exchanges: [plain])
        }
        let r = analyze(records, model: model)
        #expect(r.managers.map(\.resolution) == ["tls-sni", "http-host"])
        #expect(r.managers.allSatisfy { $0.source == "option" })
        #expect(r.codes(.unknownServer).isEmpty)
    }

    @Test func theAddressesTiedToOneNameAreBounded() throws {
        var directory = ManagerDirectory(model: try ReferenceModel.builtIn.withServer("sepm.example.test"), sylink: nil)
        var f = RecordFactory()
        let limit = ManagerDirectory.maxAddressesPerName
        for i in 0..<(limit + 10) {
            directory.observe(f.connection(server: "10.9.\(i / 250).\(i % 250 + 1)", start: at(Double(i)),
                                           exchanges: [.tls(900, 3_100)], sni: "sepm.example.test"))
        }
        let m = try #require(directory.configured.first)
        #expect(directory.addresses(of: m).count == limit)
        #expect(directory.addresses(of: m).first == ip("10.9.0.1"))
        #expect(directory.isAt(m, ip("10.9.0.1")) && !directory.isAt(m, ip("10.9.0.\(limit + 5)")))
    }

    /// With no manager configured by name, no name a record carries is bound (none is read), while a tunnel's SNI is
    /// still learned for the tunnels named only by it; with one, its SNI and Host names are bound as before.
    @Test func namesAreBoundOnlyWhenAManagerIsConfiguredByName() throws {
        var plain = ExchangeSpec.http("GET", 900, 3_100)
        plain.host = "SEPM.example.test.:8014"
        var f = RecordFactory()
        let records = [
            f.connection(server: "198.51.100.1", start: at(0), exchanges: [.tls(900, 3_100)], sni: "sepm.example.test"),
            f.connection(server: "198.51.100.2", port: 8014, start: at(1), exchanges: [plain]),
        ]
        var unnamed = ManagerDirectory(model: .builtIn, sylink: nil)
        for r in records { unnamed.observe(r) }
        #expect(unnamed.bindings.isEmpty)
        var tunnelled = records[0]
        tunnelled.tunnel = ConnectionTunnel(host: "sepm.example.test", port: 443, start: at(0),
                                            proxy: Endpoint(address: ip("10.0.0.99"), port: 3128))
        unnamed.observe(tunnelled)
        #expect(unnamed.bindings.isEmpty)
        #expect(unnamed.tunnelNames == ["sepm.example.test": ip("198.51.100.1")])

        var named = ManagerDirectory(model: try ReferenceModel.builtIn.withServer("sepm.example.test"), sylink: nil)
        for r in records { named.observe(r) }
        #expect(named.bindings["sepm.example.test"] == [NameBinding(address: ip("198.51.100.1"), how: "tls-sni"),
                                                        NameBinding(address: ip("198.51.100.2"), how: "http-host")])
    }

    /// A long server list (a SyLink.xml of 20,000 entries, each with its own ports, within the 4 MiB limit)
    /// costs nothing per connection: the ports and names of every entry were gathered again for each
    /// connection, which took over a minute here (and 15 s of analyze on a 37 MB capture).
    @Test func aLongServerListCostsNothingPerConnection() throws {
        let entries = 20_000
        let servers = (0..<entries).map { i in
            #"<ServerPriorityBlock Name="Priority\#(i + 1)"><Server Address="h\#(i).example.test" "#
                + #"HttpPort="\#(1_000 + i)" HttpsPort="\#(30_000 + i)"/></ServerPriorityBlock>"#
        }
        let sylink = try parseSyLink(syLinkXML(servers: servers.joined()))
        var directory = ManagerDirectory(model: .builtIn, sylink: sylink)
        #expect(directory.allPorts.isSuperset(of: [443, 8014, 80, 1_000, 20_999, 30_000, 49_999]))
        var f = RecordFactory()
        let started = ContinuousClock.now
        for i in 0..<2_000 {
            let c = f.connection(server: "10.9.\(i / 250).\(i % 250 + 1)", port: 30_000 + UInt16(i),
                                 start: at(Double(i)), exchanges: [.tls(900, 3_100)], sni: "h\(i).example.test")
            #expect(directory.isCandidate(c))
            directory.observe(c)
        }
        #expect(ContinuousClock.now - started < .seconds(5))
        let m = try #require(directory.configured.first { $0.host == "h1999.example.test" })
        #expect(directory.isAt(m, ip("10.9.7.250")))
    }
}
