/// The TCP header's control bits (RFC 9293, plus ECE/CWR from RFC 3168 and the old NS bit).
public struct TCPFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let fin = TCPFlags(rawValue: 0x001)
    public static let syn = TCPFlags(rawValue: 0x002)
    public static let rst = TCPFlags(rawValue: 0x004)
    public static let psh = TCPFlags(rawValue: 0x008)
    public static let ack = TCPFlags(rawValue: 0x010)
    public static let urg = TCPFlags(rawValue: 0x020)
    public static let ece = TCPFlags(rawValue: 0x040)
    public static let cwr = TCPFlags(rawValue: 0x080)
    public static let ns = TCPFlags(rawValue: 0x100)
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
