import Core

/// Writes timestamps in quotes as `Timestamp.appendRFC3339(to:)` does (nine fraction digits, `Z`),
/// remembering the date text (`yyyy-mm-ddT`) of the last day written: check-ins and their steps come in
/// time order, so the calendar is worked out about once a day of capture rather than once a time.
///
/// Owns 16 bytes of date text; writes each time as one append of 32 bytes, written in place. A year
/// outside 0-9999 (never for a time in range) is written by `Timestamp` itself and not remembered.
struct TimeText {
    private var day = Int64.min
    private var date = SIMD16<UInt8>()

    /// Appends `"` + `t.rfc3339()` + `"` to `out`.
    mutating func appendQuoted<Out: ByteSink & ~Copyable>(_ t: Timestamp, to out: inout Out) {
        let (days, rem, frac) = t.calendarParts
        if days != day, !learnDate(days) {
            ReportJSON.appendTime(t, to: &out)
            return
        }
        // `"yyyy-mm-ddThh:mm:ss.fffffffffZ"`: 32 bytes, written in place.
        let date = self.date
        out.append(most: 32) { text in
            text[0] = JSONText.quote
            for i in 0..<11 { text[1 + i] = date[i] }
            Self.put2(rem / 3600, at: 12, in: text)
            text[14] = UInt8(ascii: ":")
            Self.put2(rem % 3600 / 60, at: 15, in: text)
            text[17] = UInt8(ascii: ":")
            Self.put2(rem % 60, at: 18, in: text)
            text[20] = UInt8(ascii: ".")
            Self.put3(frac / 1_000_000, at: 21, in: text)
            Self.put3(frac / 1_000 % 1_000, at: 24, in: text)
            Self.put3(frac % 1_000, at: 27, in: text)
            text[30] = UInt8(ascii: "Z")
            text[31] = JSONText.quote
            return 32
        }
    }

    /// Takes the date text of day `days` (since 1970-01-01) from `Timestamp`'s own text; false, keeping
    /// nothing, when its year is not four digits or its midnight is out of `Timestamp`'s range.
    private mutating func learnDate(_ days: Int64) -> Bool {
        let (seconds, over) = days.multipliedReportingOverflow(by: 86_400)
        let (nanoseconds, overToo) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !over, !overToo else { return false }
        var text: [UInt8] = []
        Timestamp(nanoseconds: nanoseconds).appendRFC3339(to: &text, fractionDigits: 0)
        // `yyyy-mm-ddT00:00:00Z`
        guard text.count == 20 else { return false }
        for i in 0..<11 { date[i] = text[i] }
        day = days
        return true
    }

    @inline(__always)
    private static func put2(_ v: Int64, at i: Int, in text: UnsafeMutableBufferPointer<UInt8>) {
        let tens = v / 10
        text[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: tens)
        text[i + 1] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v - tens * 10)
    }

    @inline(__always)
    private static func put3(_ v: Int64, at i: Int, in text: UnsafeMutableBufferPointer<UInt8>) {
        let hundreds = v / 100
        put2(v - hundreds * 100, at: i + 1, in: text)
        text[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: hundreds)
    }
}
