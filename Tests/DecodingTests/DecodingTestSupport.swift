import Core
@testable import Decoding
import TestSupport

/// A decode result with the borrowed payload copied out while it was still valid.
struct Outcome {
    var packet: DecodedPacket
    var payload: [UInt8]

    var segment: TCPSegmentView? {
        if case .tcp(let s) = packet { return s }
        return nil
    }

    var malformed: MalformedReason? {
        if case .malformed(let r) = packet { return r }
        return nil
    }

    var truncation: Truncation? {
        if case .truncated(let t) = packet { return t }
        return nil
    }

    var isFragmentHeld: Bool {
        if case .fragmentHeld = packet { return true }
        return false
    }

    var otherIP: IPProtocolNumber? {
        if case .otherIP(let p, _) = packet { return p }
        return nil
    }

    var nonIP: NonIPProtocol? {
        if case .nonIP(let p) = packet { return p }
        return nil
    }
}

extension PacketDecoder {
    /// Decodes `frame`; `originalLength` defaults to the frame's length (not cut by snaplen).
    mutating func run(
        _ frame: [UInt8], link: LinkType = .ethernet, originalLength: Int? = nil, seconds: Int64 = 0
    ) -> Outcome {
        frame.withUnsafeBytes { raw in
            var packet = decode(linkType: link, bytes: raw, originalLength: originalLength ?? frame.count,
                                timestamp: Timestamp(seconds: seconds, nanoseconds: 0))
            var payload: [UInt8] = []
            if case .tcp(var s) = packet {
                payload = Array(s.payload)
                // The view borrows `frame`'s bytes (its options are read from them when asked), which are gone
                // once this returns: it is handed out pointing at copies that stay.
                s.payload = KeptBytes.keep(s.payload)
                s.optionBytes = KeptBytes.keep(s.optionBytes)
                packet = .tcp(s)
            }
            return Outcome(packet: packet, payload: payload)
        }
    }
}

/// Copies of the bytes decoded views borrow, kept for the test process's life (a few bytes per decoded
/// packet), so that a view taken out of an `Outcome` stays valid however long the `Outcome` itself lives:
/// with the bytes freed, tests running at once reused them and read each other's options.
enum KeptBytes {
    static func keep(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        guard !bytes.isEmpty else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        copy.copyMemory(from: bytes)
        return UnsafeRawBufferPointer(copy)
    }
}

/// Decodes one frame with a fresh decoder.
func decodeOnce(_ frame: [UInt8], link: LinkType = .ethernet, originalLength: Int? = nil) -> Outcome {
    var decoder = PacketDecoder()
    return decoder.run(frame, link: link, originalLength: originalLength)
}

/// A plain TCP-in-IPv4 packet with payload "hi", as most link-layer tests carry.
let tcpInIPv4: [UInt8] = PacketBuilder.ipv4(payload: PacketBuilder.tcp(payload: Array("hi".utf8)))

/// The same over IPv6.
let tcpInIPv6: [UInt8] = PacketBuilder.ipv6(payload: PacketBuilder.tcp(payload: Array("hi".utf8)))

let ipv4Source = IPAddress("192.0.2.1")
let ipv4Destination = IPAddress("192.0.2.2")
let ipv6Source = IPAddress("2001:db8::1")
