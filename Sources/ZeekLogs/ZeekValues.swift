import Core

/// The values of Zeek's log fields as sepbeat reads them: times, intervals, counts, ports and addresses
/// from their text; nil for text that is not one.
enum ZeekValues {
    /// A `time` field: seconds since the epoch with up to nine decimals (the tab-separated form, and JSON
    /// written with epoch times), or RFC 3339 text (JSON written with ISO 8601 times). Nil for a negative,
    /// non-finite or other text, and for a time before 1970 or past 2262 (what a `Timestamp` holds).
    static func time(_ text: String) -> Timestamp? {
        if let ns = nanoseconds(text) { return Timestamp(nanoseconds: ns) }
        guard text.contains("T"), let t = Timestamp(rfc3339: text) else { return nil }
        // Out of range, the text's time was held at the range's edge.
        return t.nanoseconds >= 0 && t.nanoseconds < Int64.max ? t : nil
    }

    /// An `interval` field as nanoseconds: seconds with up to nine decimals, not negative.
    static func interval(_ text: String) -> Int64? {
        nanoseconds(text)
    }

    /// A `count` field: digits only, at most 18 of them (no sign, no exponent).
    static func count(_ text: String) -> Int64? {
        guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            return nil
        }
        return Int64(text)
    }

    /// A `port` field: a count up to 65535.
    static func port(_ text: String) -> UInt16? {
        count(text).flatMap { $0 <= 65535 ? UInt16($0) : nil }
    }

    /// Decimal seconds (`1700000000.123456`, `0.5`, `12`) read exactly into nanoseconds; digits beyond the
    /// ninth decimal are dropped. Nil for anything else (signs, exponents, `nan`, `inf`) or past about 292
    /// years.
    private static func nanoseconds(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.utf8.count <= 10,
              whole.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let seconds = Int64(whole) else { return nil }
        var fraction: Int64 = 0
        if parts.count == 2 {
            let digits = parts[1].utf8
            guard !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            var scale: Int64 = 100_000_000
            for d in digits.prefix(9) {
                fraction += Int64(d - 0x30) * scale
                scale /= 10
            }
        }
        let (nanoseconds, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow, nanoseconds <= Int64.max - fraction else { return nil }
        return nanoseconds + fraction
    }

    /// TLS version names as ssl.log writes them, and their numbers.
    static func tlsVersion(_ text: String) -> UInt16? {
        switch text {
        case "SSLv2": return 0x0002
        case "SSLv3": return 0x0300
        case "TLSv10": return 0x0301
        case "TLSv11": return 0x0302
        case "TLSv12": return 0x0303
        case "TLSv13": return 0x0304
        default: return nil
        }
    }

    /// The numbers of the cipher suites a fleet's managers commonly choose, by the IANA names ssl.log writes;
    /// nil for others (the suite is then not known, as in a capture whose ServerHello was not seen).
    static func cipherSuite(_ name: String) -> UInt16? {
        switch name {
        case "TLS_AES_128_GCM_SHA256": return 0x1301
        case "TLS_AES_256_GCM_SHA384": return 0x1302
        case "TLS_CHACHA20_POLY1305_SHA256": return 0x1303
        case "TLS_RSA_WITH_AES_128_CBC_SHA": return 0x002f
        case "TLS_RSA_WITH_AES_256_CBC_SHA": return 0x0035
        case "TLS_RSA_WITH_AES_128_CBC_SHA256": return 0x003c
        case "TLS_RSA_WITH_AES_256_CBC_SHA256": return 0x003d
        case "TLS_RSA_WITH_AES_128_GCM_SHA256": return 0x009c
        case "TLS_RSA_WITH_AES_256_GCM_SHA384": return 0x009d
        case "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": return 0xc013
        case "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": return 0xc014
        case "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": return 0xc02f
        case "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": return 0xc030
        case "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": return 0xc02b
        case "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": return 0xc02c
        case "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": return 0xcca8
        case "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": return 0xcca9
        default: return nil
        }
    }
}
