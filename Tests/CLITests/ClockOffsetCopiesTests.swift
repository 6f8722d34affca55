import Analysis
import Foundation
import Heartbeat
import Records
import Reports
import Testing
import TestSupport

/// Two sensors' captures of one fleet merged (`mergecap` of a SPAN of the access port and of the trunk, or
/// two files read together), their clocks seconds apart: every check-in counts once, the copies are counted
/// on the `odd:` line, and nothing is read as accelerated.
@Suite struct ClockOffsetCopiesTests {
    /// A packet of a capture: its time in nanoseconds and its frame.
    typealias Packet = (time: Int64, frame: [UInt8])

    /// The packets of `path`, a little-endian Ethernet pcap (micro- or nanoseconds).
    static func packets(_ path: String) throws -> [Packet] {
        let bytes = [UInt8](try #require(FileManager.default.contents(atPath: path)))
        func u32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        try #require(bytes.count >= 24 && (u32(0) == 0xA1B2_C3D4 || u32(0) == 0xA1B2_3C4D) && u32(20) == 1)
        let unit: Int64 = u32(0) == 0xA1B2_3C4D ? 1 : 1_000
        var out: [Packet] = []
        var at = 24
        while at + 16 <= bytes.count {
            let length = Int(u32(at + 8))
            let time = Int64(u32(at)) * 1_000_000_000 + Int64(u32(at + 4)) * unit
            out.append((time, Array(bytes[(at + 16)..<min(bytes.count, at + 16 + length)])))
            at += 16 + length
        }
        return out
    }

    /// `packets` written in time order (stable: of equal times, the earlier in the list first) as a
    /// nanosecond pcap named `name` in `folder`.
    static func write(_ packets: [Packet], _ name: String, in folder: TemporaryDirectory) -> String {
        let ordered = packets.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }
        var file = PcapBuilder(nanoseconds: true)
        for (_, p) in ordered {
            file.record(seconds: UInt32(p.time / 1_000_000_000), fraction: UInt32(p.time % 1_000_000_000),
                        data: p.frame)
        }
        return folder.write(name, file.data)
    }

    /// The second sensor's copy of `packets`: `offsetMs` later by its clock, under VLAN `vlan` (nil: the
    /// frames as they are, a sensor on the same VLAN).
    static func copy(_ packets: [Packet], offsetMs: Int64, vlan: UInt8?) -> [Packet] {
        packets.map { p in
            let frame = vlan.map { Array(p.frame.prefix(12)) + [0x81, 0x00, 0x00, $0] + Array(p.frame.dropFirst(12)) }
            return (p.time + offsetMs * 1_000_000, frame ?? p.frame)
        }
    }

