import Core
@testable import Protocols
import Records
import Testing

/// `HTTP1Conversation` turns its parsers' `body` events off (`HTTP1Parser.reportsBodyEvents`): the parser
/// must then give every other event as before, and the message ends the same lengths.
@Suite struct HTTP1BodyEventsTests {
    private func events(_ role: HTTP1Parser.Role, _ steps: [HTTP1Step], bodyEvents: Bool, cut: HTTP1Cut)
        -> [HTTP1Event]
    {
        var parser = HTTP1Parser(role: role)
        parser.reportsBodyEvents = bodyEvents
        if role == .response { for m in ["GET", "HEAD", "GET"] { parser.expectResponse(toMethod: m) } }
        var out: [HTTP1Event] = []
        for (n, step) in steps.enumerated() {
            switch step {
            case .data(let text):
                for piece in cut.pieces(Array(text.utf8)) {
                    piece.withUnsafeBytes { parser.feed($0, time: time(n + 1), into: &out) }
                }
            case .gap(let g):
                parser.skip(gapBytes: g, time: time(n + 1), into: &out)
            case .cut(let g):
                parser.skip(gapBytes: g, time: time(n + 1), cutBySnapLength: true, into: &out)
            }
        }
        parser.finish(time: time(steps.count + 1), into: &out)
        return out
    }

    private func withoutBody(_ events: [HTTP1Event]) -> [HTTP1Event] {
        events.filter { if case .body = $0 { false } else { true } }
    }

    @Test func requestsWithBodiesGiveTheSameEventsButBody() {
        let steps: [HTTP1Step] = [
            .data("POST /secars/secars.dll?h=1 HTTP/1.1\r\nContent-Length: 12\r\n\r\nhello world!"),
            .data("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n3;x=1\r\nfgh\r\n0\r\n\r\n"),
            .data("POST /y HTTP/1.1\r\nContent-Length: 30\r\n\r\n0123456789"),
            .gap(8),
            .data("abcdefghijkl"),
            .data("GET /z HTTP/1.1\r\n\r\n"),
        ]
        for cut in HTTP1Cut.all(longest: 80) {
            let with = events(.request, steps, bodyEvents: true, cut: cut)
            #expect(with.contains { if case .body = $0 { true } else { false } })
            #expect(events(.request, steps, bodyEvents: false, cut: cut) == withoutBody(with), "\(cut)")
        }
    }

    @Test func responsesWithBodiesGiveTheSameEventsButBody() {
        let steps: [HTTP1Step] = [
            .data("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabcde"),
            .data("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"),
            .data("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwxyz\r\n"),
            .gap(3),
            .data("0\r\n\r\nHTTP/1.0 200 OK\r\n\r\nuntil the end"),
        ]
        for cut in HTTP1Cut.all(longest: 60) {
            let with = events(.response, steps, bodyEvents: true, cut: cut)
            #expect(events(.response, steps, bodyEvents: false, cut: cut) == withoutBody(with), "\(cut)")
        }
    }
}
