import Testing
import Core
import TestSupport
@testable import Decoding

@Suite struct IPv4Tests {
    let tcp = PacketBuilder.tcp(payload: Array("hello".utf8))

    @Test func headerLengthFiveIsTheMinimum() throws {
        // IHL 5: a plain 20-byte header
        let s = try #require(decodeOnce(PacketBuilder.ipv4(payload: tcp), link: .ipv4).segment)
        #expect(s.ipID == 0x1234)
        #expect(s.ttl == 64)
        #expect(s.payloadLength == 5)
        // IHL 4: below the minimum
        let bad = decodeOnce(PacketBuilder.ipv4(headerWords: 4, payload: tcp), link: .ipv4)
        #expect(bad.malformed?.description == "IPv4 header length 4 words is below the minimum 5")
    }

    @Test func optionsAreSkipped() throws {
        // IHL 6 with one option word (router alert 94 04 00 00)
        let ip = PacketBuilder.ipv4(options: bytes("94 04 00 00"), payload: tcp)
        #expect(try #require(decodeOnce(ip, link: .ipv4).segment).payloadLength == 5)
    }

    @Test func headerLengthPastTheFrame() {
        // IHL 15 (60 bytes) in a 45-byte packet: malformed when whole, truncated when the snaplen cut it
        let ip = PacketBuilder.ipv4(headerWords: 15, payload: tcp)
        #expect(decodeOnce(ip, link: .ipv4).malformed?.code == "header-past-end")
        #expect(decodeOnce(ip, link: .ipv4, originalLength: 100).truncation?.header == .ipv4)
    }

    @Test func totalLengthEqualToAndOnePastTheBytes() throws {
        // Total length equal to the bytes: no anomaly
        let exact = PacketBuilder.ipv4(payload: tcp)
        #expect(try #require(decodeOnce(exact, link: .ipv4).segment).anomalies.isEmpty)
        // One past: decoded from the bytes there are, flagged (tshark does the same)
        let past = PacketBuilder.ipv4(totalLength: exact.count + 1, payload: tcp)
        var decoder = PacketDecoder()
        let s = try #require(decoder.run(past, link: .ipv4).segment)
        #expect(s.anomalies == .ipLengthPastFrame)
        #expect(s.payloadLength == 5)
        #expect(decoder.statistics.ipLengthPastFrame == 1)
    }

    @Test func totalLengthBelowHeaderIsMalformed() {
        // Total length 19 with a 20-byte header
        let ip = PacketBuilder.ipv4(totalLength: 19, payload: tcp)
        #expect(decodeOnce(ip, link: .ipv4).malformed?.description
            == "IPv4 total length 19 is below its 20-byte header")
    }

    @Test func zeroTotalLengthUsesTheFrame() throws {
        // Total length 0 as written by segmentation offload
        var decoder = PacketDecoder()
        let s = try #require(decoder.run(PacketBuilder.ipv4(totalLength: 0, payload: tcp), link: .ipv4).segment)
        #expect(s.payloadLength == 5)
        #expect(s.anomalies == .zeroIPLength)
        #expect(decoder.statistics.zeroIPLength == 1)
    }

    @Test func snaplenCutPayloadIsTruncatedNotMalformed() throws {
        // 45-byte packet captured to 42 bytes: headers whole, 2 of 5 payload bytes
        let ip = PacketBuilder.ipv4(payload: tcp)
        var decoder = PacketDecoder()
        let out = decoder.run(Array(ip.prefix(42)), link: .ipv4, originalLength: ip.count)
        let s = try #require(out.segment)
        #expect(s.truncated)
        #expect(s.payloadLength == 5)
        #expect(out.payload == Array("he".utf8))
        #expect(decoder.statistics.truncatedPayloads == 1)
    }

    @Test func otherProtocolsAreNamed() {
        // UDP and ICMP are counted by protocol number
        let udp = PacketBuilder.ipv4(protocol: 17, payload: [0, 53, 0, 53, 0, 8, 0, 0])
        #expect(decodeOnce(udp, link: .ipv4).otherIP == .udp)
        #expect(decodeOnce(PacketBuilder.ipv4(protocol: 1, payload: [8, 0, 0, 0]), link: .ipv4).otherIP == .icmp)
    }

    @Test func checksumsAreNotVerified() throws {
        // PacketBuilder leaves IP and TCP checksums zero; the segment is still returned
        #expect(try #require(decodeOnce(PacketBuilder.ipv4(payload: tcp), link: .ipv4).segment).checksum == 0)
    }

    @Test func authenticationHeaderIsSkipped() throws {
        // IPv4 protocol 51: AH next header 6, length 4 (24 bytes), SPI, sequence, 12-byte ICV
        let ah = bytes("06 04 00 00  00 00 01 00  00 00 00 01") + [UInt8](repeating: 0xab, count: 12)
        let ip = PacketBuilder.ipv4(protocol: 51, payload: ah + tcp)
        #expect(try #require(decodeOnce(ip, link: .ipv4).segment).payloadLength == 5)
    }
}

