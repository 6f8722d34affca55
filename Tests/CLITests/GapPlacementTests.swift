import Capture
import Core
import Foundation
import Testing
import TestSupport

/// One packet lost from a capture, at every position: the bytes it carried are missing from the check-in
/// it was sent in, and from no other, and the `capture-gap` finding goes on that check-in. A push
/// connection's later burst that lost a segment must not hand its bytes (or the gap) to the connection's
/// first check-in, and a TLS record a gap cut counts its captured bytes in its own exchange, not as a
/// larger handshake.
@Suite struct GapPlacementTests {
    /// One check-in of `analyze -F json`.
    struct CheckIn: Equatable {
        var client: String
        var start: Int64
        var end: Int64
        var bytesUp: Int64
        var bytesDown: Int64
        var captureGap: Bool
        /// Step number, bytes up, bytes down.
        var steps: [[Int64]]
    }

    static let push: [MidstreamCutTests.Packet] =
        (try? MidstreamCutTests.packets(heartbeatCapture("push-mode"))) ?? []
    static let pull: [MidstreamCutTests.Packet] =
        (try? MidstreamCutTests.packets(heartbeatCapture("https-idle"))) ?? []
    static let pushClean: [CheckIn] = (try? checkIns(push)) ?? []
    static let pullClean: [CheckIn] = (try? checkIns(pull)) ?? []

    @Test func theCapturesAreThere() {
        #expect(Self.push.count == 307)
        #expect(Self.pull.count == 101)
        #expect(Self.pushClean.count == 13)
        #expect(Self.pullClean.count > 1)
        #expect(Self.pushClean.allSatisfy { !$0.captureGap } && Self.pullClean.allSatisfy { !$0.captureGap })
    }

    /// Every packet of the push connection but the SYN-ACK (a connect judged unanswered, another matter).
    @Test(arguments: 2..<307)
    func aPushBurstThatLostAPacketCarriesTheLoss(_ dropped: Int) throws {
        let got = try Self.expectLossPlaced(Self.push, clean: Self.pushClean, dropped: dropped)
        // The connection's first check-in keeps its handshake bytes (step 2) unless the loss was its own.
        let lostIn = try Self.lossCheckIn(Self.push, Self.pushClean, dropped)
        if lostIn != 0 {
            #expect(got.first?.steps == Self.pushClean.first?.steps, "packet \(dropped)")
        }
    }

    /// Packet 57 of the push capture: a burst's second request lost whole. The server's answer, acknowledging it,
    /// joins the burst's first exchange (placing it by the server's acknowledgement is not done).
    static let pushLostRequest = 57

    /// Every packet of the push connection: each burst keeps its steps 3-6, and only the step that lost the
    /// bytes changes size. A lost answer that nothing of the server followed (packets 55, 81, 175: a gap only
    /// after the next request) is placed by the client's acknowledgement, which the request carried.
    @Test(arguments: 2..<307)
    func aPushBurstThatLostAPacketKeepsItsSteps(_ dropped: Int) throws {
        try #require(dropped < Self.push.count)
        guard dropped != Self.pushLostRequest else { return }
        let got = try Self.checkIns(Self.push.indices.filter { $0 != dropped }.map { Self.push[$0] })
        try #require(got.count == Self.pushClean.count)
        for (i, (clean, drop)) in zip(Self.pushClean, got).enumerated() {
            let was = clean.steps.filter { (3...6).contains($0[0]) }
            let now = drop.steps.filter { (3...6).contains($0[0]) }
            #expect(was.map { $0[0] } == now.map { $0[0] }, "packet \(dropped), check-in \(i)")
            #expect(zip(was, now).count { $0 != $1 } <= 1, "packet \(dropped), check-in \(i)")
        }
    }

