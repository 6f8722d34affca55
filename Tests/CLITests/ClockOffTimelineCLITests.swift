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

    /// Copies the classic pcap `path` to `out` with the records from the middle one on dated `offset`
    /// seconds later (the capture's clock set forward halfway).
    static func secondHalfForward(_ path: String, to out: String, offset: UInt32) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var offsets: [Int] = []
        var at = 24
        while at + 16 <= bytes.count {
            offsets.append(at)
            at += 16 + (0..<4).reduce(0) { $0 | Int(bytes[at + 8 + $1]) << (8 * $1) }
        }
        for o in offsets[(offsets.count / 2)...] {
            let old = (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[o + $1]) << (8 * UInt32($1)) }
            let new = old &+ offset
            for k in 0..<4 { bytes[o + k] = UInt8(truncatingIfNeeded: new >> (8 * UInt32(k))) }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: out))
    }

    @Test func aFileWhoseClockWasSetForwardAmongOthersIsNamed() throws {
        let dir = try TemporaryFolder()
        _ = try dir.simulatedCapture("sp.pcap", ["--clients", "12", "--duration", "2h", "--split", "3"])
        let files = (1...3).map { dir.path + "/sp-\($0).pcap" }
        let forward = dir.path + "/sp2-forward.pcap"
        try Self.secondHalfForward(files[1], to: forward, offset: 3_600)

        let note = "sp2-forward.pcap: no packets from "
        let analyze = sepbeat("analyze", "-q", files[0], forward, files[2])
        let finding = analyze.stdout.split(separator: "\n").first { $0.contains(note) } ?? ""
        #expect(finding.hasPrefix("  warning capture-gap "))
        #expect(finding.contains("(1 h 0 min) while the other files' packets went on, and it runs on "))
        #expect(finding.contains(" after the last of theirs: its clock may have been set forward there"))
        let audit = sepbeat("audit", "-q", files[0], forward, files[2]).stdout
        #expect(audit.contains("Note: " + forward + " has no packets from "))
        #expect(audit.contains("its clock may have been set forward; its clients' intervals across it are judged"))
        // The same files with the right clock, or the shifted file alone (a pause then): no such note.
        #expect(!sepbeat("analyze", "-q", files[0], files[1], files[2]).stdout.contains("set forward"))
        #expect(!sepbeat("audit", "-q", files[0], files[1], files[2]).stdout.contains("Note:"))
        #expect(!sepbeat("analyze", "-q", forward).stdout.contains("set forward"))
    }

    /// Three sensors of three clients each: a file falls quiet for a minute or two between its clients'
    /// check-ins and ends a couple of minutes after the others, so many of its pauses each match how far it
    /// runs on. No clock stepped: none of them is named (32 `capture-gap` warnings were).
    @Test func aSparseFileThatOftenPausesAsLongAsItRunsOnIsNoClockSetForward() throws {
        let dir = try TemporaryFolder()
        _ = try dir.simulatedCapture("sp.pcap", ["--clients", "9", "--duration", "2h", "--split", "3", "--seed", "3"])
        let files = (1...3).map { dir.path + "/sp-\($0).pcap" }
        let analyze = sepbeat("analyze", "-q", files[0], files[1], files[2]).stdout
        #expect(analyze.contains("Verdict: "))
        #expect(!analyze.contains("set forward"))
        #expect(!sepbeat("audit", "-q", files[0], files[1], files[2]).stdout.contains("Note:"))
    }
}
