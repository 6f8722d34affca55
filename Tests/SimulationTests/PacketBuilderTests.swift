import Foundation
import Testing
@testable import Simulation

/// Independent RFC 1071 checksum: big-endian 16-bit words summed one at a time.
func referenceChecksum(_ bytes: ArraySlice<UInt8>, pseudo: [UInt8] = []) -> UInt16 {
    let all = pseudo + Array(bytes)
    var sum: UInt32 = 0
    var i = 0
    while i < all.count {
        let hi = UInt32(all[i])
        let lo = i + 1 < all.count ? UInt32(all[i + 1]) : 0
        sum += hi << 8 | lo
        i += 2
    }
    while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
    return ~UInt16(sum)
}

func be16(_ b: [UInt8], _ at: Int) -> UInt16 { UInt16(b[at]) << 8 | UInt16(b[at + 1]) }
func be32(_ b: [UInt8], _ at: Int) -> UInt32 {
    UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
}

/// Writes one planned packet into a fresh frame.
func frame(_ p: PlannedPacket, ends: ConnectionEnds, payload: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0xEE, count: TCPFrame.maxFrameLength)
    let n = out.withUnsafeMutableBytes { raw in
        payload.withUnsafeBytes { p2 in
            TCPFrame.write(p, ends: ends, payload: p2.baseAddress, to: raw.baseAddress!)
        }
    }
    return Array(out[0..<n])
}

@Suite struct PacketBuilderTests {
    let ends = ConnectionEnds(client: 0x0A14_0001, server: 0x0A01_000A, clientPort: 50_000, serverPort: 443)

    /// Checks one frame's IP and TCP checksums with the reference function; returns the TCP payload.
    func verify(_ f: [UInt8]) -> [UInt8] {
        #expect(be16(f, 12) == 0x0800)
        let ip = Array(f[14..<34])
        #expect(ip[0] == 0x45)
        #expect(referenceChecksum(ip[0..<20]) == 0, "IPv4 header checksum")
        let total = Int(be16(ip, 2))
        #expect(total == f.count - 14)
        let tcp = f[34..<(14 + total)]
        let pseudo = Array(ip[12..<20]) + [0, 6, UInt8((total - 20) >> 8), UInt8((total - 20) & 0xFF)]
        #expect(referenceChecksum(tcp, pseudo: pseudo) == 0, "TCP checksum")
        let offset = Int(f[34 + 12] >> 4) * 4
        return Array(f[(34 + offset)...])
    }

    @Test func checksumsOfOddAndEvenPayloadsVerifyIndependently() {
        for length in [0, 1, 2, 7, 8, 9, 63, 1_459, 1_460] {
            let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let p = PlannedPacket(time: 0, sequence: 0xFFFF_FFF0, acknowledgement: 12_345, payloadOffset: 0,
                                  payloadLength: UInt16(length), ipID: 0xBEEF, flags: TCPFlagBits.ack,
                                  fromClient: length % 2 == 0, connection: 0)
            let f = frame(p, ends: ends, payload: payload)
            #expect(verify(f) == payload)
        }
    }

    @Test func synCarriesMSSOption() {
        let p = PlannedPacket(time: 0, sequence: 1, acknowledgement: 0, payloadOffset: 0, payloadLength: 0, ipID: 1,
                              flags: TCPFlagBits.syn, fromClient: true, connection: 0)
        let f = frame(p, ends: ends, payload: [])
        _ = verify(f)
        #expect(f.count == 14 + 20 + 24)
        #expect(Array(f[54..<58]) == [2, 4, 0x05, 0xB4])
    }

    @Test func sequenceAndAcknowledgementNumbersFollowTheBytes() {
        let phase = Phase()
        let cursor = ConnectionCursor(ends: ends, clientNext: 0xFFFF_FF00, serverNext: 1_000, clientIPID: 0,
                                      serverIPID: 0)
        var b = ConversationBuilder(phase: phase, time: 0, connection: cursor)
        b.open()
        phase.up += [UInt8](repeating: 1, count: 4_000)
        b.send(fromClient: true, length: 4_000)
        phase.down += [UInt8](repeating: 2, count: 3_000)
        b.send(fromClient: false, length: 3_000)
        b.close()

        // Replay: every segment starts where the sender's previous one ended; ACKs name the peer's next byte.
        var next: [Bool: UInt32] = [true: 0xFFFF_FF00, false: 1_000]
        var lastTime: Int64 = -1
        var sawSynAck = false
        for p in phase.packets {
            #expect(p.time > lastTime)
            lastTime = p.time
            #expect(Int(p.payloadLength) <= TCPFrame.mss)
            let isSyn = p.flags & TCPFlagBits.syn != 0
            if isSyn && !p.fromClient { sawSynAck = true }
            #expect(p.sequence == next[p.fromClient], "sequence of \(p)")
            if p.flags & TCPFlagBits.ack != 0 {
                #expect(p.acknowledgement == next[!p.fromClient], "acknowledgement of \(p)")
            }
            var advance = UInt32(p.payloadLength)
            if isSyn || p.flags & TCPFlagBits.fin != 0 { advance += 1 }
            next[p.fromClient] = (next[p.fromClient] ?? 0) &+ advance
            let stream = p.fromClient ? phase.up : phase.down
            let range = Int(p.payloadOffset)..<(Int(p.payloadOffset) + Int(p.payloadLength))
            #expect(verify(frame(p, ends: ends, payload: Array(stream[range]))) == Array(stream[range]))
        }
        #expect(sawSynAck)
        #expect(next[true].map(UInt64.init) == UInt64(UInt32(0xFFFF_FF00) &+ 4_002))
        #expect(next[false].map(UInt64.init) == 4_002)
        #expect(phase.packets.filter { $0.payloadLength > 0 }.count == 3 + 3)
    }

    @Test func tlsApplicationDataRecordsAddUpToTheRequestedSize() {
        for total in [6, 600, 16_389, 16_390, 40_000, 130_592] {
            var out: [UInt8] = []
            let n = TLSMessages.applicationData(total: total, version: 0x0303, salt: 1, into: &out)
            #expect(n == total && out.count == total)
            var at = 0
            while at < out.count {
                #expect(out[at] == 23)
                let length = Int(be16(out, at + 3))
                #expect(length <= TLSMessages.recordPayloadMax && length >= 1)
                at += 5 + length
            }
            #expect(at == out.count)
        }
    }

    @Test func httpRequestNamesTheSecarsPathAndUserAgent() {
        var out: [UInt8] = []
        let n = HTTPMessages.request(.post, token: 0xAB, host: Array("10.1.0.10:8014".utf8), bodyLength: 5,
                                     salt: 0, into: &out, path: Array("/secars/secars.dll".utf8),
                                     userAgent: Array("Smc".utf8))
        let text = String(decoding: out[0..<(n - 5)], as: UTF8.self)
        #expect(text.hasPrefix("POST /secars/secars.dll?h=00000000000000ab"))
        #expect(text.contains("\r\nUser-Agent: Smc\r\n"))
        #expect(text.contains("\r\nContent-Length: 5\r\n"))
        #expect(text.hasSuffix("\r\n\r\n"))
        let head = HTTPMessages.responseHeadLength(status: 503, bodyLength: 3_210)
        var r: [UInt8] = []
        #expect(HTTPMessages.response(status: 503, bodyLength: 3_210, salt: 0, into: &r) == head + 3_210)
    }
}