@Suite struct TunnelTests {
    let inner = PacketBuilder.ipv4(source: [10, 0, 0, 1], destination: [10, 0, 0, 2],
                                   payload: PacketBuilder.tcp(payload: [1, 2, 3]))

    func outer(_ proto: UInt8, _ payload: [UInt8]) -> [UInt8] {
        PacketBuilder.ipv4(protocol: proto, payload: payload)
    }

    @Test func ipInIPUsesInnermostAddresses() throws {
        // IPv4 protocol 4 carrying IPv4/TCP; and protocol 41 carrying IPv6/TCP
        let s = try #require(decodeOnce(outer(4, inner), link: .ipv4).segment)
        #expect(s.source.address == IPAddress("10.0.0.1"))
        #expect(try #require(decodeOnce(outer(41, tcpInIPv6), link: .ipv4).segment).ipVersion == .v6)
    }

    @Test func plainGRE() throws {
        // GRE without options, protocol 0800
        let s = try #require(decodeOnce(outer(47, bytes("00 00 08 00") + inner), link: .ipv4).segment)
        #expect(s.destination.address == IPAddress("10.0.0.2"))
    }

    @Test func greWithChecksumKeyAndSequence() {
        // Flags C, K, S (0xB000): checksum+reserved, key, sequence, then IPv4
        let gre = bytes("b0 00 08 00  00 00 00 00  00 00 00 07  00 00 00 01")
        #expect(decodeOnce(outer(47, gre + inner), link: .ipv4).segment != nil)
    }

    @Test func greTransparentEthernetBridging() {
        // GRE protocol 6558, then an Ethernet frame with 802.1Q tag 5
        let frame = PacketBuilder.ethernet(type: 0x8100, payload: bytes("00 05 08 00") + inner)
        let s = decodeOnce(outer(47, bytes("00 00 65 58") + frame), link: .ipv4).segment
        #expect(s?.vlan.ids == [5])
    }

    @Test func erspanTypeIIAndIII() {
        let mirrored = PacketBuilder.ethernet(type: 0x0800, payload: inner)
        // Type II: GRE with sequence bit, protocol 88be, 8-byte ERSPAN header
        let typeII = bytes("10 00 88 be  00 00 00 01  10 64 00 01  00 00 00 00")
        #expect(decodeOnce(outer(47, typeII + mirrored), link: .ipv4).segment != nil)
        // Type I: same protocol, no sequence bit, Ethernet right after GRE
        #expect(decodeOnce(outer(47, bytes("00 00 88 be") + mirrored), link: .ipv4).segment != nil)
        // Type III: 12-byte header with O bit clear, and with O bit set plus an 8-byte subheader
        let typeIII = bytes("10 00 22 eb  00 00 00 01  20 64 00 01  00 00 00 00  00 00 00 00")
        #expect(decodeOnce(outer(47, typeIII + mirrored), link: .ipv4).segment != nil)
        let typeIIIWithSubheader = bytes("10 00 22 eb  00 00 00 01  20 64 00 01  00 00 00 00  00 00 00 01")
            + [UInt8](repeating: 0, count: 8)
        #expect(decodeOnce(outer(47, typeIIIWithSubheader + mirrored), link: .ipv4).segment != nil)
    }

