/// Appending protocol fields to a stream buffer, without intermediate allocation.
extension Array where Element == UInt8 {
    mutating func appendText(_ s: StaticString) {
        s.withUTF8Buffer { append(contentsOf: $0) }
    }

    mutating func appendDecimal(_ value: Int) {
        var v = Swift.max(0, value)
        var digits = 1
        var t = v
        while t >= 10 {
            t /= 10
            digits += 1
        }
        let start = count
        append(contentsOf: repeatElement(0x30, count: digits))
        var i = start + digits - 1
        while i >= start {
            self[i] = 0x30 + UInt8(v % 10)
            v /= 10
            i -= 1
        }
    }

    mutating func appendHex(_ value: UInt64, digits: Int = 16) {
        let hex: StaticString = "0123456789abcdef"
        hex.withUTF8Buffer { table in
            for i in stride(from: digits - 1, through: 0, by: -1) {
                append(table[Int((value >> UInt64(4 * i)) & 0xF)])
            }
        }
    }

    mutating func append16(_ v: UInt16) {
        append(UInt8(v >> 8))
        append(UInt8(v & 0xFF))
    }

    mutating func append24(_ v: Int) {
        append(UInt8((v >> 16) & 0xFF))
        append(UInt8((v >> 8) & 0xFF))
        append(UInt8(v & 0xFF))
    }

    /// Opens a TLS handshake record (content type 22, `version`) with its length left 0; returns where
    /// `closeLength16(at:)` fills it in once the record's messages are written.
    mutating func openHandshakeRecord(version: UInt16) -> Int {
        append(22)
        append16(version)
        append16(0)
        return count - 2
    }

    /// Opens a handshake message of `type` with its 24-bit length left 0; returns where
    /// `closeLength24(at:)` fills it in once the message is written.
    mutating func openHandshakeMessage(_ type: UInt8) -> Int {
        append(type)
        append24(0)
        return count - 3
    }

    /// Fills in the 16-bit length at `at` with the bytes written after it.
    mutating func closeLength16(at: Int) { patch16(count - at - 2, at: at) }

    /// Fills in the 24-bit length at `at` with the bytes written after it.
    mutating func closeLength24(at: Int) { patch24(count - at - 3, at: at) }

    /// A ClientHello's cipher suites, its one (null) compression method, and the opening of its extensions
    /// with the server_name one (`serverName`); returns where `closeLength16(at:)` fills in the extensions'
    /// length once the rest are written.
    mutating func appendHelloOffers(suites: [UInt16], serverName: [UInt8]) -> Int {
        append16(UInt16(suites.count * 2))
        for s in suites { append16(s) }
        append(1)
        append(0)  // null compression
        let extensionsLength = count
        append16(0)
        appendServerNameExtension(serverName)
        return extensionsLength
    }

    /// A TLS server_name extension (RFC 6066) naming one host, `name`.
    mutating func appendServerNameExtension(_ name: [UInt8]) {
        append16(0)  // server_name
        append16(UInt16(name.count + 5))
        append16(UInt16(name.count + 3))
        append(0)  // host_name
        append16(UInt16(name.count))
        append(contentsOf: name)
    }

    /// Writes a big-endian 16-bit length at `at` (for lengths known only after the body).
    mutating func patch16(_ v: Int, at: Int) {
        self[at] = UInt8((v >> 8) & 0xFF)
        self[at + 1] = UInt8(v & 0xFF)
    }

    mutating func patch24(_ v: Int, at: Int) {
        self[at] = UInt8((v >> 16) & 0xFF)
        self[at + 1] = UInt8((v >> 8) & 0xFF)
        self[at + 2] = UInt8(v & 0xFF)
    }

    /// Appends `n` filler bytes (text-like for HTTP bodies, or opaque for ciphertext), starting
    /// at a position in the shared pattern chosen by `salt`.
    mutating func appendFiller(_ n: Int, salt: UInt64, text: Bool) {
        let pattern = text ? Filler.text : Filler.opaque
        var left = n
        var at = Int(salt % UInt64(Filler.size / 2))
        while left > 0 {
            let take = Swift.min(left, Filler.size - at)
            append(contentsOf: pattern[at..<(at + take)])
            left -= take
            at = 0
        }
    }
}

/// Fixed filler patterns, made once from a fixed seed.
enum Filler {
    static let size = 1 << 16
    /// Bytes that look like ciphertext.
    static let opaque: [UInt8] = {
        var r = SimulationRandom(seed: 0x0BAD_5EED)
        return (0..<size).map { _ in UInt8(truncatingIfNeeded: r.next()) }
    }()
    /// Printable base64-like text with a line break every 76 characters.
    static let text: [UInt8] = {
        var r = SimulationRandom(seed: 0x7E47)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        return (0..<size).map { i in i % 78 == 76 ? 0x0D : i % 78 == 77 ? 0x0A : alphabet[Int(r.next() % 64)] }
    }()
}
