/// TCP flag bits as they sit in the header's flags byte.
enum TCPFlagBits {
    static let fin: UInt8 = 0x01
    static let syn: UInt8 = 0x02
    static let rst: UInt8 = 0x04
    static let psh: UInt8 = 0x08
    static let ack: UInt8 = 0x10
}

/// The two ends of one simulated TCP connection (IPv4 over Ethernet).
struct ConnectionEnds: Sendable {
    var client: UInt32
    var server: UInt32
    var clientPort: UInt16
    var serverPort: UInt16
}

/// One packet of a planned conversation: everything needed to write its frame.
struct PlannedPacket: Sendable {
    var time: Int64
    var sequence: UInt32
    var acknowledgement: UInt32
    /// Offset of the payload in its direction's stream buffer of the phase.
    var payloadOffset: Int32
    var payloadLength: UInt16
    var ipID: UInt16
    var flags: UInt8
    var fromClient: Bool
    /// Index of the connection in the phase (a failover check-in has two).
    var connection: UInt8
}

/// Writes Ethernet II + IPv4 + TCP frames with correct IP and TCP checksums.
///
/// MAC addresses are made from the IPv4 addresses (`02:00:a.b.c.d`, locally administered).
/// SYN and SYN-ACK carry one option, MSS 1460; other segments have a 20-byte header.
/// Writing costs one pass over the payload for the checksum plus the copy; nothing is allocated.
enum TCPFrame {
    static let mss = 1460
    static let ethernetLength = 14
    static let ipv4Length = 20
    /// Largest frame written: headers, the SYN option and one MSS of payload.
    static let maxFrameLength = ethernetLength + ipv4Length + 24 + mss

    /// Frame length of `packet`.
    static func length(of packet: PlannedPacket) -> Int {
        ethernetLength + ipv4Length + headerLength(packet.flags) + Int(packet.payloadLength)
    }

    static func headerLength(_ flags: UInt8) -> Int {
        flags & TCPFlagBits.syn != 0 ? 24 : 20
    }

    /// Writes the frame of `packet` at `out` (room for `length(of:)` bytes) and returns its length.
    /// `payload` points at the packet's payload bytes (`payloadLength` of them).
    @inline(__always)
    static func write(
        _ packet: PlannedPacket, ends: ConnectionEnds, payload: UnsafeRawPointer?, to out: UnsafeMutableRawPointer
    ) -> Int {
        let source = packet.fromClient ? ends.client : ends.server
        let destination = packet.fromClient ? ends.server : ends.client
        let sourcePort = packet.fromClient ? ends.clientPort : ends.serverPort
        let destinationPort = packet.fromClient ? ends.serverPort : ends.clientPort
        let tcpLength = headerLength(packet.flags)
        let payloadLength = Int(packet.payloadLength)
        let ipTotal = ipv4Length + tcpLength + payloadLength

        // Ethernet: destination MAC, source MAC, EtherType IPv4.
        out.storeBytes(of: UInt16(0x0200).bigEndian, toByteOffset: 0, as: UInt16.self)
        out.storeBytes(of: destination.bigEndian, toByteOffset: 2, as: UInt32.self)
        out.storeBytes(of: UInt16(0x0200).bigEndian, toByteOffset: 6, as: UInt16.self)
        out.storeBytes(of: source.bigEndian, toByteOffset: 8, as: UInt32.self)
        out.storeBytes(of: UInt16(0x0800).bigEndian, toByteOffset: 12, as: UInt16.self)

        // IPv4 header, then its checksum.
        let ip = out + ethernetLength
        ip.storeBytes(of: UInt16(0x4500).bigEndian, toByteOffset: 0, as: UInt16.self)
        ip.storeBytes(of: UInt16(ipTotal).bigEndian, toByteOffset: 2, as: UInt16.self)
        ip.storeBytes(of: packet.ipID.bigEndian, toByteOffset: 4, as: UInt16.self)
        ip.storeBytes(of: UInt16(0x4000).bigEndian, toByteOffset: 6, as: UInt16.self)  // DF
        let ttl: UInt16 = packet.fromClient ? 128 : 127
        ip.storeBytes(of: (ttl << 8 | 6).bigEndian, toByteOffset: 8, as: UInt16.self)
        ip.storeBytes(of: UInt16(0), toByteOffset: 10, as: UInt16.self)
        ip.storeBytes(of: source.bigEndian, toByteOffset: 12, as: UInt32.self)
        ip.storeBytes(of: destination.bigEndian, toByteOffset: 16, as: UInt32.self)
        let ipSum = InternetChecksum.sum(UnsafeRawPointer(ip), count: ipv4Length)
        ip.storeBytes(of: InternetChecksum.finish(ipSum), toByteOffset: 10, as: UInt16.self)

        // TCP header, payload, then the checksum over pseudo-header, header and payload.
        let tcp = ip + ipv4Length
        tcp.storeBytes(of: sourcePort.bigEndian, toByteOffset: 0, as: UInt16.self)
        tcp.storeBytes(of: destinationPort.bigEndian, toByteOffset: 2, as: UInt16.self)
        tcp.storeBytes(of: packet.sequence.bigEndian, toByteOffset: 4, as: UInt32.self)
        tcp.storeBytes(of: packet.acknowledgement.bigEndian, toByteOffset: 8, as: UInt32.self)
        let offsetAndFlags = UInt16(tcpLength / 4) << 12 | UInt16(packet.flags)
        tcp.storeBytes(of: offsetAndFlags.bigEndian, toByteOffset: 12, as: UInt16.self)
        tcp.storeBytes(of: UInt16(64_240).bigEndian, toByteOffset: 14, as: UInt16.self)
        tcp.storeBytes(of: UInt32(0), toByteOffset: 16, as: UInt32.self)  // checksum, urgent pointer
        if tcpLength == 24 {
            tcp.storeBytes(of: UInt32(0x0204_05B4).bigEndian, toByteOffset: 20, as: UInt32.self)  // MSS 1460
        }
        if payloadLength > 0, let payload {
            (tcp + tcpLength).copyMemory(from: payload, byteCount: payloadLength)
        }
        var sum = InternetChecksum.sum(UnsafeRawPointer(ip + 12), count: 8)  // addresses
        sum = InternetChecksum.combine(sum, InternetChecksum.word(6))
        sum = InternetChecksum.combine(sum, InternetChecksum.word(UInt16(tcpLength + payloadLength)))
        sum = InternetChecksum.sum(UnsafeRawPointer(tcp), count: tcpLength + payloadLength, into: sum)
        tcp.storeBytes(of: InternetChecksum.finish(sum), toByteOffset: 16, as: UInt16.self)
        return ethernetLength + ipTotal
    }
}
