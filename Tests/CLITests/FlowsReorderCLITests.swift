import Analysis
import Foundation
import Reports
import Testing
import TestSupport

/// `flows` on real runs: rows leave in id order as connections end, ids taken by copies captured twice are
/// not waited for, and a connection open past the reorder window is listed when it ends, counted.
@Suite struct FlowsReorderCLITests {
    /// One connection (id 1) open from the start to the end of the capture (210 s), its SYN repeated, and
    /// `refused` connects in between (a SYN answered by a RST, 5 ms apart from 1 s on): those end one close
    /// linger (60 s) after their RST, while the first is still open.
    static func longConnectionAmongRefusedOnes(_ refused: Int, in folder: TemporaryDirectory) -> String {
        var pcap = PcapBuilder()
        let base: UInt32 = 1_741_000_000
        let server: [UInt8] = [198, 51, 100, 10]
        func syn(_ client: [UInt8], _ port: UInt16) -> [UInt8] {
            let tcp = PacketBuilder.tcp(sourcePort: port, destinationPort: 443, sequence: 7, acknowledgement: 0,
                                        flags: 0x002)
            return PacketBuilder.ethernet(type: 0x0800, payload: PacketBuilder.ipv4(
                source: client, destination: server, payload: tcp))
        }
        pcap.record(seconds: base, fraction: 0, data: syn([10, 0, 0, 1], 40_000))
        for i in 0..<refused {
            let client: [UInt8] = [10, 1, UInt8(i / 250), UInt8(i % 250 + 1)]
            let port = UInt16(40_000 + i % 20_000)
            let micros = 1_000_000 + UInt64(i) * 5_000
            pcap.record(seconds: base + UInt32(micros / 1_000_000), fraction: UInt32(micros % 1_000_000),
                        data: syn(client, port))
            let rst = PacketBuilder.tcp(sourcePort: 443, destinationPort: port, sequence: 0, acknowledgement: 8,
                                        flags: 0x014)
            let back = PacketBuilder.ethernet(type: 0x0800, payload: PacketBuilder.ipv4(
                source: server, destination: client, payload: rst))
            let later = micros + 100
            pcap.record(seconds: base + UInt32(later / 1_000_000), fraction: UInt32(later % 1_000_000), data: back)
        }
        // Its SYN again every 30 s after the last connect (83 s), so the capture's clock runs on (one packet far
        // ahead would be a step of the clock to confirm) and the connects' close linger runs out meanwhile.
        for seconds: UInt32 in stride(from: 90, through: 210, by: 30) {
            pcap.record(seconds: base + seconds, fraction: 0, data: syn([10, 0, 0, 1], 40_000))
        }
        return folder.write("long.pcap", pcap.data)
    }

    @Test func aConnectionOpenPastTheWindowIsListedWhenItEndsAndCounted() throws {
        let folder = TemporaryDirectory()
        let refused = FlowsWriter.defaultWindow + 2
        let path = Self.longConnectionAmongRefusedOnes(refused, in: folder)
        let json = CLIRun(["flows", "-q", "-F", "json", path])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let ids = try #require(object["connections"] as? [[String: Any]]).compactMap { $0["id"] as? Int }
        #expect(ids.count == refused + 1)
        #expect(Array(ids.dropLast()) == Array(2...(refused + 1)))
        #expect(ids.last == 1)
        #expect(object["connectionsListedLate"] as? Int == 1)

        let text = CLIRun(["flows", "-q", path])
        #expect(text.status == 0)
        #expect(text.stdout.contains("\n\(refused + 1) TCP connections\n1 of them listed out of id order, when they "
            + "ended: each was still open while more than 16384 connections after it had ended\n\n\(path): "))
        let rows = text.stdout.split(separator: "\n").filter { $0.contains(":40000 ") || $0.contains("  10.1.") }
        #expect(rows.count == refused + 1)
        #expect(rows.last?.hasPrefix("    1  10.0.0.1:40000") == true, "\(rows.last ?? "")")
        // The table was measured on its first 4,096 rows: the id column widens at 10000, under a new head.
        let heads = text.stdout.split(separator: "\n").filter { $0.drop { $0 == " " }.hasPrefix("#  client") }
        #expect(heads.count == 2, "\(heads)")
        #expect(text.stdout.hasPrefix("   #  client"))
        #expect(text.stdout.contains("\n\n    #  client"))
    }

    /// Each id taken by a copy of a connection captured under another VLAN tag is told to the run's consumer
    /// (`onLeftOut`), so every id comes once; `flows` lists the connections in id order without waiting.
    @Test func idsOfCopiesCapturedTwiceAreToldAndNotWaitedFor() throws {
        let folder = TemporaryDirectory()
        let path = try CapturedTwiceAnalysisTests.doubled(heartbeatCapture("failover"), into: folder)
        var run = CaptureRun(paths: [path])
        var left: [UInt64] = []
        run.onLeftOut = { left.append($0) }
        var ended: [UInt64] = []
        let files = try run.run(try run.open()) { ended.append($0.record.id) }
        #expect(left.count == files[0].connectionsCapturedTwice && !left.isEmpty)
        #expect((left + ended).sorted() == Array(1...UInt64(left.count + ended.count)))

        let flows = CLIRun(["flows", "-q", "-F", "json", path])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(flows.stdout.utf8)) as? [String: Any])
        let ids = try #require(object["connections"] as? [[String: Any]]).compactMap { ($0["id"] as? Int) }
        #expect(ids.map(UInt64.init) == ended.sorted())
        #expect(object["connectionsListedLate"] as? Int == 0)
    }
}
