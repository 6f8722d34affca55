import Foundation
import Testing
import TestSupport

/// A finding raised once per client and manager lands on the check-ins it concerns, in every format.
@Suite struct PairFindingCLITests {
    private func rows(_ files: String...) throws -> [[String: Any]] {
        let run = CLIRun(["analyze", "-q", "-F", "jsonl"] + files)
        return try run.stdout.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    @Test func mergedCapturesMarkEveryOldTLSCheckIn() throws {
        let rows = try rows(heartbeatCapture("https-idle"), heartbeatCapture("old-tls"))
        let marked = rows.filter { ($0["findings"] as? [String])?.contains("tls-below-1.2") == true }
            .compactMap { $0["session"] as? Int }
        #expect(marked == [7, 8, 9, 10, 11])
        let json = CLIRun(["analyze", "-q", "-F", "json", heartbeatCapture("https-idle"), heartbeatCapture("old-tls")])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let entries = (doc["findings"] as? [[String: Any]] ?? []).filter { $0["code"] as? String == "tls-below-1.2" }
        #expect(entries.count == 1)
        #expect(entries.first?["session"] as? Int == 7)
        #expect(entries.first?["sessions"] as? [Int] == marked)
        let csv = CLIRun(["analyze", "-q", "-F", "csv", heartbeatCapture("https-idle"), heartbeatCapture("old-tls")])
        #expect(csv.stdout.split(whereSeparator: \.isNewline).filter { $0.contains("tls-below-1.2") }.count == 5)
    }

    @Test func singleFileMarksEveryCheckIn() throws {
        let rows = try rows(heartbeatCapture("old-tls"))
        #expect(!rows.isEmpty)
        for row in rows {
            #expect((row["findings"] as? [String])?.contains("tls-below-1.2") == true, "\(row)")
        }
    }
}
