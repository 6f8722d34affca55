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

    @Test(arguments: 2..<307)
    func oneLostPacketLosesNoCheckIn(_ dropped: Int) throws {
        let all = Self.all
        try #require(dropped < all.count)
        let (checkIns, interval, others) = try Self.judge(all.indices.filter { $0 != dropped }.map { all[$0] })
        #expect(checkIns == 13, "packet \(dropped)")
        #expect(interval.isEmpty, "packet \(dropped): \(interval)")
        // The bytes after a segment the receiver acknowledged are delivered at once, not with the next burst.
        // A lost answer with nothing of the server after it (packet 175: the 207-byte answer to the first log
        // upload) waits for the hole timeout, as the capture's ACK may run ahead of data on a mirror port; the
        // next upload, sent after the client acknowledged it, still starts an exchange of its own (it joined the
        // first, `upload-over-cap`, before acknowledgements placed answers).
        let sizes = others.filter(Self.sizeAndStepCodes.contains)
        #expect(sizes.isEmpty, "packet \(dropped): \(sizes)")
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
        try MidstreamCutTests.write(kept, to: path)
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

/// `push-mode.pcap` with ONE client segment shown late: right after the server's ACK that covers the client
/// segment following it (a mirror port's reordering, or a spurious retransmission of a segment the capture
/// lost). The covering ACK arms the hole but the late bytes fill it: the check-ins are those of the clean
/// capture, byte for byte, with no gap.
@Suite struct LateSegmentTests {
    /// Client IPv4 address of push-mode.pcap (192.0.2.22).
    static let client: [UInt8] = [192, 0, 2, 22]

    /// One TCP segment's fields read from an Ethernet + IPv4 frame (nil for anything else).
    struct Fields {
        var fromClient: Bool
        var sequence: UInt32
        var acknowledgement: UInt32
        var payload: Int
    }

    static func fields(_ b: [UInt8]) -> Fields? {
        guard b.count >= 54, b[12] == 8, b[13] == 0, b[23] == 6 else { return nil }
        let ip = Int(b[14] & 0x0f) * 4
        let total = Int(b[16]) << 8 | Int(b[17])
        let tcp = 14 + ip
        guard b.count >= tcp + 20 else { return nil }
        func u32(_ at: Int) -> UInt32 { b[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) } }
        let header = Int(b[tcp + 12] >> 4) * 4
        return Fields(fromClient: Array(b[26..<30]) == client, sequence: u32(tcp + 4),
                      acknowledgement: u32(tcp + 8), payload: total - ip - header)
    }

    /// Each way to show one client data segment late: its index, and the index of the server packet it
    /// goes after (the first whose ACK covers the client data segment right after it).
    static func moves(_ all: [MidstreamCutTests.Packet]) -> [(Int, Int)] {
        let f = all.map { fields($0.bytes) }
        var out: [(Int, Int)] = []
        for i in all.indices.dropLast() {
            guard let a = f[i], a.fromClient, a.payload > 0, let b = f[i + 1], b.fromClient, b.payload > 0,
                  b.sequence == a.sequence &+ UInt32(a.payload) else { continue }
            let end = b.sequence &+ UInt32(b.payload)
            let ack = (i + 2..<all.count).first { j in
                guard let s = f[j], !s.fromClient else { return false }
                return Int32(bitPattern: s.acknowledgement &- end) >= 0
            }
            if let ack { out.append((i, ack)) }
        }
        return out
    }

    /// The check-ins' sizes, steps and findings (not their times: a moved first segment starts it later).
    static func checkIns(_ packets: [MidstreamCutTests.Packet]) throws -> [String] {
        let dir = try TemporaryFolder()
        let path = dir.path + "/late.pcap"
        try MidstreamCutTests.write(packets, to: path)
        let analyzed = sepbeat("analyze", "-q", "-F", "jsonl", path)
        try #require(analyzed.status == 0 || analyzed.status == 1, "analyze: \(analyzed.stderr)")
        return try analyzed.stdout.split(separator: "\n").compactMap { line in
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard o["type"] as? String == "check-in" else { return nil }
            return ["bytesUp", "bytesDown", "failed", "steps", "findings"].map { "\(o[$0] ?? "-")" }
                .joined(separator: " ")
        }
    }

    @Test func aClientSegmentShownAfterTheAckCoveringTheNextOneLosesNothing() throws {
        let all = PushDropTests.all
        let clean = try Self.checkIns(all)
        #expect(clean.count == 13)
        let moves = Self.moves(all)
        #expect(moves.count >= 20)
        for (late, after) in moves {
            var kept = all
            let moved = kept.remove(at: late)
            var shown = moved
            shown.time = all[after].time.adding(nanoseconds: 1_000)
            kept.insert(shown, at: after)  // `after` moved down by one: insert right after it
            #expect(try Self.checkIns(kept) == clean, "packet \(late) after \(after)")
        }
    }
}

