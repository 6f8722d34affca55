@testable import Analysis
import Core
import Protocols
import Records
import Testing

/// How a connection's first bytes pick its parser, and what is kept while undecided.
@Suite struct ApplicationStateTests {
    enum Step {
        case up(String)
        case down(String)
        case gapUp(Int64)
    }

    struct Result {
        var rows: [String]
        var anomalies: [String]
        var record: ConnectionRecord
    }

    static func run(_ steps: [Step]) -> Result {
        let state = ApplicationState(keepDetails: true, midstream: false)
        for (n, step) in steps.enumerated() {
            let t = Timestamp(seconds: Int64(n + 1), nanoseconds: 0)
            switch step {
            case .up(let text), .down(let text):
                let direction: Direction = if case .up = step { .up } else { .down }
                Array(text.utf8).withUnsafeBytes { state.didReceive($0, direction: direction, time: t) }
            case .gapUp(let n):
                state.didSkip(n, direction: .up, time: t)
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
        return Result(rows: rows, anomalies: state.details?.anomalies ?? [], record: record)
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
        #expect(r.anomalies.contains("up: request line with a method only"))
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
        #expect(r.anomalies.contains("up: bytes missing inside a message head"))
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
}
