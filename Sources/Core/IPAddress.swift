/// An IPv4 or IPv6 address held inline (no allocation), comparable and hashable.
///
/// IPv4 addresses are stored in the low 32 bits of `low` with `high == 0` and
/// `isIPv6 == false`; they never compare equal to an IPv4-mapped IPv6 address.
public struct IPAddress: Hashable, Comparable, Sendable {
    public var high: UInt64
    public var low: UInt64
    public var isIPv6: Bool

    /// An IPv4 address from its 32-bit value in host order (`0x7f000001` is 127.0.0.1).
    @inlinable
    public init(ipv4 value: UInt32) {
        self.high = 0
        self.low = UInt64(value)
        self.isIPv6 = false
    }

    /// An IPv6 address from its two 64-bit halves in host order.
    @inlinable
    public init(ipv6High high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
        self.isIPv6 = true
    }

    /// Reads 4 (IPv4) or 16 (IPv6) network-order bytes. Returns nil for any other count.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        var acc: [UInt64] = [0, 0]
        var n = 0
        for b in bytes {
            guard n < 16 else { return nil }
            acc[n / 8] = acc[n / 8] << 8 | UInt64(b)
            n += 1
        }
        switch n {
        case 4: self.init(ipv4: UInt32(acc[0]))
        case 16: self.init(ipv6High: acc[0], low: acc[1])
        default: return nil
        }
    }

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (with `::` and an embedded IPv4 tail).
    ///
    /// IPv4 is four decimal numbers 0-255 without leading zeros: `012.1.0.11` is refused, not read as
    /// 12.1.0.11, since `inet_aton` (glibc, Windows) reads a leading zero as octal (10.1.0.11), and a
    /// client given that text connects there. A single `0` is a plain zero (`10.0.0.1`, `0.0.0.0`).
    public init?(_ text: String) {
        if text.contains(":") {
            guard let v = IPAddress.parseIPv6(Substring(text)) else { return nil }
            self = v
        } else {
            guard let v = IPAddress.parseIPv4(Substring(text)) else { return nil }
            self.init(ipv4: v)
        }
    }

    /// The IPv4 value, or nil for IPv6.
    public var ipv4Value: UInt32? { isIPv6 ? nil : UInt32(truncatingIfNeeded: low) }

    /// The IPv4 address an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 2.5.5.2) stands for;
    /// any other address unchanged. Packets carry the IPv4 address, so a configured mapped address
    /// matches them only this way.
    public var unmappingIPv4: IPAddress {
        guard isIPv6, high == 0, low >> 32 == 0xffff else { return self }
        return IPAddress(ipv4: UInt32(truncatingIfNeeded: low))
    }

    /// Feeds the hasher one word for IPv4 (its 32-bit value with a bit above it that no IPv4 value has)
    /// and two for IPv6, rather than three fields: dictionaries keyed by address (clients, pairs,
    /// managers) hash on every lookup. Equal addresses feed equal words, as `==` (all fields) needs.
    @inlinable
    public func hash(into hasher: inout Hasher) {
        if isIPv6 {
            hasher.combine(high)
            hasher.combine(low)
        } else {
            hasher.combine(low | 1 << 32)
        }
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        if a.isIPv6 != b.isIPv6 { return !a.isIPv6 }
        if a.high != b.high { return a.high < b.high }
        return a.low < b.low
    }

    /// True for 127.0.0.0/8 and ::1.
    public var isLoopback: Bool {
        isIPv6 ? (high == 0 && low == 1) : (low >> 24) == 127
    }

    /// Whether `text` is numeric in a form some resolvers read as an IPv4 address: its last dot-separated
    /// label (a trailing dot dropped) is decimal digits, or `0x` with hex digits, as in `inet_aton`'s
    /// forms (`012.1.0.11`, `0x0a.1.0.11`, `10.1.11`). No host name ends so (RFC 3696 2). True also for a
    /// plain dotted-quad address; callers ask after `init?(_:)` refused the text.
    public static func looksNumeric(_ text: String) -> Bool {
        let name = text.hasSuffix(".") ? text.dropLast() : Substring(text)
        guard !name.contains(":"),
              let last = name.split(separator: ".", omittingEmptySubsequences: false).last, !last.isEmpty else {
            return false
        }
        if last.allSatisfy({ $0.isASCII && $0.isNumber }) { return true }
        let lower = last.lowercased()
        return lower.hasPrefix("0x") && lower.dropFirst(2).allSatisfy { $0.isASCII && $0.isHexDigit }
    }

    private static func parseIPv4(_ s: Substring) -> UInt32? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }),
                  p.count == 1 || p.first != "0", let n = UInt32(p), n <= 255 else { return nil }
            v = v << 8 | n
        }
        return v
    }

    private static func parseIPv6(_ s: Substring) -> IPAddress? {
        var groups: [UInt16] = []
        var tailGroups: [UInt16] = []
        var sawGap = false
        let halves = s.splitAtDoubleColons()
        guard halves.count <= 2 else { return nil }
        if halves.count == 2 { sawGap = true }
        func parseList(_ part: Substring, into out: inout [UInt16], allowV4Tail: Bool) -> Bool {
            if part.isEmpty { return true }
            let items = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, item) in items.enumerated() {
                if allowV4Tail, i == items.count - 1, item.contains(".") {
                    guard let v4 = parseIPv4(item) else { return false }
                    out.append(UInt16(v4 >> 16))
                    out.append(UInt16(v4 & 0xffff))
                    continue
                }
                // Hex digits only: `UInt16(_:radix:)` also takes a sign (`+1`), which no address text has.
                guard !item.isEmpty, item.count <= 4, item.allSatisfy({ $0.isASCII && $0.isHexDigit }),
                      let g = UInt16(item, radix: 16) else { return false }
                out.append(g)
            }
            return true
        }
        guard parseList(halves[0], into: &groups, allowV4Tail: !sawGap) else { return nil }
        if sawGap {
            guard parseList(halves[1], into: &tailGroups, allowV4Tail: true) else { return nil }
            let fill = 8 - groups.count - tailGroups.count
            guard fill >= 1 else { return nil }
            groups += Array(repeating: 0, count: fill) + tailGroups
        }
        guard groups.count == 8 else { return nil }
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        for i in 0..<4 { hi = hi << 16 | UInt64(groups[i]) }
        for i in 4..<8 { lo = lo << 16 | UInt64(groups[i]) }
        return IPAddress(ipv6High: hi, low: lo)
    }
}

