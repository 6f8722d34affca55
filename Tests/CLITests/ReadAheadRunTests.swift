import Analysis
import Capture
import Core
import Foundation
import Testing
import TestSupport

@testable import CLI

/// `CaptureRun` reads files a few batches ahead on a thread of its own: the connections and file
/// summaries are those of reading on the calling thread, whatever the batch sizes.
@Suite struct ReadAheadRunTests {
    static func configurations() -> [ReadAheadConfiguration?] {
        var tiny = ReadAheadConfiguration()
        tiny.batchBytes = 2000
        tiny.batchPackets = 5
        tiny.batches = 2
        return [nil, .default, tiny]
    }

    /// Connections (in id order) and file summaries of `paths`, written out for comparison.
    static func outcome(_ paths: [String], readAhead: ReadAheadConfiguration?) throws -> [String] {
        var run = CaptureRun(paths: paths)
        run.readAhead = readAhead
        var progress: [Int] = []
        run.onProgress = { progress.append($0) }
        let result = try run.connections()
        return result.connections.map { String(describing: $0.record) }
            + result.files.map(describe) + ["progress \(progress)"]
    }

    /// A summary written out with its dictionaries in key order (a dictionary's own order varies).
    static func describe(_ summary: CaptureSummary) -> String {
        var rest = summary
        rest.linkTypes = [:]
        rest.unsupportedLinkTypes = [:]
        rest.otherIPProtocols = [:]
        rest.malformed = [:]
        return "\(rest) linkTypes \(summary.linkTypes.sorted { $0.key < $1.key })"
            + " unsupported \(summary.unsupportedLinkTypes.sorted { $0.key < $1.key })"
            + " otherIP \(summary.otherIPProtocols.sorted { $0.key < $1.key })"
            + " malformed \(summary.malformed.sorted { $0.key < $1.key })"
    }

    @Test func fleetSplitOverFilesReadsTheSameWithAndWithoutReadAhead() throws {
        let dir = try TemporaryFolder()
        let made = CLIRun(["simulate", "-q", "-o", dir.path + "/fleet.pcap", "--clients", "80", "--duration", "3h",
                           "--seed", "11", "--split", "2", "--fault", "missed", "--fault", "http-503"])
        #expect(made.status == 0, "simulate: \(made.stderr)")
        let files = [dir.path + "/fleet-1.pcap", dir.path + "/fleet-2.pcap"]
        let outcomes = try Self.configurations().map { try Self.outcome(files, readAhead: $0) }
        #expect(outcomes[0].count > 30)
        #expect(outcomes[0].last?.hasPrefix("progress [65536") == true, "\(outcomes[0].last ?? "")")
        #expect(outcomes[1] == outcomes[0])
        #expect(outcomes[2] == outcomes[0])
    }

    @Test func truncatedAndPcapngCapturesReadTheSameWithAndWithoutReadAhead() throws {
        let dir = try TemporaryFolder()
        let cut = try dir.cutSimulatedCapture(
            "whole.pcap", ["--clients", "10", "--duration", "1h", "--seed", "5"], keep: { $0 - $0 / 3 }).path
        let pcapng = Fixtures.corpus + "/pcapng/le-advanced-test100.pcapng"
        for paths in [[cut], [pcapng], [cut, pcapng]] {
            let outcomes = try Self.configurations().map { try Self.outcome(paths, readAhead: $0) }
            #expect(outcomes[1] == outcomes[0], "\(paths)")
            #expect(outcomes[2] == outcomes[0], "\(paths)")
        }
        let summary = try Self.outcome([cut], readAhead: .default).joined()
        #expect(summary.contains("truncated"))
    }

    /// Through the command, a cut file's warning comes once, and runs agree byte for byte.
    @Test func analyzeOfACutFileWarnsOnceAfterItsWholeRecords() throws {
        let dir = try TemporaryFolder()
        let cut = try dir.cutSimulatedCapture(
            "whole.pcap", ["--clients", "8", "--duration", "1h", "--seed", "3"], keep: { $0 / 2 + 7 }).path
        let first = CLIRun(["analyze", "-F", "json", cut])
        let second = CLIRun(["analyze", "-F", "json", cut])
        #expect(first.stdout == second.stdout)
        #expect(first.stderr == second.stderr)
        #expect(first.stderr.components(separatedBy: "file truncated mid-record").count == 2, "\(first.stderr)")
    }
}
