import Core

/// What one captured frame turned out to be.
///
/// Every frame maps to exactly one case; none is an error. Callers count the
/// non-TCP cases (by protocol, EtherType, link type or reason) and report them.
public enum DecodedPacket {
    /// A TCP segment, from a single frame or from the fragment that completed an IP datagram.
    case tcp(TCPSegmentView)
    /// IP traffic that is not TCP (UDP, ICMP, ESP, an unsupported GRE version ...), by the
    /// protocol number of the innermost IP header that was followed, and that header's version.
    case otherIP(IPProtocolNumber, IPVersion)
    /// A frame whose link layer carried something other than IP.
    case nonIP(NonIPProtocol)
    /// An IP fragment that was stored until the rest of its datagram arrives.
    case fragmentHeld
    /// A link type this decoder does not read.
    case unsupportedLink(LinkType)
    /// A frame cut by the capture's snaplen before the TCP header (or an earlier header, or an
    /// IP fragment's data) was complete. The frame on the wire was fine as far as anyone can tell.
    case truncated(Truncation)
    /// A frame whose headers cannot be right: a length below its minimum or past the frame's end.
    case malformed(MalformedReason)
}

/// One TCP segment's headers, with its payload borrowed from the decoder's input.
///
/// A value type with inline storage: building one allocates nothing.
public struct TCPSegmentView {
    /// VLAN ids of the outermost Ethernet frame (tunnels keep the outer tags).
    public var vlan: VLANTags
    /// Sender address (innermost IP header) and TCP source port.
    public var source: Endpoint
    /// Receiver address (innermost IP header) and TCP destination port.
    public var destination: Endpoint
    /// Version of the innermost IP header.
    public var ipVersion: IPVersion
    /// The IPv4 identification field; nil for IPv6.
    public var ipID: UInt16?
    /// IPv4 time to live or IPv6 hop limit.
    public var ttl: UInt8
    /// True when the segment came out of IP fragment reassembly.
    public var reassembled: Bool
    public var sequence: UInt32
    public var acknowledgement: UInt32
    /// Control flags, including NS from the data-offset byte.
    public var flags: TCPFlags
    public var window: UInt16
    /// The checksum as sent; never verified (offloaded checksums are often zero or wrong).
    public var checksum: UInt16
    public var urgentPointer: UInt16
    /// TCP header length in bytes (data offset × 4), options included.
    public var headerLength: Int
    /// What the options said; malformed options are flagged there, not fatal. Read from the option
    /// bytes when asked (the per-packet path never asks), so it is borrowed as `payload` is.
    public var options: TCPOptionsSummary { TCPOptionsSummary(parsing: optionBytes) }
    /// The captured option bytes (after the fixed 20 bytes), borrowed as `payload` is.
    public var optionBytes: UnsafeRawBufferPointer
    /// Payload length on the wire, from the IP lengths (what tshark calls `tcp.len`).
    public var payloadLength: Int
    /// The captured part of the payload: at most `payloadLength` bytes, link padding excluded.
    ///
    /// Borrowed: it points into the bytes passed to `PacketDecoder.decode` or, for a
    /// reassembled datagram, into the decoder's own buffer, and is valid only until the
    /// next `decode` call on the same decoder. Copy what you keep.
    public var payload: UnsafeRawBufferPointer
    /// True when the snaplen cut the payload (or the TCP options) short.
    public var truncated: Bool
    /// Oddities that did not stop decoding.
    public var anomalies: DecodeAnomalies
}

/// Oddities in a frame that was still decoded, as tshark decodes them (each is also counted
/// in `DecoderStatistics`).
public struct DecodeAnomalies: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The IP length claimed more bytes than the frame (or its PPPoE/802.3 length) holds;
    /// the frame's length was used instead, so `payloadLength` counts only bytes that exist.
    public static let ipLengthPastFrame = DecodeAnomalies(rawValue: 1 << 0)
    /// IPv4 total length or IPv6 payload length was 0 (offload or jumbogram); the frame's
    /// length was used.
    public static let zeroIPLength = DecodeAnomalies(rawValue: 1 << 1)
    /// The snaplen cut the TCP options: the fixed 20 bytes were read, the options only in part,
    /// and the payload is empty.
    public static let tcpOptionsTruncated = DecodeAnomalies(rawValue: 1 << 2)
}

