import Core
import Foundation
import Testing

@testable import Heartbeat

/// Findings raised once per client and manager (`tls-below-1.2`, `plaintext-http`, `unknown-server`):
/// one entry in the report's findings naming every check-in it concerns, and a copy on each of them.
@Suite struct PairFindingTests {
    /// Two TLS 1.2 check-ins, then three on TLS 1.0, to one manager.
    private func mixedTLS() -> HeartbeatReport {
        var f = RecordFactory()
        let versions: [UInt16] = [0x0303, 0x0303, 0x0301, 0x0301, 0x0301]
        let records = versions.enumerated().map { i, v in f.idle(start: at(Double(i) * 300), tlsVersion: v) }
        return analyze(records)
    }

    @Test func oldTLSNamesEveryAffectedCheckInAndOnlyThose() throws {
        let report = mixedTLS()
        let entries = report.codes(.tlsBelow12)
        #expect(entries.count == 1)
        let entry = try #require(entries.first)
        #expect(entry.session == 3)
        #expect(entry.sessions == [3, 4, 5])
        #expect(entry.time == at(600))
        #expect(entry.message.hasPrefix("3 check-ins to 198.51.100.1:443 used TLS 1.0"))
        for s in report.sessions {
            let copies = s.findings.filter { $0.code == .tlsBelow12 }
            #expect(copies.count == (s.id >= 3 ? 1 : 0), "session \(s.id)")
            for c in copies {
                #expect(c.session == s.id)
                #expect(c.time == s.start)
                #expect(c.sessions == nil)
            }
        }
        // Counted once: one error for the pair, however many check-ins carry it.
        #expect(report.summary.errors == 1)
    }

    @Test func entryEncodesSessionsBesideSession() throws {
        let json = try JSONSerialization.jsonObject(with: mixedTLS().jsonData()) as? [String: Any]
        let findings = try #require(json?["findings"] as? [[String: Any]])
        let entry = try #require(findings.first { $0["code"] as? String == "tls-below-1.2" })
        #expect(entry["session"] as? Int == 3)
        #expect(entry["sessions"] as? [Int] == [3, 4, 5])
        let sessions = try #require(json?["sessions"] as? [[String: Any]])
        let copy = try #require((sessions.last?["findings"] as? [[String: Any]])?.first)
        #expect(copy["session"] as? Int == 5)
        #expect(copy["sessions"] == nil)
        // Other findings carry no `sessions` member.
        #expect(findings.allSatisfy { $0["code"] as? String == "tls-below-1.2" || $0["sessions"] == nil })
    }

    @Test func plainHTTPAndUnknownServerGoOnEachCheckIn() throws {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        var records = (0..<3).map { i in f.idle(start: at(Double(i) * 300)) }
        records += (0..<2).map { i in
            f.connection(server: "198.51.100.9", port: 8014, start: at(1_000 + Double(i) * 300),
                         exchanges: [.http("GET", 900, 3_000)])
        }
        let report = analyze(records, model: model)
        let plain = try #require(report.codes(.plaintextHTTP).first)
        #expect(report.codes(.plaintextHTTP).count == 1)
        let onUnknown = report.sessions.filter { $0.server == ip("198.51.100.9") }.map(\.id)
        #expect(onUnknown.count == 2)
        #expect(plain.sessions == onUnknown)
        #expect(plain.session == onUnknown.first)
        let unknown = report.codes(.unknownServer)
        #expect(unknown.count == 1)
        #expect(unknown.first?.sessions == onUnknown)
        for s in report.sessions {
            let codes = Set(s.findings.map(\.code))
            let expected = onUnknown.contains(s.id)
            #expect(codes.contains(.plaintextHTTP) == expected, "session \(s.id)")
            #expect(codes.contains(.unknownServer) == expected, "session \(s.id)")
        }
    }
}
