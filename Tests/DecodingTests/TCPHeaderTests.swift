import Testing
import Core
import TestSupport
@testable import Decoding

@Suite struct TCPHeaderTests {
    func decodeTCP(_ tcp: [UInt8], originalLength: Int? = nil, capture: Int? = nil) -> Outcome {
        let ip = PacketBuilder.ipv4(payload: tcp)
        let captured = Array(ip.prefix(capture ?? ip.count))
        return decodeOnce(captured, link: .ipv4, originalLength: originalLength ?? ip.count)
    }

    @Test func fixedFields() throws {
        // SYN-ACK-ish header with all fields distinct, NS bit set (flags 0x112)
        let s = try #require(decodeTCP(PacketBuilder.tcp(
            sourcePort: 443, destinationPort: 51_000, sequence: 0xdeadbeef, acknowledgement: 0x01020304,
            flags: 0x112, window: 0xfffe)).segment)
        #expect(s.source.port == 443)
        #expect(s.destination.port == 51_000)
        #expect(s.sequence == 0xdeadbeef)
        #expect(s.acknowledgement == 0x01020304)
        #expect(s.flags == [.syn, .ack, .ns])
        #expect(s.window == 0xfffe)
        #expect(s.headerLength == 20)
        #expect(s.payloadLength == 0)
    }

    @Test func dataOffsetFiveAndFour() {
        // Data offset 5: minimum; data offset 4: below it
        #expect(decodeTCP(PacketBuilder.tcp(dataOffsetWords: 5)).segment != nil)
        #expect(decodeTCP(PacketBuilder.tcp(dataOffsetWords: 4)).malformed?.description
            == "TCP data offset 4 words is below 5")
    }

    @Test func dataOffsetPastTheIPPayload() {
        // Data offset 15 (60 bytes) in a 24-byte IP payload
        let out = decodeTCP(PacketBuilder.tcp(dataOffsetWords: 15, payload: [1, 2, 3, 4]))
        #expect(out.malformed?.description == "TCP header of 60 bytes exceeds the 24-byte IP payload")
    }

    @Test func fixedHeaderCutIsTruncated() {
        // 40-byte packet captured to 34 bytes: 14 of the TCP header's 20
        #expect(decodeTCP(PacketBuilder.tcp(), originalLength: 40, capture: 34).truncation
            == Truncation(header: .tcp, needed: 20, captured: 14))
    }

    @Test func optionsCutStillGiveASegment() throws {
        // MSS + SACK permitted + timestamps (20 option bytes) captured to the fixed header + 4 bytes
        let options = bytes("02 04 05 b4  04 02 08 0a  00 00 00 01  00 00 00 00  01 03 03 07")
        let full = PacketBuilder.tcp(options: options)
        var decoder = PacketDecoder()
        let ip = PacketBuilder.ipv4(payload: full)
        let s = try #require(decoder.run(Array(ip.prefix(44)), link: .ipv4, originalLength: ip.count).segment)
        #expect(s.truncated)
        #expect(s.anomalies == .tcpOptionsTruncated)
        #expect(s.options.maximumSegmentSize == 1460)
        #expect(s.payload.isEmpty)
        #expect(decoder.statistics.truncatedOptions == 1)
    }

    @Test func allKnownOptions() throws {
        // MSS 1460, NOP, WS 7, SACK permitted, timestamps 1/2, SACK with 1 block, TFO with a 4-byte cookie
        // (36 bytes, padded to the 40-byte maximum)
        let options = bytes("""
            02 04 05 b4  01  03 03 07  04 02  08 0a 00 00 00 01 00 00 00 02
            05 0a 00 00 00 01 00 00 00 02
            22 06 01 02 03 04
            """)
        let s = try #require(decodeTCP(PacketBuilder.tcp(options: options)).segment)
        #expect(s.options.maximumSegmentSize == 1460)
        #expect(s.options.windowScale == 7)
        #expect(s.options.sackPermitted)
        #expect(s.options.timestampValue == 1)
        #expect(s.options.timestampEchoReply == 2)
        #expect(s.options.sackBlockCount == 1)
        #expect(s.options.fastOpen)
        #expect(s.options.fastOpenCookiePresent)
        #expect(!s.options.malformed)
    }

    @Test func sackBlockCount() throws {
        // SACK with 3 blocks (26 bytes), and a SACK length that is not 2 + 8n
        let three = bytes("05 1a") + [UInt8](repeating: 0, count: 24)
        #expect(try #require(decodeTCP(PacketBuilder.tcp(options: three)).segment).options.sackBlockCount == 3)
        #expect(try #require(decodeTCP(PacketBuilder.tcp(options: bytes("05 05 00 00 00"))).segment).options.malformed)
    }

    @Test func fastOpenRequestAndExperimentalKind() throws {
        // Kind 34 length 2: a cookie request, no cookie
        let request = try #require(decodeTCP(PacketBuilder.tcp(options: bytes("22 02"))).segment)
        #expect(request.options.fastOpen && !request.options.fastOpenCookiePresent)
        // Kind 254, magic f989, 4-byte cookie
        let experimental = try #require(decodeTCP(PacketBuilder.tcp(options: bytes("fe 08 f9 89 01 02 03 04"))).segment)
        #expect(experimental.options.fastOpenCookiePresent)
    }

    @Test func optionLengthTwoAndOne() throws {
        // SACK permitted with length 2: valid
        #expect(try #require(decodeTCP(PacketBuilder.tcp(options: bytes("04 02"))).segment).options.sackPermitted)
        // An option of length 1 is impossible: flagged, segment still returned
        let bad = try #require(decodeTCP(PacketBuilder.tcp(options: bytes("04 01 02 04 05 b4"))).segment)
        #expect(bad.options.malformed)
        #expect(bad.options.maximumSegmentSize == nil)
    }

    @Test func optionRunningPastTheHeaderAndWrongSizes() throws {
        // MSS option claiming 8 bytes in a 4-byte option area
        #expect(try #require(decodeTCP(PacketBuilder.tcp(options: bytes("02 08 05 b4"))).segment).options.malformed)
        // Window scale with length 4 (should be 3); the following MSS is still read
        let odd = try #require(decodeTCP(PacketBuilder.tcp(options: bytes("03 04 07 00  02 04 05 b4"))).segment)
        #expect(odd.options.malformed)
        #expect(odd.options.maximumSegmentSize == 1460)
        // A kind byte alone at the end of the option area
        #expect(try #require(decodeTCP(PacketBuilder.tcp(options: bytes("01 01 01 02"))).segment).options.malformed)
    }

    @Test func endOfOptionListStopsParsing() throws {
        // EOL, then bytes that would be a malformed option
        let s = try #require(decodeTCP(PacketBuilder.tcp(options: bytes("00 01 ff ff"))).segment)
        #expect(!s.options.malformed)
    }
}
