import Foundation
import Testing

@testable import Heartbeat

/// The `sepbeat-report/1` JSON layout.
@Suite struct ReportJSONTests {
    private func sample() throws -> HeartbeatReport {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        let records = [f.idle(start: at(0)), f.idle(start: at(300.5)), f.idle(start: at(900.5)),
                       f.connection(port: 8014, start: at(1_200), exchanges: [.http("GET", 900, 200, status: 503)])]
        return analyze(records, model: model)
    }

    private func object(_ report: HeartbeatReport) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: report.jsonData()) as? [String: Any])
    }

    @Test func topLevelShape() throws {
        let json = try object(try sample())
        #expect(json["schema"] as? String == "sepbeat-report/1")
        for key in ["sessions", "clients", "findings", "summary", "managers"] { #expect(json[key] != nil, "\(key)") }
        let summary = try #require(json["summary"] as? [String: Any])
        #expect(summary["clients"] as? Int == 1)
        #expect(summary["sessions"] as? Int == 4)
        #expect(summary["verdict"] as? String == "fail")
    }

    @Test func sessionAndStepShape() throws {
        let json = try object(try sample())
        let sessions = try #require(json["sessions"] as? [[String: Any]])
        let s = try #require(sessions.first)
        for key in ["client", "clientPort", "server", "serverPort", "transport", "mode", "start", "end", "bytesUp",
                    "bytesDown", "steps", "findings"] {
            #expect(s[key] != nil, "\(key)")
        }
        #expect(s["client"] as? String == "10.0.0.5")
        #expect(s["transport"] as? String == "https")
        #expect(s["mode"] as? String == "pull")
        #expect(s["start"] as? String == "2026-01-01T00:00:00.000000000Z")
        let step = try #require((s["steps"] as? [[String: Any]])?.first)
        for key in ["step", "name", "start", "end", "bytesUp", "bytesDown", "confidence", "evidence"] {
            #expect(step[key] != nil, "\(key)")
        }
        #expect(step["name"] as? String == "select-server")
        let last = try #require(sessions.last)
        let lastFindings = try #require(last["findings"] as? [[String: Any]])
        let finding = try #require(lastFindings.first { $0["code"] as? String == "http-error" })
        #expect(finding["severity"] as? String == "error")
        #expect(finding["message"] as? String == "GET request answered 503: manager overloaded")
    }

    @Test func clientAndFindingShape() throws {
        let json = try object(try sample())
        let client = try #require((json["clients"] as? [[String: Any]])?.first)
        #expect(client["client"] as? String == "10.0.0.5")
        #expect(client["sessions"] as? Int == 4)
        #expect(client["missed"] as? Int == 1)
        #expect(client["accelerated"] as? Int == 0)
        let stats = try #require(client["intervalSeconds"] as? [String: Any])
        #expect(stats["median"] as? Double == 300.5)
        #expect(stats["min"] as? Double == 299.5)
        #expect(stats["max"] as? Double == 600)
        #expect(stats["p95"] as? Double == 570.05)  // interpolated between 300.5 and 600
        let findings = try #require(json["findings"] as? [[String: Any]])
        #expect(findings.map { $0["code"] as? String } == ["missed-heartbeat", "plaintext-http", "http-error"])
        #expect(findings.allSatisfy { $0["client"] as? String == "10.0.0.5" && $0["severity"] != nil })
    }

    @Test func singleCheckInHasNullIntervals() throws {
        var f = RecordFactory()
        let r = analyze([f.idle(start: at(0))], model: try ReferenceModel.builtIn.withServer("198.51.100.1"))
        let text = String(decoding: try r.jsonData(), as: UTF8.self)
        #expect(text.contains(#""intervalSeconds" : null"#))
        #expect(r.exitStatus == 0)
    }

    @Test func outputIsStable() throws {
        let a = try sample().jsonData()
        let b = try sample().jsonData()
        #expect(a == b)
        #expect(a.last == 0x0a)
    }

    @Test func findingsBySeverityPutsErrorsFirst() throws {
        let r = try sample()
        #expect(r.findingsBySeverity.map(\.severity) == [.error, .error, .warning])
    }
}
