import Core
import Records
import Testing

@testable import Heartbeat

/// Whole check-in timelines built by hand, run through `SessionBuilder`.
@Suite struct ScenarioTests {
    @Test func idleHTTPSPullCheckInsEveryFiveMinutesPass() throws {
        var f = RecordFactory()
        let records = (0..<6).map { f.idle(start: at(Double($0) * 300 + 0.25 * Double($0 % 2))) }
        let r = analyze(records)
        #expect(r.sessions.count == 6)
        #expect(r.findings.isEmpty, "\(r.findings)")
        #expect(r.summary.verdict == "pass" && r.exitStatus == 0)
        let s = try #require(r.sessions.first)
        #expect(s.transport == .https && s.mode == .pull)
        #expect(s.steps.map(\.step) == [1, 2, 3, 7])
        #expect(s.steps.map(\.name) == ["select-server", "connect", "index-check", "disconnect"])
        #expect(s.bytesUp == 517 + 900 && s.bytesDown == 1_900 + 3_100)
        #expect(s.steps[1].bytesUp == 517 && s.steps[1].bytesDown == 1_900)
        #expect(s.steps[2].bytesUp == 900 && s.steps[2].bytesDown == 3_100)
        let c = try #require(r.clients.first)
        #expect(c.sessions == 6 && c.missed == 0 && c.accelerated == 0)
        #expect(c.intervalSeconds?.min == 299.75 && c.intervalSeconds?.max == 300.25)
        #expect(r.managers.map(\.source) == ["inferred-tls"])
    }

    @Test func fullCheckInWithUploadsHasAllSevenSteps() throws {
        var f = RecordFactory()
        let full: [ExchangeSpec] = [.tls(900, 4_000), .tls(1_200, 9_000), .tls(104_000, 600), .tls(40_000, 500),
                                    .tls(20_000, 400)]
        let records = [f.idle(start: at(0)), f.connection(start: at(300), exchanges: full), f.idle(start: at(600))]
        let r = analyze(records)
        let s = try #require(r.sessions.dropFirst().first)
        #expect(s.steps.map(\.step) == [1, 2, 3, 4, 5, 6, 7])
        let sensor = try #require(s.steps.first { $0.step == 6 })
        #expect(sensor.bytesUp == 60_000)
        #expect(s.steps.first { $0.step == 5 }?.bytesUp == 104_000)
        #expect(r.codes(.uploadOverCap).isEmpty)
        #expect(r.codes(.heartbeatOversize).isEmpty)
        #expect(r.findings.isEmpty, "\(r.findings)")
    }

    @Test func plainHTTPSecarsTrafficMakesAnInferredManager() throws {
        var f = RecordFactory()
        let requests: [ExchangeSpec] = [.http("GET", 1_100, 3_500), .http("GET", 1_100, 2_000),
                                        .http("POST", 30_000, 300), .http("POST", 8_000, 300)]
        let records = (0..<3).map { f.connection(port: 8014, start: at(Double($0) * 300), exchanges: requests) }
        let r = analyze(records)
        #expect(r.managers.first?.source == "inferred-http")
        #expect(r.sessions.count == 3)
        let s = try #require(r.sessions.first)
        #expect(s.transport == .http)
        #expect(s.steps.map(\.step) == [1, 2, 3, 4, 5, 6, 7])
        #expect(s.steps[2].confidence == 0.9)
        #expect(s.steps[2].evidence.contains("GET /secars/secars.dll?… → 200"))
        #expect(!s.steps[2].evidence.contains("0123456789ABCDEF"))
        let plain = r.codes(.plaintextHTTP)
        #expect(plain.count == 1)
        #expect(plain.first?.message.contains("3 of 3 check-ins") == true)
    }

    @Test func pushConnectionIsSplitIntoPeriodicCheckIns() throws {
        var f = RecordFactory()
        let conn = f.push(start: at(0), bursts: [0, 300, 600, 900.5])
        let r = analyze([conn], sylink: try parseSyLink(syLinkXML(mode: "PUSH", push: "300")))
        #expect(r.sessions.count == 4)
        #expect(r.sessions.allSatisfy { $0.mode == .push })
        #expect(r.sessions[0].steps.map(\.step) == [1, 2, 3])
        #expect(r.sessions[1].steps.map(\.step) == [3])
        #expect(r.codes(.stepMissing).isEmpty)
        #expect(r.codes(.pushConnectionDropped).isEmpty)
        #expect(r.clients.first?.missed == 0)
        #expect(r.clients.first?.expectedIntervalSeconds == 300)
        #expect(r.findings.isEmpty, "\(r.findings)")
    }

    @Test func droppedPushConnectionIsReported() throws {
        var f = RecordFactory()
        let conn = f.push(start: at(0), bursts: [0, 300], openAtEnd: false, close: .rstFromServer)
        let r = analyze([conn], model: try ReferenceModel.builtIn.withServer("198.51.100.1"))
        #expect(r.sessions.count == 2)
        #expect(r.sessions.last?.steps.last?.step == 7)
        #expect(r.codes(.pushConnectionDropped).count == 1)
        #expect(r.codes(.pushConnectionDropped).first?.message.contains("RST from server") == true)
    }

