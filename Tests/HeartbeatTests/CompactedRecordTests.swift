import Core
import Records
import Testing

@testable import Heartbeat

/// What ingest keeps of a record's TLS summary: no certificate and no alerts, everything else as captured.
@Suite struct CompactedRecordTests {
    private func record(_ tls: TLSSummary?) -> ConnectionRecord {
        var r = ConnectionRecord(
            id: 7, client: Endpoint(address: IPAddress(ipv4: 0x0a14_0001), port: 50_000),
            server: Endpoint(address: IPAddress(ipv4: 0x0a01_000a), port: 443),
            start: Timestamp(seconds: 1_700_000_000, nanoseconds: 0),
            end: Timestamp(seconds: 1_700_000_001, nanoseconds: 0))
        r.tls = tls
        return r
    }

    @Test func certificateAndAlertsAreDroppedTogether() {
        var tls = TLSSummary()
        tls.serverName = "sepm1.example.test"
        tls.negotiatedVersion = 0x0303
        tls.cipherSuite = 0xc030
        var certificate = CertificateSummary()
        certificate.subjectCommonName = "sepm.example.test"
        tls.certificate = certificate
        tls.alerts = [TLSAlert(level: 1, description: 0, direction: .up, time: Timestamp(nanoseconds: 5))]
        let kept = SessionBuilder.compacted(record(tls))
        var expected = tls
        expected.certificate = nil
        expected.alerts = []
        #expect(kept.tls == expected)
        #expect(kept.tls?.serverName == "sepm1.example.test")

        var alertsOnly = tls
        alertsOnly.certificate = nil
        #expect(SessionBuilder.compacted(record(alertsOnly)).tls == expected)
    }

    @Test func aSummaryWithNothingToDropAndNoSummaryStayAsTheyAre() {
        var tls = TLSSummary()
        tls.serverName = "sepm1.example.test"
        #expect(SessionBuilder.compacted(record(tls)) == record(tls))
        #expect(SessionBuilder.compacted(record(nil)) == record(nil))
    }

    private func http(_ target: String, host: String? = nil) -> ConnectionRecord {
        var r = record(nil)
        var e = Exchange(index: 0, kind: .http, start: r.start, end: r.end)
        var t = HTTPTransaction(method: "POST", target: target, version: "HTTP/1.1")
        t.host = host
        t.userAgent = host.map { _ in "Smc" }
        e.http = t
        r.exchanges = [e]
        return r
    }

    @Test func queriesAreCutAndHeadersDroppedWithoutChangingTheRecordPassedIn() {
        let original = http("/secars/secars.dll?h=" + String(repeating: "0a", count: 300), host: "sepm")
        let kept = SessionBuilder.compacted(original)
        #expect(kept.exchanges[0].http?.target == "/secars/secars.dll?…")
        #expect(kept.exchanges[0].http?.host == nil && kept.exchanges[0].http?.userAgent == nil)
        #expect(original.exchanges[0].http?.host == "sepm")
        #expect(original.exchanges[0].http?.target.hasSuffix("0a0a") == true)
        #expect(SessionBuilder.compacted(http("/secars/secars.dll")) == http("/secars/secars.dll"))
    }

    @Test func aQueryMarkJoinedToAMarkAfterItIsNoQueryInAnyTarget() {
        // `?` with a combining accent is one character, not a `?`: only a `?` of its own starts a query.
        #expect(SessionBuilder.compacted(http("/é?\u{301}x")).exchanges[0].http?.target == "/é?\u{301}x")
        #expect(SessionBuilder.compacted(http("/é?\u{301}x?y")).exchanges[0].http?.target == "/é?\u{301}x?…")
        #expect(SessionBuilder.compacted(http("/é?y")).exchanges[0].http?.target == "/é?…")
        #expect(SessionBuilder.compacted(http("/a?")).exchanges[0].http?.target == "/a?…")
    }

    /// The query mark is found without reading the query, where the bytes show it, and as
    /// `firstIndex(of: "?")` finds it.
    @Test func theQueryMarkIsTheFirstQuestionMarkCharacter() {
        let long = "/secars/secars.dll?h=" + String(repeating: "0123456789abcdef", count: 40)
        let targets = [
            long, "/secars/secars.dll", "/secars/secars.dll?", "?", "", "/a?b?c", "/é/x?h=1", "/x?h=é",
            "/x?\u{301}h=1?y", "/x\u{301}?y", "/\r\n?y", "/x?é?z", "é", "/🙂?q", "/x?\u{200D}y",
        ]
        for t in targets {
            let found = SessionBuilder.queryMark(in: t).map { t.utf8.distance(from: t.startIndex, to: $0) }
            let expected = t.firstIndex(of: "?").map { t.utf8.distance(from: t.startIndex, to: $0) }
            #expect(found == expected, "\(t.debugDescription)")
        }
        #expect(SessionBuilder.queryMark(in: long).map { String(long[..<$0]) } == "/secars/secars.dll")
        // A combining mark after the only `?` makes it no question mark: no query.
        #expect(SessionBuilder.queryMark(in: "/x?\u{301}") == nil)
    }
}
