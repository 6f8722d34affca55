import Testing
import Core
import TestSupport
@testable import Decoding

/// IPv4 fragment of `transport[range]` with identification `id`.
func ipv4Fragment(_ transport: [UInt8], _ range: Range<Int>, id: UInt16 = 7, more: Bool? = nil,
                  protocol proto: UInt8 = 6) -> [UInt8] {
    let isLast = more.map { !$0 } ?? (range.upperBound == transport.count)
    let field = (isLast ? 0 : 0x2000) | UInt16(range.lowerBound / 8)
    return PacketBuilder.ipv4(protocol: proto, id: id, flagsAndOffset: field, payload: Array(transport[range]))
}

/// IPv6 packet with a fragment header for `transport[range]`.
func ipv6Fragment(_ transport: [UInt8], _ range: Range<Int>, id: UInt32 = 0x0102_0304) -> [UInt8] {
    let more: UInt16 = range.upperBound == transport.count ? 0 : 1
    let header = [6, 0] + PacketBuilder.be16(UInt16(range.lowerBound) | more) + PacketBuilder.be32(id)
    return PacketBuilder.ipv6(nextHeader: 44, payload: header + Array(transport[range]))
}

@Suite struct FragmentReassemblyTests {
    /// A 60-byte TCP segment: 20-byte header and 40 payload bytes 0...39.
    let segment = PacketBuilder.tcp(payload: (0..<40).map { UInt8($0) })

    @Test func twoFragmentsInOrder() throws {
        var decoder = PacketDecoder()
        #expect(decoder.run(ipv4Fragment(segment, 0..<24), link: .ipv4).isFragmentHeld)
        #expect(decoder.statistics.fragmentsHeld == 1)
        #expect(decoder.statistics.datagramsInFlight == 1)

        let out = decoder.run(ipv4Fragment(segment, 24..<60), link: .ipv4)
        let s = try #require(out.segment)
        #expect(s.reassembled)
        #expect(s.ipID == 7)
        #expect(s.payloadLength == 40)
        #expect(out.payload == (0..<40).map { UInt8($0) })

        let stats = decoder.statistics
        #expect(stats.datagramsReassembled == 1)
        #expect(stats.fragmentsReceived == 2)
        #expect(stats.fragmentsHeld == 0)
        #expect(stats.datagramsInFlight == 0)
        #expect(stats.bytesBuffered == 0)
        #expect(stats.tcpSegments == 1)
    }

    @Test func fragmentsInReverseOrder() throws {
        var decoder = PacketDecoder()
        #expect(decoder.run(ipv4Fragment(segment, 48..<60), link: .ipv4).isFragmentHeld)
        #expect(decoder.run(ipv4Fragment(segment, 24..<48), link: .ipv4).isFragmentHeld)
        let out = decoder.run(ipv4Fragment(segment, 0..<24), link: .ipv4)
        #expect(out.payload == (0..<40).map { UInt8($0) })
    }

    @Test func overlappingFragmentKeepsTheFirstCopy() throws {
        var decoder = PacketDecoder()
        #expect(decoder.run(ipv4Fragment(segment, 0..<32), link: .ipv4).isFragmentHeld)
        // The second fragment repeats bytes 24..<32 with different content
        var altered = segment
        for i in 24..<32 { altered[i] = 0xee }
        let out = decoder.run(ipv4Fragment(altered, 24..<60), link: .ipv4)
        #expect(out.payload == (0..<40).map { UInt8($0) })
        #expect(decoder.statistics.fragmentsOverlapping == 1)
        #expect(decoder.statistics.fragmentsConflicting == 1)
    }

    /// A copy of bytes already held, the same bytes again, overlaps without conflicting; the conflict is found
    /// in any of the held ranges it covers, not only the first.
    @Test func overlapWithTheSameBytesIsNoConflict() throws {
        var decoder = PacketDecoder()
        #expect(decoder.run(ipv4Fragment(segment, 0..<16, id: 1), link: .ipv4).isFragmentHeld)
        #expect(decoder.run(ipv4Fragment(segment, 8..<32, id: 1), link: .ipv4).isFragmentHeld)
        #expect(decoder.statistics.fragmentsOverlapping == 1)
        #expect(decoder.statistics.fragmentsConflicting == 0)
        #expect(decoder.run(ipv4Fragment(segment, 32..<60, id: 1), link: .ipv4).segment != nil)

        // Held: 0..<8 and 16..<24; the fragment 0..<32 agrees over the first and differs over the second.
        #expect(decoder.run(ipv4Fragment(segment, 0..<8, id: 2, more: true), link: .ipv4).isFragmentHeld)
        #expect(decoder.run(ipv4Fragment(segment, 16..<24, id: 2, more: true), link: .ipv4).isFragmentHeld)
        var altered = segment
        altered[20] = 0xee
        #expect(decoder.run(ipv4Fragment(altered, 0..<32, id: 2, more: true), link: .ipv4).isFragmentHeld)
        #expect(decoder.statistics.fragmentsOverlapping == 2)
        #expect(decoder.statistics.fragmentsConflicting == 1)
    }

