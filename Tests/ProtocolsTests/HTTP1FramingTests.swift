import Core
import Protocols
import Testing

@Suite("HTTP/1.x framing")
struct HTTP1FramingTests {
    @Test func contentLengthBodyThenNextRequest() {
        // 46-byte head, 5-byte body, then a bodiless GET with a 20-byte head.
        let got = parseEveryWay(.request, [
            .data("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nA: b\r\n\r\n"),
        ])
        #expect(got == [
            "request POST /a HTTP/1.1 head=48 headers=2", "body 5", "end body=5 wire=5 missing=0",
            "request GET /b HTTP/1.1 head=25 headers=1", "end body=0 wire=0 missing=0",
        ])
    }

    @Test func chunkedWithExtensionsAndTrailers() {
        let body = "5;name=\"v\"\r\nhello\r\n1a \r\nabcdefghijklmnopqrstuvwxyz\r\n0;last\r\nX-Sum: 1\r\nX-B: 2\r\n\r\n"
        let got = parseEveryWay(.response, [
            .data("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body + "HTTP/1.1 204 No Content\r\n\r\n"),
        ], expecting: ["GET", "GET"])
        #expect(got == [
            "response HTTP/1.1 200 OK head=47", "body 31", "end body=31 wire=\(body.utf8.count) missing=0",
            "response HTTP/1.1 204 No Content head=27", "end body=0 wire=0 missing=0",
        ])
    }

    @Test func closeDelimitedResponseEndsAtFinish() {
        let got = parseEveryWay(.response, [.data("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it")],
                                expecting: ["GET"])
        #expect(got == ["response HTTP/1.0 200 OK head=45", "body 9", "end body=9 wire=9 missing=0"])
    }

    @Test func headResponseHasNoBody() {
        let got = parseEveryWay(.response, [
            .data("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        ], expecting: ["HEAD", "GET"])
        #expect(got == [
            "response HTTP/1.1 200 OK head=40", "end body=0 wire=0 missing=0",
            "response HTTP/1.1 200 OK head=38", "body 2", "end body=2 wire=2 missing=0",
        ])
    }

    @Test(arguments: [204, 304])
    func noBodyStatus(status: Int) {
        let got = parseEveryWay(.response, [
            .data("HTTP/1.1 \(status) X\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!"),
        ], expecting: ["GET", "GET"])
        #expect(got == [
            "response HTTP/1.1 \(status) X head=38", "end body=0 wire=0 missing=0",
            "response HTTP/1.1 200 OK head=38", "body 1", "end body=1 wire=1 missing=0",
        ])
    }

    @Test func interimResponseThenFinal() {
        let got = parseEveryWay(.response, [
            .data("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        ], expecting: ["POST"])
        #expect(got == [
            "response HTTP/1.1 100 Continue head=25", "end body=0 wire=0 missing=0",
            "response HTTP/1.1 200 OK head=38", "end body=0 wire=0 missing=0",
        ])
    }

    @Test func switchingProtocolsEndsHTTP() {
        let got = parseEveryWay(.response, [
            .data("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\u{1}\u{2}HTTP/1.1 200 OK\r\n\r\n"),
        ], expecting: ["GET"])
        #expect(got == [
            "response HTTP/1.1 101 Switching Protocols head=56", "end body=0 wire=0 missing=0",
            "tunnel start", "tunnel 21",
        ])
    }

    @Test func connectRequestFollowedByTunnelBytes() {
        let got = parseEveryWay(.request, [
            .data("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\u{16}\u{3}\u{1}\u{0}\u{5}hello"),
        ])
        #expect(got == [
            "request CONNECT example.com:443 HTTP/1.1 head=59 headers=1", "end body=0 wire=0 missing=0",
            "tunnel start", "tunnel 10",
        ])
    }

    @Test func refusedConnectLetsTheNextRequestThrough() {
        let got = parseEveryWay(.request, [
            .data("CONNECT a:443 HTTP/1.1\r\n\r\nCONNECT a:443 HTTP/1.1\r\nProxy-Authorization: x\r\n\r\n"),
        ])
        #expect(got == [
            "request CONNECT a:443 HTTP/1.1 head=26 headers=0", "end body=0 wire=0 missing=0",
            "request CONNECT a:443 HTTP/1.1 head=50 headers=1", "end body=0 wire=0 missing=0",
        ])
    }

    @Test func connectResponseStartsTunnel() {
        let got = parseEveryWay(.response, [.data("HTTP/1.1 200 Connection established\r\n\r\n\u{16}\u{3}\u{3}")],
                                expecting: ["CONNECT"])
        #expect(got == [
            "response HTTP/1.1 200 Connection established head=39", "end body=0 wire=0 missing=0",
            "tunnel start", "tunnel 3",
        ])
    }

    @Test func requestWithoutLengthHasNoBody() {
        let got = parseEveryWay(.request, [.data("GET / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")])
        #expect(got == [
            "request GET / HTTP/1.1 head=18 headers=0", "end body=0 wire=0 missing=0",
            "request GET /2 HTTP/1.1 head=19 headers=0", "end body=0 wire=0 missing=0",
        ])
    }

    @Test func http09RequestAndResponse() {
        let request = parseEveryWay(.request, [.data("GET /zeek.html\r\n")])
        #expect(request == [
            "anomaly http09_request", "request GET /zeek.html HTTP/0.9 head=16 headers=0",
            "end body=0 wire=0 missing=0",
        ])
        let response = parseEveryWay(.response, [.data("<html>\r\n</html>\r\n")], expecting: ["GET/0.9"])
        #expect(response == ["simple response", "body 17", "end body=17 wire=17 missing=0"])
    }

    @Test func lenientLinesAndCase() {
        let got = parseEveryWay(.response, [
            .data("http/1.1 200 OK\nX-Long: a\n  b\nContent-Length: 1\n\nz"),
        ], expecting: ["GET"])
        #expect(got == [
            "anomaly bare_line_feed", "anomaly lower_case_version", "anomaly obsolete_line_folding",
            "response http/1.1 200 OK head=49", "body 1", "end body=1 wire=1 missing=0",
        ])
        let lower = parseEveryWay(.request, [.data("get / HTTP/1.1\r\n\r\n")])
        #expect(lower == ["anomaly lower_case_method", "request get / HTTP/1.1 head=18 headers=0",
                          "end body=0 wire=0 missing=0"])
    }

    @Test func detection() {
        let cases: [(String, Bool, Bool)] = [
            ("GET /secars/secars.dll?h=1 HTTP/1.1", true, false),
            ("post / HTTP/1.1", true, false),
            ("GET", false, false),
            ("GETX / HTTP/1.1", false, false),
            ("HTTP/1.1 200 OK", false, true),
            ("http/1.0 404", false, true),
            ("HTTP/", false, false),
            ("\u{16}\u{3}\u{1}\u{2}\u{0}", false, false),
        ]
        for (text, request, response) in cases {
            Array(text.utf8).withUnsafeBytes {
                #expect(HTTP1Parser.looksLikeRequest($0) == request, "\(text)")
                #expect(HTTP1Parser.looksLikeResponse($0) == response, "\(text)")
            }
        }
    }
}
