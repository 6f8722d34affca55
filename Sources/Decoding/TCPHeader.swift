import Core

/// What the innermost IP header said, carried to the TCP step.
struct IPInfo {
    var version: IPVersion
    var source: IPAddress
    var destination: IPAddress
    var id: UInt16?
    var ttl: UInt8
    var reassembled: Bool
    var anomalies: DecodeAnomalies = []
}

/// Reads a TCP header at the cursor, whose layer spans the IP payload (captured and on the wire).
///
/// Fewer than 20 captured bytes is `.truncated`; a fixed header with options cut by the snaplen
/// is still a segment (flagged `tcpOptionsTruncated`), since tshark follows such segments too.
func tcpStep(_ c: Cursor, ip: IPInfo, vlan: VLANTags) -> DecodedPacket {
    if let stop = c.require(20, .tcp) { return stop }
    let words = Int(c.u8(12) >> 4)
    guard words >= 5 else { return .malformed(MalformedReason(.tcpDataOffset(words: words))) }
    let headerLength = words * 4
    guard headerLength <= c.onWire else {
        return .malformed(MalformedReason(.tcpHeaderPastPayload(header: headerLength, payload: c.onWire)))
    }
    return .tcp(tcpView(c, ip: ip, vlan: vlan, headerLength: headerLength))
}

/// The segment of a TCP header `tcpStep` has checked: 20 bytes captured, `headerLength` at least
/// 20 and within the layer's on-wire bytes.
@inline(__always)
func tcpView(_ c: Cursor, ip: IPInfo, vlan: VLANTags, headerLength: Int) -> TCPSegmentView {
    var anomalies = ip.anomalies
    var headerCaptured = headerLength
    if headerLength > c.available {
        // Only the options were cut: the fixed header is enough to follow the connection.
        anomalies.insert(.tcpOptionsTruncated)
        headerCaptured = c.available
    }

    let flags = TCPFlags(rawValue: UInt16(c.u8(12) & 1) << 8 | UInt16(c.u8(13)))
    let optionBytes = UnsafeRawBufferPointer(rebasing: c.bytes[(c.offset + 20)..<(c.offset + headerCaptured)])
    let payloadStart = c.offset + headerCaptured
    let payload = UnsafeRawBufferPointer(rebasing: c.bytes[payloadStart..<c.end])
    let payloadLength = c.onWire - headerLength

    return TCPSegmentView(
        vlan: vlan,
        source: Endpoint(address: ip.source, port: c.u16(0)),
        destination: Endpoint(address: ip.destination, port: c.u16(2)),
        ipVersion: ip.version,
        ipID: ip.id,
        ttl: ip.ttl,
        reassembled: ip.reassembled,
        sequence: c.u32(4),
        acknowledgement: c.u32(8),
        flags: flags,
        window: c.u16(14),
        checksum: c.u16(16),
        urgentPointer: c.u16(18),
        headerLength: headerLength,
        optionBytes: optionBytes,
        payloadLength: payloadLength,
        payload: payload,
        truncated: payload.count < payloadLength || headerCaptured < headerLength,
        anomalies: anomalies
    )
}

extension TCPOptionsSummary {
    /// Summarises the option bytes of a TCP header (after the fixed 20 bytes).
    ///
    /// Stops at End of Option List, or at a length below 2 or past the end (flagged `malformed`).
    /// A known kind with the wrong length is flagged and skipped. Cost: one pass, no allocation.
    init(parsing bytes: UnsafeRawBufferPointer) {
        self.init()
        var i = 0
        while i < bytes.count {
            let kind = bytes[i]
            if kind == 0 { break }
            if kind == 1 {
                i += 1
                continue
            }
            guard bytes.count - i >= 2 else {
                malformed = true
                break
            }
            let length = Int(bytes[i + 1])
            guard length >= 2, length <= bytes.count - i else {
                malformed = true
                break
            }
            let value = UnsafeRawBufferPointer(rebasing: bytes[(i + 2)..<(i + length)])
            read(kind: kind, value: value)
            i += length
        }
    }

    private mutating func read(kind: UInt8, value: UnsafeRawBufferPointer) {
        func be16(_ at: Int) -> UInt16 {
            UInt16(bigEndian: value.loadUnaligned(fromByteOffset: at, as: UInt16.self))
        }
        func be32(_ at: Int) -> UInt32 {
            UInt32(bigEndian: value.loadUnaligned(fromByteOffset: at, as: UInt32.self))
        }
        switch kind {
        case 2:
            if value.count == 2 { maximumSegmentSize = be16(0) } else { malformed = true }
        case 3:
            if value.count == 1 { windowScale = value[0] } else { malformed = true }
        case 4:
            if value.count == 0 { sackPermitted = true } else { malformed = true }
        case 5:
            if value.count >= 8, value.count % 8 == 0 { sackBlockCount = value.count / 8 } else { malformed = true }
        case 8:
            if value.count == 8 {
                timestampValue = be32(0)
                timestampEchoReply = be32(4)
            } else {
                malformed = true
            }
        case 34:
            fastOpen = true
            fastOpenCookiePresent = value.count > 0
        case 254:
            // Experimental option; Fast Open used magic 0xF989 before kind 34 was assigned.
            if value.count >= 2, be16(0) == 0xF989 {
                fastOpen = true
                fastOpenCookiePresent = value.count > 2
            }
        default:
            break
        }
    }
}
