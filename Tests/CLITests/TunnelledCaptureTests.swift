import Analysis
import Foundation
import Heartbeat
import Records
import Testing
import TestSupport

/// Captures delivered through a UDP tunnel, as cloud traffic mirroring sends them (each mirrored frame
/// inside Ethernet/IPv4/UDP and a VXLAN or Geneve header): the same check-ins as the plain capture.
@Suite struct TunnelledCaptureTests {
    /// `path` (a little-endian Ethernet pcap) with every frame wrapped for `port` (4789: VXLAN, 6081: Geneve).
    static func tunnelled(_ path: String, port: UInt16, into folder: TemporaryDirectory) throws -> String {
        let bytes = [UInt8](try #require(FileManager.default.contents(atPath: path)))
        func u32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        try #require(bytes.count >= 24 && (u32(0) == 0xA1B2_C3D4 || u32(0) == 0xA1B2_3C4D) && u32(20) == 1)
        var file = PcapBuilder(nanoseconds: u32(0) == 0xA1B2_3C4D)
        let header: [UInt8] = port == 6081 ? [0, 0, 0x65, 0x58, 0, 0, 7, 0] : [8, 0, 0, 0, 0, 0, 100, 0]
        var at = 24
        while at + 16 <= bytes.count {
            let length = Int(u32(at + 8))
            let frame = Array(bytes[(at + 16)..<min(bytes.count, at + 16 + length)])
            let udp = PacketBuilder.be16(49_152) + PacketBuilder.be16(port)
                + PacketBuilder.be16(UInt16(8 + header.count + frame.count)) + [0, 0] + header + frame
            let outer = PacketBuilder.ethernet(type: 0x0800, payload: PacketBuilder.ipv4(
                source: [172, 31, 0, 9], destination: [172, 31, 0, 10], protocol: 17, payload: udp))
            file.record(seconds: u32(at), fraction: u32(at + 4), data: outer)
            at += 16 + length
        }
        return folder.write(port == 6081 ? "geneve.pcap" : "vxlan.pcap", file.data)
    }

    /// A filter on the inner headers leaves out every packet of a tunnelled capture: a hint says why.
    @Test func aFilterThatLeavesOutEveryPacketSaysWhy() throws {
        let folder = TemporaryDirectory()
        let wrapped = try Self.tunnelled(Fixtures.captures + "/heartbeat/fleet.pcap", port: 4789, into: folder)
        let run = CLIRun(["analyze", "-f", "tcp port 443", wrapped])
        #expect(run.stderr.contains("sepbeat: warning: the filter \"tcp port 443\" left out every one of the "))
        #expect(run.stderr.contains("filter on them (e.g. \"udp port 4789\"), or give no filter"))
        let kept = CLIRun(["analyze", "-f", "udp port 4789", wrapped])
        #expect(!kept.stderr.contains("left out every one"))
        #expect(kept.stdout.contains("check-in"))
    }

    static func report(_ connections: [CompletedConnection]) -> HeartbeatReport {
        var builder = SessionBuilder(model: .builtIn)
        for c in connections { builder.ingest(c.record) }
        return builder.finish()
    }

    @Test(arguments: [UInt16(4789), 6081])
    func aMirroredFleetGivesTheSameCheckIns(port: UInt16) throws {
        let folder = TemporaryDirectory()
        let path = Fixtures.captures + "/heartbeat/fleet.pcap"
        let plain = try CaptureRun(paths: [path]).connections()
        let wrapped = try CaptureRun(paths: [try Self.tunnelled(path, port: port, into: folder)]).connections()
        #expect(wrapped.connections.count == plain.connections.count)
        #expect(CaptureSummary.merged(wrapped.files).otherIPProtocols.isEmpty)
        let a = Self.report(plain.connections)
        let b = Self.report(wrapped.connections)
        #expect(a.sessions.count > 10)
        #expect(b.sessions.count == a.sessions.count)
        #expect(b.sessions.map(\.client) == a.sessions.map(\.client))
        #expect(b.findings.map(\.message) == a.findings.map(\.message))
    }
}
