/// A capture's link-layer header type: the LINKTYPE_ value of pcap and pcapng.
///
/// The numbers are those of the tcpdump.org link-type registry; libpcap's DLT_
/// values agree with them except where noted.
public struct LinkType: RawRepresentable, Hashable, Comparable, Sendable {
    public var rawValue: UInt32

    @inlinable
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    // The named types are inlinable computed constants, so other modules compare them without
    // calling an accessor of this module per packet.

    /// LINKTYPE_NULL (0): BSD loopback, a 4-byte address family in host order of the writer.
    @inlinable public static var null: LinkType { LinkType(rawValue: 0) }
    /// LINKTYPE_ETHERNET (1): Ethernet II / 802.3.
    @inlinable public static var ethernet: LinkType { LinkType(rawValue: 1) }
    /// LINKTYPE_RAW (101): raw IPv4 or IPv6, version from the first nibble.
    /// (DLT_RAW is 12 or 14 on some systems; libpcap maps both to 101 in files.)
    @inlinable public static var raw: LinkType { LinkType(rawValue: 101) }
    /// LINKTYPE_LOOP (108): OpenBSD loopback, address family in network order.
    @inlinable public static var loop: LinkType { LinkType(rawValue: 108) }
    /// LINKTYPE_LINUX_SLL (113): Linux "cooked" capture, version 1.
    @inlinable public static var linuxSLL: LinkType { LinkType(rawValue: 113) }
    /// LINKTYPE_NFLOG (239): Linux netfilter log messages.
    @inlinable public static var nflog: LinkType { LinkType(rawValue: 239) }
    /// LINKTYPE_IPV4 (228): raw IPv4.
    @inlinable public static var ipv4: LinkType { LinkType(rawValue: 228) }
    /// LINKTYPE_IPV6 (229): raw IPv6.
    @inlinable public static var ipv6: LinkType { LinkType(rawValue: 229) }
    /// LINKTYPE_LINUX_SLL2 (276): Linux "cooked" capture, version 2.
    @inlinable public static var linuxSLL2: LinkType { LinkType(rawValue: 276) }

    public static func < (a: LinkType, b: LinkType) -> Bool { a.rawValue < b.rawValue }

    /// The registry's short name (`EN10MB`, `LINUX_SLL2`, ...) or `LINKTYPE_<n>`.
    public var name: String {
        switch rawValue {
        case 0: return "NULL"
        case 1: return "EN10MB"
        case 6: return "IEEE802"
        case 9: return "PPP"
        case 10: return "FDDI"
        case 12, 14: return "RAW"
        case 50: return "PPP_HDLC"
        case 51: return "PPP_ETHER"
        case 101: return "RAW"
        case 104: return "C_HDLC"
        case 105: return "IEEE802_11"
        case 108: return "LOOP"
        case 113: return "LINUX_SLL"
        case 127: return "IEEE802_11_RADIOTAP"
        case 147...162: return "USER\(rawValue - 147)"
        case 192: return "PPI"
        case 195: return "IEEE802_15_4"
        case 220: return "USB_LINUX_MMAPPED"
        case 228: return "IPV4"
        case 229: return "IPV6"
        case 239: return "NFLOG"
        case 276: return "LINUX_SLL2"
        default: return "LINKTYPE_\(rawValue)"
        }
    }
}

extension LinkType: CustomStringConvertible {
    public var description: String { "\(name) (\(rawValue))" }
}
