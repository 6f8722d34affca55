import Core

// IPv4, IPv6 and its extension headers, and the tunnels that lead to another IP header.
extension PacketDecoder {
    /// IPv4: checks IHL and total length against their minimums, trims link padding, and hands
    /// fragments to reassembly. A total length past the frame is an anomaly, not an error: like
    /// tshark, the decoder then uses the bytes the frame holds.
    mutating func ipv4Step(_ c: inout Cursor) -> Step {
        if let stop = c.require(20, .ipv4) { return .done(stop) }
        let version = Int(c.u8(0) >> 4)
        guard version == 4 else {
            return .done(.malformed(MalformedReason(.ipVersionMismatch(expected: 4, found: version))))
        }
        let words = Int(c.u8(0) & 0x0f)
        guard words >= 5 else { return .done(.malformed(MalformedReason(.ipv4HeaderLength(words: words)))) }
        let headerLength = words * 4
        if let stop = c.require(headerLength, .ipv4) { return .done(stop) }

        guard let (totalLength, anomalies) = Self.ipv4Length(c, headerLength: headerLength) else {
            return .done(.malformed(MalformedReason(
                .ipv4TotalLengthBelowHeader(total: Int(c.u16(2)), header: headerLength))))
        }
        count(anomalies)
        c.limit(to: totalLength)

        let id = c.u16(4)
        let fragmentField = c.u16(6)
        let moreFragments = fragmentField & 0x2000 != 0
        let fragmentOffset = Int(fragmentField & 0x1fff) * 8
        let proto = c.u8(9)
        let info = IPInfo(
            version: .v4,
            source: IPAddress(ipv4: c.u32(12)),
            destination: IPAddress(ipv4: c.u32(16)),
            id: id,
            ttl: c.u8(8),
            reassembled: false,
            anomalies: anomalies
        )
        c.advance(headerLength)

        if moreFragments || fragmentOffset > 0 {
            let key = FragmentKey(version: .v4, source: info.source, destination: info.destination,
                                  id: UInt32(id), proto: proto)
            return fragmentStep(key, offset: fragmentOffset, more: moreFragments, info: info, proto, c)
        }
        return .next(.ipPayload(proto, info))
    }

    /// IPv6 fixed header: trims link padding using the payload length. A payload length of 0
    /// (jumbogram or offload) or one past the frame uses the frame's length, flagged.
    mutating func ipv6Step(_ c: inout Cursor) -> Step {
        if let stop = c.require(40, .ipv6) { return .done(stop) }
        let version = Int(c.u8(0) >> 4)
        guard version == 6 else {
            return .done(.malformed(MalformedReason(.ipVersionMismatch(expected: 6, found: version))))
        }
        let (payloadLength, anomalies) = Self.ipv6PayloadLength(c)
        count(anomalies)
        let info = IPInfo(
            version: .v6,
            source: IPAddress(ipv6High: c.u64(8), low: c.u64(16)),
            destination: IPAddress(ipv6High: c.u64(24), low: c.u64(32)),
            id: nil,
            ttl: c.u8(7),
            reassembled: false,
            anomalies: anomalies
        )
        let next = c.u8(6)
        c.advance(40)
        c.limit(to: payloadLength)
        return .next(.ipPayload(next, info))
    }

    /// The IPv4 total length to decode with, for a header of `headerLength` bytes at the cursor:
    /// the header's own, or the frame's when the header says 0 (segmentation offload) or more than
    /// the frame holds, flagged. Nil when it is below the header length (malformed). Shared by the
    /// general path and the one-pass path for common frames.
    @inline(__always)
    static func ipv4Length(_ c: Cursor, headerLength: Int) -> (Int, DecodeAnomalies)? {
        let total = Int(c.u16(2))
        if total == 0 { return (c.onWire, .zeroIPLength) }
        if total < headerLength { return nil }
        if total > c.onWire { return (c.onWire, .ipLengthPastFrame) }
        return (total, [])
    }

    /// The IPv6 payload length to decode with, for a fixed header at the cursor: the header's own,
    /// or what the frame holds after the header when the header says 0 (jumbogram or offload) or
    /// more than that, flagged.
    @inline(__always)
    static func ipv6PayloadLength(_ c: Cursor) -> (Int, DecodeAnomalies) {
        let payload = Int(c.u16(4))
        let onWirePayload = c.onWire - 40
        if payload == 0 { return (onWirePayload, .zeroIPLength) }
        if payload > onWirePayload { return (onWirePayload, .ipLengthPastFrame) }
        return (payload, [])
    }

    /// What follows an IP header: TCP, a tunnel, an extension header, or another protocol.
    mutating func ipPayloadStep(_ proto: UInt8, _ info: IPInfo, _ c: inout Cursor, vlan: VLANTags) -> Step {
        switch IPProtocolNumber(rawValue: proto) {
        case .tcp:
            return .done(tcpStep(c, ip: info, vlan: vlan))
        case .ipv4InIP:
            return .next(.ipv4)
        case .ipv6InIP:
            return .next(.ipv6)
        case .gre:
            return greStep(&c, info)
        case .udp:
            return udpStep(&c, info)
        case .authenticationHeader:
            // next header, payload length in 4-byte words minus 2, ...
            if let stop = c.require(2, .authenticationHeader) { return .done(stop) }
            let length = (Int(c.u8(1)) + 2) * 4
            return skipExtension(length: length, next: c.u8(0), .authenticationHeader, info, &c)
        case let p where info.version == .v6 && (p == .hopByHopOptions || p == .ipv6Routing
                                                  || p == .ipv6DestinationOptions):
            // next header, length in 8-byte units not counting the first 8
            if let stop = c.require(2, .ipv6Extension) { return .done(stop) }
            let length = (Int(c.u8(1)) + 1) * 8
            return skipExtension(length: length, next: c.u8(0), .ipv6Extension, info, &c)
        case .ipv6Fragment where info.version == .v6:
            return ipv6FragmentStep(info, &c)
        default:
            return .done(.otherIP(IPProtocolNumber(rawValue: proto), info.version))
        }
    }

