import Foundation
import Testing
import TestSupport

/// `validate`'s client count of a check in every format: where the text shows `-` (`check-ins-seen`, judged on the
/// capture, and a check failed with no client failing), JSON and JSON Lines give `null` and CSV an empty cell;
/// elsewhere all give the same number.
@Suite struct ValidateFailingClientsTests {
    @Test func everyFormatGivesNoCountWhereTheTextShowsADash() throws {
        let path = heartbeatCapture("old-tls")
        let text = CLIRun(["validate", "-q", path]).stdout
        let seenRow = try #require(text.split(separator: "\n").first { $0.contains(" check-ins-seen ") })
        #expect(seenRow.contains(" check-ins-seen                  -  -  "))
        #expect(text.contains(" tls-version                     1  192.0.2.21  "))

        let json = try #require(try JSONSerialization.jsonObject(
            with: Data(CLIRun(["validate", "-q", "-F", "json", path]).stdout.utf8)) as? [String: Any])
        let checks = try #require(json["checks"] as? [[String: Any]])
        let seen = try #require(checks.first { $0["id"] as? String == "check-ins-seen" })
        #expect(seen["failingClients"] is NSNull)
        let tls = try #require(checks.first { $0["id"] as? String == "tls-version" })
        #expect(tls["failingClients"] as? Int == 1)
        // A check that passed with clients judged counts none failing.
        let transport = try #require(checks.first { $0["id"] as? String == "transport" })
        #expect(transport["failingClients"] as? Int == 0)

        let lines = CLIRun(["validate", "-q", "-F", "jsonl", path]).stdout.split(separator: "\n")
        let rows = try lines.map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(rows.first { $0["check"] as? String == "check-ins-seen" }?["failingClients"] is NSNull)
        #expect(rows.first { $0["check"] as? String == "tls-version" }?["failingClients"] as? Int == 1)

        let csv = CLIRun(["validate", "-q", "-F", "csv", path]).stdout
        #expect(csv.contains("\r\ncheck,check-ins-seen,the capture holds check-ins to a manager,error,pass,,,"))
        #expect(csv.contains(",error,fail,1,192.0.2.21,"))
    }
}
