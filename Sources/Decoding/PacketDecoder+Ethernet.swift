import Core

extension PacketDecoder {
    /// The common frame in one pass: Ethernet II, VLAN tags, an unfragmented IPv4 header or an
    /// IPv6 header without extension headers, and a well-formed TCP header. Hands the segment to
    /// `tcp` in place and returns true, counting it exactly as `decodeLayers` would; returns false,
    /// having changed nothing, for any other frame (the caller then takes the general path).
    ///
    /// Every test here is one the general path makes on the same bytes, so both paths agree on
    /// every frame this one accepts; it only skips the per-layer `Step` values.
    @inline(__always)
    mutating func decodeEthernetTCP(
        _ bytes: UnsafeRawBufferPointer, originalLength: Int, _ tcp: (borrowing TCPSegmentView) -> Void
    ) -> Bool {
        var c = Cursor(bytes: bytes, missing: originalLength - bytes.count)
        guard c.available >= 14 else { return false }
        var type = c.u16(12)
        c.advance(14)
        var vlan = VLANTags()
        var tags = 0
        while EtherType(rawValue: type).isVLANTag {
            guard tags < 8, c.available >= 4 else { return false }
            vlan.append(c.u16(0))
            type = c.u16(2)
            c.advance(4)
            tags += 1
        }

        let info: IPInfo
        switch type {
        case EtherType.ipv4.rawValue:
            guard c.available >= 20, c.u8(0) >> 4 == 4 else { return false }
            let headerLength = Int(c.u8(0) & 0x0f) * 4
            guard headerLength >= 20, headerLength <= c.available else { return false }
            guard let (totalLength, anomalies) = Self.ipv4Length(c, headerLength: headerLength) else { return false }
            // Fragments (MF set or an offset) and protocols other than TCP take the general path.
            guard c.u16(6) & 0x3fff == 0, c.u8(9) == IPProtocolNumber.tcp.rawValue else { return false }
            c.limit(to: totalLength)
            info = IPInfo(
                version: .v4, source: IPAddress(ipv4: c.u32(12)), destination: IPAddress(ipv4: c.u32(16)),
                id: c.u16(4), ttl: c.u8(8), reassembled: false, anomalies: anomalies)
            c.advance(headerLength)
        case EtherType.ipv6.rawValue:
            guard c.available >= 40, c.u8(0) >> 4 == 6, c.u8(6) == IPProtocolNumber.tcp.rawValue else {
                return false
            }
            let (payloadLength, anomalies) = Self.ipv6PayloadLength(c)
            info = IPInfo(
                version: .v6, source: IPAddress(ipv6High: c.u64(8), low: c.u64(16)),
                destination: IPAddress(ipv6High: c.u64(24), low: c.u64(32)),
                id: nil, ttl: c.u8(7), reassembled: false, anomalies: anomalies)
            c.advance(40)
            c.limit(to: payloadLength)
        default:
            return false
        }

        guard c.available >= 20 else { return false }
        let headerLength = Int(c.u8(12) >> 4) * 4
        guard headerLength >= 20, headerLength <= c.onWire else { return false }

        if info.anomalies.contains(.zeroIPLength) { statistics.zeroIPLength += 1 }
        if info.anomalies.contains(.ipLengthPastFrame) { statistics.ipLengthPastFrame += 1 }
        let view = tcpView(c, ip: info, vlan: vlan, headerLength: headerLength)
        statistics.packets += 1
        statistics.tcpSegments += 1
        if view.truncated { statistics.truncatedPayloads += 1 }
        if view.anomalies.contains(.tcpOptionsTruncated) { statistics.truncatedOptions += 1 }
        tcp(view)
        return true
    }
}
