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
    /// `path` (a little-endian, microsecond, Ethernet pcap) with each frame followed by a VLAN 10 copy.
    static func doubled(_ path: String, into folder: TemporaryDirectory) throws -> String {
        try copied(path, into: folder, name: "twice.pcap", keepOriginal: true)
    }

    /// `path` with each frame's VLAN 10 copy 20 µs later, after the frame itself (`keepOriginal`) or alone.
    static func copied(_ path: String, into folder: TemporaryDirectory, name: String, keepOriginal: Bool) throws
        -> String {
        let bytes = [UInt8](try #require(FileManager.default.contents(atPath: path)))
        func u32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        try #require(bytes.count >= 24 && u32(0) == 0xA1B2_C3D4 && u32(20) == 1)
        var file = PcapBuilder()
        var at = 24
        while at + 16 <= bytes.count {
            let (seconds, micros, length) = (u32(at), u32(at + 4), Int(u32(at + 8)))
            let frame = Array(bytes[(at + 16)..<min(bytes.count, at + 16 + length)])
            if keepOriginal { file.record(seconds: seconds, fraction: micros, data: frame) }
            let later = micros + 20
            let tagged = Array(frame.prefix(12)) + [0x81, 0x00, 0x00, 0x0a] + Array(frame.dropFirst(12))
            file.record(seconds: seconds + later / 1_000_000, fraction: later % 1_000_000, data: tagged)
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
}
