import Core
@testable import Decoding
import Testing
import TestSupport

/// `decode(...tcp:)` reads common Ethernet/IP/TCP frames in one pass; every frame must come out
/// exactly as the general `decode` gives it, with the same statistics.
@Suite struct FastPathTests {
    /// Both decoders see the same frames in the same order; results and statistics must agree.
    private struct Pair {
        var general = PacketDecoder()
        var fast = PacketDecoder()

        mutating func check(_ frame: [UInt8], captured: Int? = nil, link: LinkType = .ethernet, time: Int64 = 0) {
            let count = min(frame.count, captured ?? frame.count)
            let stamp = Timestamp(nanoseconds: time)
            frame.withUnsafeBytes { all in
                let bytes = UnsafeRawBufferPointer(rebasing: all[0..<count])
                let expected = general.decode(
                    linkType: link, bytes: bytes, originalLength: frame.count, timestamp: stamp)
                var seen: String?
                let other = fast.decode(linkType: link, bytes: bytes, originalLength: frame.count, timestamp: stamp) {
                    seen = String(describing: DecodedPacket.tcp(copy $0))
                }
                let got = seen ?? other.map { String(describing: $0) } ?? "nothing"
                #expect(got == String(describing: expected), "\(frame) captured \(count)")
                if case .tcp = expected { #expect(seen != nil) }
            }
            #expect(general.statistics == fast.statistics)
        }
    }

    private func frames() -> [[UInt8]] {
        let payload = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let segment = PacketBuilder.tcp(options: [2, 4, 5, 0xb4, 1, 3, 3, 7], payload: payload)
        let v4 = PacketBuilder.ipv4(payload: segment)
        let v6 = PacketBuilder.ipv6(payload: segment)
        let tag: [UInt8] = [0x00, 0x64]
        return [
            PacketBuilder.ethernet(type: 0x0800, payload: v4),
            PacketBuilder.ethernet(type: 0x86DD, payload: v6),
            PacketBuilder.ethernet(type: 0x8100, payload: tag + [0x08, 0x00] + v4),
            PacketBuilder.ethernet(type: 0x88a8, payload: tag + [0x81, 0x00] + tag + [0x86, 0xdd] + v6),
            PacketBuilder.ethernet(type: 0x0800, payload: PacketBuilder.ipv4(options: [1, 1, 1, 0], payload: segment)),
            PacketBuilder.ethernet(type: 0x0800, payload: PacketBuilder.ipv4(totalLength: 0, payload: segment)),
            PacketBuilder.ethernet(type: 0x0800, payload: PacketBuilder.ipv4(totalLength: 9000, payload: segment)),
            PacketBuilder.ethernet(type: 0x0800, payload: PacketBuilder.ipv4(payload: segment) + [0, 0, 0, 0]),
            PacketBuilder.ethernet(type: 0x86DD, payload: PacketBuilder.ipv6(payloadLength: 0, payload: segment)),
        ]
    }

    /// `decode(...tcp:other:)` hands a segment to `tcp` alone and every other outcome to `other` alone,
    /// the same outcome the returning form gives; the view's options are read from its option bytes.
    @Test func otherOutcomesGoToTheirOwnClosure() {
        var decoder = PacketDecoder()
        let segment = PacketBuilder.tcp(options: [2, 4, 5, 0xb4, 1, 3, 3, 7], payload: [1, 2, 3])
        let tcpFrame = PacketBuilder.ethernet(type: 0x0800, payload: PacketBuilder.ipv4(payload: segment))
        let arpFrame = PacketBuilder.ethernet(type: 0x0806, payload: Array(repeating: 0, count: 28))
        let udpFrame = PacketBuilder.ethernet(
            type: 0x0800, payload: PacketBuilder.ipv4(protocol: 17, payload: Array(repeating: 0, count: 8)))
        for (frame, isTCP) in [(tcpFrame, true), (arpFrame, false), (udpFrame, false), (tcpFrame, true)] {
            var segments = 0
            var others: [String] = []
            frame.withUnsafeBytes { bytes in
                decoder.decode(linkType: .ethernet, bytes: bytes, originalLength: frame.count, timestamp: .zero) {
                    segments += 1
                    #expect($0.options.maximumSegmentSize == 1460)
                    #expect($0.options.windowScale == 7)
                    #expect($0.optionBytes.count == 8)
                } other: {
                    others.append(String(describing: $0))
                }
            }
            #expect(segments == (isTCP ? 1 : 0))
            #expect(others.count == (isTCP ? 0 : 1))
            if !isTCP {
                var general = PacketDecoder()
                let expected = frame.withUnsafeBytes {
                    general.decode(linkType: .ethernet, bytes: $0, originalLength: frame.count, timestamp: .zero)
                }
                #expect(others == [String(describing: expected)])
            }
        }
        #expect(decoder.statistics.packets == 4)
        #expect(decoder.statistics.tcpSegments == 2)
    }

    @Test func commonFramesAgree() {
        var pair = Pair()
        for frame in frames() {
            for captured in stride(from: 0, through: frame.count, by: 1) {
                pair.check(frame, captured: captured)
            }
        }
    }

    @Test func mutatedFramesAgree() {
        var pair = Pair()
        var state: UInt64 = 0x2545_f491_4f6c_dd1d
        func next() -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(truncatingIfNeeded: state >> 1)
        }
        let bases = frames()
        for round in 0..<40_000 {
            var frame = bases[next() % bases.count]
            for _ in 0..<(1 + next() % 3) {
                // Header bytes mostly: where the fast path decides.
                let at = next() % min(frame.count, 90)
                frame[at] = UInt8(truncatingIfNeeded: next())
            }
            let captured = next() % 4 == 0 ? next() % (frame.count + 1) : frame.count
            pair.check(frame, captured: captured, time: Int64(round) * 1_000_000)
        }
    }

    @Test func otherLinkTypesTakeTheGeneralPath() {
        var pair = Pair()
        let v4 = PacketBuilder.ipv4(payload: PacketBuilder.tcp(payload: [1, 2, 3]))
        pair.check(v4, link: .raw)
        pair.check(v4, link: .ipv4)
        pair.check([2, 0, 0, 0] + v4, link: .null)
    }
}
