@testable import Analysis
import Core
import Records
import Testing

/// `ApplicationState.copy()`, on which a report so far finishes the connections still open: the copy finishes
/// as the original would at that point, and the original goes on as if no copy had been made.
@Suite struct ApplicationStateCopyTests {
    /// A `CONNECT` tunnel carrying plain HTTP, its last response cut part-way at `cut` steps.
    static let steps: [(Direction, String)] = [
        (.up, "CONNECT mgr.example:8443 HTTP/1.1\r\nHost: mgr.example:8443\r\n\r\n"),
        (.down, "HTTP/1.1 200 Connection established\r\n\r\n"),
        (.up, "GET /secars/secars.dll?h=1 HTTP/1.1\r\nHost: mgr.example\r\n\r\n"),
        (.down, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
        (.down, "defghij"),
        (.up, "POST /secars/secars.dll?h=2 HTTP/1.1\r\nHost: mgr.example\r\nContent-Length: 0\r\n\r\n"),
        (.down, "HTTP/1.1 204 No Content\r\n\r\n"),
    ]
    static let cut = 4

    static func feed(_ state: ApplicationState, _ range: Range<Int>) {
        for n in range {
            let (direction, text) = steps[n]
            Array(text.utf8).withUnsafeBytes {
                state.didReceive($0, direction: direction, time: Timestamp(seconds: Int64(n + 1), nanoseconds: 0))
            }
        }
    }

    static func finished(_ state: ApplicationState) -> ConnectionRecord {
        var record = ConnectionRecord(
            id: 1, client: Endpoint(address: IPAddress(ipv4: 0x0a00_0001), port: 40_000),
            server: Endpoint(address: IPAddress(ipv4: 0x0a00_0002), port: 3128),
            start: Timestamp(seconds: 0, nanoseconds: 0), end: Timestamp(seconds: 100, nanoseconds: 0))
        state.finish(into: &record)
        return record
    }

    /// Every stored property of `copy` reads as `original`'s, the tunnel's state's too (a property added to
    /// `ApplicationState` and left out of `copy()` shows here once a test state sets it).
    static func expectSameProperties(_ original: ApplicationState, _ copy: ApplicationState) {
        let a = Mirror(reflecting: original).children
        let b = Mirror(reflecting: copy).children
        #expect(a.map(\.label) == b.map(\.label))
        for (x, y) in zip(a, b) where x.label != "tunnel" {
            #expect(String(describing: x.value) == String(describing: y.value), "\(x.label ?? "?")")
        }
        #expect((original.tunnel == nil) == (copy.tunnel == nil))
        #expect(original.tunnel == nil || original.tunnel !== copy.tunnel)
        if let inner = original.tunnel, let innerCopy = copy.tunnel { expectSameProperties(inner, innerCopy) }
    }

    @Test func aCopyFinishesAsTheOriginalWouldAndLeavesItAsItWas() throws {
        let state = ApplicationState(keepDetails: false, midstream: false)
        Self.feed(state, 0..<Self.cut)
        let copy = state.copy()
        try #require(state.tunnel != nil)
        Self.expectSameProperties(state, copy)

        // The copy, finished now, is the connection as if it ended here.
        let cutHere = ApplicationState(keepDetails: false, midstream: false)
        Self.feed(cutHere, 0..<Self.cut)
        let provisional = Self.finished(copy)
        #expect(provisional == Self.finished(cutHere))
        #expect(provisional.tunnel?.host == "mgr.example")

        // The original goes on as one never copied.
        Self.feed(state, Self.cut..<Self.steps.count)
        let never = ApplicationState(keepDetails: false, midstream: false)
        Self.feed(never, 0..<Self.steps.count)
        let final = Self.finished(state)
        #expect(final == Self.finished(never))
        #expect(final.exchanges.count > provisional.exchanges.count)
    }
}
