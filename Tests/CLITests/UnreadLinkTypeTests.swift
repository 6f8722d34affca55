import Foundation
import Testing
import TestSupport

/// Packets on a link type sepbeat does not decode (802.11 with radiotap headers) are counted on the summary's
/// odd line and named in a `capture-gap` finding, so `validate`'s capture-quality check fails: their check-ins
/// are missing. Before, a capture of them passed that check as complete.
@Suite struct UnreadLinkTypeTests {
    /// A pcap of `count` radiotap frames (link type 127): an 8-byte radiotap header and a 24-byte 802.11 one.
    static func radiotap(count: Int, in folder: TemporaryFolder) throws -> String {
        var file = PcapBuilder(linkType: 127)
        for i in 0..<count {
            file.record(seconds: 1_700_000_000 + UInt32(i), fraction: 0, data: [0, 0, 8, 0, 0, 0, 0, 0] + [UInt8](
                repeating: 0, count: 24))
        }
        let path = folder.path + "/wifi.pcap"
        try Data(file.data).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func packetsOfALinkTypeNotReadAreAFinding() throws {
        let folder = try TemporaryFolder()
        let capture = try Self.radiotap(count: 3, in: folder)
        let run = CLIRun(["analyze", "-F", "json", capture])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let findings = try #require(json["findings"] as? [[String: Any]])
        let messages = findings.filter { $0["code"] as? String == "capture-gap" }
            .compactMap { $0["message"] as? String }
        #expect(messages == ["\(capture): all 3 of its packets were on a link type sepbeat does not read "
            + "(IEEE802_11_RADIOTAP 3) and were left out: check-ins in them are missing"])
        let validate = CLIRun(["validate", "-F", "text", capture])
        let quality = validate.stdout.split(separator: "\n").first { $0.contains("capture-quality") } ?? ""
        #expect(quality.contains("FAIL"), "\(quality)")
    }

    /// One such packet is named in the singular ('1 of its 1 packets were' before), and some of a file's packets
    /// by how many of how many.
    @Test func oneSuchPacketIsNamedInTheSingular() throws {
        let folder = try TemporaryFolder()
        let capture = try Self.radiotap(count: 1, in: folder)
        let run = CLIRun(["analyze", capture])
        #expect(run.stdout.contains("\(capture): its only packet was on a link type sepbeat does not read "
            + "(IEEE802_11_RADIOTAP 1) and was left out: check-ins in them are missing"), "\(run.stdout)")
        // The same radiotap frame after an Ethernet frame of another file: 1 of 2 packets.
        var mixed = PcapNGBuilder()
        mixed.section()
        mixed.interface(linkType: 1)
        mixed.interface(linkType: 127)
        mixed.enhancedPacket(interface: 0, ticks: 1_700_000_000_000_000, data: [UInt8](repeating: 0, count: 14))
        mixed.enhancedPacket(interface: 1, ticks: 1_700_000_001_000_000, data: [0, 0, 8, 0, 0, 0, 0, 0]
            + [UInt8](repeating: 0, count: 24))
        let path = folder.path + "/mixed.pcapng"
        try Data(mixed.data).write(to: URL(fileURLWithPath: path))
        let both = CLIRun(["analyze", path])
        #expect(both.stdout.contains("\(path): 1 of its 2 packets was on a link type sepbeat does not read "
            + "(IEEE802_11_RADIOTAP 1) and was left out"), "\(both.stdout)")
    }
}