    @Test func ipv6Fragments() throws {
        var decoder = PacketDecoder()
        #expect(decoder.run(ipv6Fragment(segment, 0..<32), link: .ipv6).isFragmentHeld)
        let out = decoder.run(ipv6Fragment(segment, 32..<60), link: .ipv6)
        let s = try #require(out.segment)
        #expect(s.ipVersion == .v6)
        #expect(s.ipID == nil)
        #expect(s.reassembled)
        #expect(out.payload.count == 40)
    }

    @Test func reassembledUDPIsOtherIP() {
        // A 24-byte UDP datagram in two fragments
        let udp = [UInt8](repeating: 1, count: 24)
        var decoder = PacketDecoder()
        #expect(decoder.run(ipv4Fragment(udp, 0..<16, protocol: 17), link: .ipv4).isFragmentHeld)
        #expect(decoder.run(ipv4Fragment(udp, 16..<24, protocol: 17), link: .ipv4).otherIP == .udp)
    }

    @Test func fragmentOffsetsAtTheEnd() {
        // Offset 65520 + 15 bytes ends at 65535, the largest IPv4 payload: held
        let big = [UInt8](repeating: 0, count: 65_536)
        var decoder = PacketDecoder()
        #expect(decoder.run(ipv4Fragment(big, 65_520..<65_535, more: false), link: .ipv4).isFragmentHeld)
        // Offset field 0x1fff (65528) + 8 bytes ends at 65536: one past
        let out = decoder.run(ipv4Fragment(big, 65_528..<65_536, id: 8), link: .ipv4)
        #expect(out.malformed?.description == "IP fragment ends at byte 65536, past the 65535-byte datagram limit")
    }

    @Test func snaplenCutFragmentIsTruncated() {
        var decoder = PacketDecoder()
        let fragment = ipv4Fragment(segment, 0..<24)
        let out = decoder.run(Array(fragment.prefix(30)), link: .ipv4, originalLength: fragment.count)
        #expect(out.truncation?.header == .ipFragment)
        #expect(decoder.statistics.fragmentsTruncated == 1)
        #expect(decoder.statistics.datagramsInFlight == 0)
    }

    @Test func conflictingLastFragmentsDropTheDatagram() {
        var decoder = PacketDecoder()
        #expect(decoder.run(ipv4Fragment(segment, 24..<60), link: .ipv4).isFragmentHeld)
        // A second last fragment ending at 48
        #expect(decoder.run(ipv4Fragment(segment, 40..<48, more: false), link: .ipv4).malformed?.code
            == "fragment-end-conflict")
        #expect(decoder.statistics.datagramsDroppedInconsistent == 1)
        #expect(decoder.statistics.datagramsInFlight == 0)
        #expect(decoder.statistics.fragmentsHeld == 0)
    }

    @Test func fragmentPastTheKnownEnd() {
        var decoder = PacketDecoder()
        #expect(decoder.run(ipv4Fragment(segment, 40..<48, more: false), link: .ipv4).isFragmentHeld)
        #expect(decoder.run(ipv4Fragment(segment, 40..<56, more: true), link: .ipv4).malformed?.code
            == "fragment-past-datagram-end")
    }
}

@Suite struct ReassemblyLimitTests {
    let segment = PacketBuilder.tcp(payload: [UInt8](repeating: 9, count: 40))

