import Testing
import Core
import TestSupport
@testable import Decoding

@Suite struct EthernetTests {
    @Test func ethernetIIWithIPv4() throws {
        // Ethernet II, EtherType 0x0800, TCP 40000 -> 80 carrying "hi"
        let out = decodeOnce(PacketBuilder.ethernet(type: 0x0800, payload: tcpInIPv4))
        let s = try #require(out.segment)
        #expect(s.source == Endpoint(address: ipv4Source!, port: 40_000))
        #expect(s.destination == Endpoint(address: ipv4Destination!, port: 80))
        #expect(s.vlan.isEmpty)
        #expect(out.payload == Array("hi".utf8))
    }

    @Test func minimumFramePaddingIsTrimmedByIPLength() throws {
        // 14 + 40-byte IPv4/TCP with no payload, padded with zeros to the 60-byte Ethernet minimum
        let ip = PacketBuilder.ipv4(payload: PacketBuilder.tcp())
        let frame = PacketBuilder.ethernet(type: 0x0800, payload: ip) + [UInt8](repeating: 0, count: 6)
        let out = decodeOnce(frame)
        let s = try #require(out.segment)
        #expect(s.payloadLength == 0)
        #expect(s.payload.count == 0)
        #expect(s.anomalies.isEmpty)
    }

    @Test func headerShorterThan14IsTruncatedOrMalformed() {
        // 13 bytes of an Ethernet header
        let partial = [UInt8](repeating: 0, count: 13)
        #expect(decodeOnce(partial, originalLength: 60).truncation?.header == .ethernet)
        #expect(decodeOnce(partial).malformed?.code == "header-past-end")
    }

    @Test func arpIsNonIP() {
        // Ethernet II, EtherType 0x0806 (ARP), body irrelevant
        let out = decodeOnce(PacketBuilder.ethernet(type: 0x0806, payload: [UInt8](repeating: 0, count: 28)))
        #expect(out.nonIP == .etherType(.arp))
    }

    @Test func ieee8023WithSNAPCarriesIP() throws {
        // 802.3 length, LLC AA AA 03, SNAP OUI 000000, EtherType 0800, then IPv4/TCP
        let llc = bytes("aa aa 03  00 00 00  08 00") + tcpInIPv4
        let frame = PacketBuilder.ethernet(type: UInt16(llc.count), payload: llc)
        #expect(try #require(decodeOnce(frame).segment).payloadLength == 2)
    }

    @Test func ieee8023WithPlainLLCIsNonIP() {
        // 802.3 length 3, LLC DSAP 0x42 SSAP 0x42 (spanning tree), control 03
        let out = decodeOnce(PacketBuilder.ethernet(type: 3, payload: bytes("42 42 03")))
        #expect(out.nonIP == .llc(dsap: 0x42, ssap: 0x42))
    }
}

@Suite struct VLANTests {
    /// A tag: TCI (priority 0, id) then the next EtherType.
    func tag(_ id: UInt16, next: UInt16) -> [UInt8] { PacketBuilder.be16(id) + PacketBuilder.be16(next) }

    @Test func singleTag() throws {
        // 802.1Q tag id 100 (with priority bits set, which are dropped), then IPv4
        let frame = PacketBuilder.ethernet(type: 0x8100, payload: tag(0xe064, next: 0x0800) + tcpInIPv4)
        let s = try #require(decodeOnce(frame).segment)
        #expect(s.vlan.ids == [100])
        #expect(s.vlan.depth == 1)
    }

    @Test func qinqAndPreStandardStacks() throws {
        // 802.1ad outer 10, 0x9100 tag 20, 0x9200 tag 30, 802.1Q inner 40, then IPv6
        let tags = tag(10, next: 0x9100) + tag(20, next: 0x9200) + tag(30, next: 0x8100) + tag(40, next: 0x86dd)
        let s = try #require(decodeOnce(PacketBuilder.ethernet(type: 0x88a8, payload: tags + tcpInIPv6)).segment)
        #expect(s.vlan.ids == [10, 20, 30])
        #expect(s.vlan.depth == 4)
        #expect(s.ipVersion == .v6)
    }

