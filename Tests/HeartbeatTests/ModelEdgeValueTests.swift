import Core
import Records
import Testing

@testable import Heartbeat

/// a host name's trailing dot in an SNI or Host header, and model values that can
/// never match.
@Suite struct ModelEdgeValueTests {
    @Test func trailingDotInSNIOrHostTiesAConfiguredName() throws {
        let model = try ReferenceModel.builtIn.withServer("sepm.example.test")
        var f = RecordFactory()
        let tls = [f.connection(server: "203.0.113.9", start: at(0), exchanges: [.tls(900, 3_100)],
                                sni: "sepm.example.test.")]
        let m = try #require(analyze(tls, model: model).managers.first { $0.hostName == "sepm.example.test" })
        #expect(m.address == "203.0.113.9" && m.resolution == "tls-sni")
        var spec = ExchangeSpec.http("GET", 900, 3_100)
        spec.host = "SEPM.example.test.:8014"
        let http = [f.connection(server: "203.0.113.10", port: 8014, start: at(0), exchanges: [spec])]
        let h = try #require(analyze(http, model: model).managers.first { $0.hostName == "sepm.example.test" })
        #expect(h.address == "203.0.113.10" && h.resolution == "http-host")
        // Only the one dot of the fully qualified form: two dots name nothing configured.
        #expect(ManagerDirectory.nameKey("sepm.example.test..") == "sepm.example.test.")
        #expect(ManagerDirectory.nameKey(".") == ".")
    }

    private func refusal(_ change: (inout ReferenceModel) -> Void) -> String? {
        var m = ReferenceModel.builtIn
        change(&m)
        do {
            try m.validate(file: "site.json")
            return nil
        } catch {
            return error.description
        }
    }

    @Test func valuesThatCanNeverMatchAreRefusedNamingTheField() {
        let lower = refusal { $0.steps[2].httpMethods = ["get"] }
        #expect(lower?.contains("steps[2].httpMethods[0]") == true)
        #expect(lower?.contains("\"get\"") == true)
        #expect(refusal { $0.steps[4].httpMethods = ["POST", ""] }?.contains("steps[4].httpMethods[1]") == true)
        #expect(refusal { $0.http.userAgent = "" }?.contains("http.userAgent") == true)
        let both = refusal { $0.ports.http = [8014, 443] }
        #expect(both?.contains("ports.http[1]") == true && both?.contains("443") == true)
        #expect(refusal { $0.steps[2].httpMethods = ["GET", "Get"] }?.contains("httpMethods[1]") == true)
        #expect(refusal { $0.steps[2].httpMethods = ["GET", "M-SEARCH", "CCM_POST"] } == nil)
        #expect(refusal { _ in } == nil)
        #expect(refusal { $0.ports.https = [] } == nil)
    }
}
