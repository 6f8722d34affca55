@testable import Analysis
import Core
import Records
import Foundation
import Testing
import TestSupport

/// Silences follow the timeline, not the file order: a clock stepped back or one packet dated far
/// away leaves the stretch between the pieces of the timeline as a silence.
@Suite struct CaptureTimelineTests {
    static func at(_ s: Int64) -> Timestamp { Timestamp(seconds: s, nanoseconds: 0) }

    static func silences(_ times: [Int64]) -> [CaptureSilence] {
        var summary = CaptureSummary(path: "x")
        for t in times { summary.noteTime(at(t)) }
        summary.closeRuns()
        return summary.silences
    }

    @Test func monotonicTimesGiveTheGapsLongerThanAMinute() {
        #expect(Self.silences([0, 30, 60, 200, 230, 231]) == [CaptureSilence(start: Self.at(60), end: Self.at(200))])
        #expect(Self.silences([0, 60, 120]).isEmpty)
    }

    @Test func smallBackwardJitterIsNoJump() {
        #expect(Self.silences([100, 90, 130, 125, 160]).isEmpty)
    }

    @Test func clockSteppedBackLeavesTheStretchBetweenThePiecesSilent() {
        // A piece a year on, then the clock goes back a year: the year between is a silence.
        let year: Int64 = 365 * 86_400
        let times: [Int64] = [year, year + 30, year + 60, 440, 470, 500]
        #expect(Self.silences(times) == [CaptureSilence(start: Self.at(500), end: Self.at(year), clockJump: true)])
        // The same pieces in time order: a pause the capture ran through, as before.
        #expect(Self.silences([440, 470, 500, year, year + 30, year + 60]) == [
            CaptureSilence(start: Self.at(500), end: Self.at(year)),
        ])
    }

    @Test func oneStrayPacketFarAwayIsLeftOutOfTheTimeline() {
        // A packet dated far ahead (or far back) amid the capture's own packets is a clock running beside
        // the capture's: no silence comes from it, and the timeline ends where the capture's clock does.
        let far: Int64 = 20 * 365 * 86_400
        #expect(Self.silences([0, 30, 60, far, 90, 120]).isEmpty)
        #expect(Self.silences([1000, 1030, 1060, 0, 30, 1000, 1040]).isEmpty)
        var summary = CaptureSummary(path: "x")
        for t in [0, 30, 60, far, 90, 120] { summary.noteTime(Self.at(t)) }
        summary.closeRuns()
        #expect(summary.timelineStart == Self.at(0) && summary.timelineEnd == Self.at(120))
    }

    @Test func anExcursionThatDoesNotComeBackIsAStepBack() {
        // Away from 1060 to 0-30, and on from there: the clock was set back, the stretch up to 1000 not run.
        #expect(Self.silences([1000, 1030, 1060, 0, 30, 40, 50]) == [
            CaptureSilence(start: Self.at(50), end: Self.at(1000), clockJump: true),
        ])
    }

    @Test func aPauseStaysAPauseWhateverFallsIntoIt() {
        // A two-hour pause run through in one step, then one packet 90 s back, or one stray dated inside it.
        let back = Self.silences([0, 30, 60, 7260, 7170, 7290, 7320])
        #expect(!back.isEmpty && back.allSatisfy { !$0.clockJump })
        let stray = Self.silences([0, 30, 60, 7260, 3600, 7290, 7320])
        #expect(stray == [CaptureSilence(start: Self.at(60), end: Self.at(7260))])
    }

    /// Packets of two clocks interleaved in real-time order: `own` at their real time, `off` at real time
    /// plus `offset` (first when both fall on the same second: the interface off speaks first).
    static func interleaved(own: [Int64], off: [Int64], offset: Int64) -> [Int64] {
        var out: [Int64] = []
        var i = 0
        var j = 0
        while i < own.count || j < off.count {
            if j < off.count, i >= own.count || off[j] <= own[i] {
                out.append(off[j] + offset)
                j += 1
            } else {
                out.append(own[i])
                i += 1
            }
        }
        return out
    }

    @Test(arguments: [Int64(3_600), 86_400, -3_600])
    func anInterfaceOffKeepsTheOtherInterfacesQuietStretchesAsPauses(offset: Int64) {
        // Both interfaces go quiet for over a minute at times (a sparse fleet): the on-time one from 300 to
        // 400, the one off from 600 to 700 of its own time. No part of either clock's time is one the
        // capture did not cover (only the stretch between the two clocks' times may be).
        let own = stride(from: Int64(0), through: 1200, by: 20).filter { $0 <= 300 || $0 >= 400 }
        let off = stride(from: Int64(0), through: 1200, by: 25).filter { $0 <= 600 || $0 >= 700 }
        let silences = Self.silences(Self.interleaved(own: own, off: off, offset: offset))
        for start in [Int64(0), offset] {
            let clock = (from: Self.at(start), to: Self.at(start + 1200))
            #expect(silences.allSatisfy { !$0.uncovered || $0.overlap(from: clock.from, to: clock.to) == 0 })
        }
    }

    @Test(arguments: [Int64(3_600), 86_400, -3_600])
    func oneFlowOffMakesNoSilenceOfItsOwnIntervals(offset: Int64) {
        // One client checks in every 300 s (a burst of 3 packets), stamped `offset` off; the others every 20 s
        // with a pause from 1000 to 1100. Nothing of the client's time is a stretch the capture did not cover.
        let own = stride(from: Int64(0), through: 2400, by: 20).filter { $0 <= 1000 || $0 >= 1100 }
        let off = stride(from: Int64(5), through: 2400, by: 300).flatMap { [$0, $0 + 1, $0 + 2] }
        var summary = CaptureSummary(path: "x")
        for t in Self.interleaved(own: own, off: off, offset: offset) { summary.noteTime(Self.at(t)) }
        summary.closeRuns()
        #expect(summary.silences == [CaptureSilence(start: Self.at(1000), end: Self.at(1100))])
        #expect(summary.timelineStart == Self.at(0) && summary.timelineEnd == Self.at(2400))
    }

    @Test func aFileThatRanThroughAStretchOutweighsAnotherFilesJump() {
        // File a pauses from 100 to 400 (run through); file b's clock jumped across 50-900.
        func file(_ name: String, _ times: [Int64]) -> CaptureSummary {
            var f = CaptureSummary(path: name)
            for t in times { f.noteTime(Self.at(t)) }
            f.first = times.min().map(Self.at)
            f.last = times.max().map(Self.at)
            f.closeRuns()
            return f
        }
        let a = file("a", [0, 30, 60, 90, 100, 400, 430, 460, 490, 1000])
        let b = file("b", [900, 930, 960, 0, 20, 50])
        #expect(b.silences == [CaptureSilence(start: Self.at(50), end: Self.at(900), clockJump: true)])
        let merged = CaptureSummary.merged([a, b])
        #expect(merged.silences.contains { $0.start == Self.at(100) && $0.end == Self.at(400) })
        #expect(merged.silences.allSatisfy { !$0.clockJump && !$0.betweenFiles })
    }

    /// Rewrites a capture made by `simulate`: the second half of its records dated `shift` seconds earlier
    /// (a clock set back), or only the middle record dated `shift` seconds later (one stray packet).
    static func shifted(_ path: String, to out: String, secondHalfBack shift: UInt32 = 0, strayAhead: UInt32 = 0) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var offsets: [Int] = []
        var at = 24
        while at + 16 <= bytes.count {
            offsets.append(at)
            let caplen = Int(bytes[at + 8]) | Int(bytes[at + 9]) << 8 | Int(bytes[at + 10]) << 16 | Int(bytes[at + 11]) << 24
            at += 16 + caplen
        }
        func add(_ delta: Int64, at o: Int) {
            let old = Int64(bytes[o]) | Int64(bytes[o + 1]) << 8 | Int64(bytes[o + 2]) << 16 | Int64(bytes[o + 3]) << 24
            let new = UInt32(truncatingIfNeeded: old + delta)
            for k in 0..<4 { bytes[o + k] = UInt8(truncatingIfNeeded: new >> (8 * UInt32(k))) }
        }
        let middle = offsets.count / 2
        if shift > 0 { for o in offsets[middle...] { add(-Int64(shift), at: o) } }
        if strayAhead > 0 { add(Int64(strayAhead), at: offsets[middle]) }
        try Data(bytes).write(to: URL(fileURLWithPath: out))
    }

    @Test func auditAcrossAClockSetBackJudgesNothingMissedAndSaysWhy() throws {
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture("fleet.pcap", ["--clients", "4", "--duration", "1h", "--seed", "7"])
        let stepped = dir.path + "/stepped.pcap"
        try Self.shifted(capture, to: stepped, secondHalfBack: 365 * 86_400)
        let audit = sepbeat("audit", stepped)
        #expect(audit.stdout.contains(", 0 missed\n"))
        #expect(!audit.stdout.contains("unhealthy  "))
        // The whole clock set back a year at half (the earlier time never comes back): read on the clock
        // before the step, so no stretch is left uncovered, and the step is named.
        let analyze = sepbeat("analyze", stepped)
        #expect(!analyze.stdout.contains("the capture does not cover this time"))
        #expect(analyze.stdout.contains("the clock was set back by about 364 d 23 h"))
    }

    @Test func oneStrayPacketFarAheadDoesNotMakeClientsVanish() throws {
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture("fleet.pcap", ["--clients", "4", "--duration", "1h", "--seed", "7"])
        let stray = dir.path + "/stray.pcap"
        try Self.shifted(capture, to: stray, strayAhead: 20 * 365 * 86_400)
        let audit = sepbeat("audit", stray)
        #expect(audit.stdout.contains("timestamps going backwards 1"))
        #expect(!audit.stdout.contains("silent before the capture ended"))
        #expect(sepbeat("audit", capture).stdout.contains(", 0 missed\n"))
    }
}
