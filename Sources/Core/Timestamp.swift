/// A point in time as integer nanoseconds since the Unix epoch (UTC).
///
/// Capture files carry microsecond or nanosecond stamps; both are kept exactly
/// as integers so that interval arithmetic never loses precision.
public struct Timestamp: Hashable, Comparable, Sendable {
    /// Nanoseconds since 1970-01-01T00:00:00Z. Negative values are before the epoch.
    public var nanoseconds: Int64

    @inlinable
    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    /// Builds a timestamp from whole seconds and a nanosecond fraction, saturating on overflow.
    public init(seconds: Int64, nanoseconds fraction: Int64) {
        let (scaled, o1) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (sum, o2) = scaled.addingReportingOverflow(fraction)
        if o1 || o2 {
            self.nanoseconds = seconds < 0 ? Int64.min : Int64.max
        } else {
            self.nanoseconds = sum
        }
    }

    /// The epoch. Computed, not stored: other modules read a stored `static let` through a call to its
    /// addressor, which parsers and reassemblers made for every message and connection.
    @inlinable public static var zero: Timestamp { Timestamp(nanoseconds: 0) }

    @inlinable
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    /// The signed distance `self - earlier` in nanoseconds, saturating on overflow.
    @inlinable
    public func nanoseconds(since earlier: Timestamp) -> Int64 {
        let (d, o) = nanoseconds.subtractingReportingOverflow(earlier.nanoseconds)
        return o ? (earlier.nanoseconds < 0 ? Int64.max : Int64.min) : d
    }

    /// The signed distance `self - earlier` in seconds.
    @inlinable
    public func seconds(since earlier: Timestamp) -> Double {
        Double(nanoseconds(since: earlier)) / 1e9
    }

    /// This time moved by `delta` nanoseconds, saturating on overflow.
    @inlinable
    public func adding(nanoseconds delta: Int64) -> Timestamp {
        let (s, o) = nanoseconds.addingReportingOverflow(delta)
        return Timestamp(nanoseconds: o ? (delta < 0 ? Int64.min : Int64.max) : s)
    }

    /// This time moved by `seconds`, saturating for values beyond the representable range
    /// (NaN counts as no move).
    public func adding(seconds: Double) -> Timestamp {
        let ns = (seconds * 1e9).rounded()
        guard !ns.isNaN else { return self }
        if ns >= 9.2e18 { return adding(nanoseconds: Int64.max) }
        if ns <= -9.2e18 { return adding(nanoseconds: Int64.min) }
        return adding(nanoseconds: Int64(ns))
    }

    /// RFC 3339 UTC text, e.g. `2026-01-02T03:04:05.123456789Z`.
    ///
    /// - Parameter fractionDigits: digits after the decimal point, 0 to 9. Trailing
    ///   digits are cut, not rounded, so the text never names a later instant.
    public func rfc3339(fractionDigits: Int = 9) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        appendRFC3339(to: &bytes, fractionDigits: fractionDigits)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The day since 1970-01-01 (negative before), the second of that day (0-86,399) and the
    /// nanosecond of that second (0-999,999,999): the time split as a calendar reads it.
    @inlinable
    public var calendarParts: (day: Int64, second: Int64, nanosecond: Int64) {
        var secs = nanoseconds / 1_000_000_000
        var frac = nanoseconds % 1_000_000_000
        if frac < 0 {
            frac += 1_000_000_000
            secs -= 1
        }
        var days = secs / 86_400
        var rem = secs % 86_400
        if rem < 0 {
            rem += 86_400
            days -= 1
        }
        return (days, rem, frac)
    }