    /// Every packet of the pull capture: also each step keeps its size but the one that lost the bytes.
    @Test(arguments: 0..<101)
    func aPullCheckInThatLostAPacketCarriesTheLossInTheRightStep(_ dropped: Int) throws {
        let got = try Self.expectLossPlaced(Self.pull, clean: Self.pullClean, dropped: dropped)
        let lost = try Self.payloadLength(Self.pull[dropped])
        let lostIn = try Self.lossCheckIn(Self.pull, Self.pullClean, dropped)
        for (i, (clean, drop)) in zip(Self.pullClean, got).enumerated() {
            // Steps 1, 2 and 7 come and go with the SYN and FIN packets; the sizes of those in both must hold.
            let before = Dictionary(uniqueKeysWithValues: clean.steps.map { ($0[0], $0) })
            var changed: Int64 = 0
            var changedSteps = 0
            for step in drop.steps {
                guard let was = before[step[0]] else { continue }
                if step != was {
                    changedSteps += 1
                    changed += (was[1] - step[1]) + (was[2] - step[2])
                }
            }
            #expect(clean.steps.map { $0[0] }.filter { (3...6).contains($0) }
                    == drop.steps.map { $0[0] }.filter { (3...6).contains($0) }, "packet \(dropped), check-in \(i)")
            let expected = i == lostIn && lost > 0 ? (1, lost) : (0, 0)
            #expect(changedSteps == expected.0 && changed == expected.1, "packet \(dropped), check-in \(i)")
        }
    }

    // MARK: - Helpers

    /// Analyzes the packets but `dropped`, checks each check-in's sizes and `capture-gap` against the clean
    /// capture's and returns the check-ins.
    static func expectLossPlaced(
        _ packets: [MidstreamCutTests.Packet], clean: [CheckIn], dropped: Int
    ) throws -> [CheckIn] {
        try #require(dropped < packets.count && !clean.isEmpty)
        let got = try checkIns(packets.indices.filter { $0 != dropped }.map { packets[$0] })
        try #require(got.count == clean.count, "packet \(dropped): \(got.count) check-ins")
        let lost = try payloadLength(packets[dropped])
        let lostIn = try lossCheckIn(packets, clean, dropped)
        let sender = try source(packets[dropped])
        for (i, (was, now)) in zip(clean, got).enumerated() {
            var expected = was
            if i == lostIn && lost > 0 {
                if was.client == sender { expected.bytesUp -= lost } else { expected.bytesDown -= lost }
                expected.captureGap = true
            }
            #expect(now.bytesUp == expected.bytesUp && now.bytesDown == expected.bytesDown,
                    "packet \(dropped), check-in \(i): \(now.bytesUp)/\(now.bytesDown)")
            #expect(now.captureGap == expected.captureGap, "packet \(dropped), check-in \(i): capture-gap")
        }
        return got
    }

    /// The clean check-in whose time span holds the packet, of its client (-1 for none).
    static func lossCheckIn(_ packets: [MidstreamCutTests.Packet], _ clean: [CheckIn], _ dropped: Int) throws -> Int {
        let t = packets[dropped].time.nanoseconds % 86_400_000_000_000
        let ends = [try source(packets[dropped]), try destination(packets[dropped])]
        return clean.firstIndex { ends.contains($0.client) && $0.start <= t && t <= $0.end } ?? -1
    }

    static func ipv4Header(_ p: MidstreamCutTests.Packet) throws -> ArraySlice<UInt8> {
        try #require(p.linkType == .ethernet && p.bytes.count >= 34 && p.bytes[12] == 8 && p.bytes[13] == 0)
        return p.bytes[14...]
    }

    static func source(_ p: MidstreamCutTests.Packet) throws -> String {
        let ip = try ipv4Header(p)
        return ip[(ip.startIndex + 12)..<(ip.startIndex + 16)].map(String.init).joined(separator: ".")
    }

    static func destination(_ p: MidstreamCutTests.Packet) throws -> String {
        let ip = try ipv4Header(p)
        return ip[(ip.startIndex + 16)..<(ip.startIndex + 20)].map(String.init).joined(separator: ".")
    }

    /// TCP payload bytes (IPv4 total length less the IP and TCP headers).
    static func payloadLength(_ p: MidstreamCutTests.Packet) throws -> Int64 {
        let ip = try ipv4Header(p)
        let s = ip.startIndex
        let ihl = Int(ip[s] & 0x0f) * 4
        let total = Int(ip[s + 2]) << 8 | Int(ip[s + 3])
        try #require(ip.count >= ihl + 13)
        let tcpHeader = Int(ip[s + ihl + 12] >> 4) * 4
        return Int64(total - ihl - tcpHeader)
    }

    /// The check-ins (not failed) of `analyze -F json` on the packets.
    static func checkIns(_ kept: [MidstreamCutTests.Packet]) throws -> [CheckIn] {
        let dir = try TemporaryFolder()
        let path = dir.path + "/drop.pcap"
        try MidstreamCutTests.write(kept, to: path)
        let analyzed = sepbeat("analyze", "-q", "-F", "json", path)
        try #require(analyzed.status == 0 || analyzed.status == 1, "analyze: \(analyzed.stderr)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(analyzed.stdout.utf8)) as? [String: Any], "not JSON")
        let sessions = try #require(report["sessions"] as? [[String: Any]], "no sessions")
        var out: [CheckIn] = []
        for s in sessions where s["failed"] as? Bool == false {
            let findings = s["findings"] as? [[String: Any]] ?? []
            let steps = (s["steps"] as? [[String: Any]] ?? []).map { step in
                [step["step"], step["bytesUp"], step["bytesDown"]].map { ($0 as? NSNumber)?.int64Value ?? -1 }
            }
            out.append(CheckIn(
                client: s["client"] as? String ?? "",
                start: MidstreamCutTests.nanosecondsOfDay(s["start"] as? String ?? "") ?? -1,
                end: MidstreamCutTests.nanosecondsOfDay(s["end"] as? String ?? "") ?? -1,
                bytesUp: (s["bytesUp"] as? NSNumber)?.int64Value ?? -1,
                bytesDown: (s["bytesDown"] as? NSNumber)?.int64Value ?? -1,
                captureGap: findings.contains { $0["code"] as? String == "capture-gap" },
                steps: steps))
        }
        return out
    }
}
