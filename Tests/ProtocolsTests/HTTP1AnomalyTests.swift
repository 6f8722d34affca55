import Core
import Protocols
import Records
import Testing

@Suite("HTTP/1.x anomalies, gaps and limits")
struct HTTP1AnomalyTests {
    @Test func contentLengthVariants() {
        // Leading zeros: read as decimal, body framed (tshark agrees).
        let zeros = parseEveryWay(.request, [
            .data("POST / HTTP/1.1\r\nContent-Length: 0003\r\n\r\nabcGET / HTTP/1.1\r\n\r\n"),
        ])
        #expect(zeros.prefix(3) == ["anomaly content_length_leading_zeros",
                                    "request POST / HTTP/1.1 head=41 headers=1", "body 3"])
        #expect(zeros.count == 6)
        // Too large and negative: a request gets no body, so the next request is seen.
        for value in ["18446744073709551615", "-5", "abc"] {
            let got = parseEveryWay(.request, [
                .data("POST / HTTP/1.1\r\nContent-Length: \(value)\r\n\r\nGET /x HTTP/1.1\r\n\r\n"),
            ])
            #expect(got.contains("request GET /x HTTP/1.1 head=19 headers=0"), "\(value)")
            let code = value.hasPrefix("1") ? "content_length_too_large" : "invalid_content_length"
            #expect(got.first == "anomaly " + code)
        }
        // A response with an unusable length is read until close.
        let response = parseEveryWay(
            .response, [.data("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nabc")], expecting: ["GET"])
        #expect(response == ["anomaly invalid_content_length", "response HTTP/1.1 200 OK head=39", "body 3",
                             "end body=3 wire=3 missing=0"])
        let dup = parseEveryWay(.response, [
            .data("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2, 2\r\n\r\nab"),
        ], expecting: ["GET"])
        #expect(dup.first == "anomaly duplicate_content_length")
        #expect(dup.last == "end body=2 wire=2 missing=0")
        let conflict = parseEveryWay(.response, [
            .data("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab"),
        ], expecting: ["GET"])
        #expect(conflict.first == "anomaly conflicting_content_length")
        #expect(conflict.last == "end body=2 wire=2 missing=0")
    }

    @Test func contentLengthListsSplitAtEveryComma() {
        // Empty parts count (an empty value is no number); spaces around a part are trimmed.
        for value in ["2,", ",2", "2,,2", ""] {
            let got = parseEveryWay(.response, [
                .data("HTTP/1.1 200 OK\r\nContent-Length: \(value)\r\n\r\nab"),
            ], expecting: ["GET"])
            #expect(got.first == "anomaly invalid_content_length", "\(value)")
            #expect(got.last == "end body=2 wire=2 missing=0", "\(value)")
        }
        let same = parseEveryWay(.response, [
            .data("HTTP/1.1 200 OK\r\nContent-Length: 2 , 2,2\r\n\r\nab"),
        ], expecting: ["GET"])
        #expect(same.first == "anomaly duplicate_content_length")
        #expect(same.last == "end body=2 wire=2 missing=0")
        let differ = parseEveryWay(.response, [
            .data("HTTP/1.1 200 OK\r\nContent-Length: 2, 2, 3\r\n\r\nab"),
        ], expecting: ["GET"])
        #expect(differ.first == "anomaly conflicting_content_length")
        #expect(differ.last == "end body=2 wire=2 missing=0")
    }

    @Test func contentLengthAndTransferEncoding() {
        let got = parseEveryWay(.request, [
            .data("POST / HTTP/1.1\r\nContent-Length: 50\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
                + "0\r\n\r\nGET /s HTTP/1.1\r\n\r\n"),
        ])
        #expect(got == [
            "anomaly content_length_and_transfer_encoding", "anomaly transfer_encoding_not_chunked_last",
            "request POST / HTTP/1.1 head=77 headers=2", "end body=0 wire=5 missing=0",
            "request GET /s HTTP/1.1 head=19 headers=0", "end body=0 wire=0 missing=0",
        ])
    }

    @Test func invalidChunkSizeResynchronises() {
        let got = parseEveryWay(.response, [
            .data("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\njunk\r\nHTTP/1.1 204 No\r\n\r\n"),
        ], expecting: ["GET", "GET"])
        #expect(got == [
            "response HTTP/1.1 200 OK head=47", "anomaly invalid_chunk_size", "end body=0 wire=4 missing=0 incomplete",
            "skipped 6", "response HTTP/1.1 204 No head=19", "end body=0 wire=0 missing=0",
        ])
    }

    @Test func gapInsideContentLengthBodyIsCountedAsMissing() {
        let got = parseEveryWay(.request, [
            .data("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nab"), .gap(5), .data("cdeGET / HTTP/1.1\r\n\r\n"),
        ])
        #expect(got == [
            "request POST / HTTP/1.1 head=39 headers=1", "body 2", "body-missing 5", "body 3",
            "end body=10 wire=10 missing=5", "request GET / HTTP/1.1 head=18 headers=0", "end body=0 wire=0 missing=0",
        ])
    }

    @Test func gapInsideChunkDataKeepsFraming() {
        let got = parseEveryWay(.response, [
            .data("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nab"), .gap(6), .data("cd\r\n0\r\n\r\n"),
        ], expecting: ["GET"])
        #expect(got == [
            "response HTTP/1.1 200 OK head=47", "body 2", "body-missing 6", "body 2", "end body=10 wire=20 missing=6",
        ])
    }

    @Test func gapInHeadResynchronisesAtNextRequest() {
        let got = parseEveryWay(.request, [
            .data("GET /one HTTP/1.1\r\nHost: a"), .gap(40),
            .data("ser-Agent: x\r\n\r\nPOSTAL\r\nGET /two HTTP/1.1\r\n\r\n"),
        ])
        #expect(got == [
            "anomaly gap_in_head", "skipped 26", "skipped-missing 40", "skipped 24",
            "request GET /two HTTP/1.1 head=21 headers=0", "end body=0 wire=0 missing=0",
        ])
    }

    @Test func headSizeLimitAtAndOnePast() {
        let limits = HTTP1Limits(maxHeadBytes: 64)
        let prefix = "GET / HTTP/1.1\r\nX: "  // 19 bytes; value fills the rest; then CRLF CRLF
        let atLimit = prefix + String(repeating: "a", count: 64 - 19 - 4) + "\r\n\r\n"
        #expect(atLimit.utf8.count == 64)
        let ok = parseEveryWay(.request, [.data(atLimit)], limits: limits)
        #expect(ok == ["request GET / HTTP/1.1 head=64 headers=1", "end body=0 wire=0 missing=0"])
        let over = prefix + String(repeating: "a", count: 64 - 19 - 3) + "\r\n\r\nGET /next HTTP/1.1\r\n\r\n"
        let bad = parseEveryWay(.request, [.data(over)], limits: limits)
        // One past by the blank line's end: the head is whole and counted.
        #expect(bad == [
            "anomaly head_too_large", "request GET / HTTP/1.1 head=65 headers=1", "end body=0 wire=0 missing=0",
            "request GET /next HTTP/1.1 head=22 headers=0", "end body=0 wire=0 missing=0",
        ])
    }

    /// A head far over the limit keeps its start line and the headers read within the limit, counts every byte
    /// of the head, and frames the body from what it kept (the request vanished).
    @Test func overLongHeadKeepsItsRequestAndRealLength() {
        let limits = HTTP1Limits(maxHeadBytes: 64)
        let head = "POST /secars/secars.dll HTTP/1.1\r\nContent-Length: 3\r\nCookie: "
            + String(repeating: "c", count: 200) + "\r\nX: 1\r\n\r\n"
        let steps: [HTTP1Step] = [.data(head + "abc" + "GET /next HTTP/1.1\r\n\r\n")]
        let got = parseEveryWay(.request, steps, limits: limits)
        #expect(got == [
            "anomaly head_too_large", "request POST /secars/secars.dll HTTP/1.1 head=\(head.utf8.count) headers=1",
            "body 3", "end body=3 wire=3 missing=0", "request GET /next HTTP/1.1 head=22 headers=0",
            "end body=0 wire=0 missing=0",
        ])
        // Bare LF line ends, the blank line just past the limit's cut.
        let lf = "GET /a HTTP/1.1\nCookie: " + String(repeating: "c", count: 100) + "\n\n"
        #expect(parseEveryWay(.request, [.data(lf)], limits: limits) == [
            "anomaly head_too_large", "anomaly bare_line_feed",
            "request GET /a HTTP/1.1 head=\(lf.utf8.count) headers=0", "end body=0 wire=0 missing=0",
        ])
        // Cut short before its blank line: reported, not completed.
        let cut = parseEveryWay(.request, [.data("GET /a HTTP/1.1\r\nC: " + String(repeating: "c", count: 100))],
                                limits: limits)
        #expect(cut.first == "anomaly head_too_large")
        #expect(!cut.contains { $0.hasPrefix("request") })
    }

    /// Through the conversation: the exchange counts the whole head.
    @Test func overLongHeadCountsInTheExchange() {
        let head = "GET /secars/secars.dll?h=1 HTTP/1.1\r\nHost: m\r\nCookie: "
            + String(repeating: "c", count: 70_000) + "\r\n\r\n"
        var c = HTTP1Conversation()
        var out: [Exchange] = []
        let t = Timestamp(seconds: 5, nanoseconds: 0)
        Array(head.utf8).withUnsafeBytes { c.feed($0, direction: .up, time: t, into: &out) }
        Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8).withUnsafeBytes {
            c.feed($0, direction: .down, time: t, into: &out)
        }
        #expect(out.count == 1)
        #expect(out.first?.bytesUp == Int64(head.utf8.count))
        #expect(out.first?.http?.target == "/secars/secars.dll?h=1")
        #expect(out.first?.http?.host == "m")
        #expect(out.first?.http?.status == 200)
    }

    @Test func headerCountLimitAtAndOnePast() {
        let limits = HTTP1Limits(maxHeaderCount: 3)
        let three = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"
        #expect(parseEveryWay(.request, [.data(three)], limits: limits)
            == ["request GET / HTTP/1.1 head=36 headers=3", "end body=0 wire=0 missing=0"])
        let four = "POST / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 2\r\n\r\nxy"
        #expect(parseEveryWay(.request, [.data(four)], limits: limits) == [
            "anomaly too_many_headers", "request POST / HTTP/1.1 head=56 headers=3", "body 2",
            "end body=2 wire=2 missing=0",
        ])
    }

    @Test func garbageIsReportedNotParsed() {
        let got = parseEveryWay(.request, [.data("\u{1}\u{2}\u{3} binary\nGET / HTTP/1.1\r\n\r\n")])
        #expect(got == [
            "anomaly invalid_start_line", "skipped 11", "request GET / HTTP/1.1 head=18 headers=0",
            "end body=0 wire=0 missing=0",
        ])
    }
}

