import Analysis
import Foundation
import Testing

/// A simulated fleet's records written as Zeek would have logged them (`ZeekLogWriter`), in both of Zeek's forms:
/// `analyze --zeek` over the logs finds what analyze over the capture finds, as far as Zeek keeps it (the
/// check-ins, clients, managers and the interval findings).
@Suite struct ZeekRoundTripTests {
    /// What the two reports must share.
    struct Kept: Equatable {
        var checkIns: Int
        var clients: [String]
        var managers: [String]
        var intervalFindings: [String]
        var checkInsPerClient: [String: Int]

        init(_ report: [String: Any]) throws {
            let summary = try #require(report["summary"] as? [String: Any])
            checkIns = try #require(summary["checkIns"] as? Int)
            let clientRows = try #require(report["clients"] as? [[String: Any]])
            clients = clientRows.compactMap { $0["client"] as? String }.sorted()
            checkInsPerClient = Dictionary(uniqueKeysWithValues: clientRows.compactMap { row in
                (row["client"] as? String).map { ($0, row["checkIns"] as? Int ?? -1) }
            })
            managers = try #require(report["managers"] as? [[String: Any]]).compactMap { $0["address"] as? String }
                .sorted()
            let codes: Set<String> = ["missed-heartbeat", "interval-late", "interval-early", "accelerated-heartbeat",
                                      "went-silent", "interval-mismatch", "heartbeat-storm"]
            intervalFindings = try #require(report["findings"] as? [[String: Any]]).compactMap { f in
                guard let code = f["code"] as? String, codes.contains(code) else { return nil }
                return code + " " + (f["client"] as? String ?? "")
            }.sorted()
        }
    }

    static func report(_ arguments: [String]) throws -> (kept: Kept, run: CLIRun, json: [String: Any]) {
        let run = CLIRun(arguments)
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8))
        let json = try #require(object as? [String: Any], "\(arguments): \(run.stderr)")
        return (try Kept(json), run, json)
    }

    /// The second fleet: HTTPS pull clients, a third of their check-ins full (a log upload each), whose
    /// connections' totals are past the upload cap while no upload is (`upload-over-cap` was found on 34 of them).
    @Test(arguments: [
        (ZeekLogWriter.Form.tsv, ["--clients", "12", "--duration", "2h", "--seed", "7", "--fault", "missed",
                                  "--fault", "late", "--fault", "accelerated", "--fault", "silent"]),
        (.json, ["--clients", "12", "--duration", "2h", "--seed", "7", "--fault", "missed", "--fault", "late",
                 "--fault", "accelerated", "--fault", "silent"]),
        (.tsv, ["--clients", "20", "--duration", "2h", "--seed", "11", "--push-share", "0", "--full-share", "0.3",
                "--http-share", "0"]),
    ])
    func logsOfASimulatedFleetGiveTheCaptureFindings(form: ZeekLogWriter.Form, fleet: [String]) throws {
        let folder = try TemporaryFolder()
        let capture = try folder.simulatedCapture("fleet.pcap", fleet)
        var writer = ZeekLogWriter(form: form)
        for c in try CaptureRun(paths: [capture]).connections().connections.sorted(by: {
            ($0.record.end, $0.record.id) < ($1.record.end, $1.record.id)
        }) {
            writer.add(c.record)
        }
        let logs = folder.path + "/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try writer.write(to: logs)

        let fromCapture = try Self.report(["analyze", "-q", "-F", "json", capture])
        let fromLogs = try Self.report(["analyze", "-q", "-F", "json", "--zeek", logs])
        #expect(fromLogs.kept == fromCapture.kept)
        if fleet.contains("--fault") {
            #expect(fromCapture.kept.intervalFindings.count >= 4, "\(fromCapture.kept.intervalFindings)")
        }
        #expect(fromLogs.run.status == fromCapture.run.status)
        // Every finding the same, word for word: none made of what the logs do not keep (the sizes of HTTPS steps,
        // the heads of HTTP messages), none lost.
        let findings = { (report: [String: Any]) in ((report["findings"] as? [[String: Any]]) ?? []).map {
            "\($0["code"] ?? "") \($0["client"] ?? "") \($0["message"] ?? "")"
        }.sorted() }
        #expect(findings(fromLogs.json) == findings(fromCapture.json))
        #expect(fromLogs.run.stderr.isEmpty, "\(fromLogs.run.stderr)")
    }
}
