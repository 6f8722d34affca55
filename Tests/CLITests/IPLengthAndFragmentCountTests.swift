import Analysis
import Foundation
import Testing
import TestSupport

/// Odd IP lengths and overlapping fragments are counted in the capture summary of the file that held them
/// (text `odd:`/`packets:` lines and JSON members), not only in the decoder's run-wide counts.
@Suite struct IPLengthAndFragmentCountTests {
    static let segment = PacketBuilder.tcp(destinationPort: 8014, flags: 0x018,
                                           payload: Array(repeating: 0x41, count: 40))

    static func frame(_ ip: [UInt8]) -> [UInt8] { PacketBuilder.ethernet(type: 0x0800, payload: ip) }

    static func fragment(_ transport: [UInt8], _ range: Range<Int>, id: UInt16, more: Bool) -> [UInt8] {
        let field = (more ? 0x2000 : 0) | UInt16(range.lowerBound / 8)
        return frame(PacketBuilder.ipv4(id: id, flagsAndOffset: field, payload: Array(transport[range])))
    }

    /// File one: an IP length past the frame (not cut by the snap length), and one of 0. File two: two
    /// datagrams in fragments, one with an overlap of the same bytes, one with other bytes.
    static func files(in folder: TemporaryDirectory) -> [String] {
        var one = PcapBuilder()
        one.record(seconds: 1_700_000_000, fraction: 0,
                   data: frame(PacketBuilder.ipv4(totalLength: 400, payload: segment)))
        one.record(seconds: 1_700_000_001, fraction: 0,
                   data: frame(PacketBuilder.ipv4(totalLength: 0, payload: segment)))
        var two = PcapBuilder()
        var altered = segment
        altered[20] = 0x42
        let frames = [fragment(segment, 0..<24, id: 1, more: true), fragment(segment, 16..<60, id: 1, more: false),
                      fragment(segment, 0..<24, id: 2, more: true), fragment(altered, 16..<60, id: 2, more: false)]
        for (i, f) in frames.enumerated() { two.record(seconds: 1_700_000_002 + UInt32(i), fraction: 0, data: f) }
        return [folder.write("one.pcap", one.data), folder.write("two.pcap", two.data)]
    }

    @Test func eachFileCountsItsOwnOddities() throws {
        let folder = TemporaryDirectory()
        let paths = Self.files(in: folder)
        let summary = try CaptureRun(paths: paths).connections().files
        try #require(summary.count == 2)
        #expect(summary[0].ipLengthPastFrame == 1)
        #expect(summary[0].zeroIPLength == 1)
        #expect(summary[0].fragmentsOverlapping == 0)
        #expect(summary[1].ipLengthPastFrame == 0)
        #expect(summary[1].fragmentsOverlapping == 2)
        #expect(summary[1].fragmentsConflicting == 1)

        let text = CLIRun(["analyze", "-q", "-F", "text"] + paths).stdout
        #expect(text.contains("IP length past the frame's end (the frame's bytes read) 1"))
        #expect(text.contains("IP length 0 (segmentation offload) 1"))
        #expect(text.contains("IP fragments overlapping others (the first bytes kept) 2, 1 with other bytes"))
        let json = CLIRun(["analyze", "-q", "-F", "json"] + paths).stdout
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let captures = try #require(object["captures"] as? [[String: Any]])
        #expect(captures[0]["ipLengthPastFrame"] as? Int == 1)
        #expect(captures[0]["zeroIPLength"] as? Int == 1)
        #expect(captures[0]["ipFragmentsOverlapping"] == nil)
        #expect(captures[1]["ipFragmentsOverlapping"] as? Int == 2)
        #expect(captures[1]["ipFragmentsConflicting"] as? Int == 1)
    }
}