    private mutating func count(_ anomalies: DecodeAnomalies) {
        if anomalies.contains(.zeroIPLength) { statistics.zeroIPLength += 1 }
        if anomalies.contains(.ipLengthPastFrame) { statistics.ipLengthPastFrame += 1 }
    }

    private func skipExtension(
        length: Int, next: UInt8, _ header: HeaderName, _ info: IPInfo, _ c: inout Cursor
    ) -> Step {
        if let stop = c.require(length, header) { return .done(stop) }
        c.advance(length)
        return .next(.ipPayload(next, info))
    }

    /// IPv6 fragment header: next header, reserved, offset (13 bits) + M flag, identification.
    /// An atomic fragment (offset 0, M clear) is read as an ordinary packet.
    private mutating func ipv6FragmentStep(_ info: IPInfo, _ c: inout Cursor) -> Step {
        if let stop = c.require(8, .ipv6Extension) { return .done(stop) }
        let next = c.u8(0)
        let field = c.u16(2)
        let offset = Int(field & 0xfff8)
        let more = field & 1 != 0
        let id = c.u32(4)
        c.advance(8)
        if offset == 0, !more { return .next(.ipPayload(next, info)) }
        let key = FragmentKey(version: .v6, source: info.source, destination: info.destination, id: id, proto: 0)
        return fragmentStep(key, offset: offset, more: more, info: info, next, c)
    }

    private mutating func fragmentStep(
        _ key: FragmentKey, offset: Int, more: Bool, info: IPInfo, _ next: UInt8, _ c: Cursor
    ) -> Step {
        guard c.missing == 0 else {
            statistics.fragmentsTruncated += 1
            return .done(.truncated(Truncation(header: .ipFragment, needed: c.onWire, captured: c.available)))
        }
        return .fragment(Fragment(key: key, offset: offset, moreFragments: more, data: c.rest,
                                  info: info, nextProtocol: next))
    }

    /// UDP tunnels that carry a whole frame, as cloud traffic mirroring delivers captures: VXLAN (RFC 7348,
    /// destination port 4789, or 8472, the Linux kernel's former default) and Geneve (RFC 8926, port 6081).
    /// A datagram to those ports whose header does not read as one (VXLAN without its I flag, a Geneve
    /// version other than 0, or too short on the wire) is other UDP, as is every other datagram.
    private func udpStep(_ c: inout Cursor, _ info: IPInfo) -> Step {
        let other = Step.done(.otherIP(.udp, info.version))
        // UDP (8) and the tunnel's base header (8): less on the wire is no tunnel.
        guard c.onWire >= 16 else { return other }
        if let stop = c.require(16, .udp) { return .done(stop) }
        switch c.u16(2) {
        case Self.vxlanPort, Self.vxlanLinuxPort:
            guard c.u8(8) & 0x08 != 0 else { return other }
            c.advance(16)
            return .next(.ethernet)
        case Self.genevePort:
            guard c.u8(8) >> 6 == 0 else { return other }
            let length = 16 + Int(c.u8(8) & 0x3f) * 4
            let type = EtherType(rawValue: c.u16(10))
            if let stop = c.require(length, .geneve) { return .done(stop) }
            c.advance(length)
            return .next(.etherType(type))
        default:
            return other
        }
    }

    static let vxlanPort: UInt16 = 4789
    static let vxlanLinuxPort: UInt16 = 8472
    static let genevePort: UInt16 = 6081

    /// GRE (RFC 2784/2890, and version 1 as used by PPTP). The protocol type is an EtherType;
    /// ERSPAN II/III carry a mirrored Ethernet frame after their own header.
    private func greStep(_ c: inout Cursor, _ info: IPInfo) -> Step {
        if let stop = c.require(4, .gre) { return .done(stop) }
        let flags = c.u16(0)
        let version = flags & 0x7
        let type = EtherType(rawValue: c.u16(2))
        guard version <= 1 else { return .done(.otherIP(.gre, info.version)) }
        var length = 4
        if flags & 0xC000 != 0 { length += 4 }  // checksum (or routing) present: checksum + offset
        if flags & 0x2000 != 0 { length += 4 }  // key
        let sequencePresent = flags & 0x1000 != 0
        if sequencePresent { length += 4 }
        if version == 1, flags & 0x0080 != 0 { length += 4 }  // acknowledgement
        if let stop = c.require(length, .gre) { return .done(stop) }
        c.advance(length)

        switch type {
        case .erspanTypeII:
            // Type II has the sequence bit set and an 8-byte header; type I has neither.
            guard sequencePresent else { return .next(.ethernet) }
            if let stop = c.require(8, .erspan) { return .done(stop) }
            c.advance(8)
            return .next(.ethernet)
        case .erspanTypeIII:
            // 12 bytes; the O bit (lowest of byte 11) adds an 8-byte platform-specific subheader.
            if let stop = c.require(12, .erspan) { return .done(stop) }
            let headerLength = c.u8(11) & 1 == 1 ? 20 : 12
            if let stop = c.require(headerLength, .erspan) { return .done(stop) }
            c.advance(headerLength)
            return .next(.ethernet)
        case .ppp where version == 1:
            return .next(.pppProtocol)
        default:
            return version == 0 ? .next(.etherType(type)) : .done(.otherIP(.gre, info.version))
        }
    }
}
