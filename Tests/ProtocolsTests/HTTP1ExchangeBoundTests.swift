import Core
import Protocols
import Records
import Testing

/// The exchanges one HTTP conversation hands out are bounded (one keep-alive connection
/// grew memory by about 1 KB per transaction, 863 MB for a 74 MB capture).
@Suite struct HTTP1ExchangeBoundTests {
    private static let request = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n"

    private static func response(_ status: Int) -> String {
        "HTTP/1.1 \(status) S\r\nContent-Length: 2\r\n\r\nok"
    }

    /// `count` request/response pairs on one connection, the k-th at `at(k)` seconds, with status `status(k)`.
    private static func run(_ count: Int, limits: HTTP1Limits, at: (Int) -> Double = { Double($0) * 0.01 },
                            status: (Int) -> Int = { _ in 200 }) -> (HTTP1Conversation, [Exchange]) {
        var c = HTTP1Conversation(limits: limits, recordsMessages: false)
        var out: [Exchange] = []
        for k in 0..<count {
            let t = Timestamp(seconds: 1_000, nanoseconds: 0).adding(seconds: at(k))
            Array(request.utf8).withUnsafeBytes { c.feed($0, direction: .up, time: t, into: &out) }
            Array(response(status(k)).utf8).withUnsafeBytes { c.feed($0, direction: .down, time: t, into: &out) }
        }
        c.finish(time: Timestamp(seconds: 100_000, nanoseconds: 0), into: &out)
        return (c, out)
    }

    @Test func backToBackExchangesPastTheBoundAreFoldedWithTheirBytes() {
        let limits = HTTP1Limits(foldExchangesAfter: 3, maxExchanges: 5)
        let (c, out) = Self.run(100, limits: limits)
        #expect(out.count == 3)
        #expect(c.foldedExchanges == 97)
        #expect(c.exchangeCount == 3)
        let up = Int64(Self.request.utf8.count)
        let down = Int64(Self.response(200).utf8.count)
        #expect(out.reduce(0) { $0 + $1.bytesUp } == 100 * up)
        #expect(out.reduce(0) { $0 + $1.bytesDown } == 100 * down)
        let body: Int64? = out[2].http?.responseBodyLength
        #expect(body == 196)
        #expect(out.map(\.index) == [0, 1, 2])
        // The folded exchange ends with the last one folded into it.
        #expect(out[2].end == Timestamp(seconds: 1_000, nanoseconds: 0).adding(seconds: 0.99))
    }

    @Test func quietGapsStartExchangesUntilTheHardBound() {
        let limits = HTTP1Limits(foldExchangesAfter: 3, maxExchanges: 5)
        // One exchange every 10 s (bursts of a push connection): past 3, still one each, up to 5.
        let (c, out) = Self.run(8, limits: limits, at: { Double($0) * 10 })
        #expect(out.count == 5)
        #expect(c.foldedExchanges == 3)
    }

    @Test func foldingKeepsAnErrorStatus() {
        let limits = HTTP1Limits(foldExchangesAfter: 1, maxExchanges: 1)
        let (_, out) = Self.run(4, limits: limits, status: { $0 == 2 ? 503 : 200 })
        #expect(out.count == 1)
        #expect(out[0].http?.status == 503)
    }

    /// The last answer cut short by the close stays cut short in the exchange it is folded into, its announced
    /// length counted after the bodies folded before it.
    @Test func foldingKeepsAnAnswerCutShort() {
        let limits = HTTP1Limits(foldExchangesAfter: 1, maxExchanges: 1)
        var (c, out) = (HTTP1Conversation(limits: limits, recordsMessages: false), [Exchange]())
        let t = Timestamp(seconds: 1_000, nanoseconds: 0)
        for text in [Self.request, Self.response(200), Self.request, "HTTP/1.1 200 S\r\nContent-Length: 9\r\n\r\nab"] {
            let direction: Direction = text.hasPrefix("GET") ? .up : .down
            Array(text.utf8).withUnsafeBytes { c.feed($0, direction: direction, time: t, into: &out) }
        }
        c.finish(time: t.adding(seconds: 1), into: &out)
        #expect(out.count == 1)
        #expect(out[0].http?.responseCutShort == true)
        #expect(out[0].http?.responseBodyLength == 4 && out[0].http?.declaredResponseBodyLength == 11)
    }

    @Test func defaultsAreFarAboveACheckIn() {
        let limits = HTTP1Limits()
        #expect(limits.foldExchangesAfter == 4_096 && limits.maxExchanges == 65_536)
        let (c, out) = Self.run(200, limits: limits)
        #expect(out.count == 200 && c.foldedExchanges == 0)
    }
}