/// `push-mode.pcap` with the server's last packet acknowledging 500,000 bytes past anything the client sent
///: no lost tail is that long, so it is an odd acknowledgement, not a gap.
@Suite struct FarAcknowledgementTests {
    @Test func anAcknowledgementFarPastTheClientsBytesIsOddNotAGap() throws {
        var all = PushDropTests.all
        let f = all.map { LateSegmentTests.fields($0.bytes) }
        let last = try #require(all.indices.last { f[$0].map { !$0.fromClient } ?? false })
        let fields = try #require(f[last])
        let ack = fields.acknowledgement &+ 500_000
        let at = 14 + Int(all[last].bytes[14] & 0x0f) * 4 + 8
        for k in 0..<4 { all[last].bytes[at + k] = UInt8(truncatingIfNeeded: ack >> (24 - 8 * UInt32(k))) }
        let dir = try TemporaryFolder()
        let path = dir.path + "/far.pcap"
        try MidstreamCutTests.write(all, to: path)
        let text = sepbeat("analyze", path)
        #expect(text.stdout.contains("acknowledgements far past the bytes captured (not counted as a gap) 1"))
        #expect(!text.stdout.contains("capture-gap"))
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(sepbeat("analyze", "-q", "-F", "json", path).stdout.utf8))
                as? [String: Any])
        let captures = try #require(report["captures"] as? [[String: Any]])
        #expect(captures.first?["farAcknowledgements"] as? Int == 1)
        let clean = try #require(
            try JSONSerialization.jsonObject(with: Data(sepbeat("analyze", "-q", "-F", "json",
                heartbeatCapture("push-mode")).stdout.utf8)) as? [String: Any])
        #expect((clean["captures"] as? [[String: Any]])?.first?["farAcknowledgements"] == nil)
    }
}

/// `push-mode.pcap` with each of the client's bare ACKs after its first data sent
/// again as a keep-alive probe (sequence one below): counted on the packets line, the check-ins unchanged.
@Suite struct KeepAliveCaptureTests {
    @Test func keepAliveProbesAreCountedAndChangeNoCheckIn() throws {
        let all = PushDropTests.all
        let f = all.map { LateSegmentTests.fields($0.bytes) }
        var kept: [MidstreamCutTests.Packet] = []
        var probes = 0
        var sentData = false
        for (i, p) in all.enumerated() {
            kept.append(p)
            guard let x = f[i], x.fromClient else { continue }
            if x.payload > 0 { sentData = true; continue }
            guard sentData, probes < 5, i + 1 < all.count else { continue }
            var probe = p
            let seq = x.sequence &- 1
            let at = 14 + Int(p.bytes[14] & 0x0f) * 4 + 4
            for k in 0..<4 { probe.bytes[at + k] = UInt8(truncatingIfNeeded: seq >> (24 - 8 * UInt32(k))) }
            probe.bytes[14 + Int(p.bytes[14] & 0x0f) * 4 + 16] ^= 0x55  // another checksum: not a duplicate
            probe.time = p.time.adding(nanoseconds: 1_000)
            kept.append(probe)
            probes += 1
        }
        #expect(probes == 5)
        let clean = try LateSegmentTests.checkIns(all)
        #expect(try LateSegmentTests.checkIns(kept) == clean)
        let dir = try TemporaryFolder()
        let path = dir.path + "/keepalive.pcap"
        try MidstreamCutTests.write(kept, to: path)
        #expect(sepbeat("analyze", path).stdout.contains("TCP keep-alive probes 5"))
        let flows = sepbeat("flows", "-q", "-F", "json", path).stdout
        #expect(flows.contains("\"keepAliveProbes\" : 5"))
        #expect(!flows.contains("\"conflicts\" : 1"))
    }
}