    /// A simulated fleet of pull and push clients, written to `folder` (1 h, 12 clients).
    static func fleet(_ folder: TemporaryDirectory) throws -> String {
        let path = folder.path + "/fleet.pcap"
        let made = CLIRun(["simulate", "-q", "-o", path, "--clients", "12", "--duration", "1h", "--seed", "11",
                           "--push-share", "0.5"])
        try #require(made.status == 0, "simulate: \(made.stderr)")
        // Written again through the folder, which removes what it wrote.
        let bytes = [UInt8](try #require(FileManager.default.contents(atPath: path)))
        unlink(path)
        return folder.write("fleet.pcap", bytes)
    }

    /// The fleet and a second sensor's copy of it under VLAN 20, its clock 1.5 s or 4 s ahead or 4 s behind,
    /// merged by time into one capture: the check-ins, findings and connections are the single capture's,
    /// and every connection's copy (all of its packets) is counted.
    @Test(arguments: [1_500, 4_000, -4_000] as [Int64])
    func copiesUnderAnotherTagWithClocksApartCountOnce(offsetMs: Int64) throws {
        let folder = TemporaryDirectory()
        let path = try Self.fleet(folder)
        let original = try Self.packets(path)
        let merged = Self.write(original + Self.copy(original, offsetMs: offsetMs, vlan: 20), "merged.pcap",
                                in: folder)
        let once = try CaptureRun(paths: [path]).connections()
        let twice = try CaptureRun(paths: [merged]).connections()
        #expect(twice.connections.count == once.connections.count)
        // Behind: the copy comes first, and it is the one analysed.
        #expect(twice.connections.allSatisfy { ($0.record.vlan == .none) == (offsetMs > 0) })
        let summary = CaptureSummary.merged(twice.files)
        let opened = once.connections.filter { $0.record.state.contains(.syn) }
        #expect(opened.count >= 12)
        #expect(opened.count == once.connections.count)
        #expect(summary.connectionsCapturedTwice == opened.count)
        #expect(summary.packetsCapturedTwice == opened.reduce(0) { $0 + $1.record.packetsUp + $1.record.packetsDown })
        #expect(CaptureSummaryReport.text(summary)
            .contains("connections captured twice under other VLAN tags \(opened.count) ("))
        let a = CapturedTwiceAnalysisTests.report(once.connections)
        let b = CapturedTwiceAnalysisTests.report(twice.connections)
        #expect(a.sessions.contains { $0.mode == .push } && a.sessions.contains { $0.mode != .push })
        #expect(b.sessions.count == a.sessions.count)
        #expect(b.sessions.map(\.start) == a.sessions.map(\.start).map { $0.adding(nanoseconds: offsetMs < 0
            ? offsetMs * 1_000_000 : 0) })
        #expect(!b.findings.contains { $0.code == .acceleratedHeartbeat })
        #expect(b.findings.map(\.code) == a.findings.map(\.code))
    }

    /// Without the wider window (ISNs matched within 1 s only), the same capture counts every check-in
    /// twice: the test above measures the matching, not a capture that could not show the problem.
    @Test func withoutTheISNWindowTheCopiesCountTwice() throws {
        let folder = TemporaryDirectory()
        let path = try Self.fleet(folder)
        let original = try Self.packets(path)
        let merged = Self.write(original + Self.copy(original, offsetMs: 1_500, vlan: 20), "merged.pcap", in: folder)
        var configuration = AnalysisConfiguration()
        configuration.streamLimits.capturedTwiceISNWindow = 0
        let once = try CaptureRun(paths: [path]).connections()
        let twice = try CaptureRun(paths: [merged], configuration: configuration).connections()
        #expect(twice.connections.count == 2 * once.connections.count)
        #expect(CaptureSummary.merged(twice.files).connectionsCapturedTwice == 0)
    }

    /// The second sensor's copy in a file of its own, 4 s ahead under VLAN 20, read with the first
    /// (`sepbeat analyze a.pcap b.pcap`): the same check-ins as the first file alone, the copies counted;
    /// `--jobs 2` reads the files in order and gives the same report.
    @Test func copiesInASecondFileWithItsClockAheadCountOnce() throws {
        let folder = TemporaryDirectory()
        let path = try Self.fleet(folder)
        let copies = Self.write(Self.copy(try Self.packets(path), offsetMs: 4_000, vlan: 20), "copies.pcap", in: folder)
        let once = CLIRun(["analyze", "-F", "json", path])
        let merged = CLIRun(["analyze", "-F", "json", path, copies])
        let apart = CLIRun(["analyze", "-F", "json", "-j", "2", path, copies])
        #expect(merged.status == once.status)
        #expect(!merged.stdout.isEmpty && apart.stdout == merged.stdout)
        #expect(apart.stderr.contains("files cannot be read apart (a connection possibly captured twice"),
                "\(apart.stderr)")
        let a = try JSONSerialization.jsonObject(with: Data(once.stdout.utf8)) as? [String: Any]
        let b = try JSONSerialization.jsonObject(with: Data(merged.stdout.utf8)) as? [String: Any]
        let checkIns = { (r: [String: Any]?) in (r?["summary"] as? [String: Any])?["checkIns"] as? Int }
        #expect(checkIns(a) != nil && checkIns(b) == checkIns(a))
        #expect(merged.stdout.contains("\"connectionsCapturedTwice\""))
        #expect(!merged.stdout.contains("accelerated-heartbeat"))
    }

    /// The summary's words and members for copies on the same tags and for holes filled from copies: each
    /// present only when not 0.
    @Test func summaryNamesSameTagCopiesAndFilledHoles() {
        var s = CaptureSummary(path: "x.pcap")
        #expect(!CaptureSummaryReport.text(s).contains("captured twice"))
        #expect(!CaptureSummaryReport.json(s).serialized().contains("SameTags"))
        s.connectionsCapturedTwice = 3
        s.packetsCapturedTwice = 40
        s.packetsFilledFromCopy = 2
        s.connectionsCapturedTwiceSameTags = 5
        s.packetsCapturedTwiceSameTags = 1
        let text = CaptureSummaryReport.text(s)
        #expect(text.contains("odd: connections captured twice under other VLAN tags 3 (40 packets left out), "
            + "packets of the copies that filled holes 2, connections captured twice on the same VLAN tags 5 "
            + "(1 packet left out)"), "\(text)")
        let json = CaptureSummaryReport.json(s).serialized()
        for member in ["\"packetsFilledFromCopy\":2", "\"connectionsCapturedTwiceSameTags\":5",
                       "\"packetsCapturedTwiceSameTags\":1"] {
            #expect(json.replacingOccurrences(of: " ", with: "").contains(member), "\(json)")
        }
    }

    /// A second sensor on the same VLAN (the frames as they are), its clock 1.5 s or 4 s ahead: a pull
    /// check-in's copy comes once its original closed and repeats its ISN on the same key, so it is left
    /// out. A push client's long-lived connection is still open when its copy's SYN comes: that SYN is left
    /// out and the copy counted, and its later segments fall onto the connection itself as retransmissions,
    /// so it too counts once. All are counted apart from copies under other tags.
    @Test(arguments: [1_500, 4_000] as [Int64])
    func copiesOnTheSameTagsWithClocksApartCountOnce(offsetMs: Int64) throws {
        let folder = TemporaryDirectory()
        let path = try Self.fleet(folder)
        let original = try Self.packets(path)
        let merged = Self.write(original + Self.copy(original, offsetMs: offsetMs, vlan: nil), "same.pcap",
                                in: folder)
        let once = try CaptureRun(paths: [path]).connections()
        let twice = try CaptureRun(paths: [merged]).connections()
        #expect(twice.connections.count == once.connections.count)
        let summary = CaptureSummary.merged(twice.files)
        #expect(summary.connectionsCapturedTwice == 0 && summary.packetsCapturedTwice == 0)
        #expect(summary.connectionsCapturedTwiceSameTags == once.connections.count)
        // Open across the copy's SYN: only that SYN is left out of such a connection (at least one push client).
        let longer = once.connections.filter {
            $0.record.end.nanoseconds(since: $0.record.synTime ?? $0.record.start) >= offsetMs * 1_000_000
        }
        #expect(!longer.isEmpty && longer.count < once.connections.count)
        let shorter = once.connections.filter { c in !longer.contains { $0.record.id == c.record.id } }
        #expect(summary.packetsCapturedTwiceSameTags
            == longer.count + shorter.reduce(0) { $0 + $1.record.packetsUp + $1.record.packetsDown })
        #expect(CaptureSummaryReport.text(summary)
            .contains("connections captured twice on the same VLAN tags \(once.connections.count) ("))
        #expect(!twice.connections.contains { $0.record.synCount > 1 })
        let a = CapturedTwiceAnalysisTests.report(once.connections)
        let b = CapturedTwiceAnalysisTests.report(twice.connections)
        #expect(b.sessions.count == a.sessions.count)
        #expect(!b.findings.contains { $0.code == .acceleratedHeartbeat })
        #expect(b.findings.map(\.code) == a.findings.map(\.code))
    }
}
