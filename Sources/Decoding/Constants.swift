// Protocol numbers the decoder dispatches on, wrapped so call sites read as English.

/// A 16-bit EtherType (IEEE 802 "Type" field), also used by GRE, Linux cooked captures and SNAP.
///
/// Values below 0x0600 in an Ethernet header are an 802.3 length, not a type.
public struct EtherType: RawRepresentable, Hashable, Comparable, Sendable {
    public var rawValue: UInt16

    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// IPv4 (0x0800).
    public static let ipv4 = EtherType(rawValue: 0x0800)
    /// ARP (0x0806).
    public static let arp = EtherType(rawValue: 0x0806)
    /// IPv6 (0x86DD).
    public static let ipv6 = EtherType(rawValue: 0x86DD)
    /// IEEE 802.1Q customer VLAN tag (0x8100).
    public static let vlan = EtherType(rawValue: 0x8100)
    /// IEEE 802.1ad service VLAN tag, "Q-in-Q" outer tag (0x88A8).
    public static let serviceVLAN = EtherType(rawValue: 0x88A8)
    /// Pre-standard stacked VLAN tag (0x9100).
    public static let stackedVLAN9100 = EtherType(rawValue: 0x9100)
    /// Pre-standard stacked VLAN tag (0x9200).
    public static let stackedVLAN9200 = EtherType(rawValue: 0x9200)
    /// MPLS unicast label stack (0x8847).
    public static let mplsUnicast = EtherType(rawValue: 0x8847)
    /// MPLS multicast label stack (0x8848).
    public static let mplsMulticast = EtherType(rawValue: 0x8848)
    /// PPPoE discovery stage (0x8863).
    public static let pppoeDiscovery = EtherType(rawValue: 0x8863)
    /// PPPoE session stage (0x8864): a 6-byte PPPoE header, then a PPP protocol number.
    public static let pppoeSession = EtherType(rawValue: 0x8864)
    /// Cisco FabricPath (0x8903): a 2-byte FTag/TTL word, then the original Ethernet frame.
    public static let fabricPath = EtherType(rawValue: 0x8903)
    /// Cisco VN-Tag / IEEE 802.1Qbh (0x8926): 4 tag bytes, then the next EtherType.
    public static let vnTag = EtherType(rawValue: 0x8926)
    /// Transparent Ethernet bridging (0x6558), as carried in GRE: an Ethernet frame follows.
    public static let transparentEthernetBridging = EtherType(rawValue: 0x6558)
    /// ERSPAN type II (0x88BE) inside GRE.
    public static let erspanTypeII = EtherType(rawValue: 0x88BE)
    /// ERSPAN type III (0x22EB) inside GRE.
    public static let erspanTypeIII = EtherType(rawValue: 0x22EB)
    /// PPP inside GRE version 1 (PPTP), 0x880B.
    public static let ppp = EtherType(rawValue: 0x880B)

    /// True for the tag types that carry a 2-byte TCI and then the next EtherType.
    var isVLANTag: Bool {
        self == .vlan || self == .serviceVLAN || self == .stackedVLAN9100 || self == .stackedVLAN9200
    }

    public static func < (a: EtherType, b: EtherType) -> Bool { a.rawValue < b.rawValue }
}

extension EtherType: CustomStringConvertible {
    /// Four hex digits, e.g. `0x0806`.
    public var description: String { "0x" + hex(UInt64(rawValue), digits: 4) }
}

