@testable import Analysis
import Core
import Protocols
import Records
import Reports
import Testing

/// How a connection's first bytes pick its parser, and what is kept while undecided.
@Suite struct ApplicationStateTests {
    enum Step {
        case up(String)
        case down(String)
        case upBytes([UInt8])
        case downBytes([UInt8])
        case gapUp(Int64)
        case gapDown(Int64)
    }

    struct Result {
        var rows: [String]
        var anomalies: [String]
        var record: ConnectionRecord
        var details: ProtocolDetails? = nil
    }

    static func run(_ steps: [Step]) -> Result {
        let state = ApplicationState(keepDetails: true, midstream: false)
        for (n, step) in steps.enumerated() {
            let t = Timestamp(seconds: Int64(n + 1), nanoseconds: 0)
            switch step {
            case .up(let text), .down(let text):
                let direction: Direction = if case .up = step { .up } else { .down }
                Array(text.utf8).withUnsafeBytes { state.didReceive($0, direction: direction, time: t) }
            case .upBytes(let bytes):
                bytes.withUnsafeBytes { state.didReceive($0, direction: .up, time: t) }
            case .downBytes(let bytes):
                bytes.withUnsafeBytes { state.didReceive($0, direction: .down, time: t) }
            case .gapUp(let n):
                state.didSkip(n, direction: .up, time: t)
            case .gapDown(let n):
                state.didSkip(n, direction: .down, time: t)
            }
        }
        let endpoint = Endpoint(address: IPAddress(ipv4: 0x0a00_0001), port: 40_000)
        var record = ConnectionRecord(
            id: 1, client: endpoint, server: Endpoint(address: IPAddress(ipv4: 0x0a00_0002), port: 80),
            start: Timestamp(seconds: 0, nanoseconds: 0), end: Timestamp(seconds: 100, nanoseconds: 0))
        state.finish(into: &record)
        let rows = (state.details?.httpMessages ?? []).map { m in
            "\(m.direction) " + (m.method.map { "\($0) \(m.target ?? "")" } ?? m.status.map(String.init) ?? "-")
        }
        return Result(rows: rows, anomalies: state.details?.anomalies ?? [], record: record, details: state.details)
    }

