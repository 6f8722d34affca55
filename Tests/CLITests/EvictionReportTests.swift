import Foundation
import Testing
import TestSupport

/// More connections open at once than the connection table holds: the ones handed out early are counted
/// per file, said once on stderr, and the text summary's `odd:` line and JSON name them. The table is given
/// the earlier default's 65,536 slots (`--max-connections`), which a flood of 70,000 SYNs overfills.
@Suite struct EvictionReportTests {
    static let table = ["--max-connections", "65536"]

    /// `count` SYNs, each from its own client port to 192.0.2.2:443, a millisecond apart: every one a
    /// connection left open, so past the table's size the least recently active are evicted.
    static func synFlood(_ folder: TemporaryDirectory, count: Int) -> String {
        var file = PcapBuilder()
        for i in 0..<count {
            let client: [UInt8] = [10, 9, UInt8(i >> 14 & 0xff), UInt8(i >> 6 & 0xff)]
            let port = UInt16(10_000 + i % 64 * 800 + i % 800)
            let syn = PacketBuilder.tcp(sourcePort: port, destinationPort: 443, sequence: UInt32(i), acknowledgement: 0,
                                        flags: 0x002)
            let frame = PacketBuilder.ethernet(type: 0x0800, payload: PacketBuilder.ipv4(
                source: client, destination: [192, 0, 2, 2], payload: syn))
            file.record(seconds: 1_700_000_000 + UInt32(i / 1_000), fraction: UInt32(i % 1_000) * 1_000, data: frame)
        }
        return folder.write("flood.pcap", file.data)
    }

    @Test func evictedConnectionsAreCountedAndSaidOnce() throws {
        let folder = TemporaryDirectory()
        let flood = Self.synFlood(folder, count: 70_000)
        let text = CLIRun(["analyze", "--color", "never"] + Self.table + [flood])
        let warnings = text.stderr.split(separator: "\n").filter { $0.contains("connections were evicted") }
        #expect(warnings.count == 1, "\(text.stderr)")
        let evicted = try #require(warnings.first.flatMap { line in
            line.split(separator: " ").dropFirst(2).first.flatMap { Int($0) }
        })
        #expect(evicted >= 70_000 - 65_536, "\(warnings)")
        #expect(warnings.first?.contains("table holds (65536)") == true)
        #expect(warnings.first?.contains("raise the limit with --max-connections N") == true)
        // The cost named is the one the README's table gives for an idle connection.
        #expect(warnings.first?.contains("(about 3.5 KB per open connection, 11 KB within a minute") == true)
        #expect(text.stdout.contains("odd: connections evicted \(evicted) (more open at once"), "\(text.stdout)")

        let json = CLIRun(["analyze", "-q", "-F", "json"] + Self.table + [flood])
        #expect(json.stderr.isEmpty, "\(json.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let capture = try #require((report["captures"] as? [[String: Any]])?.first)
        #expect(capture["connectionsEvicted"] as? Int == evicted)
    }

    @Test func aTableThatNeverFillsEvictsNothing() throws {
        let folder = TemporaryDirectory()
        let flood = Self.synFlood(folder, count: 1_000)
        let text = CLIRun(["analyze", "--color", "never"] + Self.table + [flood])
        #expect(!text.stderr.contains("evicted"), "\(text.stderr)")
        #expect(!text.stdout.contains("evicted"), "\(text.stdout)")
    }

    /// The default table (262,144) takes the 70,000 SYNs without evicting one.
    @Test func theDefaultTableHoldsTheFlood() throws {
        let folder = TemporaryDirectory()
        let flood = Self.synFlood(folder, count: 70_000)
        let json = CLIRun(["analyze", "-q", "-F", "json", flood])
        #expect(json.stderr.isEmpty, "\(json.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let capture = try #require((report["captures"] as? [[String: Any]])?.first)
        #expect(capture["connectionsEvicted"] == nil)
    }

    /// Evictions are counted in the file whose connections were evicted (SYNs alone have no stream bytes to
    /// place them by: the file being read as they leave), whichever order the files are given in.
    @Test func evictionsAreCountedInTheFloodsFile() throws {
        let folder = TemporaryDirectory()
        let flood = Self.synFlood(folder, count: 70_000)
        let dir = try TemporaryFolder()
        let small = try dir.simulatedCapture("small.pcap", ["--clients", "2", "--duration", "20m"])
        for order in [[small, flood], [flood, small]] {
            let json = CLIRun(["analyze", "-q", "-F", "json"] + Self.table + order)
            #expect(json.stderr.isEmpty, "\(json.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            let captures = try #require(report["captures"] as? [[String: Any]])
            let byPath = Dictionary(uniqueKeysWithValues: captures.compactMap { c in
                (c["path"] as? String).map { ($0, c["connectionsEvicted"] as? Int ?? 0) }
            })
            #expect(byPath[small] == 0, "\(order): \(byPath)")
            #expect((byPath[flood] ?? 0) >= 70_000 - 65_536, "\(order): \(byPath)")
        }
    }
}