    /// Appends the text of `rfc3339(fractionDigits:)` to `out` as UTF-8 (ASCII) bytes, digits written
    /// one by one into a small stack buffer and appended at once: no `String` is built. Cost: about 30
    /// bytes of `out`'s capacity, nothing else.
    public func appendRFC3339(to out: inout [UInt8], fractionDigits: Int = 9) {
        let digits = max(0, min(9, fractionDigits))
        let (days, rem, frac) = calendarParts
        let (y, m, d) = Timestamp.civilDate(daysSinceEpoch: days)
        var f = frac
        for _ in 0..<(9 - digits) { f /= 10 }
        // Never for a time in range (years 1677-2262): a year past 9999 or before 0 keeps all its digits.
        let plainYear = y >= 0 && y <= 9999
        if !plainYear { Timestamp.appendOddYear(y, to: &out) }
        // `yyyy-mm-ddThh:mm:ss` (19 bytes), `.` and up to 9 digits, `Z`: at most 30 bytes.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { text in
            func put(_ value: Int64, _ width: Int, at end: Int) {
                var v = value
                for i in stride(from: end - 1, through: end - width, by: -1) {
                    text[i] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: v % 10)
                    v /= 10
                }
            }
            if plainYear { put(y, 4, at: 4) }
            text[4] = UInt8(ascii: "-")
            put(m, 2, at: 7)
            text[7] = UInt8(ascii: "-")
            put(d, 2, at: 10)
            text[10] = UInt8(ascii: "T")
            put(rem / 3600, 2, at: 13)
            text[13] = UInt8(ascii: ":")
            put(rem % 3600 / 60, 2, at: 16)
            text[16] = UInt8(ascii: ":")
            put(rem % 60, 2, at: 19)
            var n = 19
            if digits > 0 {
                text[19] = UInt8(ascii: ".")
                put(f, digits, at: 20 + digits)
                n = 20 + digits
            }
            text[n] = UInt8(ascii: "Z")
            out.append(contentsOf: UnsafeBufferPointer(rebasing: text[(plainYear ? 0 : 4)...n]))
        }
    }

    /// Parses RFC 3339 text with any offset (`Z`, `+hh:mm`) and up to nine fraction digits.
    /// Returns nil when the text is not in that form, or names a day the month does not have (`2023-02-29`) or
    /// an offset past `23:59`. A time outside what a `Timestamp` holds (about 1677 to 2262) saturates, as
    /// `init(seconds:nanoseconds:)` does: a certificate valid until 9999 reads as valid until then.
    public init?(rfc3339 text: String) {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int64? {
            guard from >= 0, count > 0, from + count <= b.count else { return nil }
            var v: Int64 = 0
            for i in from..<(from + count) {
                let c = b[i]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            return v
        }
        guard b.count >= 20, b[4] == 45, b[7] == 45, b[10] == 84 || b[10] == 116 || b[10] == 32,
              b[13] == 58, b[16] == 58,
              let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2),
              let h = num(11, 2), let mi = num(14, 2), let s = num(17, 2),
              (1...12).contains(mo), d >= 1, d <= Timestamp.daysIn(month: mo, year: y), h < 24, mi < 60, s < 61
        else { return nil }
        var i = 19
        var frac: Int64 = 0
        if i < b.count, b[i] == 46 {
            i += 1
            var n = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if n < 9 {
                    frac = frac * 10 + Int64(b[i] - 48)
                    n += 1
                }
                i += 1
            }
            guard n > 0 else { return nil }
            for _ in n..<9 { frac *= 10 }
        }
        guard i < b.count else { return nil }
        var offset: Int64 = 0
        if b[i] == 90 || b[i] == 122 {
            guard i + 1 == b.count else { return nil }
        } else if b[i] == 43 || b[i] == 45 {
            guard i + 6 == b.count, b[i + 3] == 58, let oh = num(i + 1, 2), let om = num(i + 4, 2), oh < 24, om < 60
            else { return nil }
            offset = (oh * 60 + om) * 60 * (b[i] == 45 ? -1 : 1)
        } else {
            return nil
        }
        let days = Timestamp.daysSinceEpoch(year: y, month: mo, day: d)
        let secs = days * 86_400 + h * 3600 + mi * 60 + s - offset
        self.init(seconds: secs, nanoseconds: frac)
    }

    /// A year outside 0...9999 (never for a time in range): all its digits, led by zeros up to four
    /// characters, a negative one with its sign after the zeros (`00-5`).
    private static func appendOddYear(_ year: Int64, to out: inout [UInt8]) {
        let s = String(year)
        out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: max(0, 4 - s.utf8.count)))
        out.append(contentsOf: s.utf8)
    }

    /// The days of `month` (1-12) in `year` of the proleptic Gregorian calendar.
    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's civil algorithm).
    static func civilDate(daysSinceEpoch z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

extension Timestamp: CustomStringConvertible {
    public var description: String { rfc3339() }
}
