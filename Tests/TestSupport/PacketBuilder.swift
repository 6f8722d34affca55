/// Builders for hand-made frames in tests. Every length and checksum field is filled the way a
/// sender would, unless a parameter overrides it to make the frame odd on purpose.
/// Checksums are left zero: the decoder never verifies them.
public enum PacketBuilder {
    /// A TCP header (20 bytes plus `options`, padded to 4) and payload.
    public static func tcp(
        sourcePort: UInt16 = 40_000, destinationPort: UInt16 = 80,
        sequence: UInt32 = 1_000, acknowledgement: UInt32 = 2_000,
        flags: UInt16 = 0x018, window: UInt16 = 8_192,
        options: [UInt8] = [], dataOffsetWords: Int? = nil, payload: [UInt8] = []
    ) -> [UInt8] {
        var opts = options
        while opts.count % 4 != 0 { opts.append(0) }
        let words = dataOffsetWords ?? (20 + opts.count) / 4
        var out: [UInt8] = []
        out += be16(sourcePort) + be16(destinationPort) + be32(sequence) + be32(acknowledgement)
        out.append(UInt8(truncatingIfNeeded: words << 4) | UInt8(flags >> 8 & 1))
        out.append(UInt8(flags & 0xff))
        out += be16(window) + [0, 0] + [0, 0]
        return out + opts + payload
    }

    /// An IPv4 header and payload. `flagsAndOffset` is the raw 16-bit field (0x2000 = MF).
    public static func ipv4(
        source: [UInt8] = [192, 0, 2, 1], destination: [UInt8] = [192, 0, 2, 2],
        protocol proto: UInt8 = 6, id: UInt16 = 0x1234, ttl: UInt8 = 64,
        flagsAndOffset: UInt16 = 0, options: [UInt8] = [],
        headerWords: Int? = nil, totalLength: Int? = nil, payload: [UInt8]
    ) -> [UInt8] {
        let words = headerWords ?? (20 + options.count) / 4
        let total = totalLength ?? 20 + options.count + payload.count
        var out: [UInt8] = [0x40 | UInt8(words & 0x0f), 0]
        out += be16(UInt16(truncatingIfNeeded: total)) + be16(id) + be16(flagsAndOffset)
        out += [ttl, proto, 0, 0] + source + destination + options
        return out + payload
    }

    /// An IPv6 header and payload.
    public static func ipv6(
        source: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1],
        destination: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [2],
        nextHeader: UInt8 = 6, hopLimit: UInt8 = 64, payloadLength: Int? = nil, payload: [UInt8]
    ) -> [UInt8] {
        var out: [UInt8] = [0x60, 0, 0, 0]
        out += be16(UInt16(truncatingIfNeeded: payloadLength ?? payload.count)) + [nextHeader, hopLimit]
        return out + source + destination + payload
    }

    /// An Ethernet II header (02:00:00:00:00:02 <- 02:00:00:00:00:01) before `payload`.
    public static func ethernet(type: UInt16, payload: [UInt8]) -> [UInt8] {
        [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1] + be16(type) + payload
    }

    public static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }

    public static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
    }
}