    /// A UDP header (checksum 0) to `port`, before `payload`.
    func udp(to port: UInt16, _ payload: [UInt8]) -> [UInt8] {
        PacketBuilder.be16(51_000) + PacketBuilder.be16(port) + PacketBuilder.be16(UInt16(8 + payload.count))
            + [0, 0] + payload
    }

    @Test func vxlanAndGeneveCarryAFrame() throws {
        let mirrored = PacketBuilder.ethernet(type: 0x0800, payload: inner)
        // VXLAN: flags with I set, reserved, VNI 100, reserved; on 4789 and on Linux's former 8472.
        let vxlan = bytes("08 00 00 00  00 00 64 00")
        for port: UInt16 in [4789, 8472] {
            let s = try #require(decodeOnce(outer(17, udp(to: port, vxlan + mirrored)), link: .ipv4).segment)
            #expect(s.source.address == IPAddress("10.0.0.1"))
            #expect(s.destination.address == IPAddress("10.0.0.2"))
            #expect(Array(s.payload) == [1, 2, 3])
        }
        // Geneve: version 0, no options, protocol 6558 (an Ethernet frame), VNI 7; and with 8 bytes of options.
        let geneve = bytes("00 00 65 58  00 00 07 00")
        #expect(decodeOnce(outer(17, udp(to: 6081, geneve + mirrored)), link: .ipv4).segment != nil)
        let withOptions = bytes("02 00 65 58  00 00 07 00") + [UInt8](repeating: 0xab, count: 8)
        #expect(decodeOnce(outer(17, udp(to: 6081, withOptions + mirrored)), link: .ipv4).segment != nil)
        // Geneve carrying IPv4 straight (protocol 0800).
        #expect(decodeOnce(outer(17, udp(to: 6081, bytes("00 00 08 00  00 00 07 00") + inner)), link: .ipv4)
            .segment != nil)
    }

    @Test func otherUDPStaysUDP() {
        let mirrored = PacketBuilder.ethernet(type: 0x0800, payload: inner)
        // Another port; VXLAN's port without the I flag; a Geneve version 1; too short for a tunnel header.
        #expect(decodeOnce(outer(17, udp(to: 53, bytes("08 00 00 00  00 00 64 00") + mirrored)), link: .ipv4)
            .otherIP == .udp)
        #expect(decodeOnce(outer(17, udp(to: 4789, bytes("00 00 00 00  00 00 64 00") + mirrored)), link: .ipv4)
            .otherIP == .udp)
        #expect(decodeOnce(outer(17, udp(to: 6081, bytes("40 00 65 58  00 00 07 00") + mirrored)), link: .ipv4)
            .otherIP == .udp)
        #expect(decodeOnce(outer(17, udp(to: 4789, [8, 0, 0])), link: .ipv4).otherIP == .udp)
    }

    @Test func aTunnelCutBySnaplenIsTruncated() throws {
        let frame = outer(17, udp(to: 4789, bytes("08 00 00 00  00 00 64 00")
            + PacketBuilder.ethernet(type: 0x0800, payload: inner)))
        // Cut inside the VXLAN header (IPv4 20 + UDP 8 + 4 of 8 bytes).
        let cut = decodeOnce(Array(frame.prefix(32)), link: .ipv4, originalLength: frame.count)
        #expect(try #require(cut.truncation).header == .udp)
    }

    @Test func greVersion1CarriesPPP() {
        // PPTP enhanced GRE: flags K+S, version 1, protocol 880b, payload length, call id, sequence, PPP ff 03 0021
        let gre = bytes("30 01 88 0b  00 2f 00 01  00 00 00 05  ff 03 00 21")
        #expect(decodeOnce(outer(47, gre + inner), link: .ipv4).segment != nil)
    }

    @Test func unknownGREVersionIsOtherIP() {
        // GRE version 2 is not defined
        #expect(decodeOnce(outer(47, bytes("00 02 08 00") + inner), link: .ipv4).otherIP == .gre)
    }
}
