import Foundation
import Testing
import TestSupport

/// Clients whose packets are stamped far off (an interface, or one flow, an hour or a day ahead or behind)
/// in a sparse fleet, records kept in arrival order as in a merged two-interface capture: every client is
/// judged as in the capture with the right clock; no interval of anyone is taken as a capture silence.
@Suite struct ClockOffTimelineCLITests {
    /// Copies the classic pcap `path` (little-endian, Ethernet and IPv4, as `simulate` writes it) to `out`:
    /// packets to or from an address `moved` picks are dated `offset` seconds off; those of them within
    /// `drop` seconds of the first record are left out (a missed check-in). Returns the packets moved.
    static func moving(_ path: String, to out: String, offset: Int64, drop: Range<Int64>? = nil,
                       moved: ([UInt8]) -> Bool) throws -> Int {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) } }
        func le(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
        var written = Array(bytes.prefix(24))
        var count = 0
        var first: Int64?
        var at = 24
        while at + 16 <= bytes.count {
            let end = at + 16 + Int(u32(at + 8))
            try #require(end <= bytes.count && end - at >= 16 + 34)
            let seconds = Int64(u32(at))
            first = first ?? seconds
            let frame = at + 16
            let hit = moved(Array(bytes[(frame + 26)..<(frame + 30)]))
                || moved(Array(bytes[(frame + 30)..<(frame + 34)]))
            if hit, let drop, drop.contains(seconds - (first ?? seconds)) {
                at = end
                continue
            }
            written += le(hit ? UInt32(truncatingIfNeeded: seconds + offset) : UInt32(seconds))
            written += bytes[(at + 4)..<end]
            if hit { count += 1 }
            at = end
        }
        try Data(written).write(to: URL(fileURLWithPath: out))
        return count
    }

    /// The first record's source address (the client that speaks first).
    static func firstSource(_ path: String) throws -> [UInt8] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        try #require(bytes.count >= 24 + 16 + 34)
        return Array(bytes[(24 + 16 + 26)..<(24 + 16 + 30)])
    }

    /// The audit's fleet line and its client rows (`client health score ... why`), keyed by address.
    static func audit(_ capture: String) -> (fleet: String, rows: [String: String]) {
        let lines = sepbeat("audit", "-q", capture).stdout.split(separator: "\n").map(String.init)
        var rows: [String: String] = [:]
        for line in lines where line.hasPrefix("  10.20.") {
            let fields = line.split(separator: " ")
            rows[String(fields[0])] = fields.dropFirst().prefix(7).joined(separator: " ")
        }
        return (lines.first { $0.hasPrefix("Fleet") } ?? "", rows)
    }

    @Test(arguments: [Int64(3_600), 86_400])
    func aBusyInterfaceAheadThatSpeaksFirstHidesNoOnTimeClientsMissedCheckIn(offset: Int64) throws {
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture("fleet.pcap", [
            "--clients", "40", "--duration", "40m", "--http-share", "0", "--push-share", "0", "--fault", "missed=3",
        ])
        // Every other client (those of the first one to speak) on the interface ahead.
        let parity = try Self.firstSource(capture)[3] & 1
        let ahead = dir.path + "/ahead.pcap"
        let moved = try Self.moving(capture, to: ahead, offset: offset) {
            $0[0] == 10 && $0[1] == 20 && $0[3] & 1 == parity
        }
        #expect(moved > 1000)

        let clean = Self.audit(capture)
        #expect(clean.fleet.contains(", 3 missed"))
        let shifted = Self.audit(ahead)
        #expect(shifted.fleet == clean.fleet)
        #expect(shifted.rows == clean.rows)
        let analyze = sepbeat("analyze", "-q", ahead)
        #expect(!analyze.stdout.contains("capture-gap"))
        #expect(!analyze.stdout.contains("not judged"))
    }

    @Test(arguments: [Int64(3_600), 86_400, -3_600])
    func oneClientOffIsJudgedByItsOwnTimes(offset: Int64) throws {
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture("fleet.pcap", [
            "--clients", "6", "--duration", "40m", "--http-share", "0", "--push-share", "0",
        ])
        let client: [UInt8] = [10, 20, 0, 2]
        // One check-in of 10.20.0.2 lost, with and without its clock off.
        let dropped = dir.path + "/dropped.pcap"
        let off = dir.path + "/off.pcap"
        _ = try Self.moving(capture, to: dropped, offset: 0, drop: 840..<1140) { $0 == client }
        #expect(try Self.moving(capture, to: off, offset: offset, drop: 840..<1140) { $0 == client } > 100)

        let right = Self.audit(dropped)
        #expect(right.rows["10.20.0.2"]?.hasPrefix("unhealthy") == true)
        #expect(right.fleet.contains(", 1 missed"))
        let shifted = Self.audit(off)
        #expect(shifted.fleet == right.fleet)
        #expect(shifted.rows == right.rows)
        #expect(!sepbeat("analyze", "-q", off).stdout.contains("capture-gap"))
    }
}
