import Analysis
import Core
import Foundation
import Testing
import TestSupport

/// A capture whose client frames move from one VLAN tag to another partway (a path or tagging change), the
/// server's untagged: every connection is analysed whole, as in the untagged capture, and the one that changed
/// tags midway is counted on the `odd:` line.
@Suite struct TagsChangedAnalysisTests {
    /// `path` (a little-endian, microsecond, Ethernet pcap) with the IPv4 frames sent from 192.0.2.0/24 tagged
    /// VLAN 100 among the file's first half of frames and VLAN 200 in the second half, the others as they were.
    static func clientTagsChangedHalfway(_ path: String, into folder: TemporaryDirectory) throws -> String {
        let pcap = try #require(PcapFileRecords(path: path))
        try #require(!pcap.nanoseconds && pcap.linkType == 1)
        let records = pcap.records
        var file = PcapBuilder()
        for (i, r) in records.enumerated() {
            var frame = r.frame
            if frame.count >= 34, frame[12] == 0x08, frame[13] == 0x00, frame[26...28] == [192, 0, 2] {
                frame.insert(contentsOf: [0x81, 0x00, 0x00, i < records.count / 2 ? 100 : 200], at: 12)
            }
            file.record(seconds: r.seconds, fraction: r.fraction, data: frame)
        }
        return folder.write("moved.pcap", file.data)
    }

    /// The repro: server-error.pcap's client frames on VLAN 100, then 200 from the middle of the file (within
    /// check-in #7's connection). Before, the rest of that connection was left out as a copy's: its log upload
    /// and disconnect vanished. Now the report is the untagged capture's.
    @Test func serverErrorWithTagsChangedMidConnectionGivesTheUntaggedReport() throws {
        let folder = TemporaryDirectory()
        let original = heartbeatCapture("server-error")
        let moved = try Self.clientTagsChangedHalfway(original, into: folder)
        let a = CLIRun(["analyze", "-F", "json", "-q", original])
        let b = CLIRun(["analyze", "-F", "json", "-q", moved])
        #expect(b.status == a.status)
        let left = try TaggedPerDirectionAnalysisTests.withoutCaptures(a.stdout)
        let right = try TaggedPerDirectionAnalysisTests.withoutCaptures(b.stdout)
        #expect(NSDictionary(dictionary: left).isEqual(to: right))
        #expect(b.stdout.contains("\"connectionsTagsChanged\" : 1"), "\(b.stdout.prefix(2_000))")
        #expect(!b.stdout.contains("connectionsCapturedTwice"))
        let text = CLIRun(["analyze", "-q", moved]).stdout
        #expect(text.contains("tags changed within a connection 1 ("))
        let flows = CLIRun(["flows", "-F", "json", "-q", moved]).stdout
        #expect(flows.components(separatedBy: "\"vlanChanged\" : true").count == 2)
    }
}
