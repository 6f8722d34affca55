import Foundation
import Testing
import TestSupport

/// A capture whose whole clock is set back partway (every flow an hour behind from some packet on): the step
/// is named, and the times after it are read on the clock before it, so check-ins either side keep their
/// order and no interval across the step is judged backwards.
@Suite struct ClockSetBackCLITests {
    /// Copies the classic pcap `path` (little-endian, as `simulate` writes it) to `out` with every record from
    /// `after` seconds past the first one on dated `back` seconds earlier. Returns the records moved.
    static func settingBack(_ path: String, to out: String, after: Int64, back: Int64) throws -> Int {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func le(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
        var written = Array(bytes.prefix(24))
        var moved = 0
        let records = try Self.records(bytes)
        let first = records.first?.seconds ?? 0
        for (seconds, range) in records {
            let late = seconds - first >= after
            written += le(UInt32(truncatingIfNeeded: late ? seconds - back : seconds))
            written += bytes[(range.lowerBound + 4)..<range.upperBound]
            if late { moved += 1 }
        }
        try Data(written).write(to: URL(fileURLWithPath: out))
        return moved
    }

    /// Copies the classic pcap `path` (little-endian, as `simulate` writes it) to `out` with the records from
    /// `after` seconds past the first one on written first (two rotated files joined in the wrong order).
    static func swappingHalves(_ path: String, to out: String, after: Int64) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var early: [UInt8] = []
        var late: [UInt8] = []
        let records = try Self.records(bytes)
        let first = records.first?.seconds ?? 0
        for (seconds, range) in records {
            if seconds - first >= after { late += bytes[range] } else { early += bytes[range] }
        }
        try Data(Array(bytes.prefix(24)) + late + early).write(to: URL(fileURLWithPath: out))
    }

