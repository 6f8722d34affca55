import Core

/// The next header the decoder reads at the cursor.
enum Layer {
    /// An Ethernet II or 802.3 header.
    case ethernet
    /// A payload named by an EtherType (VLAN tag, MPLS, PPPoE, IP ...).
    case etherType(EtherType)
    /// An 802.2 LLC header, possibly SNAP.
    case llc
    /// A PPP protocol field (optionally after the HDLC address/control bytes ff 03).
    case pppProtocol
    /// IPv4 or IPv6, told apart by the version nibble.
    case ipByVersion
    case ipv4
    case ipv6
    /// The payload of an IP header (or of an IPv6 extension header) with this protocol number.
    case ipPayload(UInt8, IPInfo)
}

/// One decoding step's result: read another header, or stop with an answer.
enum Step {
    case next(Layer)
    case done(DecodedPacket)
    /// An IP fragment to hand to reassembly.
    case fragment(Fragment)
}

/// The link layers' first step. Returns nil for link types this decoder does not read.
func linkStep(_ linkType: LinkType, _ c: inout Cursor) -> Step? {
    switch linkType.rawValue {
    case LinkType.ethernet.rawValue:
        return .next(.ethernet)
    case LinkType.raw.rawValue, 12, 14:
        return .next(.ipByVersion)
    case LinkType.ipv4.rawValue:
        return .next(.ipv4)
    case LinkType.ipv6.rawValue:
        return .next(.ipv6)
    case LinkType.null.rawValue, LinkType.loop.rawValue:
        if let stop = c.require(4, .loopback) { return .done(stop) }
        // NULL is in the writer's byte order; families are small, so zero high bytes mean big-endian.
        let bigEndian = linkType == .loop || (c.u8(0) == 0 && c.u8(1) == 0)
        let family = bigEndian ? c.u32(0) : c.u32LittleEndian(0)
        c.advance(4)
        return addressFamilyStep(family)
    case LinkType.linuxSLL.rawValue:
        // packet type (2), ARPHRD type (2), address length (2), address (8), protocol (2)
        if let stop = c.require(16, .linuxSLL) { return .done(stop) }
        let hardware = c.u16(2)
        let proto = c.u16(14)
        c.advance(16)
        return cookedProtocolStep(proto, hardware: hardware)
    case LinkType.linuxSLL2.rawValue:
        // protocol (2), reserved (2), interface (4), ARPHRD type (2), packet type, address length, address (8)
        if let stop = c.require(20, .linuxSLL2) { return .done(stop) }
        let proto = c.u16(0)
        let hardware = c.u16(8)
        c.advance(20)
        return cookedProtocolStep(proto, hardware: hardware)
    case LinkType.nflog.rawValue:
        return nflogStep(&c)
    case 10:  // FDDI: frame control, destination, source, then LLC
        if let stop = c.require(13, .fddi) { return .done(stop) }
        c.advance(13)
        return .next(.llc)
    case 104:  // Cisco HDLC: address, control, EtherType
        if let stop = c.require(4, .ciscoHDLC) { return .done(stop) }
        let type = EtherType(rawValue: c.u16(2))
        c.advance(4)
        return .next(.etherType(type))
    case 9, 50:  // PPP, PPP in HDLC-like framing
        return .next(.pppProtocol)
    case 51:  // PPPoE without the Ethernet header
        if let stop = c.require(6, .pppoe) { return .done(stop) }
        c.advance(6)
        return .next(.pppProtocol)
    default:
        return nil
    }
}

/// BSD address families: 2 is IPv4 everywhere; IPv6 is 10 (Linux), 24 (NetBSD, OpenBSD),
/// 28 (FreeBSD) or 30 (Darwin).
func addressFamilyStep(_ family: UInt32) -> Step {
    switch family {
    case 2: return .next(.ipv4)
    case 10, 24, 28, 30: return .next(.ipv6)
    default: return .done(.nonIP(.addressFamily(family)))
    }
}

/// The protocol field of a Linux cooked header: an EtherType, or an `ETH_P_` value below 0x0600.
private func cookedProtocolStep(_ proto: UInt16, hardware: UInt16) -> Step {
    if hardware == 824 {  // ARPHRD_NETLINK: the protocol is a netlink family
        return .done(.nonIP(.etherType(EtherType(rawValue: proto))))
    }
    switch proto {
    case 0x0004: return .next(.llc)  // ETH_P_802_2
    case 0x0001: return .done(.nonIP(.llc(dsap: 0xff, ssap: 0xff)))  // ETH_P_802_3, Novell raw
    default: return .next(.etherType(EtherType(rawValue: proto)))
    }
}

/// NFLOG: family (1), version (1), resource id (2), then TLVs whose length and type are in
/// the writer's byte order, padded to 4 bytes. Type 9 holds the packet.
private func nflogStep(_ c: inout Cursor) -> Step {
    if let stop = c.require(4, .nflog) { return .done(stop) }
    let family = c.u8(0)
    c.advance(4)
    while c.available >= 4 {
        let little = Int(c.u16LittleEndian(0))
        let big = Int(c.u16(0))
        let useLittle = little >= 4 && little - 4 <= c.onWire - 4
        let length = useLittle ? little : big
        let type = (useLittle ? c.u16LittleEndian(2) : c.u16(2)) & 0x7fff
        guard length >= 4, length <= c.onWire else {
            return .done(.malformed(MalformedReason(.nflogAttributeLength(length))))
        }
        if type == 9 {
            c.advance(4)
            c.limit(to: length - 4)
            switch family {
            case 2: return .next(.ipv4)
            case 10: return .next(.ipv6)
            case 0: return .next(.ipByVersion)
            default: return .done(.nonIP(.addressFamily(UInt32(family))))
            }
        }
        let padded = (length + 3) & ~3
        c.advance(min(padded, c.available))
    }
    return .done(.nonIP(.nflogWithoutPayload))
}

