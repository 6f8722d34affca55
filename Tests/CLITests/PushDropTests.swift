import Capture
import Core
import Foundation
import Testing
import TestSupport

/// `Captures/heartbeat/push-mode.pcap` (one push connection, 13 check-ins) with ONE packet lost: the
/// client's Finished record, a burst's request or answer, segments of the upload burst, for every packet
/// but the SYN-ACK (packet 1: a connect judged unanswered, another matter). The TLS side that lost bytes
/// must find its records again, answers held behind a hole must not join another burst, so no check-in is
/// lost and no interval is judged missed.
@Suite struct PushDropTests {
    static let all: [MidstreamCutTests.Packet] = (try? MidstreamCutTests.packets(heartbeatCapture("push-mode"))) ?? []

    @Test func theCaptureIsThere() {
        #expect(Self.all.count == 307)
    }

    /// Size and step findings the clean capture does not have.
    static let sizeAndStepCodes = ["idle-size-out-of-range", "upload-over-cap", "heartbeat-oversize", "step-missing"]

    /// Packet 175: the server's 207-byte answer to the first log upload, acknowledged by the client's next
    /// upload segment. The capture's ACK may run ahead of data on a mirror port, so unseen bytes it covers
    /// with nothing after them wait for the hole timeout; the next upload, sent meanwhile, joins the first.
    static let lostAnswerBetweenUploads = 175

    @Test(arguments: 2..<307)
    func oneLostPacketLosesNoCheckIn(_ dropped: Int) throws {
        let all = Self.all
        try #require(dropped < all.count)
        let (checkIns, interval, others) = try Self.judge(all.indices.filter { $0 != dropped }.map { all[$0] })
        #expect(checkIns == 13, "packet \(dropped)")
        #expect(interval.isEmpty, "packet \(dropped): \(interval)")
        // The bytes after a segment the receiver acknowledged are delivered at once, not with the next burst.
        let sizes = others.filter(Self.sizeAndStepCodes.contains)
        #expect(sizes == (dropped == Self.lostAnswerBetweenUploads ? ["upload-over-cap"] : []), "packet \(dropped)")
    }

    /// A capture that begins at burst `n`'s request and lost the next packet (the answer's first segment,
    /// with its record header): the server side begins inside a record and must scan for the next header,
    /// not make the connection "other" (it kept all its check-ins but the `n` before the cut).
    @Test(arguments: 1...4)
    func aCaptureJoiningAtARequestThatLostTheAnswersFirstSegment(_ n: Int) throws {
        let all = Self.all
        let starts = MidstreamCutTests.burstStarts(all)
        try #require(starts.count == 13)
        let s = starts[n]
        let (checkIns, interval, _) = try Self.judge([all[s]] + Array(all[(s + 2)...]))
        #expect(checkIns == 13 - n, "burst \(n)")
        #expect(interval.isEmpty, "burst \(n): \(interval)")
    }

    /// Check-ins (not failed), their interval findings and their other findings, of `analyze` on the packets.
    static func judge(_ kept: [MidstreamCutTests.Packet]) throws -> (Int, [String], [String]) {
        let dir = try TemporaryFolder()
        let path = dir.path + "/drop.pcap"
        let writer = try PcapFileWriter(path: path, linkType: try #require(kept.first).linkType)
        for p in kept { try writer.append(timestamp: p.time, bytes: p.bytes) }
        try writer.close()
        let analyzed = sepbeat("analyze", "-q", "-F", "jsonl", path)
        try #require(analyzed.status == 0 || analyzed.status == 1, "analyze: \(analyzed.stderr)")
        var checkIns = 0
        var interval: [String] = []
        var others: [String] = []
        for line in analyzed.stdout.split(separator: "\n") {
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
            guard object["type"] as? String == "check-in", object["failed"] as? Bool == false else { continue }
            checkIns += 1
            let codes = object["findings"] as? [String] ?? []
            interval += codes.filter(MidstreamCutTests.intervalCodes.contains)
            others += codes.filter { !MidstreamCutTests.intervalCodes.contains($0) }
        }
        return (checkIns, interval, others)
    }
}
