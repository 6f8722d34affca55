import Core
@testable import Reports
import Testing

/// `TimeText` writes the text of `Timestamp.rfc3339()` in quotes, whatever the order of the times and
/// however far apart (it keeps the date of the last day it wrote).
@Suite struct TimeTextTests {
    static func expected(_ t: Timestamp) -> [UInt8] {
        Array("\"\(t.rfc3339())\"".utf8)
    }

    @Test func timesInAnyOrderAreTimestampsOwnText() {
        let day: Int64 = 86_400 * 1_000_000_000
        var times: [Int64] = [0, -1, 1, day - 1, day, -day, -day - 1, 999_999_999, 1_000_000_000,
                              1_705_305_604_079_371_640, 1_705_305_604_079_371_640 + day / 2, .min, .max,
                              .min + 1, .max - 1]
        // A walk through the days of some years, back and forth.
        for k in stride(from: Int64(-800), through: 20_000, by: 37) { times.append(k * day + k * 1_234_567) }
        times += times.reversed()
        var writer = TimeText()
        var out: [UInt8] = []
        var expected: [UInt8] = []
        for n in times {
            writer.appendQuoted(Timestamp(nanoseconds: n), to: &out)
            expected += Self.expected(Timestamp(nanoseconds: n))
        }
        #expect(String(decoding: out, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
    }

    @Test func eachTimeIsOneQuotedText() {
        var writer = TimeText()
        for n: Int64 in [0, 1_705_305_604_079_371_640, -1, .min, .max] {
            var out: [UInt8] = [UInt8(ascii: "x")]
            writer.appendQuoted(Timestamp(nanoseconds: n), to: &out)
            #expect(out == [UInt8(ascii: "x")] + Self.expected(Timestamp(nanoseconds: n)))
        }
    }
}
