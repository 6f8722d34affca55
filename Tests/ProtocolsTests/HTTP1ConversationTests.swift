import Core
import Protocols
import Records
import Testing

@Suite("HTTP/1.x conversations")
struct HTTP1ConversationTests {
    static let hex = String(repeating: "0123456789ABCDEF", count: 16)

    @Test func heartbeatKeepAliveExchanges() {
        let get = "GET /secars/secars.dll?h=\(Self.hex)&mid=1 HTTP/1.1\r\nUser-Agent: Smc\r\nHost: sepm:8014\r\n\r\n"
        let ok = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 4\r\n\r\nnone"
        let post = "POST /secars/secars.dll?h=\(Self.hex)&action=12 HTTP/1.1\r\nUser-Agent: Smc\r\n"
            + "Host: sepm:8014\r\nContent-Length: 12\r\n\r\n<xml>a</xml>"
        let done = "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "3\r\nabc\r\n0\r\n\r\n"
        let r = converseEveryWay([.up(get), .down(ok), .up(post), .down(done)])

        #expect(r.exchanges.count == 2)
        guard r.exchanges.count == 2 else { return }
        let first = r.exchanges[0]
        #expect(first.index == 0 && first.kind == .http)
        #expect(first.start == time(1) && first.responseStart == time(2) && first.end == time(2))
        #expect(first.bytesUp == Int64(get.utf8.count) && first.bytesDown == Int64(ok.utf8.count))
        #expect(first.http?.method == "GET" && first.http?.target == "/secars/secars.dll?h=\(Self.hex)&mid=1")
        #expect(first.http?.userAgent == "Smc" && first.http?.host == "sepm:8014" && first.http?.version == "HTTP/1.1")
        #expect(first.http?.status == 200 && first.http?.reason == "OK" && first.http?.contentType == "text/html")
        #expect(first.http?.responseBodyLength == 4 && first.http?.requestBodyLength == 0)
        let second = r.exchanges[1]
        #expect(second.index == 1 && second.http?.method == "POST" && second.http?.requestBodyLength == 12)
        #expect(second.bytesUp == Int64(post.utf8.count) && second.bytesDown == Int64(done.utf8.count))
        #expect(second.http?.responseBodyLength == 3 && second.http?.contentType == "text/xml")
        #expect(r.records.map { $0.method ?? String($0.status ?? 0) } == ["GET", "200", "POST", "200"])
        #expect(r.anomalies.isEmpty)
    }

    @Test func pipelinedRequestsPairInOrder() {
        let r = converseEveryWay([
            .up("GET /1 HTTP/1.1\r\n\r\nHEAD /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n"),
            .down("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nAHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"
                + "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nNF"),
        ])
        #expect(r.exchanges.map { $0.http?.target ?? "" } == ["/1", "/2", "/3"])
        #expect(r.exchanges.map { $0.http?.status ?? 0 } == [200, 200, 404])
        #expect(r.exchanges.map { $0.http?.responseBodyLength ?? -1 } == [1, 0, 2])
    }