/// The TCP options of one segment, summarised. All fields are inline.
public struct TCPOptionsSummary: Hashable, Sendable {
    /// Maximum segment size (kind 2).
    public var maximumSegmentSize: UInt16?
    /// Window scale shift count (kind 3), as sent (not clamped to 14).
    public var windowScale: UInt8?
    /// SACK permitted (kind 4).
    public var sackPermitted: Bool = false
    /// Number of SACK blocks (kind 5), 0 when absent.
    public var sackBlockCount: Int = 0
    /// Timestamp value (kind 8).
    public var timestampValue: UInt32?
    /// Timestamp echo reply (kind 8).
    public var timestampEchoReply: UInt32?
    /// A TCP Fast Open option (kind 34, or experimental 254 with magic 0xF989) was present.
    public var fastOpen: Bool = false
    /// The Fast Open option carried a cookie (not just a cookie request).
    public var fastOpenCookiePresent: Bool = false
    /// An option had a length below 2, ran past the header, or had the wrong size for its kind.
    /// Options after a length that runs past the header are not read.
    public var malformed: Bool = false

    public init() {}
}

/// Where and by how much a frame was cut short by the capture's snaplen.
public struct Truncation: Hashable, Sendable, CustomStringConvertible {
    /// The header (or fragment data) that was incomplete.
    public var header: HeaderName
    /// Bytes that header needed.
    public var needed: Int
    /// Bytes of it that were captured.
    public var captured: Int

    public init(header: HeaderName, needed: Int, captured: Int) {
        self.header = header
        self.needed = needed
        self.captured = captured
    }

    /// E.g. `TCP header cut by snaplen: 14 of 20 bytes captured`.
    public var description: String {
        "\(header) cut by snaplen: \(captured) of \(needed) bytes captured"
    }
}

/// The English name of a header, for truncation and malformation messages.
public struct HeaderName: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    public static let ethernet = HeaderName(rawValue: "Ethernet header")
    public static let vlanTag = HeaderName(rawValue: "VLAN tag")
    public static let llc = HeaderName(rawValue: "LLC/SNAP header")
    public static let mpls = HeaderName(rawValue: "MPLS label stack")
    public static let pppoe = HeaderName(rawValue: "PPPoE header")
    public static let ppp = HeaderName(rawValue: "PPP header")
    public static let vnTag = HeaderName(rawValue: "VN-Tag")
    public static let fabricPath = HeaderName(rawValue: "FabricPath header")
    public static let linuxSLL = HeaderName(rawValue: "Linux cooked header")
    public static let linuxSLL2 = HeaderName(rawValue: "Linux cooked v2 header")
    public static let loopback = HeaderName(rawValue: "loopback header")
    public static let nflog = HeaderName(rawValue: "NFLOG header")
    public static let fddi = HeaderName(rawValue: "FDDI header")
    public static let ciscoHDLC = HeaderName(rawValue: "Cisco HDLC header")
    public static let gre = HeaderName(rawValue: "GRE header")
    public static let erspan = HeaderName(rawValue: "ERSPAN header")
    /// A UDP header with the VXLAN or Geneve header after it.
    public static let udp = HeaderName(rawValue: "UDP and VXLAN/Geneve header")
    public static let geneve = HeaderName(rawValue: "Geneve header")
    public static let ipv4 = HeaderName(rawValue: "IPv4 header")
    public static let ipv6 = HeaderName(rawValue: "IPv6 header")
    public static let ipv6Extension = HeaderName(rawValue: "IPv6 extension header")
    public static let authenticationHeader = HeaderName(rawValue: "IP authentication header")
    public static let ipFragment = HeaderName(rawValue: "IP fragment")
    public static let tcp = HeaderName(rawValue: "TCP header")

    public var description: String { rawValue }
}
