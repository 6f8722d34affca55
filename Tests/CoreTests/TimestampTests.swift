import Testing
@testable import Core

@Suite struct TimestampTests {
    @Test func formatsEpochAndFractions() {
        #expect(Timestamp.zero.rfc3339() == "1970-01-01T00:00:00.000000000Z")
        let t = Timestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789)
        #expect(t.rfc3339() == "2023-11-14T22:13:20.123456789Z")
        #expect(t.rfc3339(fractionDigits: 6) == "2023-11-14T22:13:20.123456Z")
        #expect(t.rfc3339(fractionDigits: 0) == "2023-11-14T22:13:20Z")
    }

    @Test func formatsBeforeEpoch() {
        #expect(Timestamp(nanoseconds: -1).rfc3339() == "1969-12-31T23:59:59.999999999Z")
    }

    @Test func parsesWhatItPrints() throws {
        for n: Int64 in [0, 1, -1, 951_782_400_000_000_001, 4_102_444_800_999_999_999] {
            let t = Timestamp(nanoseconds: n)
            #expect(Timestamp(rfc3339: t.rfc3339()) == t)
        }
        #expect(Timestamp(rfc3339: "2000-02-29T00:00:00+01:00")?.rfc3339(fractionDigits: 0) == "2000-02-28T23:00:00Z")
        #expect(Timestamp(rfc3339: "2000-02-29") == nil)
        #expect(Timestamp(rfc3339: "2000-13-01T00:00:00Z") == nil)
    }

    /// A day the month does not have, or an offset past 23:59, is no RFC 3339 time (`2024-02-30` was read as
    /// March 1); leap days are kept where the year has one.
    @Test func refusesDaysAndOffsetsOutOfRange() {
        for text in ["2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2024-04-31T00:00:00Z",
                     "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00+99:99", "2024-01-01T00:00:00-05:60"] {
            #expect(Timestamp(rfc3339: text) == nil, "\(text)")
        }
        for text in ["2024-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "2024-12-31T23:59:60Z",
                     "2024-01-01T00:00:00+23:59"] {
            #expect(Timestamp(rfc3339: text) != nil, "\(text)")
        }
    }

    @Test func saturatesInsteadOfTrapping() {
        #expect(Timestamp(seconds: Int64.max, nanoseconds: 0).nanoseconds == Int64.max)
        #expect(Timestamp(nanoseconds: Int64.max).adding(nanoseconds: 5).nanoseconds == Int64.max)
        #expect(Timestamp(nanoseconds: Int64.min).nanoseconds(since: Timestamp(nanoseconds: 1)) == Int64.min)
        #expect(Timestamp.zero.adding(seconds: 1e300).nanoseconds == Int64.max)
        #expect(Timestamp.zero.adding(seconds: -.infinity).nanoseconds == Int64.min)
        #expect(Timestamp.zero.adding(seconds: .nan) == .zero)
        #expect(Timestamp.zero.adding(seconds: 1.5).nanoseconds == 1_500_000_000)
    }

    /// The text as it was built before it was written into bytes: field by field, as strings.
    private static func textByFields(_ t: Timestamp, _ fractionDigits: Int) -> String {
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        let digits = max(0, min(9, fractionDigits))
        var secs = t.nanoseconds / 1_000_000_000
        var frac = t.nanoseconds % 1_000_000_000
        if frac < 0 { (frac, secs) = (frac + 1_000_000_000, secs - 1) }
        var days = secs / 86_400
        var rem = secs % 86_400
        if rem < 0 { (rem, days) = (rem + 86_400, days - 1) }
        let (y, m, d) = Timestamp.civilDate(daysSinceEpoch: days)
        var out = pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T" + pad(rem / 3600, 2) + ":"
        out += pad(rem % 3600 / 60, 2) + ":" + pad(rem % 60, 2)
        if digits > 0 {
            var f = frac
            for _ in 0..<(9 - digits) { f /= 10 }
            out += "." + pad(f, digits)
        }
        return out + "Z"
    }

    @Test func bytesAreTheTextBuiltFieldByField() {
        let values: [Int64] = [
            0, 1, -1, 999_999_999, -1_000_000_000, 951_782_400_000_000_001, 1_705_305_604_079_371_640,
            4_102_444_800_999_999_999, -6_857_222_400_000_000_000, .min, .max, .min + 1, .max - 1,
        ]
        for n in values {
            for digits in -1...10 {
                let t = Timestamp(nanoseconds: n)
                var bytes: [UInt8] = [0x41]
                t.appendRFC3339(to: &bytes, fractionDigits: digits)
                #expect(String(decoding: bytes, as: UTF8.self) == "A" + Self.textByFields(t, digits), "\(n) \(digits)")
                #expect(t.rfc3339(fractionDigits: digits) == Self.textByFields(t, digits))
            }
        }
    }
}

@Suite struct IPAddressTests {
    @Test func printsAndParsesIPv4() {
        let a = IPAddress(ipv4: 0xc000_0201)
        #expect(a.description == "192.0.2.1")
        #expect(IPAddress("192.0.2.1") == a)
        #expect(IPAddress("192.0.2.256") == nil)
        #expect(IPAddress("192.0.2") == nil)
    }

    @Test func printsIPv6InShortestForm() {
        #expect(IPAddress("2001:db8:0:0:0:0:0:1")?.description == "2001:db8::1")
        #expect(IPAddress("::1")?.description == "::1")
        #expect(IPAddress("::")?.description == "::")
        #expect(IPAddress("fe80::1:0:0:2")?.description == "fe80::1:0:0:2")
        #expect(IPAddress("2001:db8:1:0:1:0:0:1")?.description == "2001:db8:1:0:1::1")
        #expect(IPAddress("::ffff:192.0.2.1")?.description == "::ffff:192.0.2.1")
        #expect(IPAddress("1::2::3") == nil)
        #expect(IPAddress("12345::") == nil)
    }

    @Test func ordersIPv4BeforeIPv6() {
        #expect(IPAddress("255.255.255.255")! < IPAddress("::")!)
    }

    @Test func vlanTagsKeepThreeAndCountAll() {
        var t = VLANTags()
        for id: UInt16 in [10, 20, 30, 40] { t.append(id) }
        #expect(t.ids == [10, 20, 30])
        #expect(t.depth == 4)
        #expect(t.description == "10/20/30")
        #expect(VLANTags.none.description == "-")
    }
}
