import Testing
import Core
import TestSupport
@testable import Decoding

@Suite struct OtherLinkTypeTests {
    @Test func linuxCookedV1() throws {
        // SLL: packet type 0 (to us), ARPHRD 1, address length 6, address (8), protocol 0800
        let header = bytes("00 00  00 01  00 06  02 00 00 00 00 01 00 00  08 00")
        #expect(try #require(decodeOnce(header + tcpInIPv4, link: .linuxSLL).segment).ipVersion == .v4)
    }

    @Test func linuxCookedV1WithVLANProtocol() throws {
        // SLL with protocol 8100: the tag (id 7, next 86dd) follows the header
        let header = bytes("00 00  00 01  00 06  02 00 00 00 00 01 00 00  81 00  00 07 86 dd")
        let s = try #require(decodeOnce(header + tcpInIPv6, link: .linuxSLL).segment)
        #expect(s.vlan.ids == [7])
    }

    @Test func linuxCookedV2() throws {
        // SLL2: protocol 86dd, reserved, ifindex 2, ARPHRD 1, packet type 4 (outgoing), address length 6, address
        let header = bytes("86 dd  00 00  00 00 00 02  00 01  04  06  02 00 00 00 00 01 00 00")
        #expect(try #require(decodeOnce(header + tcpInIPv6, link: .linuxSLL2).segment).ipVersion == .v6)
    }

    @Test func rawIPByVersionNibble() throws {
        // LINKTYPE_RAW and the DLT_RAW values 12 and 14: version from the first nibble
        for link in [LinkType.raw, LinkType(rawValue: 12), LinkType(rawValue: 14)] {
            #expect(try #require(decodeOnce(tcpInIPv4, link: link).segment).ipVersion == .v4)
            #expect(try #require(decodeOnce(tcpInIPv6, link: link).segment).ipVersion == .v6)
        }
        // A first nibble of 5 is neither
        #expect(decodeOnce([0x50] + tcpInIPv4.dropFirst(), link: .raw).malformed?.code == "unknown-ip-version")
    }

    @Test func rawIPv4AndIPv6LinkTypes() {
        #expect(decodeOnce(tcpInIPv4, link: .ipv4).segment != nil)
        #expect(decodeOnce(tcpInIPv6, link: .ipv6).segment != nil)
        // IPv6 bytes under LINKTYPE_IPV4 are malformed, not guessed
        #expect(decodeOnce(tcpInIPv6, link: .ipv4).malformed?.code == "ip-version-mismatch")
    }

    @Test func nullLoopbackInEitherByteOrder() throws {
        // AF_INET 2 little-endian (x86 writer) and big-endian; AF_INET6 as Linux/NetBSD/FreeBSD/Darwin
        #expect(decodeOnce(bytes("02 00 00 00") + tcpInIPv4, link: .null).segment != nil)
        #expect(decodeOnce(bytes("00 00 00 02") + tcpInIPv4, link: .null).segment != nil)
        for family: UInt8 in [10, 24, 28, 30] {
            #expect(decodeOnce([family, 0, 0, 0] + tcpInIPv6, link: .null).segment?.ipVersion == .v6)
            #expect(decodeOnce([0, 0, 0, family] + tcpInIPv6, link: .null).segment?.ipVersion == .v6)
        }
        // AF 7 (OSI) is not IP
        #expect(decodeOnce(bytes("07 00 00 00 ff"), link: .null).nonIP == .addressFamily(7))
    }

    @Test func openBSDLoopIsNetworkOrder() {
        // LOOP: AF_INET6 24 in network order
        #expect(decodeOnce(bytes("00 00 00 18") + tcpInIPv6, link: .loop).segment?.ipVersion == .v6)
    }

    @Test func nflogPayloadAttribute() throws {
        // NFLOG: family 2, version 0, resource 42; TLV prefix (len 8, type 1); TLV payload (type 9)
        let ip = tcpInIPv4
        let length = UInt16(4 + ip.count)
        var frame = bytes("02 00 00 2a  08 00 01 00  00 00 03 00")
        frame += [UInt8(length & 0xff), UInt8(length >> 8), 0x09, 0x00] + ip
        frame += [UInt8](repeating: 0, count: (4 - ip.count % 4) % 4)
        let out = decodeOnce(frame, link: .nflog)
        #expect(out.payload == Array("hi".utf8))
    }

    @Test func nflogWithoutPayloadAndWithBadLength() {
        // NFLOG with only a prefix TLV
        #expect(decodeOnce(bytes("02 00 00 2a  08 00 01 00  00 00 03 00"), link: .nflog).nonIP == .nflogWithoutPayload)
        // A TLV length of 2 is below the 4-byte TLV header in either byte order
        #expect(decodeOnce(bytes("02 00 00 2a  02 00 09 00"), link: .nflog).malformed?.code == "nflog-attribute-length")
    }

    @Test func fddiWithSNAP() throws {
        // FDDI: frame control 50, destination, source, LLC/SNAP with EtherType 0800
        let header = bytes("50  aa 00 04 00 83 a7  aa 00 04 00 82 a7  aa aa 03 00 00 00 08 00")
        #expect(try #require(decodeOnce(header + tcpInIPv4, link: LinkType(rawValue: 10)).segment).ipVersion == .v4)
    }

    @Test func ciscoHDLCAndPPP() {
        // Cisco HDLC: address 0f, control 00, EtherType 0800
        #expect(decodeOnce(bytes("0f 00 08 00") + tcpInIPv4, link: LinkType(rawValue: 104)).segment != nil)
        // PPP with address/control ff 03 and protocol 0021; PPP with a compressed protocol 21
        #expect(decodeOnce(bytes("ff 03 00 21") + tcpInIPv4, link: LinkType(rawValue: 9)).segment != nil)
        #expect(decodeOnce(bytes("21") + tcpInIPv4 + [0], link: LinkType(rawValue: 9)).segment != nil)
    }

    @Test func otherLinkTypesAreUnsupported() {
        // 802.11 radiotap
        let out = decodeOnce([0, 0, 8, 0, 0, 0, 0, 0], link: LinkType(rawValue: 127))
        guard case .unsupportedLink(let link) = out.packet else {
            Issue.record("expected unsupportedLink, got \(out.packet)")
            return
        }
        #expect(link.rawValue == 127)
    }
}