    @Test func failoverAfterRefusedConnectJoinsStepOne() throws {
        var f = RecordFactory()
        let sylink = try SyLinkFile.load(path: exampleSyLinkPath)
        let records = [f.failed(server: "198.51.100.1", start: at(0), refused: true),
                       f.idle(server: "198.51.100.2", start: at(0.2))]
        let r = analyze(records, sylink: sylink)
        #expect(r.sessions.count == 1)
        let s = try #require(r.sessions.first)
        #expect(s.server == ip("198.51.100.2") && !s.failed)
        #expect(s.attempts.map(\.outcome) == ["refused"])
        #expect(s.steps.first?.start == at(0) && s.steps.first?.end == at(0.2))
        #expect(s.steps.first?.evidence.contains("(priority 2)") == true)
        #expect(r.codes(.failover).count == 1)
        #expect(r.codes(.connectFailed).count == 1)
        #expect(r.codes(.connectFailed).first?.server == Endpoint(address: ip("198.51.100.1"), port: 443))
        #expect(r.codes(.unknownServer).isEmpty)
        #expect(r.managers.contains { $0.address == "198.51.100.2" && $0.source == "sylink" })
        let unresolved = r.managers.first { $0.hostName == "sepm-dr.example.net" }
        #expect(unresolved?.resolution?.hasPrefix("unresolved") == true)
        #expect(unresolved?.sessions == 0)
    }

    @Test func unansweredSynsAreAConnectTimeout() throws {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        let records = [f.failed(server: "198.51.100.1", start: at(0), refused: false, syns: 5),
                       f.idle(start: at(300))]
        let r = analyze(records, model: model)
        #expect(r.sessions.count == 2)
        #expect(r.sessions[0].failed)
        #expect(r.sessions[0].steps.map(\.step) == [1])
        #expect(r.codes(.connectTimeout).count == 1)
        #expect(r.codes(.connectTimeout).first?.message.contains("5 SYNs") == true)
        #expect(r.codes(.stepMissing).isEmpty)
        #expect(r.summary.verdict == "fail" && r.exitStatus == 1)
    }

    @Test func unansweredPrimaryThenSecondaryIsOneCheckIn() throws {
        var f = RecordFactory()
        let sylink = try SyLinkFile.load(path: exampleSyLinkPath)
        let records = [f.failed(server: "198.51.100.1", start: at(0), refused: false, syns: 5),
                       f.idle(server: "198.51.100.2", start: at(30.5))]
        let r = analyze(records, sylink: sylink)
        #expect(r.sessions.count == 1)
        #expect(r.sessions.first?.attempts.map(\.outcome) == ["unanswered"])
        #expect(r.findings.map(\.code) == [.connectTimeout, .failover])
    }

    @Test func tlsToAnAddressKnownFromHTTPIsManagerTraffic() {
        var f = RecordFactory()
        let http = f.connection(port: 8014, start: at(0), exchanges: [.http("GET", 900, 3_100)])
        let tls = f.idle(start: at(300))
        let r = analyze([http, tls])
        #expect(r.sessions.map(\.transport) == [.http, .https])
        #expect(r.managers.map(\.source) == ["inferred-http"])
        #expect(r.managers.first?.ports == [443, 8014])
    }

    @Test func singleTLSConnectionToAnUnknownServerIsNotAManager() {
        var f = RecordFactory()
        let r = analyze([f.idle(start: at(0)), f.idle(start: at(700))])
        #expect(r.sessions.isEmpty)
        #expect(r.managers.isEmpty)
    }

    @Test func serverErrorsNameTheirKnownMeaning() throws {
        var f = RecordFactory()
        let records = [f.connection(port: 8014, start: at(0), exchanges: [.http("GET", 1_000, 200, status: 503)]),
                       f.connection(port: 8014, start: at(300), exchanges: [.http("GET", 1_000, 200, status: 400)]),
                       f.connection(port: 8014, start: at(600), exchanges: [.http("GET", 1_000, 200, status: 404)])]
        let r = analyze(records)
        let messages = r.codes(.httpError).map(\.message)
        #expect(messages.count == 3)
        #expect(messages[0].contains("503") && messages[0].contains("overloaded"))
        #expect(messages[1].contains("400") && messages[1].contains("KCS"))
        #expect(messages[2] == "GET request answered 404")
        #expect(r.codes(.httpError).allSatisfy { $0.severity == .error && $0.session != nil })
    }

