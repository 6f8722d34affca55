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
}
