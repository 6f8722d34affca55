@testable import Analysis
import Core
@testable import Heartbeat
import Records
import Testing

/// The timeline's reading of a whole clock set back partway, and of a stray start (the first packets
/// stamped far behind the rest).
@Suite struct ClockSetBackTimelineTests {
    static func at(_ s: Int64) -> Timestamp { Timestamp(seconds: s, nanoseconds: 0) }

    static func closed(_ times: [Int64], correcting: Bool = true) -> CaptureSummary {
        var summary = CaptureSummary(path: "x")
        for (k, t) in times.enumerated() { summary.noteTime(at(t), nextConnection: UInt64(k + 1)) }
        summary.closeRuns(correctingSetBack: correcting)
        return summary
    }

    @Test func aClockSetBackHalfwayIsReadOnTheClockBeforeIt() {
        // An hour every 30 s, then the clock set back 50 min and on for another hour.
        let before = Array(stride(from: Int64(0), through: 3_600, by: 30))
        let after = Array(stride(from: Int64(600), through: 4_200, by: 30))
        let s = Self.closed(before + after)
        #expect(s.clockSetBack.count == 1)
        let step = s.clockSetBack.first
        #expect(step?.before == Self.at(3_600) && step?.after == Self.at(600))
        #expect(step?.nanoseconds == Int64(3_000) * 1_000_000_000)
        #expect(step?.firstConnection == UInt64(before.count + 1))
        #expect(step?.corrected == true)
        #expect(s.silences.isEmpty)
        #expect(s.timelineStart == Self.at(0) && s.timelineEnd == Self.at(4_200 + 3_000))
        // Not corrected (a run of several files): named, the stamped times kept.
        let named = Self.closed(before + after, correcting: false)
        #expect(named.clockSetBack.count == 1 && named.clockSetBack.first?.corrected == false)
        #expect(named.timelineEnd == Self.at(4_200))
    }

    @Test func aSparseCaptureSetBackAYearIsOneStep() {
        // Check-ins a few minutes apart (quiet stretches of over a minute), then the clock a year back.
        let year: Int64 = 365 * 86_400
        let before: [Int64] = [0, 1, 200, 201, 400, 401, 600, 601]
        let after = before.map { $0 + 800 - year }
        let s = Self.closed(before + after)
        #expect(s.clockSetBack.count == 1)
        #expect(s.clockSetBack.first?.nanoseconds == (601 - (800 - year)) * 1_000_000_000)
        #expect(!s.silences.contains { $0.clockJump })
        #expect(s.offClock.isEmpty)
    }

    @Test func twoClocksInterleavedOrAStrayComingBackAreNoStepBack() {
        // One flow an hour behind, interleaved with the capture's own packets.
        var times: [Int64] = []
        for t in stride(from: Int64(0), through: 3_000, by: 30) { times += [t + 3_600, t] }
        #expect(Self.closed(times).clockSetBack.isEmpty)
        // A few packets a day behind that come back to the clock.
        let back = Self.closed([0, 30, 60, 90, 120, -86_400, -86_399, 150, 180, 210])
        #expect(back.clockSetBack.isEmpty)
        // An excursion a day ahead, then the capture's clock goes on after a pause.
        let ahead = Self.closed([0, 30, 60, 90, 86_490, 86_491, 300, 330, 360, 390])
        #expect(ahead.clockSetBack.isEmpty)
        // A step back of under a minute is jitter.
        #expect(Self.closed([0, 30, 60, 90, 120, 150, 110, 140, 170, 200]).clockSetBack.isEmpty)
    }

    @Test func theFirstPacketsStampedADayBehindAreAStrayStart() {
        let rest = Array(stride(from: Int64(0), through: 1_800, by: 10))
        let one = Self.closed([-86_400] + rest)
        #expect(one.packetsBehindAtStart == 1)
        #expect(one.silences.isEmpty)
        #expect(one.timelineStart == Self.at(0))
        #expect(one.offClock == [OffClockStretch(start: Self.at(-86_400), end: Self.at(-86_400))])
        let three = Self.closed([-86_400, -86_399, -86_398] + rest)
        #expect(three.packetsBehindAtStart == 3)
        // Ten minutes behind is a quiet stretch the capture ran through, not a stray start.
        let near = Self.closed([-600] + rest)
        #expect(near.packetsBehindAtStart == 0)
        #expect(near.timelineStart == Self.at(-600))
        // Most of the file behind: a capture that paused, not a stray start.
        #expect(Self.closed([-86_400, -86_399, 0, 1]).packetsBehindAtStart == 0)
        #expect(Self.closed(rest).packetsBehindAtStart == 0)
    }

    @Test func aStepBackHidesTheIntervalAcrossItHoweverShort() {
        let step = CaptureSilence(start: Self.at(1_000), end: Self.at(1_000), clockSetBack: true)
        #expect(step.uncovered)
        #expect(step.overlap(from: Self.at(0), to: Self.at(2_000)) == 0)
        let t: Int64 = 30_000_000_000
        func hidden(_ from: Int64, _ to: Int64) -> Int? {
            CaptureSilence.hiding([step], from: Self.at(from), to: Self.at(to), toleranceNanos: t)
        }
        #expect(hidden(990, 1_010) == 0)
        #expect(hidden(1_000, 1_300) == 0)
        #expect(hidden(700, 1_000) == nil)
        #expect(hidden(1_001, 1_300) == nil)
    }
}
