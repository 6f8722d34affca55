import Core
@testable import Protocols
import Testing

/// `HTTP1Conversation` has its parsers list only the headers it reads (`HTTP1Parser.keptHeaderNames`):
/// every event must then be the one a parser listing all headers gives, with the other names left out of
/// the heads' lists, however the bytes are cut and whatever odd heads they hold.
@Suite struct HTTP1KeptHeadersTests {
    private static let limits = HTTP1Limits(maxHeadBytes: 600, maxHeaderCount: 6)

    private func events(_ role: HTTP1Parser.Role, _ bytes: [UInt8], keeping: [StaticString]?, cut: HTTP1Cut)
        -> [HTTP1Event]
    {
        var parser = HTTP1Parser(role: role, limits: Self.limits)
        parser.keptHeaderNames = keeping
        if role == .response { for _ in 0..<12 { parser.expectResponse(toMethod: "GET") } }
        var out: [HTTP1Event] = []
        for piece in cut.pieces(bytes) {
            piece.withUnsafeBytes { parser.feed($0, time: time(1), into: &out) }
        }
        parser.finish(time: time(2), into: &out)
        return out
    }

    /// The events with each head's headers narrowed to `names` (compared in any case).
    private func narrowed(_ events: [HTTP1Event], to names: [String]) -> [HTTP1Event] {
        func keep(_ headers: [HTTP1Header]) -> [HTTP1Header] {
            headers.filter { h in names.contains { asciiCaseInsensitiveEqual($0, h.name) } }
        }
        return events.map { event in
            switch event {
            case .requestHead(var head):
                head.headers = keep(head.headers)
                return .requestHead(head)
            case .responseHead(var head):
                head.headers = keep(head.headers)
                return .responseHead(head)
            default:
                return event
            }
        }
    }

    private func bytes(_ parts: [String], raw: [UInt8] = []) -> [UInt8] {
        parts.flatMap { Array($0.utf8) } + raw
    }

    private func expectSame(_ role: HTTP1Parser.Role, _ input: [UInt8], _ names: [StaticString]) {
        let texts = names.map { $0.description }
        for cut in HTTP1Cut.all(longest: min(input.count, 120)) {
            let all = events(role, input, keeping: nil, cut: cut)
            let kept = events(role, input, keeping: names, cut: cut)
            #expect(kept == narrowed(all, to: texts), "\(cut)")
        }
    }

    @Test func requestHeadsListTheKeptNamesAsTheFullListHasThem() {
        let input = bytes([
            // Plain, as the fleet sends them.
            "GET /secars/secars.dll?h=0a14 HTTP/1.1\r\nUser-Agent: Smc\r\nHost: 10.1.0.10:8014\r\n",
            "Connection: Keep-Alive\r\n\r\n",
            // Mixed case, repeated, folded after a kept and after a left-out header, spaces around names.
            "POST /x HTTP/1.1\r\nHOST: a\r\n  folded onto host\r\nX-Other: b\r\n\tfolded onto other\r\n",
            "host: second\r\nuser-AGENT : spaced\r\nContent-Length: 3\r\n\r\nabc",
            // Bare LF, a line without a colon, a folded line first.
            "GET /y HTTP/1.1\n continuation first\nno colon here\nHost: lf\n\n",
            // More headers than the limit (6): the kept one past it is not listed either way.
            "GET /z HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nHost: seventh\r\n",
            " folded past the limit\r\n\r\n",
            // Folded onto the last header within the limit, which is kept.
            "GET /w HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nHost: sixth\r\nG: 7\r\n more\r\n\r\n",
        ], raw: Array("GET /obs HTTP/1.1\r\nHost: h\u{7F}\r\nUser-Agent: ".utf8) + [0x80, 0xFE, 0xFF, 13, 10]
            + Array("X: \r\n\r\n".utf8))
        expectSame(.request, input, ["host", "user-agent"])
    }

    @Test func responseHeadsListTheKeptNamesAsTheFullListHasThem() {
        let input = bytes([
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nabcd",
            "HTTP/1.1 100 Continue\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-TYPE: a\r\n b\r\nContent-Type: second\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 204 No Content\nX: 1\n folded\nContent-Type: lf\n\n",
        ], raw: Array("HTTP/1.1 200 OK\r\nContent-Type: ".utf8) + [0xC3, 0x28, 0xA0] + Array("\r\n\r\n".utf8))
        expectSame(.response, input, ["content-type"])
    }

    @Test func aHeadOverTheSizeLimitListsTheSame() {
        // 600 bytes at most are kept: the lines read before the limit are listed, the rest only counted.
        var lines = ["GET /big HTTP/1.1\r\nHost: first\r\n"]
        for i in 0..<40 { lines.append("X-Filler-\(i): " + String(repeating: "v", count: 20) + "\r\n") }
        lines.append("Host: late\r\n\r\nGET /next HTTP/1.1\r\nHost: after\r\n\r\n")
        let input = bytes(lines)
        for cut: HTTP1Cut in [.whole, .bytewise, .at(37), .at(599), .at(601)] {
            let all = events(.request, input, keeping: nil, cut: cut)
            let kept = events(.request, input, keeping: ["host", "user-agent"], cut: cut)
            #expect(kept == narrowed(all, to: ["host", "user-agent"]), "\(cut)")
        }
    }