/// Link-layer steps after the first: Ethernet, LLC, tags, label stacks and PPP.
func linkLayerStep(_ layer: Layer, _ c: inout Cursor, vlan: inout VLANTags) -> Step {
    switch layer {
    case .ethernet:
        if let stop = c.require(14, .ethernet) { return .done(stop) }
        let typeOrLength = c.u16(12)
        c.advance(14)
        if typeOrLength >= 0x0600 { return .next(.etherType(EtherType(rawValue: typeOrLength))) }
        if typeOrLength <= 1500 {
            if Int(typeOrLength) <= c.onWire { c.limit(to: Int(typeOrLength)) }
            return .next(.llc)
        }
        return .done(.nonIP(.etherType(EtherType(rawValue: typeOrLength))))
    case .llc:
        if let stop = c.require(3, .llc) { return .done(stop) }
        let dsap = c.u8(0)
        let ssap = c.u8(1)
        guard dsap == 0xaa, ssap == 0xaa else { return .done(.nonIP(.llc(dsap: dsap, ssap: ssap))) }
        // SNAP: DSAP, SSAP, control, OUI (3), EtherType
        if let stop = c.require(8, .llc) { return .done(stop) }
        let type = EtherType(rawValue: c.u16(6))
        c.advance(8)
        return .next(.etherType(type))
    case .etherType(let type):
        return etherTypeStep(type, &c, vlan: &vlan)
    case .pppProtocol:
        return pppStep(&c)
    case .ipByVersion:
        if let stop = c.require(1, .ipv4) { return .done(stop) }
        switch c.u8(0) >> 4 {
        case 4: return .next(.ipv4)
        case 6: return .next(.ipv6)
        case let v: return .done(.malformed(MalformedReason(.unknownIPVersion(Int(v)))))
        }
    case .ipv4, .ipv6, .ipPayload:
        preconditionFailure("network layers are decoded by PacketDecoder")
    }
}

private func etherTypeStep(_ type: EtherType, _ c: inout Cursor, vlan: inout VLANTags) -> Step {
    switch type {
    case .ipv4:
        return .next(.ipv4)
    case .ipv6:
        return .next(.ipv6)
    case _ where type.isVLANTag:
        // TCI (priority, DEI, 12-bit id), then the next EtherType or an 802.3 length
        if let stop = c.require(4, .vlanTag) { return .done(stop) }
        vlan.append(c.u16(0))
        let next = c.u16(2)
        c.advance(4)
        return .next(next >= 0x0600 ? .etherType(EtherType(rawValue: next)) : .llc)
    case .mplsUnicast, .mplsMulticast:
        return mplsStep(&c)
    case .pppoeSession:
        // version/type, code, session id (2), length (2), then a 2-byte PPP protocol
        if let stop = c.require(6, .pppoe) { return .done(stop) }
        let length = Int(c.u16(4))
        c.advance(6)
        if length <= c.onWire { c.limit(to: length) }
        return .next(.pppProtocol)
    case .fabricPath:
        // FTag and TTL (2 bytes), then the original Ethernet frame
        if let stop = c.require(2, .fabricPath) { return .done(stop) }
        c.advance(2)
        return .next(.ethernet)
    case .vnTag:
        if let stop = c.require(6, .vnTag) { return .done(stop) }
        let next = EtherType(rawValue: c.u16(4))
        c.advance(6)
        return .next(.etherType(next))
    case .transparentEthernetBridging:
        return .next(.ethernet)
    default:
        return .done(.nonIP(.etherType(type)))
    }
}

/// Labels of 4 bytes until the bottom-of-stack bit; the payload's kind is guessed from its
/// first nibble (4, 6, or 0 for a pseudowire control word before an Ethernet frame).
private func mplsStep(_ c: inout Cursor) -> Step {
    while true {
        if let stop = c.require(4, .mpls) { return .done(stop) }
        let bottom = c.u8(2) & 1 == 1
        c.advance(4)
        if bottom { break }
    }
    if let stop = c.require(1, .mpls) { return .done(stop) }
    switch c.u8(0) >> 4 {
    case 4: return .next(.ipv4)
    case 6: return .next(.ipv6)
    case 0:
        if let stop = c.require(4, .mpls) { return .done(stop) }
        c.advance(4)
        return .next(.ethernet)
    case let nibble: return .done(.nonIP(.mplsPayload(firstNibble: nibble)))
    }
}

/// PPP: an optional ff 03 address/control pair, then a 1-byte (compressed, odd) or 2-byte protocol.
private func pppStep(_ c: inout Cursor) -> Step {
    if let stop = c.require(2, .ppp) { return .done(stop) }
    if c.u8(0) == 0xff, c.u8(1) == 0x03 {
        c.advance(2)
        if let stop = c.require(2, .ppp) { return .done(stop) }
    }
    let proto: UInt16
    if c.u8(0) & 1 == 1 {
        proto = UInt16(c.u8(0))
        c.advance(1)
    } else {
        proto = c.u16(0)
        c.advance(2)
    }
    switch proto {
    case 0x0021: return .next(.ipv4)
    case 0x0057: return .next(.ipv6)
    default: return .done(.nonIP(.pppProtocol(proto)))
    }
}
