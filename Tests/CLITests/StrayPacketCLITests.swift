import Foundation
import Testing
import TestSupport

/// One packet of a connection (its SYN, a data segment, a FIN or its last bare ACK), or one whole connection,
/// stamped a day, a year or two hours off in a fleet on its clock: the client is judged as in the capture
/// without the stray (no missed check-in, no phantom check-in, no missed-heartbeat).
@Suite struct StrayPacketCLITests {
    /// One record of a classic little-endian Ethernet/IPv4 pcap: where its seconds field is, its 4-tuple
    /// (as bytes), TCP flags and payload length.
    struct Record {
        var at: Int
        var seconds: Int64
        var tuple: [UInt8]
        var flags: UInt8
        var payload: Int
    }

    static func records(_ bytes: [UInt8]) throws -> [Record] {
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) } }
        var out: [Record] = []
        var at = 24
        while at + 16 <= bytes.count {
            let end = at + 16 + Int(u32(at + 8))
            try #require(end <= bytes.count && end - at >= 16 + 54)
            let ip = at + 16 + 14
            let ihl = Int(bytes[ip] & 0x0f) * 4
            let total = Int(bytes[ip + 2]) << 8 | Int(bytes[ip + 3])
            let tcp = ip + ihl
            let header = Int(bytes[tcp + 12] >> 4) * 4
            // Either direction keys the same connection: the endpoints in a fixed order.
            let a = Array(bytes[(ip + 12)..<(ip + 16)] + bytes[tcp..<(tcp + 2)])
            let b = Array(bytes[(ip + 16)..<(ip + 20)] + bytes[(tcp + 2)..<(tcp + 4)])
            out.append(Record(at: at, seconds: Int64(u32(at)), tuple: a.lexicographicallyPrecedes(b) ? a + b : b + a,
                              flags: bytes[tcp + 13], payload: total - ihl - header))
            at = end
        }
        return out
    }

    /// `bytes` with the records at `indices` dated `offset` seconds off.
    static func shifted(_ bytes: [UInt8], _ records: [Record], _ indices: [Int], by offset: Int64) -> [UInt8] {
        var out = bytes
        for i in indices {
            let v = UInt32(truncatingIfNeeded: records[i].seconds + offset)
            for k in 0..<4 { out[records[i].at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
        }
        return out
    }

    /// The packets of the first connection opened at least 15 minutes in: SYN, first data segment from the
    /// server, first FIN, and the connection's last packet (its bare ACK), and every one of its packets.
    static func connection(_ records: [Record]) throws -> (kinds: [(String, Int)], all: [Int]) {
        let start = try #require(records.first?.seconds)
        let syn = try #require(
            records.indices.first { records[$0].seconds >= start + 900 && records[$0].flags == 0x02 })
        let all = records.indices.filter { $0 >= syn && records[$0].tuple == records[syn].tuple }
        let data = try #require(all.first { records[$0].payload >= 1000 })
        let fin = try #require(all.first { records[$0].flags & 0x01 != 0 })
        let last = try #require(all.last)
        try #require(records[last].flags == 0x10 && records[last].payload == 0)
        return ([("SYN", syn), ("data", data), ("FIN", fin), ("last ACK", last)], all)
    }

    static func fleetLine(_ out: String) -> String {
        out.split(separator: "\n").first { $0.hasPrefix("Fleet") }.map(String.init) ?? ""
    }

    static func healthColumns(_ out: String) -> [String] {
        out.split(separator: "\n").filter { $0.hasPrefix("  10.20.") }.map { line in
            let f = line.split(separator: " ")
            return f.prefix(2).joined(separator: " ") + " missed " + (f.count > 7 ? String(f[7]) : "")
        }.sorted()
    }

    @Test func oneStrayPacketOfAConnectionChangesNoJudgement() throws {
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture("fleet.pcap", [
            "--clients", "8", "--duration", "40m", "--http-share", "0", "--push-share", "0",
        ])
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: capture)))
        let records = try Self.records(bytes)
        let (kinds, _) = try Self.connection(records)
        let clean = sepbeat("audit", "-q", capture).stdout
        #expect(Self.fleetLine(clean).contains(" 0 missed"))
        for (kind, index) in kinds {
            for offset in [Int64(86_400), -86_400, 31_536_000, 7_200] {
                let path = dir.path + "/stray.pcap"
                try Data(Self.shifted(bytes, records, [index], by: offset)).write(to: URL(fileURLWithPath: path))
                let out = sepbeat("audit", "-q", path).stdout
                #expect(Self.fleetLine(out) == Self.fleetLine(clean), "\(kind) \(offset)")
                #expect(Self.healthColumns(out) == Self.healthColumns(clean), "\(kind) \(offset)")
                let analyze = sepbeat("analyze", "-q", path).stdout
                #expect(!analyze.contains("missed-heartbeat"), "\(kind) \(offset)")
            }
        }
    }

    @Test(arguments: [Int64(86_400), -86_400, 7_200])
    func oneWholeConnectionOffIsNotJudgedAndFillsItsSlot(offset: Int64) throws {
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture("fleet.pcap", [
            "--clients", "8", "--duration", "40m", "--http-share", "0", "--push-share", "0",
        ])
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: capture)))
        let records = try Self.records(bytes)
        let (_, all) = try Self.connection(records)
        let path = dir.path + "/off.pcap"
        try Data(Self.shifted(bytes, records, all, by: offset)).write(to: URL(fileURLWithPath: path))
        let clean = sepbeat("audit", "-q", capture).stdout
        let out = sepbeat("audit", "-q", path).stdout
        #expect(Self.fleetLine(out) == Self.fleetLine(clean))
        #expect(Self.healthColumns(out) == Self.healthColumns(clean))
        #expect(out.contains("1 check-in stamped off the capture's clock (not judged)"))
        #expect(!sepbeat("analyze", "-q", path).stdout.contains("missed-heartbeat"))
    }
}
