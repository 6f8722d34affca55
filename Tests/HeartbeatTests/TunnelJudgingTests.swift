import Core
import Records
import Testing

@testable import Heartbeat

/// A connection through a proxy's `CONNECT` tunnel is judged as a connection to the tunnel's target.
@Suite struct TunnelJudgingTests {
    static let proxy = Endpoint(address: ip("10.5.5.5"), port: 8080)

    /// `record` as the traffic layer hands it out through the proxy: server the proxy, tunnel to `host:port`.
    static func viaProxy(_ record: ConnectionRecord, host: String, port: UInt16 = 443) -> ConnectionRecord {
        var r = record
        r.server = proxy
        var connect = Exchange(index: 0, kind: .http, start: r.start.adding(seconds: 0.002),
                               end: r.start.adding(seconds: 0.004))
        var h = HTTPTransaction(method: "CONNECT", target: "\(host):\(port)", version: "HTTP/1.1")
        h.status = 200
        connect.http = h
        connect.bytesUp = 72
        connect.bytesDown = 39
        r.bytesUp += 72
        r.bytesDown += 39
        r.tunnel = ConnectionTunnel(host: host, port: port, start: connect.end, setUp: [connect])
        return r
    }

    @Test func tunnelToAnAddressCountsAsAConnectionToIt() throws {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        let records = [0.0, 300, 600].map { Self.viaProxy(f.idle(start: at($0)), host: "198.51.100.1") }
        let r = analyze(records, model: model)
        #expect(r.counts.connections == 3 && r.counts.managerConnections == 3 && r.counts.ignoredConnections == 0)
        #expect(r.summary.checkIns == 3)
        let first = try #require(r.sessions.first)
        #expect(first.server == ip("198.51.100.1") && first.serverPort == 443)
        let select = first.steps.first { $0.step == 1 }
        #expect(select?.evidence == "SYN to proxy 10.5.5.5:8080 for 198.51.100.1:443")
        let connect = first.steps.first { $0.step == 2 }
        #expect(connect?.evidence.contains("with proxy 10.5.5.5:8080") == true)
        #expect(connect?.evidence.contains("CONNECT 198.51.100.1:443 → 200") == true)
        // The CONNECT bytes are set-up bytes (step 2), not an exchange of steps 3-6.
        #expect(first.steps.filter { $0.step >= 3 && $0.step <= 6 }.map(\.bytesUp) == [900])
        #expect(connect.map { $0.bytesUp == 517 + 72 && $0.bytesDown == 1_900 + 39 } == true)
    }

    /// `record` through the proxy whose `CONNECT` to `host:443` was answered `status`: no tunnel.
    static func refusedByProxy(_ record: ConnectionRecord, host: String, status: Int, reason: String)
        -> ConnectionRecord {
        var r = viaProxy(record, host: host)
        guard var t = r.tunnel else { return r }
        t.kind = .refused
        t.setUp[0].http?.status = status
        t.setUp[0].http?.reason = reason
        r.tunnel = t
        r.exchanges = t.setUp
        r.application = .http
        r.tls = nil
        return r
    }

