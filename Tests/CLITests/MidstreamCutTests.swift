import Capture
import Core
import Foundation
import Heartbeat
import Testing
import TestSupport

/// Captures that start partway through a check-in: `Captures/heartbeat/push-mode.pcap` (one long-lived
/// push connection) and `https-idle.pcap` (pull) with their first `k` packets dropped, for every `k` up to
/// the third check-in's first packet. A check-in the capture joined midway must not set a false start
/// (a bare ACK, a burst's tail), must not swallow the next burst, and no gap may be judged missed, late,
/// early or accelerated.
@Suite struct MidstreamCutTests {
    /// One packet of a capture, copied out of the reader.
    struct Packet {
        var time: Timestamp
        var linkType: LinkType
        var bytes: [UInt8]
    }

    /// Writes `packets` (at least one; the first's link type for all) as a classic pcap file at `path`.
    static func write<C: Collection>(_ packets: C, to path: String) throws where C.Element == Packet {
        let writer = try PcapFileWriter(path: path, linkType: try #require(packets.first).linkType)
        for p in packets { try writer.append(timestamp: p.time, bytes: p.bytes) }
        try writer.close()
    }

    /// What `analyze` and `validate` say of one cut.
    struct Verdict {
        var checkIns: Int
        /// Interval finding codes raised on any check-in.
        var intervalFindings: [String]
        /// Start of each check-in, in nanoseconds of the day (the captures span less than a day).
        var starts: [Int64]
        var intervalCheckPassed: Bool
        /// Size and step-missing finding codes raised on any check-in.
        var sizeAndStepFindings: [String] = []
    }

    /// Findings a check-in the capture joined midway must not get for what passed before the capture.
    static let sizeAndStepCodes = ["idle-size-out-of-range", "upload-over-cap", "heartbeat-oversize", "step-missing"]

    static let intervalCodes = [
        "missed-heartbeat", "interval-late", "interval-early", "accelerated-heartbeat", "interval-mismatch",
    ]

    static func packets(_ path: String) throws -> [Packet] {
        let source = try CaptureReader.open(path: path)
        var out: [Packet] = []
        while let p = try source.next() {
            out.append(Packet(time: p.timestamp, linkType: p.linkType, bytes: Array(p.bytes)))
        }
        return out
    }

    /// Index of the first packet of each burst: packets more than `push.burstGapSeconds` after the one
    /// before start a new one (a pull check-in's packets are as close together).
    static func burstStarts(_ packets: [Packet]) -> [Int] {
        let gap = ReferenceModel.builtIn.push.burstGapSeconds
        return packets.indices.filter { i in i == 0 || packets[i].time.seconds(since: packets[i - 1].time) > gap }
    }

    /// Writes `packets` without the first `k` into the folder and judges the file.
    static func judge(
        _ packets: [Packet], droppingFirst k: Int, in dir: TemporaryFolder, validate: Bool = true
    ) throws -> Verdict {
        let path = dir.path + "/cut\(k).pcap"
        let kept = packets[k...]
        try write(kept, to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }

        let analyzed = sepbeat("analyze", "-q", "-F", "jsonl", path)
        try #require(analyzed.status == 0 || analyzed.status == 1, "analyze: \(analyzed.stderr)")
        var verdict = Verdict(checkIns: 0, intervalFindings: [], starts: [], intervalCheckPassed: false)
        for line in analyzed.stdout.split(separator: "\n") {
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
            guard object["type"] as? String == "check-in", object["failed"] as? Bool == false else { continue }
            verdict.checkIns += 1
            let codes = object["findings"] as? [String] ?? []
            verdict.intervalFindings += codes.filter(intervalCodes.contains)
            verdict.sizeAndStepFindings += codes.filter(sizeAndStepCodes.contains)
            verdict.starts.append(try #require(nanosecondsOfDay(object["start"] as? String ?? "")))
        }
        guard validate else { return verdict }
        let validated = sepbeat("validate", "-q", "-F", "jsonl", path)
        verdict.intervalCheckPassed = validated.stdout.split(separator: "\n").contains { line in
            line.contains("\"check\":\"interval\"") && line.contains("\"result\":\"pass\"")
        }
        return verdict
    }

    /// `2025-03-06T08:05:29.371093000Z` -> nanoseconds since midnight; nil when not of that form.
    static func nanosecondsOfDay(_ text: String) -> Int64? {
        guard let t = text.firstIndex(of: "T") else { return nil }
        let clock = text[text.index(after: t)...].dropLast()  // hh:mm:ss.fffffffff
        let parts = clock.split(separator: ":")
        guard parts.count == 3, let h = Int64(parts[0]), let m = Int64(parts[1]) else { return nil }
        let second = parts[2].split(separator: ".")
        guard let s = second.first.flatMap({ Int64($0) }) else { return nil }
        let digits = second.count > 1 ? String(second[1]) : ""
        let fraction = Int64((digits + String(repeating: "0", count: max(0, 9 - digits.count))).prefix(9)) ?? 0
        return ((h * 60 + m) * 60 + s) * 1_000_000_000 + fraction
    }

    /// Every cut from packet 1 to the third check-in's first packet of the capture `name`.
    func checkEveryCut(_ name: String, interval: Double) throws {
        let all = try Self.packets(heartbeatCapture(name))
        let starts = Self.burstStarts(all)
        try #require(starts.count >= 4, "\(name): fewer bursts than expected")
        let dir = try TemporaryFolder()
        // A cut at a check-in's first packet loses exactly the check-ins before it.
        var whole: [Int: Int] = [:]
        for (n, s) in starts.prefix(3).enumerated() {
            let v = try Self.judge(all, droppingFirst: s, in: dir)
            whole[s] = v.checkIns
            if n > 0, let uncut = whole[0] { #expect(v.checkIns == uncut - n, "\(name) cut at burst \(n)") }
        }
        let tolerance = Int64(ReferenceModel.builtIn.interval.toleranceSeconds * 1e9)
        let expected = Int64(interval * 1e9)
        for k in 1...starts[2] {
            let v = try Self.judge(all, droppingFirst: k, in: dir)
            // The check-in the cut fell into, whole: the capture cut at its first packet.
            let begun = starts.last { $0 <= k } ?? 0
            let reference = whole[begun] ?? 0
            #expect(v.intervalFindings.isEmpty, "\(name) without its first \(k) packets: \(v.intervalFindings)")
            #expect(v.sizeAndStepFindings.isEmpty, "\(name) without its first \(k) packets: \(v.sizeAndStepFindings)")
            #expect(v.checkIns == reference || v.checkIns == reference - 1,
                    "\(name) without its first \(k) packets: \(v.checkIns) check-ins, \(reference) from its check-in")
            #expect(v.intervalCheckPassed, "\(name) without its first \(k) packets: validate's interval check")
            // The first check-in starts at its own traffic, one interval before the next (not at a lone ACK
            // or the tail of a burst 300 s earlier).
            if v.starts.count >= 2 {
                let gap = v.starts[1] - v.starts[0]
                #expect(abs(gap - expected) <= tolerance, "\(name) without its first \(k) packets: first gap \(gap) ns")
            }
        }
    }

    @Test func pushConnectionPickedUpAtEveryPacketOfItsFirstTwoBursts() throws {
        try checkEveryCut("push-mode", interval: ReferenceModel.builtIn.push.heartbeatSeconds)
    }

    /// The 08:30 burst of push-mode.pcap (index check, policy download, log uploads) cut at each of its
    /// packets: the joined check-in is not judged on the index check that passed before the capture, nor
    /// too small, and the bursts after it are whole.
    @Test func pushConnectionPickedUpInsideItsUploadBurst() throws {
        let all = try Self.packets(heartbeatCapture("push-mode"))
        let starts = Self.burstStarts(all)
        try #require(starts.count == 13)
        let dir = try TemporaryFolder()
        for k in (starts[6] + 1)..<starts[7] {
            let v = try Self.judge(all, droppingFirst: k, in: dir, validate: false)
            #expect(v.sizeAndStepFindings.isEmpty, "push-mode without its first \(k) packets: \(v.sizeAndStepFindings)")
            #expect(v.intervalFindings.isEmpty, "push-mode without its first \(k) packets: \(v.intervalFindings)")
            #expect(v.checkIns == 7 || v.checkIns == 6, "push-mode without its first \(k) packets: \(v.checkIns)")
        }
    }

    @Test func pullCheckInCutAtEveryPacketOfTheFirstTwo() throws {
        try checkEveryCut("https-idle", interval: ReferenceModel.builtIn.interval.seconds)
    }
}