    @Test func datagramSizeLimitAtAndPast() {
        var decoder = PacketDecoder(limits: DecoderLimits(maxDatagramSize: 64))
        // Ends at 64: allowed
        #expect(decoder.run(ipv4Fragment(segment + [UInt8](repeating: 0, count: 4), 56..<64, more: false),
                            link: .ipv4).isFragmentHeld)
        // Ends at 72: past
        #expect(decoder.run(ipv4Fragment(segment + [UInt8](repeating: 0, count: 12), 64..<72, id: 9),
                            link: .ipv4).malformed?.code == "fragment-past-limit")
    }

    @Test func datagramsInFlightAtAndPast() {
        var decoder = PacketDecoder(limits: DecoderLimits(maxDatagramsInFlight: 2))
        for id: UInt16 in [1, 2] {
            #expect(decoder.run(ipv4Fragment(segment, 0..<24, id: id), link: .ipv4).isFragmentHeld)
        }
        #expect(decoder.statistics.datagramsInFlight == 2)
        #expect(decoder.statistics.datagramsEvicted == 0)
        // A third datagram evicts the oldest (id 1)
        #expect(decoder.run(ipv4Fragment(segment, 0..<24, id: 3), link: .ipv4).isFragmentHeld)
        #expect(decoder.statistics.datagramsInFlight == 2)
        #expect(decoder.statistics.datagramsEvictedForCount == 1)
        // id 2 still completes; id 1 no longer can
        #expect(decoder.run(ipv4Fragment(segment, 24..<60, id: 2), link: .ipv4).segment != nil)
        #expect(decoder.run(ipv4Fragment(segment, 24..<60, id: 1), link: .ipv4).isFragmentHeld)
    }

    @Test func bufferedBytesAtAndPast() {
        // Each new datagram reserves 1024 bytes; 2048 holds two exactly
        var decoder = PacketDecoder(limits: DecoderLimits(maxBufferedBytes: 2_048))
        for id: UInt16 in [1, 2] {
            #expect(decoder.run(ipv4Fragment(segment, 0..<24, id: id), link: .ipv4).isFragmentHeld)
        }
        #expect(decoder.statistics.bytesBuffered == 2_048)
        #expect(decoder.statistics.datagramsEvictedForBytes == 0)
        #expect(decoder.run(ipv4Fragment(segment, 0..<24, id: 3), link: .ipv4).isFragmentHeld)
        #expect(decoder.statistics.datagramsEvictedForBytes == 1)
        #expect(decoder.statistics.bytesBuffered == 2_048)
        #expect(decoder.statistics.datagramsInFlight == 2)
    }

    @Test func datagramLargerThanTheByteLimitIsDropped() {
        var decoder = PacketDecoder(limits: DecoderLimits(maxBufferedBytes: 512))
        #expect(decoder.run(ipv4Fragment(segment, 0..<24), link: .ipv4).isFragmentHeld)
        #expect(decoder.statistics.datagramsEvictedForBytes == 1)
        #expect(decoder.statistics.datagramsInFlight == 0)
        #expect(decoder.statistics.bytesBuffered == 0)
    }

    @Test func fragmentsPerDatagramAtAndPast() {
        var decoder = PacketDecoder(limits: DecoderLimits(maxFragmentsPerDatagram: 2))
        #expect(decoder.run(ipv4Fragment(segment, 0..<8), link: .ipv4).isFragmentHeld)
        #expect(decoder.run(ipv4Fragment(segment, 8..<16), link: .ipv4).isFragmentHeld)
        #expect(decoder.statistics.datagramsEvictedForFragments == 0)
        #expect(decoder.run(ipv4Fragment(segment, 16..<24), link: .ipv4).isFragmentHeld)
        #expect(decoder.statistics.datagramsEvictedForFragments == 1)
        #expect(decoder.statistics.fragmentsHeld == 0)
    }

    @Test func timeoutAtAndPast() {
        var decoder = PacketDecoder(limits: DecoderLimits(reassemblyTimeoutNanoseconds: 30_000_000_000))
        #expect(decoder.run(ipv4Fragment(segment, 0..<24, id: 1), link: .ipv4, seconds: 100).isFragmentHeld)
        // Exactly 30 s later the datagram is still held
        _ = decoder.run(tcpInIPv4, link: .ipv4, seconds: 130)
        #expect(decoder.statistics.datagramsTimedOut == 0)
        #expect(decoder.statistics.datagramsInFlight == 1)
        // 31 s later it is gone, and its last fragment starts a new datagram
        #expect(decoder.run(ipv4Fragment(segment, 24..<60, id: 1), link: .ipv4, seconds: 131).isFragmentHeld)
        #expect(decoder.statistics.datagramsTimedOut == 1)
    }
}

@Suite struct DecoderGuardTests {
    @Test func fragmentInsideAReassembledDatagramIsMalformed() {
        // Outer IPv4 (protocol 4) fragmented in two; the inner IPv4 is itself a first fragment (MF)
        let inner = PacketBuilder.ipv4(flagsAndOffset: 0x2000, payload: PacketBuilder.tcp(payload: [1, 2, 3, 4]))
        var decoder = PacketDecoder()
        #expect(decoder.run(ipv4Fragment(inner, 0..<16, protocol: 4), link: .ipv4).isFragmentHeld)
        let out = decoder.run(ipv4Fragment(inner, 16..<inner.count, protocol: 4), link: .ipv4)
        #expect(out.malformed?.code == "nested-fragmentation")
    }

    @Test func deepVLANStacksDecodeUpToTheHeaderLimit() throws {
        // 200 stacked 802.1Q tags (ids 1...200), then IPv4
        var tags: [UInt8] = []
        for id in 1...200 { tags += PacketBuilder.be16(UInt16(id)) + PacketBuilder.be16(id == 200 ? 0x0800 : 0x8100) }
        let s = try #require(decodeOnce(PacketBuilder.ethernet(type: 0x8100, payload: tags + tcpInIPv4)).segment)
        #expect(s.vlan.depth == 200)
        #expect(s.vlan.ids == [1, 2, 3])
        // 300 tags pass the header limit
        var many: [UInt8] = []
        for _ in 1...300 { many += PacketBuilder.be16(1) + PacketBuilder.be16(0x8100) }
        let out = decodeOnce(PacketBuilder.ethernet(type: 0x8100, payload: many + tcpInIPv4))
        #expect(out.malformed?.code == "too-many-headers")
    }
}
