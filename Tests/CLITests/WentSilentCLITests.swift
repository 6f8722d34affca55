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

    /// Push clients (heartbeat 300 s) among pull clients every 10 s, in 400 s: a push connection opened less than
    /// `push.minOpenSeconds` before the end carries pull check-ins, but it is still open, so its client waits for
    /// its next push heartbeat and is judged by that, not by the 10 s pull interval: no client went silent.
    @Test func aPushClientOnItsOpenConnectionHasNotGoneSilent() throws {
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture("push.pcap", [
            "--clients", "20", "--push-share", "0.5", "--http-share", "0", "--interval", "10", "--duration", "400",
            "--seed", "1",
        ])
        let options = ["-q", "--interval", "10", "--server", "10.1.0.10", "--server", "10.1.0.11"]
        let truth = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: capture + ".truth.json"))) as? [String: Any])
        let clients = try #require(truth["clients"] as? [[String: Any]])
        let push = Set(clients.filter { $0["mode"] as? String == "push" }.compactMap { $0["address"] as? String })
        let report = try #require(try JSONSerialization.jsonObject(
            with: Data(CLIRun(["analyze", "-F", "json"] + options + [capture]).stdout.utf8)) as? [String: Any])
        let sessions = try #require(report["sessions"] as? [[String: Any]])
        // Some push client's check-ins are classed pull (what made it look silent at 10 s).
        #expect(sessions.contains { s in
            s["mode"] as? String == "pull" && (s["client"] as? String).map(push.contains) == true
        })
        #expect(!CLIRun(["analyze"] + options + [capture]).stdout.contains("went-silent"))
        #expect(!CLIRun(["audit"] + options + [capture]).stdout.contains("Gone silent"))
    }

    /// `audit`'s rows (JSON Lines and CSV, `--per client`) end with `judgedAgainstSeconds` (the interval a client on
    /// another one was judged against, else null or an empty cell) and `wentSilent`, as its JSON and text say them.
    @Test func auditRowsSayWhoWentSilentAndTheIntervalJudged() throws {
        let dir = try TemporaryFolder()
        let silent = try dir.simulatedCapture("silent.pcap", [
            "--clients", "6", "--interval", "20", "--duration", "10m", "--fault", "silent=2", "--seed", "4",
        ])
        let lines = sepbeat("audit", "-q", "-F", "jsonl", "--interval", "20", silent).stdout.split(separator: "\n")
        let rows = try lines.map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(rows.count == 6)
        #expect(rows.count { $0["wentSilent"] as? Bool == true } == 2)
        #expect(rows.allSatisfy { $0["judgedAgainstSeconds"] is NSNull })
        let csv = sepbeat("audit", "-q", "-F", "csv", "--interval", "20", silent).stdout
        let header = try #require(csv.split(separator: "\r\n").first)
        #expect(header.hasSuffix(",reasons,judgedAgainstSeconds,wentSilent"))
        #expect(csv.components(separatedBy: ",true\r\n").count - 1 == 2)
        // The JSON's clients say it too, beside the fleet's count.
        let json = sepbeat("audit", "-q", "-F", "json", "--interval", "20", silent).stdout
        let audit = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let clients = try #require(audit["clients"] as? [[String: Any]])
        #expect(clients.count { $0["wentSilent"] as? Bool == true } == 2)
        #expect(clients.count { $0["wentSilent"] as? Bool == false } == 4)

        // A fleet on 600 s judged against the model's 300 s: each client's gaps are judged against its own median.
        let slow = try dir.simulatedCapture("slow.pcap", [
            "--clients", "3", "--interval", "600", "--duration", "50m", "--http-share", "0", "--push-share", "0",
        ])
        let servers = ["--server", "10.1.0.10", "--server", "10.1.0.11"]
        let slowRows = try CLIRun(["audit", "-q", "-F", "jsonl"] + servers + [slow]).stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(!slowRows.isEmpty)
        for row in slowRows {
            let judged = try #require(row["judgedAgainstSeconds"] as? Double)
            #expect(abs(judged - 600) < 10)
            #expect(row["wentSilent"] as? Bool == false)
        }
    }
}
