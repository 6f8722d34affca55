import Analysis
import Foundation
import Heartbeat
import Records
import Reports
import Testing
import TestSupport

/// A capture holding every frame twice, untagged and 20 µs later with an 802.1Q tag (a SPAN of an
/// access port plus its trunk): each check-in counts once, and the copies are counted on the `odd:` line.
@Suite struct CapturedTwiceAnalysisTests {
    /// `path` (a little-endian, micro- or nanosecond, Ethernet pcap) with each frame followed by a VLAN 10 copy.
    static func doubled(_ path: String, into folder: TemporaryDirectory) throws -> String {
        try copied(path, into: folder, name: "twice.pcap", keepOriginal: true)
    }

    /// `path` with each frame's VLAN 10 copy 20 µs later, after the frame itself (`keepOriginal`) or alone;
    /// `loseSyns`: every SYN (without ACK) lost from one of the copies, the plain one and the tagged one in turn.
    static func copied(
        _ path: String, into folder: TemporaryDirectory, name: String, keepOriginal: Bool, loseSyns: Bool = false
    ) throws -> String {
        let bytes = [UInt8](try #require(FileManager.default.contents(atPath: path)))
        func u32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        try #require(bytes.count >= 24 && (u32(0) == 0xA1B2_C3D4 || u32(0) == 0xA1B2_3C4D) && u32(20) == 1)
        let nanoseconds = u32(0) == 0xA1B2_3C4D
        let (lag, second): (UInt32, UInt32) = nanoseconds ? (20_000, 1_000_000_000) : (20, 1_000_000)
        var file = PcapBuilder(nanoseconds: nanoseconds)
        var at = 24
        var syns = 0
        /// Whether `frame` is an IPv4 TCP SYN without ACK.
        func isSyn(_ frame: [UInt8]) -> Bool {
            guard frame.count > 34, frame[12] == 0x08, frame[13] == 0x00, frame[23] == 6 else { return false }
            let flags = 14 + Int(frame[14] & 0x0f) * 4 + 13
            return flags < frame.count && frame[flags] & 0x12 == 0x02
        }
        while at + 16 <= bytes.count {
            let (seconds, micros, length) = (u32(at), u32(at + 4), Int(u32(at + 8)))
            let frame = Array(bytes[(at + 16)..<min(bytes.count, at + 16 + length)])
            var lost = (plain: false, tagged: false)
            if loseSyns, isSyn(frame) {
                syns += 1
                if syns % 2 == 0 { lost.plain = true } else { lost.tagged = true }
            }
            if keepOriginal, !lost.plain { file.record(seconds: seconds, fraction: micros, data: frame) }
            let later = micros + lag
            let tagged = Array(frame.prefix(12)) + [0x81, 0x00, 0x00, 0x0a] + Array(frame.dropFirst(12))
            if !lost.tagged {
                file.record(seconds: seconds + later / second, fraction: later % second, data: tagged)
            }
            at += 16 + length
        }
        return folder.write(name, file.data)
    }

    static func report(_ connections: [CompletedConnection]) -> HeartbeatReport {
        var builder = SessionBuilder(model: .builtIn)
        for c in connections { builder.ingest(c.record) }
        return builder.finish()
    }

    @Test func fleetCapturedTwiceGivesTheSameCheckInsAndCountsTheCopies() throws {
        let folder = TemporaryDirectory()
        let path = Fixtures.captures + "/heartbeat/fleet.pcap"
        let once = try CaptureRun(paths: [path]).connections()
        let twice = try CaptureRun(paths: [try Self.doubled(path, into: folder)]).connections()
        #expect(twice.connections.count == once.connections.count)
        #expect(twice.connections.allSatisfy { $0.record.vlan == .none })
        let summary = CaptureSummary.merged(twice.files)
        let opened = once.connections.filter { $0.record.state.contains(.syn) }
        #expect(!opened.isEmpty)
        #expect(summary.connectionsCapturedTwice == opened.count)
        #expect(summary.packetsCapturedTwice == opened.reduce(0) { $0 + $1.record.packetsUp + $1.record.packetsDown })
        #expect(CaptureSummaryReport.text(summary)
            .contains("connections captured twice under other VLAN tags \(opened.count) ("))
        let a = Self.report(once.connections)
        let b = Self.report(twice.connections)
        #expect(b.sessions.count == a.sessions.count)
        #expect(b.findings.map(\.code) == a.findings.map(\.code))
        #expect(b.findings.map(\.message) == a.findings.map(\.message))
    }

    /// The untagged frames in one file and their tagged copies in another: each file's table sees one
    /// of the pair only, so `--jobs` reads them in order and gives the merged run's report.
    @Test func copiesInAnotherFileAreReadInOrder() throws {
        let folder = TemporaryDirectory()
        let path = Fixtures.captures + "/heartbeat/fleet.pcap"
        let copies = try Self.copied(path, into: folder, name: "copies.pcap", keepOriginal: false)
        let merged = CLIRun(["analyze", "-F", "json", path, copies])
        let apart = CLIRun(["analyze", "-F", "json", "-j", "2", path, copies])
        #expect(merged.status == apart.status)
        #expect(!merged.stdout.isEmpty && apart.stdout == merged.stdout)
        #expect(apart.stderr.contains("files cannot be read apart (a connection possibly captured twice"),
                "\(apart.stderr)")
        #expect(merged.stdout.contains("\"connectionsCapturedTwice\""))
    }

    /// A doubled capture that lost one copy of every connection's SYN (the plain and the tagged in turn), of
    /// pull and push clients: the copies are still recognised (by the SYN-ACK's acknowledgement, or the
    /// sequence numbers), so the check-ins and findings are the clean fleet's, and every copy is counted.
    @Test func copiesWhoseSynWasLostAreStillLeftOut() throws {
        let folder = TemporaryDirectory()
        let dir = NSTemporaryDirectory() + "sepbeat-lostsyn-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/fleet.pcap"
        let made = CLIRun(["simulate", "-q", "-o", path, "--clients", "10", "--duration", "1h", "--seed", "5",
                           "--push-share", "0.5", "--fault", "missed", "--fault", "accelerated"])
        #expect(made.status == 0, "simulate: \(made.stderr)")
        let twicePath = try Self.copied(path, into: folder, name: "lost.pcap", keepOriginal: true, loseSyns: true)
        let once = try CaptureRun(paths: [path]).connections()
        let twice = try CaptureRun(paths: [twicePath]).connections()
        #expect(twice.connections.count == once.connections.count)
        let opened = once.connections.filter { $0.record.state.contains(.syn) }
        #expect(opened.count >= 10)
        // Both kinds of loss happened: some kept connections are the tagged copies.
        #expect(twice.connections.contains { $0.record.vlan != .none })
        #expect(twice.connections.contains { $0.record.vlan == .none })
        #expect(CaptureSummary.merged(twice.files).connectionsCapturedTwice == opened.count)
        let a = Self.report(once.connections)
        let b = Self.report(twice.connections)
        #expect(a.sessions.contains { $0.mode == .push } && a.sessions.contains { $0.mode != .push })
        #expect(b.sessions.count == a.sessions.count)
        #expect(b.findings.map(\.code) == a.findings.map(\.code))
        #expect(b.findings.map(\.message) == a.findings.map(\.message))
    }
}
