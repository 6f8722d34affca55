import Foundation
import Testing
import TestSupport

@testable import CLI

/// pcapng blocks skipped unread (packets naming an interface their section does not declare, malformed
/// blocks) are counted, said, and make the report say the capture is not complete.
@Suite struct SkippedBlocksCLITests {
    /// The packets of a classic little-endian pcap file: (seconds, fraction, original length, bytes).
    private func packets(_ path: String) throws -> (nanoseconds: Bool, [(UInt32, UInt32, UInt32, [UInt8])]) {
        let data = [UInt8](try #require(FileManager.default.contents(atPath: path)))
        func word(_ at: Int) -> UInt32 {
            UInt32(data[at]) | UInt32(data[at + 1]) << 8 | UInt32(data[at + 2]) << 16 | UInt32(data[at + 3]) << 24
        }
        let magic = word(0)
        #expect(magic == 0xA1B2_C3D4 || magic == 0xA1B2_3C4D)
        var out: [(UInt32, UInt32, UInt32, [UInt8])] = []
        var at = 24
        while at + 16 <= data.count {
            let captured = Int(word(at + 8))
            out.append((word(at), word(at + 4), word(at + 12), Array(data[(at + 16)..<(at + 16 + captured)])))
            at += 16 + captured
        }
        return (magic == 0xA1B2_3C4D, out)
    }

    /// A pcapng file of one section declaring one Ethernet interface, with each packet in an Enhanced Packet
    /// Block naming interface 0, or 1 (undeclared) where `undeclared` says so.
    private func pcapng(_ source: String, undeclared: (Int) -> Bool) throws -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { for s in stride(from: 0, to: 32, by: 8) { out.append(UInt8(v >> UInt32(s) & 0xFF)) } }
        func u16(_ v: UInt16) { out.append(UInt8(v & 0xFF)); out.append(UInt8(v >> 8)) }
        // Section Header Block.
        u32(0x0A0D_0D0A); u32(28); u32(0x1A2B_3C4D); u16(1); u16(0); u32(0xFFFF_FFFF); u32(0xFFFF_FFFF); u32(28)
        // Interface Description Block: Ethernet, snaplen 262144, if_tsresol 9 (nanoseconds).
        u32(1); u32(32); u16(1); u16(0); u32(262_144); u16(9); u16(1); out += [9, 0, 0, 0]; u32(0); u32(32)
        let (nanoseconds, list) = try packets(source)
        for (i, p) in list.enumerated() {
            let padded = (p.3.count + 3) / 4 * 4
            let length = UInt32(32 + padded)
            let ticks = UInt64(p.0) * 1_000_000_000 + UInt64(p.1) * (nanoseconds ? 1 : 1_000)
            u32(6); u32(length); u32(undeclared(i) ? 1 : 0)
            u32(UInt32(ticks >> 32)); u32(UInt32(ticks & 0xFFFF_FFFF)); u32(UInt32(p.3.count)); u32(p.2)
            out += p.3 + [UInt8](repeating: 0, count: padded - p.3.count)
            u32(length)
        }
        return out
    }

    @Test func packetsOnAnUndeclaredInterfaceAreCountedAndTheCaptureIsNotComplete() throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/undeclared.pcapng"
        let source = heartbeatCapture("fleet")
        let total = try packets(source).1.count
        // The second half of the packets name interface 1, which the section does not declare.
        let bytes = try pcapng(source) { $0 >= total / 2 }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        let skipped = total - total / 2

        let run = CLIRun(["analyze", "-F", "json", path])
        #expect(run.stderr.contains("sepbeat: warning: \(path): skipped \(skipped) packet blocks naming an interface "
            + "their section does not declare (first at byte offset "), "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let capture = try #require((report["captures"] as? [[String: Any]])?.first)
        #expect(capture["packets"] as? Int == total / 2)
        #expect(capture["skippedBlocks"] as? Int == skipped)
        let findings = try #require(report["findings"] as? [[String: Any]])
        #expect(findings.contains { ($0["code"] as? String) == "capture-gap"
            && ($0["message"] as? String ?? "").contains("\(skipped) blocks were skipped unread") })

        let text = CLIRun(["analyze", "-q", path])
        #expect(text.stdout.contains("blocks skipped unread \(skipped)"))
        let validate = CLIRun(["validate", "-q", path])
        #expect(validate.stdout.contains("capture-quality: 1 finding; first: capture-gap: \(path): \(skipped) blocks "
            + "were skipped unread"), "\(validate.stdout)")
    }

    @Test func aFileWhosePacketsAreAllOnAnUndeclaredInterfaceDoesNotSayItHoldsNone() throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/all-undeclared.pcapng"
        let bytes = try pcapng(heartbeatCapture("http-plain")) { _ in true }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        let run = CLIRun(["analyze", "-q", path])
        #expect(run.stdout.contains("no packet could be read: every block that may hold one was skipped"),
                "\(run.stdout)")
        #expect(!run.stdout.contains("file holds no packets"))
    }
}