    @Test func tlsOneZeroIsBelowTheMinimum() throws {
        var f = RecordFactory()
        let records = (0..<3).map { f.idle(start: at(Double($0) * 300), tlsVersion: 0x0301) }
        let r = analyze(records)
        let found = r.codes(.tlsBelow12)
        #expect(found.count == 1)
        #expect(found.first?.message.contains("used TLS 1.0, below the minimum 1.2") == true)
        #expect(r.sessions[0].steps[1].evidence.contains("TLS 1.0 handshake"))
    }

    @Test func hostNameFromSyLinkIsTiedByTLSServerName() throws {
        var f = RecordFactory()
        let xml = syLinkXML(servers: #"<ServerPriorityBlock Name="Priority1"><Server Address="sepm.example.net"/>"#
            + "</ServerPriorityBlock>")
        let records = [f.connection(server: "203.0.113.9", start: at(0), exchanges: [.tls(900, 3_100)],
                                    sni: "SEPM.example.net")]
        let r = analyze(records, sylink: try parseSyLink(xml))
        #expect(r.sessions.count == 1)
        let m = try #require(r.managers.first)
        #expect(m.address == "203.0.113.9" && m.hostName == "sepm.example.net" && m.resolution == "tls-sni")
    }

    @Test func managerOutsideTheConfiguredListIsUnknown() throws {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        let records = (0..<2).map { f.connection(server: "192.0.2.50", port: 8014, start: at(Double($0) * 300),
                                                 exchanges: [.http("GET", 900, 3_100)]) }
        let r = analyze(records, model: model)
        #expect(r.codes(.unknownServer).count == 1)
        #expect(r.managers.contains { $0.address == "192.0.2.50" && $0.source == "inferred-http" })
    }

    @Test func checkInOverTwoConnectionsIsOneSession() throws {
        var f = RecordFactory()
        let a = f.connection(start: at(0), exchanges: [.tls(900, 3_100)])
        let b = f.connection(start: a.end.adding(seconds: 0.5), exchanges: [.tls(50_000, 400)])
        let r = analyze([a, b], model: try ReferenceModel.builtIn.withServer("198.51.100.1"))
        #expect(r.sessions.count == 1)
        #expect(r.sessions[0].steps.map(\.step) == [1, 2, 3, 5, 7])
        #expect(r.sessions[0].connections == [a.id, b.id])
    }

    @Test func nonManagerTrafficIsCountedNotReported() {
        var f = RecordFactory()
        let web = f.connection(server: "192.0.2.80", port: 443, start: at(5), exchanges: [.tls(700, 50_000)])
        let other = f.connection(server: "192.0.2.81", port: 22, start: at(6), exchanges: [.tls(700, 900)])
        let r = analyze([web, other])
        #expect(r.sessions.isEmpty)
        #expect(r.counts.connections == 2 && r.counts.ignoredConnections == 1 && r.counts.managerConnections == 0)
        #expect(r.counts.otherServerConnections == 1 && r.counts.droppedByLimits == 0)
    }

    @Test func captureProblemsBecomeFindings() throws {
        var f = RecordFactory()
        var anomalies = StreamAnomalies()
        anomalies.gaps = 2
        anomalies.gapBytes = 2_920
        anomalies.truncatedPackets = 3
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        var b = SessionBuilder(model: model)
        b.ingest(f.connection(start: at(0), exchanges: [.tls(900, 3_100)], anomalies: anomalies))
        b.noteCaptureTruncated(file: "site.pcap", offset: 123_456)
        b.noteCaptureGap("interface dropped 17 packets")
        let r = b.finish()
        #expect(r.codes(.captureGap).count == 2)
        #expect(r.codes(.captureGap).contains { $0.message.contains("2920 bytes not captured") })
        #expect(r.codes(.captureTruncated).map(\.message).contains("site.pcap is cut short at byte offset 123456"))
        #expect(r.codes(.captureTruncated).contains { $0.message.contains("3 packets cut") })
    }

    /// Packets cut inside their headers could not be read at all: one finding for the file says how many.
    @Test func packetsCutInsideTheirHeadersBecomeAFinding() throws {
        var b = SessionBuilder(model: try ReferenceModel.builtIn.withServer("198.51.100.1"))
        b.noteHeadersCut(file: "site.pcap", packets: 16_838)
        let r = b.finish()
        #expect(r.codes(.captureTruncated).map(\.message) == ["site.pcap: 16838 packets cut by the snap length inside "
            + "their headers (link layer, IP or TCP) could not be read; connections and check-ins in them are missing "
            + "or incomplete"])
    }

    @Test func rollingReportDoesNotConsumeState() throws {
        var f = RecordFactory()
        var b = SessionBuilder(model: try ReferenceModel.builtIn.withServer("198.51.100.1"))
        b.ingest(f.idle(start: at(300)))
        #expect(b.report().sessions.count == 1)
        b.ingest(f.idle(start: at(0)))  // arrives late: filed by start time
        let r = b.finish()
        #expect(r.sessions.count == 2)
        #expect(r.sessions.map(\.start) == [at(0), at(300)])
        #expect(r.clients.first?.intervalSeconds?.median == 300)
    }
}