extension Substring {
    fileprivate func splitAtDoubleColons() -> [Substring] {
        var result: [Substring] = []
        var start = startIndex
        var i = startIndex
        while i < endIndex {
            let next = index(after: i)
            if self[i] == ":", next < endIndex, self[next] == ":" {
                result.append(self[start..<i])
                start = index(after: next)
                i = start
                continue
            }
            i = next
        }
        result.append(self[start..<endIndex])
        return result
    }
}

extension IPAddress: CustomStringConvertible {
    /// Appends `description`'s UTF-8 bytes to `out`; an IPv4 address without making a `String`.
    @inlinable
    public func appendText<Out: ByteSink & ~Copyable>(to out: inout Out) {
        guard !isIPv6 else {
            var text = description
            text.withUTF8 { out.append(contentsOf: $0) }
            return
        }
        let v = UInt32(truncatingIfNeeded: low)
        var shift: UInt32 = 24
        while true {
            let octet = v >> shift & 0xff
            if octet >= 100 { out.append(UInt8(ascii: "0") + UInt8(octet / 100)) }
            if octet >= 10 { out.append(UInt8(ascii: "0") + UInt8(octet / 10 % 10)) }
            out.append(UInt8(ascii: "0") + UInt8(octet % 10))
            if shift == 0 { return }
            out.append(UInt8(ascii: "."))
            shift -= 8
        }
    }

    /// Dotted quad for IPv4; RFC 5952 text for IPv6 (lower case, longest zero run as `::`).
    public var description: String {
        if !isIPv6 {
            let v = UInt32(truncatingIfNeeded: low)
            return "\(v >> 24).\(v >> 16 & 0xff).\(v >> 8 & 0xff).\(v & 0xff)"
        }
        var g = [UInt16](repeating: 0, count: 8)
        for i in 0..<4 {
            g[i] = UInt16(truncatingIfNeeded: high >> (48 - 16 * UInt64(i)))
            g[i + 4] = UInt16(truncatingIfNeeded: low >> (48 - 16 * UInt64(i)))
        }
        var bestStart = -1
        var bestLen = 0
        var i = 0
        while i < 8 {
            if g[i] == 0 {
                var j = i
                while j < 8, g[j] == 0 { j += 1 }
                if j - i > bestLen, j - i >= 2 {
                    bestStart = i
                    bestLen = j - i
                }
                i = j
            } else {
                i += 1
            }
        }
        // IPv4-mapped addresses read best with a dotted tail.
        if high == 0, low >> 32 == 0xffff {
            let v = UInt32(truncatingIfNeeded: low)
            return "::ffff:\(v >> 24).\(v >> 16 & 0xff).\(v >> 8 & 0xff).\(v & 0xff)"
        }
        var out = ""
        i = 0
        while i < 8 {
            if i == bestStart {
                out += "::"
                i += bestLen
                continue
            }
            if !out.isEmpty, !out.hasSuffix(":") { out += ":" }
            out += String(g[i], radix: 16)
            i += 1
        }
        return out
    }
}

/// An address and a port: one end of a TCP connection.
public struct Endpoint: Hashable, Comparable, Sendable {
    public var address: IPAddress
    public var port: UInt16

    @inlinable
    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// One word for an IPv4 endpoint (address, port and a bit no IPv4 value has), as `IPAddress`'s hash
    /// (and the port) for IPv6. Equal endpoints feed equal words.
    @inlinable
    public func hash(into hasher: inout Hasher) {
        if address.isIPv6 {
            address.hash(into: &hasher)
            hasher.combine(port)
        } else {
            hasher.combine(address.low & 0xffff_ffff | UInt64(port) << 32 | 1 << 48)
        }
    }

    public static func < (a: Endpoint, b: Endpoint) -> Bool {
        a.address != b.address ? a.address < b.address : a.port < b.port
    }
}

extension Endpoint: CustomStringConvertible {
    /// `192.0.2.1:443`, or `[2001:db8::1]:443` for IPv6.
    public var description: String {
        address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}