@Suite("HTTP/1.x unusual request lines")
struct HTTP1RequestLineTests {
    @Test func knownMethodAloneOnItsLineIsARequestWithoutTarget() {
        let got = parseEveryWay(.request, [.data("OPTIONS\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n\r\n")])
        #expect(got == ["anomaly missing_request_target", "request OPTIONS   head=20 headers=1",
                        "end body=0 wire=0 missing=0", "request GET / HTTP/1.1 head=18 headers=0",
                        "end body=0 wire=0 missing=0"])
    }

    @Test func unknownTokenAloneOnItsLineIsNotARequest() {
        let got = parseEveryWay(.request, [.data("FOO\r\nHost: a\r\n\r\n")])
        #expect(got.first == "anomaly invalid_start_line")
        #expect(!got.contains { $0.hasPrefix("request") })
        // A method followed by trailing blanks and no target is not accepted either.
        let blank = parseEveryWay(.request, [.data("OPTIONS \r\nHost: a\r\n\r\n")])
        #expect(!blank.contains { $0.hasPrefix("request") })
    }

    @Test func whitespaceInsideTheTargetIsKeptAndFlagged() {
        let got = parseEveryWay(.request, [.data("CONNECT mail.example:25 / HTTP/1.0\r\n\r\n")])
        #expect(got.first == "anomaly whitespace_in_target")
        #expect(got.contains("request CONNECT mail.example:25 / HTTP/1.0 head=38 headers=0"))
    }

    @Test func headAnomaliesComeInHeadOrderWithBareLineFeedFirst() {
        // The bare LF sits on a header line, yet is reported before the start line's anomalies.
        let got = parseEveryWay(.request, [
            .data("get /a  b http/1.1\r\nHost: a\nNoColon\r\nX: 1\r\n  more\r\nContent-Length: 01\r\n\r\nz"),
        ])
        #expect(Array(got.prefix(7)) == [
            "anomaly bare_line_feed", "anomaly lower_case_method", "anomaly lower_case_version",
            "anomaly whitespace_in_target", "anomaly header_without_colon", "anomaly obsolete_line_folding",
            "anomaly content_length_leading_zeros",
        ])
        #expect(got.contains("request get /a  b http/1.1 head=73 headers=3"))
        #expect(got.contains("body 1"))
        // A method in lower case that is not a known one is not flagged.
        let unknown = parseEveryWay(.request, [.data("frob / HTTP/1.1\r\n\r\n")])
        #expect(!unknown.contains("anomaly lower_case_method"))
        #expect(unknown.contains("request frob / HTTP/1.1 head=19 headers=0"))
    }

    @Test func mayStartRequestAcceptsAnyMethodToken() {
        func check(_ text: String) -> Bool { Array(text.utf8).withUnsafeBytes { HTTP1Parser.mayStartRequest($0) } }
        #expect(check("CCM_POST / HTTP/1.1\r\n"))
        #expect(check("OPTIONS\r\n"))
        #expect(check("get /"))
        #expect(!check("OPTIONSHTTP/1.1\r\n"))
        #expect(!check("FOO\r\n"))
        #expect(!check("\u{1}\u{2}"))
        #expect(!check("GET "))
        // Detection stays strict: a known method alone on its line does not make a stream HTTP.
        #expect(!Array("OPTIONS\r\n".utf8).withUnsafeBytes { HTTP1Parser.looksLikeRequest($0) })
    }
}