    @Test func cutTagIsTruncated() {
        // 802.1Q EtherType and only 2 of the tag's 4 bytes, frame 64 bytes on the wire
        let frame = PacketBuilder.ethernet(type: 0x8100, payload: [0, 100])
        #expect(decodeOnce(frame, originalLength: 64).truncation
            == Truncation(header: .vlanTag, needed: 4, captured: 2))
    }

    @Test func vnTagBetweenVLANTags() throws {
        // 802.1Q 250, VN-Tag (4 bytes) 00 00 00 33, 802.1Q 250, IPv4 (as in vntag_vlan_sandwich)
        let body = tag(250, next: 0x8926) + bytes("00 00 00 33  81 00") + tag(250, next: 0x0800) + tcpInIPv4
        let s = try #require(decodeOnce(PacketBuilder.ethernet(type: 0x8100, payload: body)).segment)
        #expect(s.vlan.ids == [250, 250])
    }

    @Test func fabricPathWrapsAnEthernetFrame() throws {
        // Outer Ethernet with EtherType 0x8903, FTag/TTL 00 00, inner Ethernet II with IPv4
        let inner = PacketBuilder.ethernet(type: 0x0800, payload: tcpInIPv4)
        let frame = PacketBuilder.ethernet(type: 0x8903, payload: [0, 0] + inner)
        #expect(try #require(decodeOnce(frame).segment).destination.port == 80)
    }
}

@Suite struct MPLSAndPPPoETests {
    @Test func twoLabelsThenIPv4() throws {
        // MPLS label 16 (not bottom), label 17 (bottom of stack, TTL 64), then IPv4 guessed by nibble
        let labels = bytes("00 01 00 40   00 01 11 40")
        let s = try #require(decodeOnce(PacketBuilder.ethernet(type: 0x8847, payload: labels + tcpInIPv4)).segment)
        #expect(s.ipVersion == .v4)
    }

    @Test func multicastLabelThenIPv6() throws {
        // MPLS multicast, one label (bottom), IPv6
        let frame = PacketBuilder.ethernet(type: 0x8848, payload: bytes("00 01 01 40") + tcpInIPv6)
        #expect(try #require(decodeOnce(frame).segment).ipVersion == .v6)
    }

    @Test func pseudowireControlWordThenEthernet() throws {
        // MPLS label (bottom), control word 00 00 00 00, inner Ethernet II with IPv4
        let inner = PacketBuilder.ethernet(type: 0x0800, payload: tcpInIPv4)
        let frame = PacketBuilder.ethernet(type: 0x8847, payload: bytes("00 01 01 40  00 00 00 00") + inner)
        #expect(decodeOnce(frame).segment != nil)
    }

    @Test func unknownPayloadNibbleIsNonIP() {
        // MPLS label (bottom) then a byte starting with nibble 9
        let frame = PacketBuilder.ethernet(type: 0x8847, payload: bytes("00 01 01 40  90 00"))
        #expect(decodeOnce(frame).nonIP == .mplsPayload(firstNibble: 9))
    }

    @Test func pppoeSessionIPv4AndIPv6() throws {
        // PPPoE session: ver/type 11, code 00, session 0001, length = 2 + IP, PPP protocol 0021 / 0057
        for (proto, ip) in [(UInt16(0x0021), tcpInIPv4), (0x0057, tcpInIPv6)] {
            let body = bytes("11 00 00 01") + PacketBuilder.be16(UInt16(2 + ip.count)) + PacketBuilder.be16(proto) + ip
            let frame = PacketBuilder.ethernet(type: 0x8864, payload: body)
            #expect(try #require(decodeOnce(frame).segment).payloadLength == 2)
        }
    }

    @Test func pppoeLengthLimitsTheIPPacket() throws {
        // PPPoE length covers PPP + 40 bytes, but the IPv4 total length claims 46: tshark uses 40
        let ip = PacketBuilder.ipv4(totalLength: 46, payload: PacketBuilder.tcp())
        let body = bytes("11 00 00 01") + PacketBuilder.be16(42) + bytes("00 21") + ip + [0, 0, 0, 0, 0, 0]
        let s = try #require(decodeOnce(PacketBuilder.ethernet(type: 0x8864, payload: body)).segment)
        #expect(s.payloadLength == 0)
        #expect(s.anomalies == .ipLengthPastFrame)
    }

    @Test func pppControlProtocolIsNonIP() {
        // PPPoE session carrying LCP (PPP protocol 0xC021)
        let body = bytes("11 00 00 01 00 06  c0 21  01 01 00 04")
        #expect(decodeOnce(PacketBuilder.ethernet(type: 0x8864, payload: body)).nonIP == .pppProtocol(0xc021))
    }
}
