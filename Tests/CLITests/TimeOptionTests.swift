import Testing
@testable import CLI

/// Times given to `--duration`, `--every` and `--jitter`: seconds, a number with a unit, or parts with units.
@Suite struct TimeOptionTests {
    @Test func partsWithUnitsAddUp() {
        #expect(SimulateOptions.timeSeconds("90") == 90)
        #expect(SimulateOptions.timeSeconds("1.5") == 1.5)
        #expect(SimulateOptions.timeSeconds("30m") == 1_800)
        #expect(SimulateOptions.timeSeconds("2H") == 7_200)
        #expect(SimulateOptions.timeSeconds("1h30m") == 5_400)
        #expect(SimulateOptions.timeSeconds("1d12h") == 129_600)
        #expect(SimulateOptions.timeSeconds("1m30.5s") == 90.5)
    }

    @Test func otherTextIsNotATime() {
        for text in ["", "h", "1h30", "soon", "1e3", "inf", "nan", "0x10", " 5", "1.5.2m", "-5m", "5 m",
                     "1h1h", "30m30m", "30m1h", "5s1m", "1d2d"] {
            #expect(SimulateOptions.timeSeconds(text) == nil, "\(text)")
        }
    }

    @Test func compoundDurationIsTakenByTheLiveOption() throws {
        var o = Options()
        try LiveOptions.duration.apply(&o, "1h30m")
        #expect(o.live.durationSeconds == 5_400)
        #expect(throws: UsageError.self) { try LiveOptions.duration.apply(&o, "0") }
    }
}