    @Test func continueIsNotTheFinalResponse() {
        let r = converseEveryWay([
            .up("POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"),
            .down("HTTP/1.1 100 Continue\r\n\r\n"),
            .up("data"),
            .down("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
        ])
        #expect(r.exchanges.count == 1)
        #expect(r.exchanges.first?.http?.status == 201)
        #expect(r.exchanges.first?.responseStart == time(2))
        #expect(r.exchanges.first?.end == time(4))
        #expect(r.exchanges.first?.bytesDown == Int64(25 + 43))
        #expect(r.records.map { $0.status ?? 0 } == [0, 100, 201])
    }

    @Test func upgradeTurnsBothSidesIntoTunnel() {
        let r = converseEveryWay([
            .up("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
            .down("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\u{7f}\u{2}hi"),
            .up("\u{7f}\u{7e}abcdef"),
        ])
        #expect(r.exchanges.count == 1 && r.exchanges.first?.http?.status == 101)
        #expect(r.tunnelDown == 4 && r.tunnelUp == 8)
    }

    @Test func connectThenTLS() {
        let r = converseEveryWay([
            .up("CONNECT sepm:443 HTTP/1.1\r\nHost: sepm:443\r\n\r\n"),
            .down("HTTP/1.1 200 Connection established\r\n\r\n"),
            .up("\u{16}\u{3}\u{1}\u{0}\u{1}x"),
            .down("\u{16}\u{3}\u{3}"),
        ])
        #expect(r.exchanges.count == 1 && r.exchanges.first?.http?.method == "CONNECT")
        #expect(r.tunnelUp == 6 && r.tunnelDown == 3)
    }

    @Test func unansweredRequestIsFlushedAtFinish() {
        let r = converseEveryWay([
            .up("GET /a HTTP/1.1\r\n\r\n"), .down("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
            .up("GET /b HTTP/1.1\r\n\r\n"),
        ])
        #expect(r.exchanges.count == 2)
        #expect(r.exchanges.last?.http?.target == "/b" && r.exchanges.last?.http?.status == nil)
        #expect(r.exchanges.last?.responseStart == nil)
    }

    @Test func gapInResponseBodyCountsMissingBytes() {
        let r = converseEveryWay([
            .up("POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"),
            .down("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"), .gapDown(80), .down("0123456789"),
        ])
        #expect(r.exchanges.count == 1)
        #expect(r.exchanges.first?.missingBytes == 80)
        #expect(r.exchanges.first?.bytesDown == Int64(40 + 100))
        #expect(r.exchanges.first?.http?.responseBodyLength == 100)
        #expect(r.exchanges.first?.end == time(4))
    }

    /// The stream ends (a close, or the capture's end) before the body its Content-Length announced: the
    /// exchange says its answer was cut short, with what came and what was announced.
    @Test func aBodyShorterThanItsContentLengthIsCutShort() {
        let r = converseEveryWay([
            .up("GET /secars/secars.dll?h=1 HTTP/1.1\r\n\r\n"),
            .down("HTTP/1.1 200 OK\r\nContent-Length: 3600\r\n\r\n" + String(repeating: "x", count: 919)),
        ])
        #expect(r.anomalies == ["body_cut_short"])
        let h = r.exchanges.first?.http
        #expect(h?.status == 200 && h?.responseBodyLength == 919)
        #expect(h?.responseCutShort == true && h?.declaredResponseBodyLength == 3600)
    }

    @Test func anUnfinishedChunkedBodyIsCutShortWithNoLengthAnnounced() {
        let r = converseEveryWay([
            .up("GET /x HTTP/1.1\r\n\r\n"),
            .down("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n3\r\nab"),
        ])
        let h = r.exchanges.first?.http
        #expect(h?.responseCutShort == true && h?.declaredResponseBodyLength == nil && h?.responseBodyLength == 7)
    }

    /// A whole body, a close-delimited one, and one whose missing bytes the capture lost (a gap) are not cut
    /// short; bytes lost at the body's end, before the close, leave it cut short with the gap counted.
    @Test func wholeAndCloseDelimitedBodiesAreNotCutShort() {
        let whole = converseEveryWay([
            .up("GET /x HTTP/1.1\r\n\r\n"), .down("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnone"),
        ])
        #expect(whole.exchanges.first?.http?.responseCutShort == false)
        let untilClose = converseEveryWay([.up("GET /x HTTP/1.0\r\n\r\n"), .down("HTTP/1.0 200 OK\r\n\r\nall")])
        #expect(untilClose.exchanges.first?.http?.responseCutShort == false)
        let gap = converseEveryWay([
            .up("GET /x HTTP/1.1\r\n\r\n"), .down("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n0123456789"),
            .gapDown(10),
        ])
        #expect(gap.exchanges.first?.http?.responseCutShort == false && gap.exchanges.first?.missingBytes == 10)
        let lostThenClosed = converseEveryWay([
            .up("GET /x HTTP/1.1\r\n\r\n"), .down("HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n0123456789"),
            .gapDown(10),
        ])
        #expect(lostThenClosed.exchanges.first?.http?.responseCutShort == true)
        #expect(lostThenClosed.exchanges.first?.missingBytes == 10)
    }

    @Test func responseWithoutRequestIsReported() {
        let r = converseEveryWay([.down("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")])
        #expect(r.anomalies == ["response_without_request"])
        #expect(r.exchanges.count == 1 && r.exchanges.first?.http?.method == "")
    }
}