    /// An SSLv2-format ClientHello answered by bytes that are not TLS: the connection is `other` (one side
    /// only spoke TLS), and flows --tls says why and gives the version analyze judges (the offer).
    @Test func sslv2HelloAnsweredByNoTLSShowsTheJudgedVersionInFlows() throws {
        let specs = [UInt8](repeating: 0, count: 21).enumerated().map { $0.offset % 3 == 2 ? 0x2f : $0.element }
        let hello: [UInt8] = [0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10]
            + specs + [UInt8](repeating: 0x11, count: 16)
        let r = ApplicationStateTests.run([.upBytes(hello), .down(String(repeating: "A", count: 500))])
        #expect(r.record.application == .other)
        #expect(r.record.tls?.sslv2 == true && r.record.tls?.clientVersion == 0x0002)
        #expect(r.record.tls?.negotiatedVersion == nil && r.record.tls?.helloVersion == 0x0002)
        #expect(r.anomalies == ["down: first bytes are not TLS (the connection counts as other)"], "\(r.anomalies)")
        let connection = CompletedConnection(record: r.record, details: r.details)
        let report = FlowsReport(captures: [], connections: [connection], showHTTP: false, showTLS: true)
        let text = report.text()
        #expect(text.contains("  TLS client offers SSL 2.0, server chose - (no ServerHello: judged by the offered "
            + "SSL 2.0), record layer -\n"), "\(text)")
        #expect(text.contains("  anomaly: down: first bytes are not TLS (the connection counts as other)"))
        let json = report.json().reportText()
        #expect(json.contains("\"version\" : \"SSL 2.0\""), "\(json)")
        #expect(json.contains("\"clientVersion\" : \"SSL 2.0\""))
        #expect(json.contains("\"negotiatedVersion\" : null"))
    }

    @Test func requestWithUnknownMethodIsReplayedWhenTheResponseDecides() {
        let r = ApplicationStateTests.run([
            .up("CCM_POST / HTTP/1.1\r\nHost: a\r\n\r\n"),
            .down("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n"),
        ])
        #expect(r.rows == ["up CCM_POST /", "down 405"])
        #expect(r.record.application == .http)
        #expect(r.record.exchanges.count == 1)
        #expect(r.record.exchanges.first?.http?.status == 405)
        #expect(!r.anomalies.contains { $0.contains("response with no request") })
    }

    @Test func methodAloneOnItsLineIsReplayedToo() {
        let r = ApplicationStateTests.run([
            .up("OPTIONS\r\nHost: a\r\n\r\n"),
            .down("HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
        ])
        #expect(r.rows == ["up OPTIONS ", "down 400"])
        #expect(r.anomalies.contains("up: missing_request_target (request line with a method only)"))
    }

    @Test func heldBytesThatDoNotStartARequestAreLeftOut() {
        // Mid-message client bytes (a capture that began inside a body): not replayed.
        let r = ApplicationStateTests.run([
            .up("\u{1}\u{2} body bytes\r\n"),
            .down("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
            .up("GET /next HTTP/1.1\r\n\r\n"),
        ])
        #expect(r.rows == ["down 200", "up GET /next"])
    }

    @Test func heldBytesPastTheLimitAreReplayedAsMissing() {
        let filler = String(repeating: "a", count: ApplicationState.holdLimit)
        let r = ApplicationStateTests.run([
            .up("CCM_POST / HTTP/1.1\r\nX: " + filler + "\r\n\r\n"),
            .gapUp(10),
            .down("HTTP/1.1 431 Too Large\r\nContent-Length: 0\r\n\r\n"),
        ])
        // The head lost its end to the limit: sync lost, the response has no request to answer.
        #expect(r.anomalies.contains("up: gap_in_head (bytes missing inside a message head)"))
        #expect(r.rows == ["down 431"])
        #expect(r.record.exchanges.first?.http?.method == "")
    }

    @Test func requestFromTheServerSideRunsWithRolesReversed() {
        // Data on a SYN-ACK: the side that answered the SYN sends the request.
        let request = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"
        let r = ApplicationStateTests.run([
            .down(request),
            .up("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        ])
        #expect(r.rows == ["down GET /x", "up 200"])
        #expect(r.anomalies.first == "down: requests sent by the server side (HTTP roles reversed)")
        let exchange = r.record.exchanges.first
        #expect(exchange?.http?.status == 200)
        #expect(exchange?.bytesDown == Int64(request.utf8.count))
        #expect(exchange?.bytesUp == 40)
    }

    @Test func ordinaryDirectionsAreNotReversed() {
        let r = ApplicationStateTests.run([
            .up("GET / HTTP/1.1\r\n\r\n"),
            .down("HTTP/1.1 204 No Content\r\n\r\n"),
        ])
        #expect(r.rows == ["up GET /", "down 204"])
        #expect(r.anomalies.isEmpty)
    }

    /// A TLS record holding a ClientHello (`version`, no extensions) or a ServerHello (`version`).
    static func hello(client: Bool, version: UInt16) -> [UInt8] {
        var body: [UInt8] = [UInt8(version >> 8), UInt8(version & 0xff)] + [UInt8](repeating: 7, count: 32) + [0]
        body += client ? [0, 2, 0x00, 0x2f, 1, 0] : [0x00, 0x2f, 0]
        let handshake: [UInt8] = [client ? 1 : 2, 0, UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
        return [0x16, 0x03, 0x01, UInt8(handshake.count >> 8), UInt8(handshake.count & 0xff)] + handshake
    }

    @Test(arguments: [1, 2, 3, 4])
    func helloSentAFewBytesAtATimeIsStillRead(firstPiece: Int) {
        let client = ApplicationStateTests.hello(client: true, version: 0x0301)
        let server = ApplicationStateTests.hello(client: false, version: 0x0301)
        let whole = ApplicationStateTests.run([.upBytes(client), .downBytes(server)])
        let split = ApplicationStateTests.run([
            .upBytes(Array(client[..<firstPiece])), .upBytes(Array(client[firstPiece...])),
            .downBytes(Array(server[..<1])), .downBytes(Array(server[1...])),
        ])
        #expect(whole.record.application == .tls)
        #expect(whole.record.tls?.clientVersion == 0x0301 && whole.record.tls?.negotiatedVersion == 0x0301)
        #expect(split.record.application == .tls)
        #expect(split.record.tls == whole.record.tls)
        #expect(split.record.exchanges.map(\.bytesUp) == whole.record.exchanges.map(\.bytesUp))
        #expect(split.record.exchanges.map(\.bytesDown) == whole.record.exchanges.map(\.bytesDown))
    }

    @Test func helloSentOneByteAPacketIsStillRead() {
        let client = ApplicationStateTests.hello(client: true, version: 0x0303)
        let r = ApplicationStateTests.run(client.map { .upBytes([$0]) })
        #expect(r.record.application == .tls)
        #expect(r.record.tls?.clientVersion == 0x0303)
    }

    @Test(arguments: [1, 3, 4, 5])
    func requestSentAFewBytesAtATimeIsStillRead(firstPiece: Int) {
        let request = "GET /secars/secars.dll?h=1 HTTP/1.1\r\nHost: m\r\n\r\n"
        let response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        let r = ApplicationStateTests.run([
            .up(String(request.prefix(firstPiece))), .up(String(request.dropFirst(firstPiece))),
            .down(String(response.prefix(2))), .down(String(response.dropFirst(2))),
        ])
        #expect(r.record.application == .http)
        #expect(r.rows == ["up GET /secars/secars.dll?h=1", "down 200"])
        #expect(r.anomalies.isEmpty)
        #expect(r.record.exchanges.first?.bytesUp == Int64(request.utf8.count))
    }

    @Test func bytesAfterAGapDoNotJoinTheFirstOnes() {
        // "G" then a gap then "ET / ...": the joined bytes would not be the stream's, so no request is made up.
        let r = ApplicationStateTests.run([.up("G"), .gapUp(100), .up("ET / HTTP/1.1\r\n\r\n")])
        #expect(r.record.application == .other)
        #expect(r.rows.isEmpty)
    }

    @Test func otherProtocolsStayOther() {
        let r = ApplicationStateTests.run([
            .up("SSH-2.0-OpenSSH_9.2\r\n"), .down("SSH-2.0-OpenSSH_9.2\r\n"), .up("\u{0}\u{0}\u{1}"),
        ])
        #expect(r.record.application == .other)
        #expect(r.record.exchanges.isEmpty)
    }

    @Test(arguments: ["\r\n", "\n", "\r\n\r\n", "\r\n\r\n\r\n", String(repeating: "\r\n", count: 20)])
    func emptyLinesBeforeARequestAreIgnored(_ empty: String) {
        let request = "GET /secars/secars.dll HTTP/1.1\r\nHost: m\r\n\r\n"
        let response = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        let whole = ApplicationStateTests.run([.up(empty + request), .down(response)])
        #expect(whole.rows == ["up GET /secars/secars.dll", "down 200"])
        #expect(whole.record.application == .http)
        let apart = ApplicationStateTests.run([.up(empty), .up(request), .down(response)])
        #expect(apart.rows == ["up GET /secars/secars.dll", "down 200"])
        #expect(!apart.anomalies.contains { $0.contains("no request") })
    }
}

/// only a first record with version 3.0-3.4 makes a connection TLS; once it is,
/// application-data records with another 3.x (here the other direction's) are framed, with the anomaly.
@Suite struct TLSDetectionVersionTests {
    static func record(_ version: UInt16, _ length: Int) -> [UInt8] {
        [23, UInt8(version >> 8), UInt8(version & 0xff), UInt8(length >> 8), UInt8(length & 0xff)]
            + [UInt8](repeating: 0x5a, count: length)
    }

    @Test(arguments: [UInt16(0x0310), 0x03ff, 0xfe01])
    func aBinaryProtocolFramedLikeTLSWithAnOddVersionIsNotTLS(_ version: UInt16) {
        var steps: [ApplicationStateTests.Step] = []
        for n in 0..<5 { steps += [.upBytes(Self.record(version, 40 + n)), .downBytes(Self.record(version, 90 + n))] }
        let r = ApplicationStateTests.run(steps)
        #expect(r.record.application == .other, "\(version)")
    }

    @Test func onceTLSTheOtherDirectionsOddVersionIsFramedWithTheAnomaly() {
        var steps: [ApplicationStateTests.Step] = []
        for n in 0..<3 { steps += [.upBytes(Self.record(0x0303, 40 + n)), .downBytes(Self.record(0x0310, 90 + n))] }
        let r = ApplicationStateTests.run(steps)
        #expect(r.record.application == .tls)
        #expect(r.record.tls?.recordVersion == 0x0303)
        #expect(r.record.tls?.implausibleRecordVersionDown == 0x0310)
    }
}
