/// The TCP header's control bits (RFC 9293, plus ECE/CWR from RFC 3168 and the old NS bit).
public struct TCPFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    // Computed and inlinable rather than stored: other modules then test the bits directly,
    // instead of calling an accessor of this module on every packet.
    /// FIN: the sender has no more data.
    @inlinable public static var fin: TCPFlags { TCPFlags(rawValue: 0x001) }
    /// SYN: synchronise sequence numbers (opens a connection).
    @inlinable public static var syn: TCPFlags { TCPFlags(rawValue: 0x002) }
    /// RST: reset the connection.
    @inlinable public static var rst: TCPFlags { TCPFlags(rawValue: 0x004) }
    /// PSH: push buffered data to the application.
    @inlinable public static var psh: TCPFlags { TCPFlags(rawValue: 0x008) }
    /// ACK: the acknowledgement number is valid.
    @inlinable public static var ack: TCPFlags { TCPFlags(rawValue: 0x010) }
    /// URG: the urgent pointer is valid.
    @inlinable public static var urg: TCPFlags { TCPFlags(rawValue: 0x020) }
    /// ECE: ECN echo (RFC 3168).
    @inlinable public static var ece: TCPFlags { TCPFlags(rawValue: 0x040) }
    /// CWR: congestion window reduced (RFC 3168).
    @inlinable public static var cwr: TCPFlags { TCPFlags(rawValue: 0x080) }
    /// NS: ECN nonce sum (RFC 3540, historic).
    @inlinable public static var ns: TCPFlags { TCPFlags(rawValue: 0x100) }
}

extension TCPFlags: CustomStringConvertible {
    /// Letters as tcpdump prints them: `S`, `S.`, `F.`, `R`, `P.` ...
    public var description: String {
        var s = ""
        if contains(.syn) { s += "S" }
        if contains(.fin) { s += "F" }
        if contains(.rst) { s += "R" }
        if contains(.psh) { s += "P" }
        if contains(.urg) { s += "U" }
        if contains(.ece) { s += "E" }
        if contains(.cwr) { s += "W" }
        if contains(.ack) { s += "." }
        return s.isEmpty ? "none" : s
    }
}