/// An IP protocol number (IPv4 "Protocol", IPv6 "Next Header"), per the IANA registry.
public struct IPProtocolNumber: RawRepresentable, Hashable, Comparable, Sendable {
    public var rawValue: UInt8

    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// IPv6 Hop-by-Hop Options (0).
    public static let hopByHopOptions = IPProtocolNumber(rawValue: 0)
    /// ICMP (1).
    public static let icmp = IPProtocolNumber(rawValue: 1)
    /// IGMP (2).
    public static let igmp = IPProtocolNumber(rawValue: 2)
    /// IPv4 encapsulated in IP (4).
    public static let ipv4InIP = IPProtocolNumber(rawValue: 4)
    /// TCP (6).
    public static let tcp = IPProtocolNumber(rawValue: 6)
    /// UDP (17).
    public static let udp = IPProtocolNumber(rawValue: 17)
    /// IPv6 encapsulated in IP (41).
    public static let ipv6InIP = IPProtocolNumber(rawValue: 41)
    /// IPv6 Routing header (43).
    public static let ipv6Routing = IPProtocolNumber(rawValue: 43)
    /// IPv6 Fragment header (44).
    public static let ipv6Fragment = IPProtocolNumber(rawValue: 44)
    /// Generic Routing Encapsulation (47).
    public static let gre = IPProtocolNumber(rawValue: 47)
    /// Encapsulating Security Payload (50).
    public static let esp = IPProtocolNumber(rawValue: 50)
    /// Authentication Header (51).
    public static let authenticationHeader = IPProtocolNumber(rawValue: 51)
    /// ICMPv6 (58).
    public static let icmpv6 = IPProtocolNumber(rawValue: 58)
    /// IPv6 No Next Header (59).
    public static let noNextHeader = IPProtocolNumber(rawValue: 59)
    /// IPv6 Destination Options (60).
    public static let ipv6DestinationOptions = IPProtocolNumber(rawValue: 60)
    /// SCTP (132).
    public static let sctp = IPProtocolNumber(rawValue: 132)

    public static func < (a: IPProtocolNumber, b: IPProtocolNumber) -> Bool { a.rawValue < b.rawValue }
}

extension IPProtocolNumber: CustomStringConvertible {
    /// The IANA keyword for common protocols (`TCP`, `UDP`, `ICMP`, ...), else the number.
    public var description: String {
        switch rawValue {
        case 1: return "ICMP"
        case 2: return "IGMP"
        case 4: return "IPIP"
        case 6: return "TCP"
        case 17: return "UDP"
        case 41: return "IPv6"
        case 47: return "GRE"
        case 50: return "ESP"
        case 51: return "AH"
        case 58: return "ICMPv6"
        case 59: return "IPv6-NoNxt"
        case 89: return "OSPF"
        case 103: return "PIM"
        case 112: return "VRRP"
        case 132: return "SCTP"
        default: return String(rawValue)
        }
    }
}

/// The IP version of a packet's innermost IP header.
public enum IPVersion: UInt8, Hashable, Sendable {
    case v4 = 4
    case v6 = 6
}

/// What a frame carried when it was not IP: the protocol the link layer named.
public enum NonIPProtocol: Hashable, Sendable {
    /// An EtherType the decoder does not follow (ARP, LLDP, ...).
    case etherType(EtherType)
    /// An 802.2 LLC frame that is not SNAP-encapsulated IP (STP, NetBIOS, IPX ...).
    case llc(dsap: UInt8, ssap: UInt8)
    /// A BSD loopback or NFLOG address family that is neither IPv4 nor IPv6.
    case addressFamily(UInt32)
    /// A PPP protocol number other than IPv4 (0x0021) and IPv6 (0x0057).
    case pppProtocol(UInt16)
    /// An MPLS payload whose first nibble is neither 4, 6 nor a pseudowire control word.
    case mplsPayload(firstNibble: UInt8)
    /// An NFLOG message without a payload attribute.
    case nflogWithoutPayload
}

extension NonIPProtocol: CustomStringConvertible {
    public var description: String {
        switch self {
        case .etherType(let t): return "EtherType \(t)"
        case .llc(let d, let s): return "LLC DSAP 0x\(hex(UInt64(d), digits: 2)) SSAP 0x\(hex(UInt64(s), digits: 2))"
        case .addressFamily(let f): return "address family \(f)"
        case .pppProtocol(let p): return "PPP protocol 0x\(hex(UInt64(p), digits: 4))"
        case .mplsPayload(let n): return "MPLS payload starting with nibble \(n)"
        case .nflogWithoutPayload: return "NFLOG message without payload"
        }
    }
}

/// Lower-case hex, zero-padded to `digits`.
func hex(_ value: UInt64, digits: Int) -> String {
    let s = String(value, radix: 16)
    return s.count >= digits ? s : String(repeating: "0", count: digits - s.count) + s
}
