import Foundation
import Testing
import TestSupport

/// Clients every 20 s, two of which stop checking in in the second half while the others go on: `analyze`
/// warns `went-silent` for each, `audit` calls them degraded and counts them in its fleet summary (text and
/// JSON), and `validate` fails its `silent-clients` warning check naming them.
@Suite struct WentSilentCLITests {
    @Test func theClientsThatStoppedAreNamedByEveryCommand() throws {
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture("fleet.pcap", [
            "--clients", "6", "--interval", "20", "--duration", "10m", "--fault", "silent=2", "--seed", "4",
        ])
        let truth = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: capture + ".truth.json"))) as? [String: Any])
        let clients = try #require(truth["clients"] as? [[String: Any]])
        let silent = clients.filter { $0["silentFrom"] != nil }.compactMap { $0["address"] as? String }.sorted()
        #expect(silent.count == 2)

        let analyze = sepbeat("analyze", "-q", "--interval", "20", capture).stdout
        let warnings = analyze.split(separator: "\n").filter { $0.contains("warning went-silent") }
        #expect(warnings.count == 2)
        #expect(warnings.allSatisfy { $0.contains("s with no check-in, while other clients checked in until") })

        let audit = sepbeat("audit", "-q", "--interval", "20", capture)
        #expect(audit.status == 0)  // a warning: the default verdict passes
        #expect(audit.stdout.contains("Gone silent: 2 clients stopped checking in while the others went on ("
            + silent.joined(separator: ", ") + "): went-silent, a warning\n"))
        for address in silent {
            let row = audit.stdout.split(separator: "\n").first { $0.hasPrefix("  \(address) ") }
            #expect(row?.contains(" degraded ") == true)
            #expect(row?.contains("went silent after ") == true)
        }
        #expect(sepbeat("audit", "-q", "--interval", "20", "--fail-on", "warning", capture).status == 1)
        let json = try #require(try JSONSerialization.jsonObject(
            with: Data(sepbeat("audit", "-q", "-F", "json", "--interval", "20", capture).stdout.utf8))
            as? [String: Any])
        let fleet = try #require(json["fleet"] as? [String: Any])
        #expect(fleet["wentSilent"] as? Int == 2)
        #expect(fleet["degraded"] as? Int == 2)

        let validate = sepbeat("validate", "-q", "--interval", "20", capture).stdout
        let check = validate.split(separator: "\n").first { $0.contains(" silent-clients ") }
        #expect(check?.contains("FAIL") == true)
        #expect(silent.allSatisfy { check?.contains($0) == true })

        // Without the fault: no finding, no line, no count.
        let calm = try dir.simulatedCapture("calm.pcap", [
            "--clients", "6", "--interval", "20", "--duration", "10m", "--seed", "4",
        ])
        #expect(!sepbeat("analyze", "-q", "--interval", "20", calm).stdout.contains("went-silent"))
        #expect(!sepbeat("audit", "-q", "--interval", "20", calm).stdout.contains("Gone silent"))
    }
}
