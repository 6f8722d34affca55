@testable import Analysis
import Core
import Protocols
import Records
import Testing

/// An HTTP `CONNECT` answered with 2xx hands the rest of both directions to detection again (an
/// explicit proxy), and the record describes the traffic inside the tunnel and names its target.
@Suite struct TunnelStateTests {
    typealias Step = ApplicationStateTests.Step

    static let connect = "CONNECT 10.1.0.11:443 HTTP/1.1\r\nHost: 10.1.0.11:443\r\nUser-Agent: Smc\r\n\r\n"
    static let established = "HTTP/1.1 200 Connection established\r\n\r\n"
    static let clientHello = ApplicationStateTests.hello(client: true, version: 0x0303)
    static let serverHello = ApplicationStateTests.hello(client: false, version: 0x0303)

    /// A TLS application-data record of `count` payload bytes.
    static func applicationData(_ count: Int) -> [UInt8] {
        [0x17, 0x03, 0x03, UInt8(count >> 8), UInt8(count & 0xff)] + [UInt8](repeating: 0xAB, count: count)
    }

    /// The TLS check-in inside the tunnel: hellos, then one exchange of 100 bytes up and 300 down.
    static let tlsCheckIn: [Step] = [
        .upBytes(clientHello), .downBytes(serverHello),
        .upBytes(applicationData(95)), .downBytes(applicationData(295)),
    ]

    @Test func connectAnsweredWithTwoHundredCarriesTLS() {
        let r = ApplicationStateTests.run([.up(Self.connect), .down(Self.established)] + Self.tlsCheckIn)
        #expect(r.record.application == .tls)
        #expect(r.record.tls?.clientVersion == 0x0303 && r.record.tls?.negotiatedVersion == 0x0303)
        #expect(r.record.exchanges.map(\.kind) == [.tls])
        #expect(r.record.exchanges.first?.bytesUp == 100 && r.record.exchanges.first?.bytesDown == 300)
        let tunnel = r.record.tunnel
        #expect(tunnel?.host == "10.1.0.11" && tunnel?.port == 443)
        #expect(tunnel?.setUp.map { $0.http?.status } == [200])
        #expect(tunnel?.setUp.first?.bytesUp == Int64(Self.connect.utf8.count))
        #expect(tunnel?.setUp.first?.bytesDown == Int64(Self.established.utf8.count))
        #expect(r.rows == ["up CONNECT 10.1.0.11:443", "down 200"])
        #expect(r.anomalies.isEmpty)
    }