    @Test func aHeadWithNoneOfTheNamesListsNone() {
        let input = bytes(["GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"])
        let kept = events(.request, input, keeping: ["host"], cut: .whole)
        guard case .requestHead(let head) = kept.first else {
            Issue.record("no request head: \(kept)")
            return
        }
        #expect(head.headers.isEmpty)
    }

    /// The conversation's test of a versionless request line (HTTP/0.9) gives what splitting the line
    /// into its parts gives, for every line of up to seven bytes from a small alphabet.
    @Test func versionlessLineTestAgreesWithTheParts() {
        Self.everyShortLine { line in
            let slice = line[...]
            #expect(HTTP1Parser.isVersionlessRequestLine(slice) == (HTTP1RequestLineParts(slice).count == 2),
                    "\(line)")
            // A slice that does not start at index 0.
            let shifted = ([66] + line)[1...]
            #expect(HTTP1Parser.isVersionlessRequestLine(shifted) == (HTTP1RequestLineParts(shifted).count == 2))
        }
        for text in ["GET /secars/secars.dll?h=1 HTTP/1.1", "GET /x", "  GET \t /x \t ", "GET /a b HTTP/1.1"] {
            let slice = Array(text.utf8)[...]
            #expect(HTTP1Parser.isVersionlessRequestLine(slice) == (HTTP1RequestLineParts(slice).count == 2))
        }
    }

    /// `HTTP1RequestLineParts` finds its parts with `memchr`: the same parts as a walk over every byte, for
    /// every line of up to seven bytes from a small alphabet, at index 0 and further into an array.
    @Test func requestLinePartsAgreeWithAByteWalk() {
        typealias Parts = (count: Int, first: ArraySlice<UInt8>?, second: ArraySlice<UInt8>?,
                           last: ArraySlice<UInt8>?, endBeforeLast: Int?)
        func walk(_ line: ArraySlice<UInt8>) -> Parts {
            var parts: [Range<Int>] = []
            var i = line.startIndex
            while i < line.endIndex {
                while i < line.endIndex, line[i] == 32 || line[i] == 9 { i += 1 }
                guard i < line.endIndex else { break }
                let start = i
                while i < line.endIndex, line[i] != 32, line[i] != 9 { i += 1 }
                parts.append(start..<i)
            }
            return (parts.count, parts.first.map { line[$0] }, parts.count > 1 ? line[parts[1]] : nil,
                    parts.last.map { line[$0] }, parts.count > 1 ? parts[parts.count - 2].upperBound : nil)
        }
        func check(_ slice: ArraySlice<UInt8>) {
            let parts = HTTP1RequestLineParts(slice)
            let expected = walk(slice)
            #expect(parts.count == expected.count, "\(Array(slice))")
            #expect(parts.first == expected.first && parts.second == expected.second && parts.last == expected.last)
            #expect(parts.first?.startIndex == expected.first?.startIndex)
            #expect(parts.last?.startIndex == expected.last?.startIndex)
            #expect(parts.endBeforeLast == expected.endBeforeLast, "\(Array(slice))")
        }
        Self.everyShortLine { line in
            check(line[...])
            check(([66, 67] + line)[2...])
        }
        check(Array("GET /secars/secars.dll?h=0a14 HTTP/1.1".utf8)[...])
        check(Array("GET /a\tb c HTTP/1.1".utf8)[...])
    }

    @Test func absoluteFormAuthorityIsReadAsBefore() {
        #expect(HTTP1Conversation.absoluteFormAuthority("/secars/secars.dll") == nil)
        #expect(HTTP1Conversation.absoluteFormAuthority("http://a.example:80/x") == "a.example")
        #expect(HTTP1Conversation.absoluteFormAuthority("HTTP://user@b.example:8014") == "b.example:8014")
        #expect(HTTP1Conversation.absoluteFormAuthority("https://c.example/") == nil)
        #expect(HTTP1Conversation.absoluteFormAuthority("hxxp://d.example/") == nil)
        #expect(HTTP1Conversation.absoluteFormAuthority("http://") == nil)
    }

    /// Calls `body` with every line of up to seven bytes made of `A`, space, tab and `/` (the empty one first).
    static func everyShortLine(_ body: ([UInt8]) -> Void) {
        let alphabet: [UInt8] = [65, 32, 9, 47]
        var line: [UInt8] = []
        func visit(_ depth: Int) {
            body(line)
            guard depth < 7 else { return }
            for b in alphabet {
                line.append(b)
                visit(depth + 1)
                line.removeLast()
            }
        }
        visit(0)
    }
}
