import Foundation
import Testing
import TestSupport

/// A validation check's example clients begin with the one its detail names ("first: CODE (client X)"), so
/// the two never seem to disagree; the others follow by address.
@Suite struct ValidationExamplesTests {
    @Test func theClientTheDetailNamesIsTheFirstExample() throws {
        let dir = try TemporaryFolder()
        // Plain-HTTP clients among HTTPS ones: the transport check fails for several clients.
        let capture = try dir.simulatedCapture("fleet.pcap", ["--clients", "30", "--duration", "1h", "--seed", "5",
                                                               "--http-share", "0.3"])
        let run = CLIRun(["validate", "-q", "-F", "json", capture])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let checks = try #require(json["checks"] as? [[String: Any]])
        let transport = try #require(checks.first { $0["id"] as? String == "transport" })
        let examples = try #require(transport["examples"] as? [String])
        let detail = try #require(transport["detail"] as? String)
        #expect(examples.count == 3)
        let named = try #require(detail.firstRange(of: "(client ").map { detail[$0.upperBound...] }?
            .prefix { $0 != ")" })
        #expect(examples.first == String(named), "\(examples) against \(detail)")
        // The others by address (as the addresses compare: 10.20.0.2 before 10.20.0.10).
        let rest = examples.dropFirst().map { $0.split(separator: ".").compactMap { Int($0) } }
        #expect(rest == rest.sorted { $0.lexicographicallyPrecedes($1) })
    }
}
