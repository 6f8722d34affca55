import Foundation
import Testing
import TestSupport

/// A capture that holds one direction only (one leg of a TAP, asymmetric routing): said once, and what
/// the other direction would show is not judged check-in by check-in (630
/// size warnings and 55 missing steps instead).
@Suite struct OneDirectionCaptureTests {
    /// `path` (a little-endian Ethernet/IPv4 pcap) keeping only the frames whose IPv4 source starts with
    /// `prefix` (10.20: the simulated clients; 10.1: the managers).
    static func oneWay(_ path: String, sourcePrefix prefix: [UInt8], into folder: TemporaryFolder,
                       name: String) throws -> String {
        let pcap = try #require(PcapFileRecords(path: path))
        var file = PcapBuilder(nanoseconds: pcap.nanoseconds)
        for r in pcap.records where r.frame.count >= 34 && Array(r.frame[26..<(26 + prefix.count)]) == prefix {
            file.record(seconds: r.seconds, fraction: r.fraction, data: r.frame)
        }
        let out = folder.path + "/" + name
        try Data(file.data).write(to: URL(fileURLWithPath: out))
        return out
    }

    static func findings(_ run: CLIRun) throws -> [(code: String, message: String)] {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        return (json["findings"] as? [[String: Any]] ?? []).map {
            ($0["code"] as? String ?? "", $0["message"] as? String ?? "")
        }
    }

    @Test func clientsSideOnlyIsNamedOnceAndSizesAreNotJudged() throws {
        let folder = try TemporaryFolder()
        let capture = folder.path + "/fleet.pcap"
        let made = CLIRun(["simulate", "-o", capture, "--clients", "8", "--duration", "1h", "--push-share", "0",
                           "--seed", "3", "-q"])
        #expect(made.status == 0, "\(made.stderr)")
        let both = CLIRun(["analyze", "-q", "-F", "json", "--server", "10.1.0.10", "--server", "10.1.0.11", capture])
        #expect(try Self.findings(both).allSatisfy { !$0.message.contains("one direction") })
        let upOnly = try Self.oneWay(capture, sourcePrefix: [10, 20], into: folder, name: "up.pcap")
        let run = CLIRun(["analyze", "-q", "-F", "json", "--server", "10.1.0.10", "--server", "10.1.0.11", upOnly])
        let found = try Self.findings(run)
        let oneWay = found.filter { $0.code == "capture-gap" && $0.message.contains("one direction") }
        #expect(oneWay.count == 1)
        #expect(oneWay.first?.message.contains("(from clients only)") == true, "\(oneWay)")
        #expect(!found.contains { $0.code == "idle-size-out-of-range" || $0.code == "step-missing" }, "\(found)")
        // The check-ins themselves are still there, one per check-in of the whole capture.
        let count = { (r: CLIRun) -> Int? in
            ((try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any])
                .flatMap { $0["summary"] as? [String: Any] }?["sessions"] as? Int
        }
        #expect(count(run) == count(both))
        // validate's capture-quality says so.
        let validate = CLIRun(["validate", "-q", "--server", "10.1.0.10", "--server", "10.1.0.11", upOnly])
        let quality = validate.stdout.split(separator: "\n").first { $0.contains("capture-quality") }
        #expect(quality?.contains("FAIL") == true, "\(validate.stdout)")
    }

    @Test func serversSideOnlyIsNamedToo() throws {
        let folder = try TemporaryFolder()
        let capture = folder.path + "/fleet.pcap"
        _ = CLIRun(["simulate", "-o", capture, "--clients", "6", "--duration", "1h", "--push-share", "0", "-q"])
        let downOnly = try Self.oneWay(capture, sourcePrefix: [10, 1], into: folder, name: "down.pcap")
        let run = CLIRun(["analyze", "-q", "-F", "json", "--server", "10.1.0.10", "--server", "10.1.0.11", downOnly])
        let oneWay = try Self.findings(run).filter { $0.code == "capture-gap" && $0.message.contains("one direction") }
        #expect(oneWay.count == 1)
        #expect(oneWay.first?.message.contains("(from servers only)") == true, "\(oneWay)")
    }
}
