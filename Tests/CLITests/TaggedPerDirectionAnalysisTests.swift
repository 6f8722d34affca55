import Analysis
import Core
import Foundation
import Heartbeat
import Records
import Reports
import Testing
import TestSupport

/// Captures whose client frames carry an 802.1Q tag (VLAN 100) and whose server frames do not (a SPAN or
/// trunk port tagging one direction only): each connection is analysed once with both directions, so the
/// report is the untagged capture's, with the connections counted on the `odd:` line.
@Suite struct TaggedPerDirectionAnalysisTests {
    /// `path` (a little-endian, microsecond, Ethernet pcap) with the IPv4 frames sent from 192.0.2.0/24 (the
    /// clients of the repository's captures) tagged VLAN 100, the others as they were.
    static func clientFramesTagged(_ path: String, into folder: TemporaryDirectory, name: String) throws -> String {
        let bytes = [UInt8](try #require(FileManager.default.contents(atPath: path)))
        func u32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        try #require(bytes.count >= 24 && u32(0) == 0xA1B2_C3D4 && u32(20) == 1)
        var file = PcapBuilder()
        var at = 24
        var tagged = 0
        while at + 16 <= bytes.count {
            let length = Int(u32(at + 8))
            var frame = Array(bytes[(at + 16)..<min(bytes.count, at + 16 + length)])
            if frame.count >= 34, frame[12] == 0x08, frame[13] == 0x00, frame[26...28] == [192, 0, 2] {
                frame.insert(contentsOf: [0x81, 0x00, 0x00, 0x64], at: 12)
                tagged += 1
            }
            file.record(seconds: u32(at), fraction: u32(at + 4), data: frame)
            at += 16 + length
        }
        try #require(tagged > 0)
        return folder.write(name, file.data)
    }

    /// The report's JSON without its `captures` member (file name, sizes and odd counts).
    static func withoutCaptures(_ json: String) throws -> [String: Any] {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        object["captures"] = nil
        return object
    }

    /// The repro: Captures/heartbeat/server-error.pcap with its client's frames tagged. Before, every server
    /// packet was left out as a copy, the five `http-error` errors vanished and the verdict passed.
    @Test func serverErrorTaggedOneWayGivesTheUntaggedReport() throws {
        let folder = TemporaryDirectory()
        let original = heartbeatCapture("server-error")
        let tagged = try Self.clientFramesTagged(original, into: folder, name: "asym.pcap")
        let a = CLIRun(["analyze", "-F", "json", "-q", original])
        let b = CLIRun(["analyze", "-F", "json", "-q", tagged])
        #expect(a.status == 1 && b.status == a.status)
        #expect(a.stdout.contains("\"http-error\""))
        let left = try Self.withoutCaptures(a.stdout)
        let right = try Self.withoutCaptures(b.stdout)
        #expect(NSDictionary(dictionary: left).isEqual(to: right))
        #expect(b.stdout.contains("\"connectionsTaggedPerDirection\" : 8"), "\(b.stdout.prefix(2_000))")
        #expect(!b.stdout.contains("connectionsCapturedTwice"))
        let text = CLIRun(["analyze", "-q", tagged]).stdout
        #expect(text.contains("odd: connections with other VLAN tags each way 8 ("))
        #expect(!text.contains("capture-gap"))
        let flows = CLIRun(["flows", "-q", tagged]).stdout
        #expect(flows.contains(" 100 down - "))
    }

    /// A fleet: the same check-ins, findings and connection rows (bytes, packets, exchanges) as untagged;
    /// every connection counted as tagged per direction, named by its client's tags and its server's.
    @Test func fleetTaggedOneWayGivesTheSameCheckIns() throws {
        let folder = TemporaryDirectory()
        let path = heartbeatCapture("fleet")
        let tagged = try Self.clientFramesTagged(path, into: folder, name: "fleet-asym.pcap")
        let once = try CaptureRun(paths: [path]).connections()
        let split = try CaptureRun(paths: [tagged]).connections()
        #expect(split.connections.count == once.connections.count)
        for (a, b) in zip(once.connections, split.connections) {
            var r = b.record
            #expect(r.vlan == VLANTags([100]) && r.vlanDown == VLANTags.none)
            r.vlan = .none
            r.vlanDown = nil
            #expect(r == a.record)
        }
        #expect(CaptureSummary.merged(split.files).connectionsTaggedPerDirection == once.connections.count)
        #expect(CaptureSummary.merged(split.files).connectionsCapturedTwice == 0)
        let a = CapturedTwiceAnalysisTests.report(once.connections)
        let b = CapturedTwiceAnalysisTests.report(split.connections)
        #expect(b.sessions.count == a.sessions.count)
        #expect(b.findings.map(\.code) == a.findings.map(\.code))
        #expect(b.findings.map(\.message) == a.findings.map(\.message))
    }

    /// The client's frames in one file (tagged) and the server's in another (untagged), the server answering
    /// the fifth SYN 15 s after the first: no check of copies (starts within 10 s) sees the two, so `--jobs`
    /// reads the files in order for the check of directions under other tags, and gives the merged run's
    /// report, where the two are one connection.
    @Test func directionsInTwoFilesAreReadInOrder() throws {
        let folder = TemporaryDirectory()
        let client: [UInt8] = [192, 0, 2, 30]
        let server: [UInt8] = [198, 51, 100, 10]
        func frame(fromClient: Bool, sequence: UInt32, acknowledgement: UInt32, flags: UInt16,
                   payload: [UInt8] = []) -> [UInt8] {
            let segment = PacketBuilder.tcp(
                sourcePort: fromClient ? 50_000 : 443, destinationPort: fromClient ? 443 : 50_000,
                sequence: sequence, acknowledgement: acknowledgement, flags: flags, payload: payload)
            let ip = PacketBuilder.ipv4(
                source: fromClient ? client : server, destination: fromClient ? server : client, payload: segment)
            return fromClient
                ? PacketBuilder.ethernet(type: 0x8100, payload: [0x00, 0x64, 0x08, 0x00] + ip)
                : PacketBuilder.ethernet(type: 0x0800, payload: ip)
        }
        var up = PcapBuilder()
        var down = PcapBuilder()
        let start: UInt32 = 1_700_000_000
        for retry: UInt32 in [0, 1, 3, 7, 15] {
            up.record(seconds: start + retry, fraction: 0,
                      data: frame(fromClient: true, sequence: 1_000, acknowledgement: 0, flags: 0x002))
        }
        down.record(seconds: start + 15, fraction: 1_000,
                    data: frame(fromClient: false, sequence: 9_000, acknowledgement: 1_001, flags: 0x012))
        up.record(seconds: start + 15, fraction: 2_000,
                  data: frame(fromClient: true, sequence: 1_001, acknowledgement: 9_001, flags: 0x010))
        up.record(seconds: start + 15, fraction: 3_000,
                  data: frame(fromClient: true, sequence: 1_001, acknowledgement: 9_001, flags: 0x018,
                              payload: Array(repeating: 0x16, count: 50)))
        down.record(seconds: start + 15, fraction: 4_000,
                    data: frame(fromClient: false, sequence: 9_001, acknowledgement: 1_051, flags: 0x010))
        let a = folder.write("up.pcap", up.data)
        let b = folder.write("down.pcap", down.data)
        let merged = CLIRun(["analyze", "-F", "json", a, b])
        let apart = CLIRun(["analyze", "-F", "json", "-j", "2", a, b])
        #expect(merged.status == apart.status)
        #expect(!merged.stdout.isEmpty && apart.stdout == merged.stdout)
        #expect(apart.stderr.contains("files cannot be read apart (a connection possibly under other VLAN tags "
            + "each way"), "\(apart.stderr)")
        #expect(merged.stdout.contains("\"connectionsTaggedPerDirection\" : 1"))
    }
}
