import Testing
import Core
import TestSupport
@testable import Decoding

@Suite struct IPv6Tests {
    let tcp = PacketBuilder.tcp(payload: Array("hello".utf8))

    @Test func plainTCP() throws {
        let s = try #require(decodeOnce(PacketBuilder.ipv6(payload: tcp), link: .ipv6).segment)
        #expect(s.source.address == ipv6Source)
        #expect(s.ipID == nil)
        #expect(s.ttl == 64)
        #expect(s.payloadLength == 5)
    }

    @Test func extensionHeaderChain() throws {
        // Hop-by-hop (next 43, 8 bytes, PadN), routing (next 60, 8 bytes), destination options (next 6, 8 bytes)
        let chain = bytes("2b 00 01 04 00 00 00 00   3c 00 00 00 00 00 00 00   06 00 01 04 00 00 00 00")
        let s = try #require(decodeOnce(PacketBuilder.ipv6(nextHeader: 0, payload: chain + tcp), link: .ipv6).segment)
        #expect(s.payloadLength == 5)
    }

    @Test func authenticationHeader() throws {
        // AH: next 6, length 4 ((4+2)*4 = 24 bytes)
        let ah = bytes("06 04 00 00  00 00 01 00  00 00 00 01") + [UInt8](repeating: 0, count: 12)
        #expect(try #require(decodeOnce(PacketBuilder.ipv6(nextHeader: 51, payload: ah + tcp), link: .ipv6).segment)
            .payloadLength == 5)
    }

    @Test func noNextHeaderAndUnknownHeadersAreOtherIP() {
        // Next header 59 (nothing follows), 135 (mobility, not followed), 50 (ESP)
        #expect(decodeOnce(PacketBuilder.ipv6(nextHeader: 59, payload: []), link: .ipv6).otherIP == .noNextHeader)
        #expect(decodeOnce(PacketBuilder.ipv6(nextHeader: 135, payload: [59, 0, 0, 0, 0, 0, 0, 0]), link: .ipv6)
            .otherIP == IPProtocolNumber(rawValue: 135))
        #expect(decodeOnce(PacketBuilder.ipv6(nextHeader: 50, payload: [0, 0, 0, 1]), link: .ipv6).otherIP == .esp)
    }

    @Test func extensionHeaderPastTheEnd() {
        // Destination options claiming 16 bytes with 8 present: malformed; truncated when snaplen-cut
        let ip = PacketBuilder.ipv6(nextHeader: 60, payload: bytes("06 01 00 00 00 00 00 00"))
        #expect(decodeOnce(ip, link: .ipv6).malformed?.code == "header-past-end")
        let longer = PacketBuilder.ipv6(nextHeader: 60, payloadLength: 48, payload: bytes("06 01 00 00 00 00 00 00"))
        #expect(decodeOnce(longer, link: .ipv6, originalLength: 88).truncation?.header == .ipv6Extension)
    }

    @Test func zeroPayloadLengthUsesTheFrame() throws {
        // Payload length 0 (jumbogram or offload)
        let s = try #require(decodeOnce(PacketBuilder.ipv6(payloadLength: 0, payload: tcp), link: .ipv6).segment)
        #expect(s.payloadLength == 5)
        #expect(s.anomalies == .zeroIPLength)
    }

    @Test func payloadLengthPastTheFrame() throws {
        // Payload length one past the 25 bytes present
        let s = try #require(decodeOnce(PacketBuilder.ipv6(payloadLength: 26, payload: tcp), link: .ipv6).segment)
        #expect(s.anomalies == .ipLengthPastFrame)
        #expect(s.payloadLength == 5)
    }

    @Test func atomicFragmentIsAnOrdinaryPacket() throws {
        // Fragment header with offset 0 and M clear (RFC 6946)
        let fragment = bytes("06 00 00 00  00 00 00 2a")
        let ip = PacketBuilder.ipv6(nextHeader: 44, payload: fragment + tcp)
        let s = try #require(decodeOnce(ip, link: .ipv6).segment)
        #expect(!s.reassembled)
    }

    @Test func cutFixedHeaderIsTruncated() {
        // 30 of 40 header bytes captured
        let ip = PacketBuilder.ipv6(payload: tcp)
        #expect(decodeOnce(Array(ip.prefix(30)), link: .ipv6, originalLength: ip.count).truncation
            == Truncation(header: .ipv6, needed: 40, captured: 30))
    }
}