    /// The records of a little-endian classic pcap file's `bytes` (as `simulate` writes it): each one's whole
    /// seconds and its bytes, header included.
    static func records(_ bytes: [UInt8]) throws -> [(seconds: Int64, range: Range<Int>)] {
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) } }
        var out: [(seconds: Int64, range: Range<Int>)] = []
        var at = 24
        while at + 16 <= bytes.count {
            let end = at + 16 + Int(u32(at + 8))
            try #require(end <= bytes.count)
            out.append((Int64(u32(at)), at..<end))
            at = end
        }
        return out
    }

    /// The report's `Client A: N check-ins, ...` lines, keyed by address, up to the missed and accelerated counts.
    static func clientLines(_ report: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in report.split(separator: "\n") where line.hasPrefix("Client ") {
            let words = line.split(separator: " ")
            out[String(words[1].dropLast())] = String(words[2])
                + (line.range(of: ", missed").map { String(line[$0.lowerBound...]) } ?? "")
        }
        return out
    }

    @Test func aFleetWhoseClockIsSetBackAnHourPartwayIsJudgedAsTheRightClockGivesIt() throws {
        let dir = try TemporaryFolder()
        // Push clients among them: their one connection is open across the step.
        let capture = try dir.simulatedCapture("fleet.pcap", [
            "--clients", "30", "--duration", "2h", "--push-share", "0.3",
        ])
        let back = dir.path + "/back.pcap"
        let moved = try Self.settingBack(capture, to: back, after: 3_600, back: 3_600)
        #expect(sepbeat("analyze", capture).stdout.contains(" push "))
        #expect(moved > 1000)

        let clean = sepbeat("analyze", capture)
        let stepped = sepbeat("analyze", back)
        #expect(clean.status == 0)
        #expect(stepped.status == 0, "\(stepped.stdout.suffix(2000))")
        // Every client has the check-ins and the missed/accelerated counts of the capture with the right clock.
        let cleanClients = Self.clientLines(clean.stdout)
        #expect(cleanClients.count == 30)
        #expect(Self.clientLines(stepped.stdout) == cleanClients)
        for code in ["interval-early", "interval-mismatch", "missed-heartbeat", "accelerated-heartbeat"] {
            #expect(!stepped.stdout.contains(code), "\(code)")
        }
        let check = { (report: String) in report.split(separator: "\n").first { $0.hasPrefix("Verdict") } ?? "" }
        #expect(check(stepped.stdout) == check(clean.stdout))
        // The step is named: on the capture summary and as one capture-gap warning.
        #expect(stepped.stdout.contains("  clock set back by about 59 min"), "\(stepped.stdout.prefix(800))")
        // The interval of each client across the step is not judged (the time the capture took across it
        // is unknown): one more capture-gap warning counts them.
        let gaps = stepped.stdout.split(separator: "\n").filter { $0.contains("capture-gap") }
        #expect(gaps.count == 2)
        #expect(gaps.contains { $0.contains("the clock was set back by about 59 min") && $0.contains("read 59 min") })
        #expect(gaps.contains { $0.contains("30 intervals of 30 clients across the step not judged") },
                "\(gaps)")
        #expect(!clean.stdout.contains("set back"))

        let json = sepbeat("analyze", "-q", "-F", "json", back).stdout
        #expect(json.contains("\"clockSetBack\" : ["))
        #expect(json.contains("\"corrected\" : true"))
        #expect(!sepbeat("analyze", "-q", "-F", "json", capture).stdout.contains("clockSetBack"))

        let audit = sepbeat("audit", "-q", back)
        #expect(audit.status == 0)
        #expect(audit.stdout.contains("set back by about 59 min"))
        // Read with --jobs, the report is the same (timestamps going backwards: read in order).
        #expect(sepbeat("analyze", "-q", "-j", "2", back).stdout == sepbeat("analyze", "-q", back).stdout)
    }

    /// The same fleet with a quiet stretch of two minutes early on (no packet at all, as a sparse capture has),
    /// which the connection table takes for a step of its clock ahead: a later step back of the whole clock still
    /// reads the push connections open across it on the clock they began on, so every push check-in after it
    /// stays one (half of each push client's check-ins ran together into one before).
    @Test func aStepBackAfterAQuietStretchKeepsEveryPushCheckIn() throws {
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture("fleet.pcap", [
            "--clients", "30", "--duration", "2h", "--push-share", "0.3",
        ])
        let paused = dir.path + "/paused.pcap"
        _ = try Self.settingBack(capture, to: paused, after: 600, back: -120)
        let back = dir.path + "/back.pcap"
        _ = try Self.settingBack(paused, to: back, after: 3_720, back: 3_600)
        let clean = sepbeat("analyze", paused)
        let stepped = sepbeat("analyze", back)
        #expect(clean.stdout.contains(" push "))
        #expect(stepped.stdout.contains("  clock set back by about 59 min"), "\(stepped.stdout.prefix(800))")
        let cleanClients = Self.clientLines(clean.stdout)
        #expect(cleanClients.count == 30)
        #expect(Self.clientLines(stepped.stdout) == cleanClients)
    }

    /// Rotated files joined in the wrong order (the second hour first): the step back at the seam is found,
    /// and a push connection open across the rotation, its later half shown first, picked up without its SYN,
    /// does not swallow its own SYN and first half after the step as old retransmissions: that SYN opens a
    /// connection of its own, so every push client keeps the check-ins of both halves (half were lost before).
    @Test func rotatedHalvesJoinedInTheWrongOrderKeepEveryPushCheckIn() throws {
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture("fleet.pcap", [
            "--clients", "30", "--duration", "2h", "--push-share", "0.3",
        ])
        let swapped = dir.path + "/swapped.pcap"
        try Self.swappingHalves(capture, to: swapped, after: 3_600)
        let clean = sepbeat("analyze", capture)
        let stepped = sepbeat("analyze", swapped)
        #expect(clean.stdout.contains(" push "))
        #expect(stepped.stdout.contains("  clock set back by about"), "\(stepped.stdout.prefix(800))")
        let checkIns = { (report: String) in Self.clientLines(report).mapValues { $0.prefix { $0 != "," } } }
        let cleanCheckIns = checkIns(clean.stdout)
        #expect(cleanCheckIns.count == 30)
        #expect(checkIns(stepped.stdout) == cleanCheckIns)
    }

    /// A sparse fleet (6 clients) whose last check-in before the step came after a quiet minute: the segments
    /// held ahead then were the capture's own time going on, not packets stamped ahead of its clock.
    @Test func aStepBackAfterAQuietMinuteCountsNothingStampedAhead() throws {
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture("fleet.pcap", ["--clients", "6", "--duration", "1h", "--seed", "3"])
        let back = dir.path + "/back.pcap"
        _ = try Self.settingBack(capture, to: back, after: 1_800, back: 3_600)
        let stepped = sepbeat("analyze", back)
        #expect(stepped.stdout.contains("  clock set back by about 59 min"), "\(stepped.stdout.prefix(800))")
        #expect(!stepped.stdout.contains("stamped ahead"), "\(stepped.stdout.prefix(800))")
        #expect(Self.clientLines(stepped.stdout) == Self.clientLines(sepbeat("analyze", capture).stdout))
    }

    /// A step back of less than the silence threshold (a minute) is no step: the packets are only counted as
    /// going backwards, as before.
    @Test func aSmallStepBackIsNotNamed() throws {
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture("fleet.pcap", [
            "--clients", "10", "--duration", "30m", "--push-share", "0",
        ])
        let back = dir.path + "/back.pcap"
        _ = try Self.settingBack(capture, to: back, after: 900, back: 30)
        let run = sepbeat("analyze", back)
        #expect(!run.stdout.contains("set back"))
        #expect(!sepbeat("analyze", "-q", "-F", "json", back).stdout.contains("clockSetBack"))
    }

    /// Copies the classic pcap `path` to `out` with its first `count` records dated `back` seconds earlier.
    static func firstBack(_ path: String, to out: String, count: Int, back: Int64) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var at = 24
        for _ in 0..<count {
            try #require(at + 16 <= bytes.count)
            let old = (0..<4).reduce(Int64(0)) { $0 | Int64(bytes[at + $1]) << (8 * Int64($1)) }
            let new = UInt32(truncatingIfNeeded: old - back)
            for k in 0..<4 { bytes[at + k] = UInt8(truncatingIfNeeded: new >> (8 * UInt32(k))) }
            at += 16 + (0..<4).reduce(0) { $0 | Int(bytes[at + 8 + $1]) << (8 * $1) }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: out))
    }

    @Test(arguments: [1, 3])
    func theFirstPacketsStampedADayBehindGiveNoFalseFinding(count: Int) throws {
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture("fleet.pcap", [
            "--clients", "20", "--duration", "1h", "--http-share", "0", "--push-share", "0",
        ])
        let stray = dir.path + "/stray.pcap"
        try Self.firstBack(capture, to: stray, count: count, back: 86_400)
        let clean = sepbeat("analyze", capture)
        let run = sepbeat("analyze", stray)
        #expect(run.status == 0, "\(run.stdout.suffix(1500))")
        #expect(Self.clientLines(run.stdout) == Self.clientLines(clean.stdout))
        #expect(Self.clientLines(run.stdout).count == 20)
        for code in ["missed-heartbeat", "connect-timeout", "connect-failed", "capture-gap"] {
            #expect(!run.stdout.contains(code), "\(code)")
        }
        let check = { (report: String) in report.split(separator: "\n").first { $0.hasPrefix("Verdict") } ?? "" }
        #expect(check(run.stdout) == check(clean.stdout))
        #expect(run.stdout.contains("packets at the start stamped far behind the rest \(count)"))
        #expect(sepbeat("analyze", "-q", "-F", "json", stray).stdout.contains("\"packetsBehindAtStart\" : \(count),"))
        #expect(!sepbeat("analyze", "-q", "-F", "json", capture).stdout.contains("packetsBehindAtStart"))
        let audit = sepbeat("audit", "-q", stray)
        #expect(audit.status == 0)
        #expect(!audit.stdout.contains("appeared mid-capture"))
    }
}
