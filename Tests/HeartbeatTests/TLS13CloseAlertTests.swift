import Core
import Records
import Testing

@testable import Heartbeat

/// TLS 1.3 sends its close_notify encrypted, as an application-data record: the parser sees one more
/// exchange after the last answer, which is step 7's, not a `download-urls` step.
@Suite struct TLS13CloseAlertTests {
    private let model: ReferenceModel = {
        do { return try ReferenceModel.builtIn.withServer("198.51.100.1") } catch { return .builtIn }
    }()

    @Test func aTLS13CloseNotifyIsStepSevensBytes() throws {
        var f = RecordFactory()
        // The index check, then the client's 24-byte close_notify record and the server's in answer.
        let c = f.connection(start: epoch, exchanges: [.tls(900, 3_100), .tls(24, 24)], tlsVersion: 0x0304)
        let r = analyze([c], model: model)
        let s = try #require(r.sessions.first)
        #expect(s.steps.map(\.step) == [1, 2, 3, 7])
        let close = try #require(s.steps.last)
        #expect(close.bytesUp == 24 && close.bytesDown == 24)
        #expect(close.evidence == "FIN from client; 24 bytes up, 24 bytes down in an encrypted alert record before "
            + "it (TLS 1.3 close_notify)")
        #expect(r.findings.isEmpty, "\(r.findings.map(\.description))")
    }

    /// Limits in pairs: 64 bytes is an alert, 65 a request; TLS 1.2 (alerts in alert records) and a
    /// connection still open keep the small exchange as a step.
    @Test func onlyASmallLastExchangeOfAClosedTLS13ConnectionIsTheAlert() throws {
        func steps(_ up: Int64, version: UInt16 = 0x0304, open: Bool = false) -> [Int] {
            var f = RecordFactory()
            let c = f.connection(start: epoch, exchanges: [.tls(900, 3_100), .tls(up, 0)], tlsVersion: version,
                                 openAtEnd: open)
            return analyze([c], model: model).sessions.first?.steps.map(\.step) ?? []
        }
        #expect(steps(64) == [1, 2, 3, 7])
        #expect(steps(65) == [1, 2, 3, 4, 7])
        #expect(steps(24, version: 0x0303) == [1, 2, 3, 4, 7])
        #expect(steps(24, open: true) == [1, 2, 3, 4])
    }
}
