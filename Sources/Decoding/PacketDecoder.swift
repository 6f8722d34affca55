import Core

/// Decodes captured frames down to TCP: link layer, IP (with tunnels) and the TCP header.
///
/// Feed it one frame at a time. It keeps the state IP fragment reassembly needs (IPv4 and
/// IPv6), bounded by `DecoderLimits`, and counts what it saw in `statistics`.
///
/// Per frame it allocates nothing, except for storing fragments. The `TCPSegmentView` it
/// returns borrows its payload from the frame's bytes, or from the decoder's buffer for a
/// reassembled datagram; either stays valid only until the next `decode` call.
///
/// Link types read: Ethernet (1; 802.1Q/802.1ad/0x9100/0x9200 tags at any depth, 802.3 with
/// LLC/SNAP, MPLS with a pseudowire control word, PPPoE session, FabricPath, VN-Tag), FDDI (10),
/// raw IP (101, 12, 14, 228, 229), BSD loopback NULL (0, either byte order) and LOOP (108),
/// Linux cooked SLL (113) and SLL2 (276), NFLOG (239), PPP (9, 50, 51) and Cisco HDLC (104).
/// Inside IP it follows IPv4-in-IP, IPv6-in-IP, GRE (with transparent Ethernet bridging,
/// ERSPAN II/III and PPTP's PPP), VXLAN (UDP 4789 and 8472) and Geneve (UDP 6081), AH and the
/// IPv6 extension headers, and reports the innermost IP header's addresses. Any other link type is `.unsupportedLink`.
///
/// The reassembly state lives in a class instance: copies of a `PacketDecoder` share it, so
/// use one decoder per packet source and do not copy it.
public struct PacketDecoder {
    /// Headers a frame may stack (tags, labels, tunnels, extension headers) before it is
    /// called malformed. Every header consumes bytes, so this only guards against mistakes.
    public static let maxHeaders = 256

    public let limits: DecoderLimits
    public internal(set) var statistics = DecoderStatistics()
    private let fragments: FragmentTable

    public init(limits: DecoderLimits = .init()) {
        self.limits = limits
        self.fragments = FragmentTable(limits: limits)
    }

    /// Decodes one frame.
    ///
    /// - Parameters:
    ///   - linkType: the capture's link type for this frame.
    ///   - bytes: the captured bytes (borrowed for the duration of the call; a returned TCP
    ///     payload may point into them).
    ///   - originalLength: the frame's length on the wire; more than `bytes.count` means the
    ///     snaplen cut it, which makes short headers `.truncated` rather than `.malformed`.
    ///   - timestamp: the frame's time, used to expire incomplete datagrams.
    /// - Returns: exactly one outcome; every outcome is counted in `statistics`.
    public mutating func decode(
        linkType: LinkType,
        bytes: UnsafeRawBufferPointer,
        originalLength: Int,
        timestamp: Timestamp
    ) -> DecodedPacket {
        fragments.releaseCompleted()
        if !fragments.isEmpty { fragments.expire(now: timestamp, &statistics) }

        let result = decodeLayers(linkType, bytes, originalLength, timestamp)
        count(result)
        return result
    }

    /// Decodes one frame as `decode(linkType:bytes:originalLength:timestamp:)` does, but hands a
    /// TCP segment to `tcp` (borrowed for that call; it is not copied out) and returns nil for it.
    /// Every other outcome is returned. Statistics are counted the same way.
    ///
    /// The per-packet path: the common Ethernet/IP/TCP frame is read in one pass, without
    /// building the per-layer steps of the general decoder.
    public mutating func decode(
        linkType: LinkType,
        bytes: UnsafeRawBufferPointer,
        originalLength: Int,
        timestamp: Timestamp,
        tcp: (borrowing TCPSegmentView) -> Void
    ) -> DecodedPacket? {
        var other: DecodedPacket?
        decode(linkType: linkType, bytes: bytes, originalLength: originalLength, timestamp: timestamp, tcp: tcp) {
            other = $0
        }
        return other
    }

    /// `decode(linkType:bytes:originalLength:timestamp:tcp:)` handing every other outcome to `other`
    /// instead of returning it: the per-packet caller then neither receives nor tests an optional
    /// outcome (a value as large as a segment view) for the usual TCP segment.
    public mutating func decode(
        linkType: LinkType,
        bytes: UnsafeRawBufferPointer,
        originalLength: Int,
        timestamp: Timestamp,
        tcp: (borrowing TCPSegmentView) -> Void,
        other: (DecodedPacket) -> Void
    ) {
        fragments.releaseCompleted()
        if !fragments.isEmpty { fragments.expire(now: timestamp, &statistics) }

        if linkType == .ethernet, decodeEthernetTCP(bytes, originalLength: originalLength, tcp) { return }
        decodeOther(linkType, bytes, originalLength, timestamp, tcp: tcp, other: other)
    }

    /// The general path of `decode(...tcp:other:)`, out of line so the fast one stays small.
    @inline(never)
    private mutating func decodeOther(
        _ linkType: LinkType, _ bytes: UnsafeRawBufferPointer, _ originalLength: Int, _ timestamp: Timestamp,
        tcp: (borrowing TCPSegmentView) -> Void, other: (DecodedPacket) -> Void
    ) {
        let result = decodeLayers(linkType, bytes, originalLength, timestamp)
        count(result)
        if case .tcp(let view) = result {
            tcp(view)
        } else {
            other(result)
        }
    }

    private mutating func count(_ result: DecodedPacket) {
        statistics.packets += 1
        switch result {
        case .tcp(let segment):
            statistics.tcpSegments += 1
            if segment.truncated { statistics.truncatedPayloads += 1 }
            if segment.anomalies.contains(.tcpOptionsTruncated) { statistics.truncatedOptions += 1 }
        case .otherIP: statistics.otherIP += 1
        case .nonIP: statistics.nonIP += 1
        case .fragmentHeld: break
        case .unsupportedLink: statistics.unsupportedLink += 1
        case .truncated: statistics.truncated += 1
        case .malformed: statistics.malformed += 1
        }
    }

    private mutating func decodeLayers(
        _ linkType: LinkType, _ bytes: UnsafeRawBufferPointer, _ originalLength: Int, _ timestamp: Timestamp
    ) -> DecodedPacket {
        var c = Cursor(bytes: bytes, missing: originalLength - bytes.count)
        var vlan = VLANTags()
        var inReassembled = false
        guard var step = linkStep(linkType, &c) else { return .unsupportedLink(linkType) }

        for _ in 0..<Self.maxHeaders {
            switch step {
            case .done(let result):
                return result
            case .fragment(let fragment):
                guard !inReassembled else { return .malformed(MalformedReason(.nestedFragmentation)) }
                switch fragments.insert(fragment, now: timestamp, &statistics) {
                case .held:
                    return .fragmentHeld
                case .malformed(let reason):
                    return .malformed(reason)
                case .complete(let payload, let info, let nextProtocol):
                    inReassembled = true
                    c = Cursor(bytes: payload, missing: 0)
                    step = .next(.ipPayload(nextProtocol, info))
                }
            case .next(.ipv4):
                step = ipv4Step(&c)
            case .next(.ipv6):
                step = ipv6Step(&c)
            case .next(.ipPayload(let proto, let info)):
                step = ipPayloadStep(proto, info, &c, vlan: vlan)
            case .next(let layer):
                step = linkLayerStep(layer, &c, vlan: &vlan)
            }
        }
        if case .done(let result) = step { return result }
        return .malformed(MalformedReason(.tooManyHeaders(limit: Self.maxHeaders)))
    }
}
