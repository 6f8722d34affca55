import Foundation
import Testing
import TestSupport

@testable import CLI

/// A pcapng block past the 16 MiB block limit: with a corrupt length, reading stops there and the report
/// says the capture is cut short (`capture-truncated`, `validate`'s `capture-quality` fails); with its length
/// repeated at its end, it is passed over and counted, and the packets after it are read.
@Suite struct BlockLimitCLITests {
    /// `https-idle.pcap`'s packets as Enhanced Packet Blocks (microsecond clock), with `middle` (whole blocks)
    /// put in after the first half of them; and how many packets there are.
    private func pcapng(middle: [UInt8]) throws -> (bytes: [UInt8], packets: Int) {
        let data = [UInt8](try #require(FileManager.default.contents(atPath: heartbeatCapture("https-idle"))))
        func word(_ at: Int) -> UInt32 {
            UInt32(data[at]) | UInt32(data[at + 1]) << 8 | UInt32(data[at + 2]) << 16 | UInt32(data[at + 3]) << 24
        }
        #expect(word(0) == 0xA1B2_C3D4)
        var records: [(UInt64, [UInt8])] = []
        var at = 24
        while at + 16 <= data.count {
            let captured = Int(word(at + 8))
            records.append((UInt64(word(at)) * 1_000_000 + UInt64(word(at + 4)),
                            Array(data[(at + 16)..<(at + 16 + captured)])))
            at += 16 + captured
        }
        var file = PcapNGBuilder()
        file.section()
        file.interface(linkType: 1)
        for (i, (ticks, bytes)) in records.enumerated() {
            if i == records.count / 2 { file.appendRaw(middle) }
            file.enhancedPacket(interface: 0, ticks: ticks, data: bytes)
        }
        return (file.data, records.count)
    }

    @Test func aCorruptLengthPastTheLimitIsACaptureCutShort() throws {
        // A packet block header claiming 2 GiB, in a file of some KiB.
        var lie = EndianBytes(bigEndian: false)
        lie.u32(6)
        lie.u32(0x7FFF_FFF0)
        lie.bytes += [UInt8](repeating: 0, count: 20)
        let (bytes, packets) = try pcapng(middle: lie.bytes)
        let folder = try TemporaryFolder()
        let path = folder.path + "/hugeblock.pcapng"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))

        let validate = CLIRun(["validate", path])
        #expect(validate.stderr.contains("claims 2147483632 bytes, more than the limit of 16777216"))
        let quality = try #require(validate.stdout.split(separator: "\n").first { $0.contains(" capture-quality ") })
        #expect(quality.hasPrefix("  FAIL"), "\(quality)")
        #expect(quality.contains("capture-truncated: \(path) is cut short at byte offset "))

        let analyze = CLIRun(["analyze", "-q", "-F", "json", path])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(analyze.stdout.utf8)) as? [String: Any])
        let capture = try #require((report["captures"] as? [[String: Any]])?.first)
        #expect(capture["packets"] as? Int == packets / 2)
        let findings = try #require(report["findings"] as? [[String: Any]])
        #expect(findings.contains { $0["code"] as? String == "capture-truncated" })
    }

    @Test func aWholeBlockPastTheLimitIsPassedOverAndCounted() throws {
        // A custom block of 17 MiB, its length repeated at its end, and one of 24 bytes after it.
        var block = PcapNGBuilder()
        block.block(type: 0x0000_0BAD, body: [UInt8](repeating: 0x42, count: 17 << 20))
        block.block(type: 0x0000_0BAD, body: [UInt8](repeating: 0x42, count: 12))
        let (bytes, packets) = try pcapng(middle: block.data)
        let folder = try TemporaryFolder()
        let path = folder.path + "/jumbo.pcapng"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))

        let analyze = CLIRun(["analyze", "-F", "json", path])
        #expect(analyze.stderr.contains("skipped 1 block longer than the limit of 16777216 bytes unread (first at "
            + "byte offset "), "\(analyze.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(analyze.stdout.utf8)) as? [String: Any])
        let capture = try #require((report["captures"] as? [[String: Any]])?.first)
        #expect(capture["packets"] as? Int == packets)
        let findings = try #require(report["findings"] as? [[String: Any]])
        #expect(!findings.contains { $0["code"] as? String == "capture-truncated" })
    }
}