    @Test func aConnectTheProxyRefusedIsAFailedConnectToTheTarget() throws {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        var records = [0.0, 600].map { Self.viaProxy(f.idle(start: at($0)), host: "198.51.100.1") }
        records.insert(Self.refusedByProxy(f.idle(start: at(300)), host: "198.51.100.1", status: 502,
                                           reason: "Bad Gateway"), at: 1)
        let r = analyze(records, model: model)
        #expect(r.summary.checkIns == 2 && r.summary.failed == 1)
        #expect(r.counts.managerConnections == 3 && r.counts.ignoredConnections == 0)
        let failed = try #require(r.sessions.first { $0.failed })
        #expect(failed.server == ip("198.51.100.1") && failed.serverPort == 443)
        #expect(failed.attempts.map(\.outcome) == ["refused-by-proxy"])
        #expect(failed.steps.first?.evidence == "1 failed connect: 198.51.100.1:443 refused by proxy 10.5.5.5:8080 "
            + "(CONNECT → 502 Bad Gateway); no connection set up")
        #expect(r.findings.filter { $0.code == .connectFailed }.map(\.message)
            == ["connect to 198.51.100.1:443 refused by proxy 10.5.5.5:8080 (CONNECT → 502 Bad Gateway): no tunnel"])
    }

    /// A 407 answered on a new connection with credentials: the proxy's authentication, shown in step 1, not
    /// a failure.
    @Test func aProxyAskingForCredentialsThenATunnelIsNoFailure() throws {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        let asked = Self.refusedByProxy(f.idle(start: at(0)), host: "198.51.100.1", status: 407,
                                        reason: "Proxy Authentication Required")
        var tunnelled = Self.viaProxy(f.idle(start: at(0)), host: "198.51.100.1")
        tunnelled.start = asked.end.adding(seconds: 0.01)
        tunnelled.synTime = tunnelled.start
        let r = analyze([asked, tunnelled], model: model)
        #expect(r.summary.checkIns == 1 && r.summary.failed == 0)
        #expect(!r.findings.contains { $0.code == .connectFailed })
        #expect(r.sessions.first?.steps.first?.evidence.hasPrefix("1 failed connect: 198.51.100.1:443 refused by "
            + "proxy 10.5.5.5:8080 (CONNECT → 407 Proxy Authentication Required), then SYN to proxy") == true)
        // The refused connection step 1 names carried its CONNECT and the 407: its bytes count in step 1 and in
        // the check-in's bytes, which are those of all its connections (they were left out).
        let session = try #require(r.sessions.first)
        #expect(asked.bytesUp > 0 && asked.bytesDown > 0)
        #expect(session.bytesUp == asked.bytesUp + tunnelled.bytesUp)
        #expect(session.bytesDown == asked.bytesDown + tunnelled.bytesDown)
        let select = session.steps.first { $0.step == 1 }
        #expect(select?.bytesUp == asked.bytesUp && select?.bytesDown == asked.bytesDown)
        // A check-in made of the refusal alone: failed, and its bytes are the refusal's.
        let alone = analyze([Self.refusedByProxy(f.idle(start: at(0)), host: "198.51.100.1", status: 502,
                                                 reason: "Bad Gateway")], model: model)
        #expect(alone.sessions.first?.failed == true)
        #expect(alone.sessions.first?.bytesUp == asked.bytesUp && alone.sessions.first?.bytesDown == asked.bytesDown)
    }

    /// A secars request pipelined after a `CONNECT` the proxy refused was meant for the target: it reaches
    /// the proxy only because no tunnel opened, and does not make the proxy a manager.
    @Test func aSecarsRequestAfterARefusedConnectDoesNotMakeTheProxyAManager() {
        var f = RecordFactory()
        let records = [0.0, 300, 600].map { t -> ConnectionRecord in
            var r = f.connection(start: at(t), exchanges: [.http("CONNECT", 80, 90), .http("GET", 300, 200)],
                                 tlsVersion: nil)
            r.server = Self.proxy
            r.exchanges[0].http?.target = "198.51.100.1:8014"
            r.exchanges[0].http?.status = 403
            r.exchanges[1].http?.status = 404
            return r
        }
        let r = analyze(records)
        #expect(r.managers.isEmpty, "\(r.managers)")
        #expect(r.summary.checkIns == 0 && r.counts.ignoredConnections == 3)
        // The same request with no CONNECT before it still makes the server a manager.
        let direct = [0.0, 300].map { t -> ConnectionRecord in
            var c = f.connection(start: at(t), exchanges: [.http("GET", 300, 200)], tlsVersion: nil)
            c.server = Self.proxy
            return c
        }
        #expect(analyze(direct).managers.map(\.source) == ["inferred-http"])
    }

    @Test func withoutATunnelTheProxyIsAnotherPort() {
        var f = RecordFactory()
        var records = [0.0, 300].map { Self.viaProxy(f.idle(start: at($0)), host: "198.51.100.1") }
        for i in records.indices { records[i].tunnel = nil }
        let r = analyze(records)
        #expect(r.counts.ignoredConnections == 2 && r.summary.checkIns == 0)
    }

    @Test func aTargetWithLeadingZeroOctetsIsNotReadAsDecimal() throws {
        // `012.1.0.11` is 10.1.0.11 to inet_aton, not 12.1.0.11: no address, and no name to tie either.
        var f = RecordFactory()
        let records = [0.0, 300].map { Self.viaProxy(f.idle(start: at($0)), host: "012.1.0.11") }
        let r = analyze(records)
        #expect(r.summary.checkIns == 0 && r.counts.ignoredConnections == 2)
        #expect(!r.managers.contains { $0.address == "12.1.0.11" })
    }

    @Test func hostNameTargetTiedByAnEarlierSNI() throws {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("sepm.example.test")
        // One direct connection ties the name to its address; the proxied ones then reach it by name.
        var records = [f.connection(start: at(0), exchanges: [.tls(900, 3_100)], sni: "sepm.example.test")]
        records += [300.0, 600].map { Self.viaProxy(f.idle(start: at($0)), host: "sepm.example.test") }
        let r = analyze(records, model: model)
        #expect(r.counts.managerConnections == 3)
        #expect(r.sessions.map(\.server) == [ip("198.51.100.1"), ip("198.51.100.1"), ip("198.51.100.1")])
        #expect(r.managers.first?.resolution == "tls-sni")
    }

    /// A name is tied by whatever the capture shows, also by a connection that begins after the tunnel (here a
    /// direct one, filed after it): the tunnel is judged when the report is built, rolling or final.
    @Test func hostNameTargetTiedByALaterSNI() throws {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("sepm.example.test")
        var b = SessionBuilder(model: model)
        b.ingest(Self.viaProxy(f.idle(start: at(0)), host: "sepm.example.test"))
        b.ingest(f.connection(start: at(300), exchanges: [.tls(900, 3_100)], sni: "sepm.example.test"))
        let rolling = b.report()
        let r = b.finish()
        for report in [rolling, r] {
            #expect(report.counts.connections == 2 && report.counts.managerConnections == 2)
            #expect(report.sessions.map(\.server) == [ip("198.51.100.1"), ip("198.51.100.1")])
            #expect(report.sessions.first?.steps.first?.evidence == "SYN to proxy 10.5.5.5:8080 for 198.51.100.1:443")
        }
        // A name nothing ties leaves the tunnel one to the proxy, as before.
        let untied = analyze([Self.viaProxy(f.idle(start: at(0)), host: "other.example.test")], model: model)
        #expect(untied.summary.checkIns == 0 && untied.counts.ignoredConnections == 1)
    }

    /// A tunnel whose `CONNECT` was lost names its target by its SNI alone: the first such tunnel of the capture
    /// takes the address a later tunnel asking for that SNI reached, as the ones after it do.
    @Test func aLostConnectIsTiedByALaterTunnelsSNI() throws {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        let inner = [0.0, 300].map {
            f.connection(start: at($0), exchanges: [.tls(900, 3_100)], sni: "sepm.example.test")
        }
        let lost = Self.viaProxy(inner[0], host: "sepm.example.test")
        let named = Self.viaProxy(inner[1], host: "198.51.100.1")
        let r = analyze([lost, named], model: model)
        #expect(r.counts.connections == 2 && r.counts.managerConnections == 2 && r.counts.ignoredConnections == 0)
        #expect(r.sessions.map(\.server) == [ip("198.51.100.1"), ip("198.51.100.1")])
    }

    /// A `CONNECT` to a configured name that the proxy refused, with nothing in the capture tying the name: no
    /// address to judge it as, so no check-in, but each refusal is a `connect-failed` finding of its client; a
    /// `407` the client answers with credentials on its next connection to the same target is none.
    @Test func aRefusedConnectToAnUntiedConfiguredNameIsAFailedConnect() throws {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("sepm.example.test")
        let refused = [0.0, 300].map {
            Self.refusedByProxy(f.idle(start: at($0)), host: "sepm.example.test", status: 403, reason: "Forbidden")
        }
        let asked = Self.refusedByProxy(f.idle(start: at(600)), host: "sepm.example.test", status: 407,
                                        reason: "Proxy Authentication Required")
        let retried = Self.refusedByProxy(f.idle(start: at(601)), host: "sepm.example.test", status: 502,
                                          reason: "Bad Gateway")
        let r = analyze(refused + [asked, retried], model: model)
        #expect(r.summary.checkIns == 0)
        let failed = r.findings.filter { $0.code == .connectFailed }
        #expect(failed.map(\.time) == [at(0), at(300), at(601)].map { Optional($0) })
        #expect(failed.allSatisfy { $0.client == ip("10.0.0.5") && $0.severity == .error })
        #expect(failed.first?.message == "connect to sepm.example.test:443 refused by proxy 10.5.5.5:8080 (CONNECT → "
            + "403 Forbidden): no tunnel; no connection of the capture ties the configured name to an address, so no "
            + "check-in is built from it")
        // A name that is not configured names no manager: no finding.
        let unconfigured = analyze(refused, model: try ReferenceModel.builtIn.withServer("198.51.100.1"))
        #expect(!unconfigured.findings.contains { $0.code == .connectFailed })
    }

    @Test func sniInsideATunnelTiesTheNameToTheTargetNotTheProxy() throws {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("sepm.example.test")
        let inner = f.connection(start: at(0), exchanges: [.tls(900, 3_100)], sni: "sepm.example.test")
        let r = analyze([Self.viaProxy(inner, host: "198.51.100.1")], model: model)
        #expect(r.managers.first?.address == "198.51.100.1")
        #expect(r.sessions.first?.server == ip("198.51.100.1"))
    }

    /// Plain HTTP sent to a proxy in absolute form: judged as a connection to the URL's host and port,
    /// its request-targets read in origin form (so the secars request makes the server a manager).
    @Test func absoluteFormRequestsAreJudgedAsConnectionsToTheirHost() throws {
        var f = RecordFactory()
        let records = [0.0, 300, 600].map { t -> ConnectionRecord in
            var r = f.connection(start: at(t), exchanges: [.http("GET", 300, 3_700)], tlsVersion: nil)
            r.server = Self.proxy
            for i in r.exchanges.indices {
                let target = r.exchanges[i].http?.target ?? ""
                r.exchanges[i].http?.target = "http://198.51.100.1:8014" + target
            }
            var tunnel = ConnectionTunnel(host: "198.51.100.1", port: 8014, start: r.exchanges[0].start)
            tunnel.kind = .forward
            r.tunnel = tunnel
            return r
        }
        let r = analyze(records)
        #expect(r.summary.checkIns == 3 && r.counts.managerConnections == 3)
        #expect(r.managers.map(\.address) == ["198.51.100.1"])
        let first = try #require(r.sessions.first)
        #expect(first.server == ip("198.51.100.1") && first.serverPort == 8014)
        #expect(first.steps.first { $0.step == 1 }?.evidence == "SYN to proxy 10.5.5.5:8080 for 198.51.100.1:8014")
        let connect = first.steps.first { $0.step == 2 }?.evidence
        #expect(connect?.contains("with proxy 10.5.5.5:8080") == true && connect?.contains("CONNECT") == false)
        #expect(ManagerDirectory.originForm("http://h:1/a?b") == "/a?b")
        #expect(ManagerDirectory.originForm("HTTP://h?q") == "/?q" && ManagerDirectory.originForm("http://h") == "/")
        #expect(ManagerDirectory.originForm("/a") == nil)
    }

    /// `CONNECT [::ffff:198.51.100.1]:443` reaches 198.51.100.1, as `--server ::ffff:198.51.100.1` does.
    @Test func anIPv4MappedTargetIsItsIPv4Address() throws {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        let records = [0.0, 300].map { Self.viaProxy(f.idle(start: at($0)), host: "::ffff:198.51.100.1") }
        let r = analyze(records, model: model)
        #expect(r.summary.checkIns == 2 && r.managers.count == 1)
        #expect(r.sessions.allSatisfy { $0.server == ip("198.51.100.1") })
        #expect(r.codes(.unknownServer).isEmpty)
    }

    /// A capture holding both legs: the clients' tunnels to the proxy, and the proxy's own connections to
    /// the manager. The proxy is not a client; its legs are counted apart, whether filed before or after
    /// the tunnel that names the proxy.
    @Test(arguments: [true, false])
    func theProxysOwnLegsAreNotCheckIns(legsFirst: Bool) throws {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        let tunnels = [0.0, 300, 600].map { Self.viaProxy(f.idle(start: at($0)), host: "198.51.100.1") }
        let legs = [0.0, 300, 600].map { f.idle(client: "10.5.5.5", start: at($0 + 0.003)) }
        let alone = analyze(tunnels, model: model)
        var b = SessionBuilder(model: model)
        for r in legsFirst ? legs + tunnels : tunnels + legs { b.ingest(r) }
        let r = b.finish()
        #expect(r.summary.clients == 1 && r.summary.checkIns == 3)
        #expect(r.sessions.map(\.client) == alone.sessions.map(\.client))
        #expect(r.clients == alone.clients && r.findings == alone.findings)
        #expect(r.counts.connections == 6 && r.counts.managerConnections == 3)
        #expect(r.counts.proxyLegConnections == 3 && r.counts.otherServerConnections == 0)
        #expect(alone.counts.proxyLegConnections == 0)
    }

    /// A proxy whose upstream side has another address (two interfaces): its legs come from an address no tunnel
    /// went to, and are known by carrying a tunnel's very bytes to its target while it was set up.
    @Test func legsFromAnotherAddressOfTheProxyAreNotCheckIns() throws {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        let tunnels = [0.0, 300, 600].map { Self.viaProxy(f.idle(start: at($0)), host: "198.51.100.1") }
        let legs = [0.0, 300, 600].map { f.idle(client: "10.9.9.5", start: at($0 + 0.003)) }
        let alone = analyze(tunnels, model: model)
        let r = analyze(tunnels + legs, model: model)
        #expect(r.summary.clients == 1 && r.summary.checkIns == 3)
        #expect(r.clients == alone.clients && r.findings == alone.findings)
        #expect(r.counts.connections == 6 && r.counts.managerConnections == 3)
        #expect(r.counts.proxyLegConnections == 3 && r.counts.otherServerConnections == 0)
        // An address with a connection of its own that carries no tunnel's bytes keeps them all: a client.
        var own = f.idle(client: "10.9.9.5", start: at(900))
        own.bytesUp += 100
        let mixed = analyze(tunnels + legs + [own], model: model)
        #expect(mixed.counts.proxyLegConnections == 0 && mixed.summary.clients == 2)
        // Other bytes than the tunnel's, or begun after it was set up: no leg.
        let bigger = legs.map { leg -> ConnectionRecord in
            var l = leg
            l.bytesDown += 1
            return l
        }
        #expect(analyze(tunnels + bigger, model: model).counts.proxyLegConnections == 0)
        let later = [0.0, 300, 600].map { f.idle(client: "10.9.9.5", start: at($0 + 2)) }
        #expect(analyze(tunnels + later, model: model).counts.proxyLegConnections == 0)
    }

    /// A client's plain-HTTP check-in through a proxy, sent in absolute form (`GET http://198.51.100.1:8014/...`).
    static func forwarded(_ record: ConnectionRecord) -> ConnectionRecord {
        var r = record
        r.server = proxy
        for i in r.exchanges.indices {
            let target = r.exchanges[i].http?.target ?? ""
            r.exchanges[i].http?.target = "http://198.51.100.1:8014" + target
            // The absolute form is longer by the scheme and authority.
            r.exchanges[i].bytesUp += 24
        }
        r.bytesUp += Int64(24 * r.exchanges.count)
        var tunnel = ConnectionTunnel(host: "198.51.100.1", port: 8014, start: r.exchanges[0].start)
        tunnel.kind = .forward
        r.tunnel = tunnel
        return r
    }

    /// A proxy with two interfaces forwarding plain HTTP sent in absolute form: its upstream legs carry other
    /// bytes than the clients' connections (origin form, headers of its own added), but the same requests
    /// answered the same, so they are its legs, not check-ins of a client of its own (before, they were).
    @Test func forwardingLegsFromAnotherAddressOfTheProxyAreNotCheckIns() throws {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        let exchanges: [ExchangeSpec] = [.http("GET", 300, 3_700), .http("POST", 1_200, 400, target: "/secars/x")]
        let direct = [0.0, 300, 600].map {
            f.connection(port: 8014, start: at($0), exchanges: exchanges, tlsVersion: nil)
        }
        let clients = direct.map(Self.forwarded)
        // The proxy's legs: other bytes (a `Via` header added each way), the same requests.
        let legs = [0.0, 300, 600].map { t -> ConnectionRecord in
            var leg = f.connection(client: "10.9.9.5", port: 8014, start: at(t + 0.1), exchanges: exchanges,
                                   tlsVersion: nil)
            leg.bytesUp += 40
            leg.bytesDown += 40
            return leg
        }
        let alone = analyze(clients, model: model)
        let r = analyze(clients + legs, model: model)
        #expect(alone.summary.clients == 1 && alone.summary.checkIns == 3)
        #expect(r.summary.clients == 1 && r.summary.checkIns == 3)
        #expect(r.clients == alone.clients && r.findings == alone.findings)
        #expect(r.counts.connections == 6 && r.counts.managerConnections == 3)
        #expect(r.counts.proxyLegConnections == 3 && r.counts.otherServerConnections == 0)
        // Other requests, another answer, or begun after the first request was forwarded: no leg.
        let otherPath = [0.0, 300, 600].map {
            f.connection(client: "10.9.9.5", port: 8014, start: at($0 + 0.1),
                         exchanges: [.http("GET", 300, 3_700, target: "/other"), exchanges[1]], tlsVersion: nil)
        }
        #expect(analyze(clients + otherPath, model: model).counts.proxyLegConnections == 0)
        let otherStatus = [0.0, 300, 600].map {
            f.connection(client: "10.9.9.5", port: 8014, start: at($0 + 0.1),
                         exchanges: [.http("GET", 300, 3_700, status: 503), exchanges[1]], tlsVersion: nil)
        }
        #expect(analyze(clients + otherStatus, model: model).counts.proxyLegConnections == 0)
        let later = [0.0, 300, 600].map {
            f.connection(client: "10.9.9.5", port: 8014, start: at($0 + 6), exchanges: exchanges, tlsVersion: nil)
        }
        #expect(analyze(clients + later, model: model).counts.proxyLegConnections == 0)
        // An address with a check-in of its own keeps all of its connections: a client.
        let own = f.connection(client: "10.9.9.5", port: 8014, start: at(900), exchanges: exchanges, tlsVersion: nil)
        let mixed = analyze(clients + legs + [own], model: model)
        #expect(mixed.counts.proxyLegConnections == 0 && mixed.summary.clients == 2)
    }

    /// A proxy's own connections that are no leg of a tunnel (not begun while one of its tunnels to that
    /// target was being set up) stay check-ins of its own: a proxy host may run a client, and one stray
    /// tunnel through a client's address must not take that client's check-ins away.
    @Test func onlyConnectionsSetUpWithATunnelAreLegs() throws {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        let tunnels = [0.0, 300].map { Self.viaProxy(f.idle(start: at($0)), host: "198.51.100.1") }
        let legs = [0.0, 300].map { f.idle(client: "10.5.5.5", start: at($0 + 0.003)) }
        // The proxy host's own check-ins, a minute after each tunnel, and a later piece of one leg.
        let own = [60.0, 360, 660].map { f.idle(client: "10.5.5.5", start: at($0)) }
        var b = SessionBuilder(model: model)
        for r in tunnels + legs + own { b.ingest(r) }
        let r = b.finish()
        #expect(r.counts.proxyLegConnections == 2)
        #expect(r.summary.clients == 2 && r.summary.checkIns == 5)
        #expect(r.sessions.filter { $0.client == ip("10.5.5.5") }.count == 3)
        #expect(r.counts.managerConnections == 5)
    }
}