    @Test func aTargetWithLeadingZeroOctetsIsNoAddressAndAnAnomaly() {
        // inet_aton reads 012 as octal (10.1.0.11): the text is kept as written, not read as 12.1.0.11.
        let octal = "CONNECT 012.1.0.11:443 HTTP/1.1\r\nHost: 012.1.0.11:443\r\n\r\n"
        let r = ApplicationStateTests.run([.up(octal), .down(Self.established)] + Self.tlsCheckIn)
        #expect(r.record.application == .tls)
        #expect(r.record.tunnel?.host == "012.1.0.11" && r.record.tunnel?.port == 443)
        #expect(r.anomalies == ["up: CONNECT target host \"012.1.0.11\" is a numeric form other than dotted decimal "
            + "(leading zeros, hex or fewer parts, which resolvers read differently): not taken as an address"])
        // A host name is no anomaly, nor a plain address with zero octets.
        for target in ["sepm.example.test:443", "10.0.0.1:443"] {
            let request = "CONNECT \(target) HTTP/1.1\r\n\r\n"
            #expect(ApplicationStateTests.run([.up(request), .down(Self.established)] + Self.tlsCheckIn)
                .anomalies.isEmpty, "\(target)")
        }
    }

    @Test func proxyAuthenticationThenRetryOnTheSameConnection() {
        let refused = "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n"
            + "Content-Length: 5\r\n\r\nlogin"
        let retry = "CONNECT sepm.example.test:443 HTTP/1.1\r\nProxy-Authorization: Basic eDp5\r\n\r\n"
        let r = ApplicationStateTests.run(
            [.up(Self.connect), .down(refused), .up(retry), .down(Self.established)] + Self.tlsCheckIn)
        #expect(r.record.application == .tls)
        #expect(r.record.tunnel?.host == "sepm.example.test" && r.record.tunnel?.port == 443)
        #expect(r.record.tunnel?.setUp.map { $0.http?.status } == [407, 200])
        #expect(r.record.exchanges.count == 1)
        #expect(r.rows == ["up CONNECT 10.1.0.11:443", "down 407", "up CONNECT sepm.example.test:443", "down 200"])
    }

    /// Pipelined CONNECTs: responses answer requests in order, so the 200 answers the first; the second
    /// was sent into the tunnel (an anomaly), not a CONNECT the proxy followed.
    @Test func pipelinedConnectsCreditTheOneAnswered() {
        let second = "CONNECT 10.7.7.7:443 HTTP/1.1\r\n\r\n"
        let r = ApplicationStateTests.run([.up(Self.connect + second), .down(Self.established)] + Self.tlsCheckIn)
        #expect(r.record.application == .tls)
        #expect(r.record.tunnel?.host == "10.1.0.11" && r.record.tunnel?.port == 443)
        #expect(r.record.tunnel?.setUp.map { $0.http?.target } == ["10.1.0.11:443"])
        // The code first, as a TLS anomaly shows it (README names `request_in_tunnel`), then the words.
        #expect(r.anomalies == ["up: request_in_tunnel (request pipelined after the CONNECT the proxy answered 2xx, "
            + "read as a request and left out of the tunnel)"])
        // A refusal of the first and a 200 for the second, in one segment: the second is the tunnel.
        let refused = "HTTP/1.1 407 No\r\nContent-Length: 0\r\n\r\n"
        let p = ApplicationStateTests.run(
            [.up(second + Self.connect), .down(refused + Self.established)] + Self.tlsCheckIn)
        #expect(p.record.tunnel?.host == "10.1.0.11" && p.record.tunnel?.setUp.map { $0.http?.status } == [407, 200])
        #expect(p.anomalies.isEmpty)
    }

    /// A 101 Upgrade after a refused CONNECT is no tunnel to the refused target.
    @Test func upgradeAfterARefusedConnectIsNoTunnel() {
        let r = ApplicationStateTests.run([
            .up(Self.connect), .down("HTTP/1.1 407 No\r\nContent-Length: 0\r\n\r\n"),
            .up("GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
            .down("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
        ] + Self.tlsCheckIn)
        #expect(r.record.tunnel == nil)
        #expect(r.record.application == .http && r.record.tls == nil)
        #expect(r.record.exchanges.map { $0.http?.status } == [407, 101])
    }

    @Test func refusedConnectOpensNoTunnel() {
        let r = ApplicationStateTests.run([
            .up(Self.connect), .down("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
        ])
        // No tunnel: named as a refused one, for the heartbeat layer to judge a failed connect to the target.
        #expect(r.record.tunnel?.kind == .refused)
        #expect(r.record.tunnel?.host == "10.1.0.11" && r.record.tunnel?.port == 443)
        #expect(r.record.tunnel?.setUp.map { $0.http?.status } == [403])
        #expect(r.record.application == .http)
        #expect(r.record.exchanges.map { $0.http?.status } == [403])
        #expect(r.record.tls == nil)
        // A request to the proxy after the refusal: not a refused connect any more, a connection to the proxy.
        let after = ApplicationStateTests.run([
            .up(Self.connect), .down("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
            .up("GET /pac HTTP/1.1\r\n\r\n"), .down("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        ])
        #expect(after.record.tunnel == nil)
        // No answer at all is no refusal either.
        #expect(ApplicationStateTests.run([.up(Self.connect)]).record.tunnel == nil)
    }

    @Test func helloSentWithTheRequestAndTheAnswerInOneChunkEach() {
        // The client does not wait for the answer: its ClientHello follows the request in the same segment.
        let together = ApplicationStateTests.run([
            .upBytes(Array(Self.connect.utf8) + Self.clientHello),
            .downBytes(Array(Self.established.utf8) + Self.serverHello),
            .upBytes(Self.applicationData(95)), .downBytes(Self.applicationData(295)),
        ])
        let apart = ApplicationStateTests.run([.up(Self.connect), .down(Self.established)] + Self.tlsCheckIn)
        #expect(together.record.application == .tls)
        #expect(together.record.tls == apart.record.tls)
        #expect(together.record.exchanges.map(\.bytesUp) == apart.record.exchanges.map(\.bytesUp))
        #expect(together.record.exchanges.map(\.bytesDown) == apart.record.exchanges.map(\.bytesDown))
        #expect(together.record.tunnel?.setUp.count == 1)
    }

    @Test func everyByteInItsOwnChunkGivesTheSameRecord() {
        let up = Array(Self.connect.utf8) + Self.clientHello
        let down = Array(Self.established.utf8) + Self.serverHello
        var steps: [Step] = up.map { .upBytes([$0]) }
        steps += down.map { .downBytes([$0]) }
        steps += [.upBytes(Self.applicationData(95)), .downBytes(Self.applicationData(295))]
        let r = ApplicationStateTests.run(steps)
        #expect(r.record.application == .tls)
        #expect(r.record.tls?.negotiatedVersion == 0x0303)
        #expect(r.record.exchanges.map(\.bytesUp) == [100])
        #expect(r.record.tunnel?.port == 443)
    }

    @Test func plainHTTPInsideATunnel() {
        let r = ApplicationStateTests.run([
            .up("CONNECT [2001:db8::11]:8014 HTTP/1.1\r\n\r\n"), .down(Self.established),
            .up("GET /secars/secars.dll?h=1 HTTP/1.1\r\nHost: m\r\n\r\n"),
            .down("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        ])
        #expect(r.record.application == .http)
        #expect(r.record.tunnel?.host == "2001:db8::11" && r.record.tunnel?.port == 8014)
        #expect(r.record.exchanges.map { $0.http?.target } == ["/secars/secars.dll?h=1"])
        #expect(r.rows == ["up CONNECT [2001:db8::11]:8014", "down 200", "up GET /secars/secars.dll?h=1", "down 200"])
    }

    /// A plain-HTTP request sent with its `CONNECT`, before the 2xx came: the tunnel's first bytes, as a
    /// ClientHello sent so is (not a request left out of the tunnel), with the time it was sent.
    @Test func aRequestSentBeforeTheAnswerIsTheTunnelsFirstBytes() {
        let connect = "CONNECT 10.1.0.11:8014 HTTP/1.1\r\nHost: 10.1.0.11:8014\r\n\r\n"
        let get = "GET /secars/secars.dll?h=1 HTTP/1.1\r\nHost: 10.1.0.11:8014\r\n\r\n"
        let ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        let r = ApplicationStateTests.run([.up(connect + get), .down(Self.established + ok)])
        #expect(r.record.application == .http)
        #expect(r.record.tunnel?.host == "10.1.0.11" && r.record.tunnel?.port == 8014)
        #expect(r.record.tunnel?.setUp.map { $0.http?.status } == [200])
        #expect(r.record.exchanges.map { $0.http?.target } == ["/secars/secars.dll?h=1"])
        #expect(r.record.exchanges.first?.http?.status == 200)
        #expect(r.record.exchanges.first?.bytesUp == Int64(get.utf8.count))
        #expect(r.record.exchanges.first?.bytesDown == Int64(ok.utf8.count))
        // Sent at step 1 with the CONNECT, not at step 2 when the answer came.
        #expect(r.record.exchanges.first?.start == Timestamp(seconds: 1, nanoseconds: 0))
        #expect(r.record.tunnel?.start == Timestamp(seconds: 1, nanoseconds: 0))
        #expect(r.rows == ["up CONNECT 10.1.0.11:8014", "down 200", "up GET /secars/secars.dll?h=1", "down 200"])
        #expect(r.anomalies.isEmpty, "\(r.anomalies)")

        // A request body still on its way when the answer comes: its head and first part were held, the rest
        // goes to the tunnel as it arrives.
        let post = "POST /secars/secars.dll?h=2 HTTP/1.1\r\nContent-Length: 10\r\n\r\n"
        let split = ApplicationStateTests.run([
            .up(connect + post + "01234"), .down(Self.established), .up("56789"), .down(ok),
        ])
        #expect(split.record.exchanges.map { $0.http?.method } == ["POST"])
        #expect(split.record.exchanges.first?.bytesUp == Int64(post.utf8.count + 10))
        #expect(split.record.exchanges.first?.http?.requestBodyLength == 10)
        #expect(split.anomalies.isEmpty, "\(split.anomalies)")

        // Refused: the request stays one to the proxy, answered after the refusal; no tunnel.
        let refused = ApplicationStateTests.run([
            .up(connect + get), .down("HTTP/1.1 407 No\r\nContent-Length: 0\r\n\r\n" + ok),
        ])
        #expect(refused.record.tunnel == nil)
        #expect(refused.record.exchanges.map { $0.http?.status } == [407, 200])
        #expect(refused.anomalies.isEmpty)
    }

    @Test func aGapInsideTheTunnelReachesTheInnerParser() {
        let r = ApplicationStateTests.run([
            .up(Self.connect), .down(Self.established), .upBytes(Self.clientHello), .downBytes(Self.serverHello),
            .gapUp(40), .downBytes(Self.applicationData(10)),
        ])
        #expect(r.record.application == .tls)
        #expect(r.record.exchanges.reduce(0) { $0 + $1.missingBytes } == 40)
    }

    /// Plain HTTP to a forward proxy (absolute form, RFC 9112 3.2.2): the first request names the server.
    @Test func absoluteFormRequestsNameTheServer() {
        let ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        let r = ApplicationStateTests.run([
            .up("GET http://10.1.0.11:8014/secars/secars.dll?h=1 HTTP/1.1\r\nHost: 10.1.0.11:8014\r\n\r\n"),
            .down(ok),
            .up("POST HTTP://user@10.1.0.11:8014/secars/secars.dll?h=2 HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
            .down(ok),
            .up("GET http://10.7.7.7/x HTTP/1.1\r\n\r\n"), .down(ok),
        ])
        #expect(r.record.application == .http)
        let tunnel = r.record.tunnel
        #expect(tunnel?.kind == .forward && tunnel?.host == "10.1.0.11" && tunnel?.port == 8014)
        #expect(tunnel?.setUp.isEmpty == true)
        #expect(tunnel?.start == r.record.exchanges.first?.start)
        #expect(r.record.exchanges.count == 3)
        // Only the third names another host.
        #expect(r.anomalies == [
            "up: absolute_form_host_changed (absolute-form request names another host than the first)",
        ])
        // No port: 80, as `http://` means; an origin-form request names nothing.
        let bare = ApplicationStateTests.run([.up("GET http://sepm.example.test/secars HTTP/1.1\r\n\r\n"), .down(ok)])
        #expect(bare.record.tunnel.map { [$0.host, "\($0.port ?? 0)"] } == ["sepm.example.test", "80"])
        let direct = ApplicationStateTests.run([.up("GET /secars HTTP/1.1\r\n\r\n"), .down(ok)])
        #expect(direct.record.tunnel == nil)
        // No port, an empty port and the default port name one server: no change, and port 80.
        let same = ApplicationStateTests.run([
            .up("GET http://10.1.0.11/a HTTP/1.1\r\n\r\n"), .down(ok),
            .up("GET http://10.1.0.11:80/b HTTP/1.1\r\n\r\n"), .down(ok),
            .up("GET http://10.1.0.11:/c HTTP/1.1\r\n\r\n"), .down(ok),
        ])
        #expect(same.anomalies.isEmpty, "\(same.anomalies)")
        #expect(same.record.tunnel.map { [$0.host, "\($0.port ?? 0)"] } == ["10.1.0.11", "80"])
    }

    @Test func tunnelTargetsAreReadAsWritten() {
        let t0 = Timestamp.zero
        #expect(ConnectionTunnel(target: "sepm.corp:443", start: t0).map { [$0.host, "\($0.port ?? 0)"] }
            == ["sepm.corp", "443"])
        #expect(ConnectionTunnel(target: "[::1]:8443", start: t0)?.targetText == "[::1]:8443")
        #expect(ConnectionTunnel(target: "noport", start: t0).map { $0.port == nil && $0.host == "noport" } == true)
        #expect(ConnectionTunnel(target: "", start: t0) == nil)
        #expect(ConnectionTunnel(target: " \t", start: t0) == nil)
        // Whitespace inside the target (an anomaly of its own): the first word names it.
        #expect(ConnectionTunnel(target: "mail.example:25 /", start: t0)?.targetText == "mail.example:25")
        // Port 0 reaches no server, and a port is digits only: no usable port, the word kept as the host.
        for target in ["10.1.0.11:0", "10.1.0.11:+443", "10.1.0.11:-1", "[::1]:0", "[::1]:+443", "10.1.0.11:00000"] {
            #expect(ConnectionTunnel(target: target, start: t0)?.port == nil, "\(target)")
        }
        #expect(ConnectionTunnel(target: "10.1.0.11:0443", start: t0)?.port == 443)
    }

    /// An absolute-form request naming a port that cannot be used (past 65535, 0, not digits) has a target
    /// without a usable port, as a `CONNECT` to it: not port 80 of a host that holds the bad port.
    @Test func absoluteFormWithAnUnusablePortHasNoPort() {
        let ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        for authority in ["10.1.0.11:99999", "10.1.0.11:0", "10.1.0.11:80x", "[2001:db8::11]:0"] {
            let r = ApplicationStateTests.run([
                .up("GET http://\(authority)/secars/secars.dll?h=1 HTTP/1.1\r\n\r\n"), .down(ok),
            ])
            #expect(r.record.tunnel?.kind == .forward && r.record.tunnel?.port == nil, "\(authority)")
            #expect(r.anomalies == ["up: absolute-form request target without a usable port: \(authority) "
                + "(judged as a connection to the proxy)"], "\(authority)")
        }
        // An IPv6 address with no port is port 80, its colons being the address's.
        let v6 = ApplicationStateTests.run([.up("GET http://[2001:db8::11]/x HTTP/1.1\r\n\r\n"), .down(ok)])
        #expect(v6.record.tunnel?.port == 80 && v6.anomalies.isEmpty)
    }
}

/// A proxied check-in whose `CONNECT` or whose 2xx answer was not captured is still read as a tunnel when
/// TLS records follow.
@Suite struct LostConnectTunnelTests {
    typealias Step = ApplicationStateTests.Step
    typealias T = TunnelStateTests

    /// A ClientHello naming `name` in its server_name extension.
    static func clientHello(sni name: String) -> [UInt8] {
        let host = Array(name.utf8)
        let list: [UInt8] = [0] + [UInt8(host.count >> 8), UInt8(host.count & 0xff)] + host
        let sni: [UInt8] = [0, 0, UInt8((list.count + 2) >> 8), UInt8((list.count + 2) & 0xff),
                            UInt8(list.count >> 8), UInt8(list.count & 0xff)] + list
        var body: [UInt8] = [0x03, 0x03] + [UInt8](repeating: 7, count: 32) + [0, 0, 2, 0x00, 0x2f, 1, 0]
        body += [UInt8(sni.count >> 8), UInt8(sni.count & 0xff)] + sni
        let handshake: [UInt8] = [1, 0, UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
        return [0x16, 0x03, 0x01, UInt8(handshake.count >> 8), UInt8(handshake.count & 0xff)] + handshake
    }

    static let hello = clientHello(sni: "sepm.example.test")
    static let inside: [Step] = [
        .upBytes(hello), .downBytes(T.serverHello), .upBytes(T.applicationData(95)), .downBytes(T.applicationData(295)),
    ]
    static let connectLength = Int64(T.connect.utf8.count)

    @Test(arguments: [true, false])
    func aLostConnectAnsweredWithTwoHundredThenTLSIsATunnelNamedBySNI(gapFirst: Bool) {
        let clean = ApplicationStateTests.run([.up(T.connect), .down(T.established)] + Self.inside)
        // The gap is reported before the answer (the proxy's ACK showed it) or only with the next client bytes.
        let steps: [Step] = gapFirst
            ? [.gapUp(Self.connectLength), .down(T.established)] + Self.inside
            : [.down(T.established), .gapUp(Self.connectLength)] + Self.inside
        let r = ApplicationStateTests.run(steps)
        #expect(r.record.application == .tls)
        #expect(r.record.tls == clean.record.tls)
        #expect(r.record.exchanges.map(\.bytesUp) == clean.record.exchanges.map(\.bytesUp))
        #expect(r.record.exchanges.map(\.bytesDown) == clean.record.exchanges.map(\.bytesDown))
        #expect(r.record.tunnel?.host == "sepm.example.test" && r.record.tunnel?.port == 443)
        #expect(r.record.tunnel?.setUp.map { $0.http?.status } == [200])
        #expect(r.record.tunnel?.setUp.first?.http?.method == "CONNECT")
        // The request's bytes were not captured: none counted as sent.
        #expect(r.record.tunnel?.setUp.first?.bytesUp == 0)
        #expect(r.record.tunnel?.setUp.first?.bytesDown == Int64(T.established.utf8.count))
        #expect(r.rows == ["down 200"])
        #expect(r.anomalies == ["up: CONNECT not captured (a 2xx answered no request, TLS followed): tunnel target "
            + "taken from the SNI: sepm.example.test:443"])
    }

    @Test func withoutSNITheTargetIsUnknown() {
        let r = ApplicationStateTests.run([.gapUp(Self.connectLength), .down(T.established)] + T.tlsCheckIn)
        #expect(r.record.application == .tls)
        #expect(r.record.tunnel == nil)
        #expect(r.record.exchanges.map(\.bytesUp) == [100])
        #expect(r.anomalies == ["up: CONNECT not captured (a 2xx answered no request, TLS followed): tunnel target "
            + "unknown (no SNI)"])
    }

    /// A lost plain request answered with 200 and followed by more plain HTTP is no tunnel.
    @Test func aLostRequestFollowedByPlainHTTPStaysHTTP() {
        let ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        let r = ApplicationStateTests.run([
            .gapUp(40), .down(ok), .up("GET /b HTTP/1.1\r\n\r\n"), .down(ok),
        ])
        #expect(r.record.application == .http)
        #expect(r.record.tunnel == nil)
        #expect(r.record.exchanges.compactMap { $0.http?.status } == [200, 200])
        #expect(r.rows == ["down 200", "up GET /b", "down 200"])
        // Nothing after the answer: plain HTTP too.
        let alone = ApplicationStateTests.run([.gapUp(40), .down(ok)])
        #expect(alone.record.application == .http && alone.record.tunnel == nil)
        // A midstream-free connection whose client spoke first is decided as before.
        #expect(ApplicationStateTests.run([.up("GET / HTTP/1.1\r\n\r\n"), .down(ok)]).record.application == .http)
    }

    @Test func aLostAnswerToTheConnectThenTLSIsFollowed() {
        let clean = ApplicationStateTests.run([.up(T.connect), .down(T.established)] + T.tlsCheckIn)
        let r = ApplicationStateTests.run(
            [.up(T.connect), .gapDown(Int64(T.established.utf8.count))] + T.tlsCheckIn)
        #expect(r.record.application == .tls)
        #expect(r.record.tls == clean.record.tls)
        #expect(r.record.exchanges.map(\.bytesUp) == clean.record.exchanges.map(\.bytesUp))
        #expect(r.record.exchanges.map(\.bytesDown) == clean.record.exchanges.map(\.bytesDown))
        #expect(r.record.tunnel?.host == "10.1.0.11" && r.record.tunnel?.port == 443)
        #expect(r.anomalies.contains("down: answer to the CONNECT not captured; TLS records followed (read as the "
            + "tunnel's server side)"))
        // Without the gap, TLS where the answer should be is not taken for the tunnel.
        let noGap = ApplicationStateTests.run([.up(T.connect)] + T.tlsCheckIn)
        #expect(!noGap.anomalies.contains { $0.hasPrefix("down: answer to the CONNECT not captured") })
    }
}
