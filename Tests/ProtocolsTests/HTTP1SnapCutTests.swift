import Core
import Protocols
import Records
import Testing

/// Heads the snap length cut (a header-only capture, `tcpdump -s 96`): a start line captured is kept, marked cut
/// (no header known, body length not known), and the parser finds the next message where it would after any gap
/// in a head, no sooner.
@Suite struct HTTP1SnapCutTests {
    @Test func aWholeRequestLineIsKeptWithNoHeader() {
        let got = parseEveryWay(.request, [
            .data("GET /secars/secars.dll?h=ab HTTP/1.1\r\nUser-Ag"), .cut(60),
            .data("GET /two HTTP/1.1\r\n\r\n"),
        ])
        #expect(got == [
            "anomaly gap_in_head", "request GET /secars/secars.dll?h=ab HTTP/1.1 head=45 headers=0 cut",
            "skipped-missing 60", "end body=0 wire=60 missing=60 incomplete head-cut",
            "request GET /two HTTP/1.1 head=21 headers=0", "end body=0 wire=0 missing=0",
        ])
    }

    /// The target is kept as far as it was captured, marked where the cut fell inside it; the version is not known.
    @Test func aRequestLineCutInItsTargetKeepsWhatCame() {
        let got = parseEveryWay(.request, [.data("GET /secars/secars.dll?h=0a14"), .cut(100)])
        #expect(got == [
            "anomaly gap_in_head", "request GET /secars/secars.dll?h=0a14…  head=29 headers=0 cut",
            "skipped-missing 100", "end body=0 wire=100 missing=100 incomplete head-cut",
        ])
        // Cut after the target: the target is whole, the version still not known.
        let whole = parseEveryWay(.request, [.data("POST /x HTT"), .cut(9)])
        #expect(whole.contains("request POST /x  head=11 headers=0 cut"))
    }

    /// A status line captured whole, or to past its code, keeps its status; a reason cut short is marked.
    @Test func aStatusLineKeepsItsCode() {
        let whole = parseEveryWay(.response, [
            .data("HTTP/1.1 503 Service Unavailable\r\nContent-Ty"), .cut(500),
            .data("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        ], expecting: ["GET", "GET"])
        #expect(whole == [
            "anomaly gap_in_head", "response HTTP/1.1 503 Service Unavailable head=44 cut",
            "skipped-missing 500", "end body=0 wire=500 missing=500 incomplete head-cut",
            "response HTTP/1.1 200 OK head=38", "body 2", "end body=2 wire=2 missing=0",
        ])
        let cutReason = parseEveryWay(.response, [.data("HTTP/1.1 503 Serv"), .cut(50)], expecting: ["GET"])
        #expect(cutReason.contains("response HTTP/1.1 503 Serv… head=17 cut"))
        let noReason = parseEveryWay(.response, [.data("HTTP/1.1 404 "), .cut(50)], expecting: ["GET"])
        #expect(noReason.contains("response HTTP/1.1 404  head=13 cut"))
    }

    /// A status line cut right after its code (no space captured) keeps the code.
    @Test func aStatusLineCutAfterItsCodeKeepsIt() {
        let got = parseEveryWay(.response, [.data("HTTP/1.1 503"), .cut(50)], expecting: ["GET"])
        #expect(got == [
            "anomaly gap_in_head", "response HTTP/1.1 503  head=12 cut", "skipped-missing 50",
            "end body=0 wire=50 missing=50 incomplete head-cut",
        ])
    }

    /// A status line cut within or before its code is still an answer, its code not known: its bytes are the
    /// message's, as with a code.
    @Test(arguments: ["HTTP/1.1 50", "HTTP/1.1 5", "HTTP/1.1 ", "HTTP/1.1", "HTTP/1"])
    func aStatusLineCutBeforeItsCodeIsAnAnswerWithNoCode(start: String) {
        let got = parseEveryWay(.response, [.data(start), .cut(50)], expecting: ["GET"])
        let version = start.split(separator: " ").first.map(String.init) ?? start
        #expect(got == [
            "anomaly gap_in_head", "response \(version) ?  head=\(start.utf8.count) cut", "skipped-missing 50",
            "end body=0 wire=50 missing=50 incomplete head-cut",
        ])
    }

    /// What cannot begin a status code after the version is no status line: dropped as after any gap in a head.
    @Test(arguments: ["HTTP/1.1 5x", "HTTP/1.1 OK", "HTTP/1.1 5031"])
    func aStatusLineWithNoCodeIsDropped(start: String) {
        let got = parseEveryWay(.response, [.data(start), .cut(50)], expecting: ["GET"])
        #expect(got == ["anomaly gap_in_head", "skipped \(start.utf8.count)", "skipped-missing 50"])
    }

    /// Bytes the capture lost (no snap length) drop the head as before.
    @Test func aLostSegmentStillDropsTheHead() {
        let got = parseEveryWay(.request, [.data("GET /one HTTP/1.1\r\nHost: a"), .gap(40)])
        #expect(got == ["anomaly gap_in_head", "skipped 26", "skipped-missing 40"])
    }

    /// After a cut head the parser resynchronises as after a dropped one: the same bytes are passed over and the
    /// same later messages found (a request starting right after bytes that did not end a line is not one).
    @Test func framingAfterACutHeadIsWhatItWas() {
        let after: [HTTP1Step] = [
            .data("binary body"), .data("GET /hidden HTTP/1.1\r\n\r\n"), .cut(7),
            .data("GET /found HTTP/1.1\r\n\r\n"),
        ]
        let kept = parseEveryWay(.request, [.data("POST /up HTTP/1.1\r\nContent-Le"), .cut(30)] + after)
        let dropped = parseEveryWay(.request, [.data("POST /up HTTP/1.1\r\nContent-Le"), .gap(30)] + after)
        let passedOver = { (events: [String]) in events.filter { $0.hasPrefix("skipped") || $0.hasPrefix("request") } }
        #expect(passedOver(kept).dropFirst() == passedOver(dropped).dropFirst())
        #expect(kept == [
            "anomaly gap_in_head", "request POST /up HTTP/1.1 head=29 headers=0 cut", "skipped-missing 30",
            "skipped 35", "skipped-missing 7", "end body=0 wire=72 missing=37 incomplete head-cut",
            "request GET /found HTTP/1.1 head=23 headers=0", "end body=0 wire=0 missing=0",
        ])
    }

    /// Heads that switch protocols are dropped as before: what follows them may not be HTTP.
    @Test func connectAndSwitchingAnswersAreDropped() {
        let connect = parseEveryWay(.request, [.data("CONNECT mgr:443 HTTP/1.1\r\nHo"), .cut(20)])
        #expect(!connect.contains { $0.hasPrefix("request") })
        let switching = parseEveryWay(.response, [.data("HTTP/1.1 101 Switching\r\nUpg"), .cut(20)], expecting: ["GET"])
        #expect(!switching.contains { $0.hasPrefix("response") })
        let tunnel = parseEveryWay(.response, [.data("HTTP/1.1 200 OK\r\nVi"), .cut(20)], expecting: ["CONNECT"])
        #expect(!tunnel.contains { $0.hasPrefix("response") })
        // A code not known may be the CONNECT's 2xx.
        let unknown = parseEveryWay(.response, [.data("HTTP/1.1 2"), .cut(20)], expecting: ["CONNECT"])
        #expect(!unknown.contains { $0.hasPrefix("response") })
    }

    /// The stream's end ends the message whose head was cut.
    @Test func theEndEndsACutMessage() {
        let got = parseEveryWay(.request, [.data("GET /a HTTP/1.1\r\nX"), .cut(10), .data("tail")])
        #expect(got.suffix(2) == ["skipped 4", "end body=0 wire=14 missing=10 incomplete head-cut"])
    }

    /// In a conversation: the cut request and its cut 503 answer make one exchange with the status, the target as
    /// captured, every byte counted, and no response body length (not known).
    @Test func aConversationKeepsTheStatusOfACutAnswer() throws {
        let result = converseEveryWay([
            .up("GET /secars/secars.dll?h=0a140005000000019"), .cutUp(91),
            .down("HTTP/1.1 503 Service Unavailable\r\nContent-"), .cutDown(1418), .down("body bytes"), .cutDown(500),
        ])
        let e = try #require(result.exchanges.first)
        #expect(result.exchanges.count == 1)
        #expect(e.http?.method == "GET")
        #expect(e.http?.target == "/secars/secars.dll?h=0a140005000000019…")
        #expect(e.http?.status == 503)
        #expect(e.http?.reason == "Service Unavailable")
        #expect(e.http?.responseBodyLength == nil)
        #expect(e.bytesUp == 42 + 91)
        #expect(e.bytesDown == 42 + 1418 + 10 + 500)
        #expect(e.missingBytes == 91 + 1418 + 500)
    }

    /// In a conversation: an answer cut before its code stays the answer of its request, with no status, its bytes
    /// counted in that exchange, and the next answer goes with the next request.
    @Test func aConversationKeepsAnAnswerCutBeforeItsCode() throws {
        let result = converseEveryWay([
            .up("GET /one HTTP/1.1\r\n\r\n"), .down("HTTP/1.1 5"), .cutDown(300),
            .up("GET /two HTTP/1.1\r\n\r\n"), .down("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        ])
        #expect(result.exchanges.count == 2)
        let first = try #require(result.exchanges.first)
        #expect(first.http?.target == "/one")
        #expect(first.http?.status == nil)
        #expect(first.http?.responseStatusCut == true)
        #expect(first.bytesDown == 10 + 300)
        #expect(first.missingBytes == 300)
        let second = try #require(result.exchanges.last)
        #expect(second.http?.target == "/two")
        #expect(second.http?.status == 200)
        #expect(second.http?.responseStatusCut == false)
    }
}
