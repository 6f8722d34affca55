import Foundation
import Testing
import TestSupport

/// A simulated push fleet split in two files with a stretch between them left out: the keep-alives after the
/// stretch acknowledge the bursts it held, whose bytes were never captured. They make no check-in, so no push
/// client reads as early (or late) across the stretch.
@Suite struct PushCaptureGapCLITests {
    /// `path` split in two files: the records before `from` seconds after the first one, and those from `to` on.
    static func split(_ path: String, into first: String, _ second: String, from: Int64, to: Int64) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var before = Array(bytes.prefix(24))
        var after = before
        let records = try ClockSetBackCLITests.records(bytes)
        let start = records.first?.seconds ?? 0
        for (seconds, range) in records {
            if seconds - start < from { before += bytes[range] } else if seconds - start >= to { after += bytes[range] }
        }
        try Data(before).write(to: URL(fileURLWithPath: first))
        try Data(after).write(to: URL(fileURLWithPath: second))
    }

    static let intervalCodes = ["missed-heartbeat", "interval-early", "interval-late", "accelerated-heartbeat"]

    @Test func aFileLeftOutMakesNoPushClientEarly() throws {
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture("push.pcap", [
            "--clients", "20", "--duration", "60m", "--http-share", "0", "--push-share", "1",
        ])
        // Ten minutes left out (a rotated file missing), then 100 s (shorter than the interval: quiet time).
        for (from, to, silence) in [(1500, 2100, true), (1500, 1600, false)] as [(Int64, Int64, Bool)] {
            let a = dir.path + "/a.pcap"
            let b = dir.path + "/b.pcap"
            try Self.split(capture, into: a, b, from: from, to: to)
            let analyze = sepbeat("analyze", "-q", a, b).stdout
            #expect(!Self.intervalCodes.contains { analyze.contains($0) }, "cut \(from)-\(to)")
            #expect(analyze.contains(" push bursts of lost bytes alone (nothing captured, sent at an unknown time: "
                + "no check-in)"), "cut \(from)-\(to)")
            #expect(analyze.contains("the capture does not cover this time (between capture files)") == silence)
            let audit = sepbeat("audit", "-q", a, b).stdout
            #expect(audit.contains("20 healthy (100%)"), "cut \(from)-\(to)")
            #expect(audit.contains(", 0 missed"), "cut \(from)-\(to)")
        }
    }
}
