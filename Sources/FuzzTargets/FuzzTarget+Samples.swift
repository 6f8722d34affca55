/// Hand-made inputs each target reads as the product's normal case: seeds for the libFuzzer runs
/// (the driver writes them into the working corpus) and for the mutation tests.
extension FuzzTarget {
    public var samples: [[UInt8]] {
        switch self {
        case .packet:
            return [[0] + Samples.frame(Samples.ethernetTCP(payload: Array("GET / HTTP/1.1\r\n\r\n".utf8)))
                        + Samples.frame(Samples.ethernetTCP(payload: [], flags: 0x02)),
                    [5] + Samples.frame(Samples.ipv4(Samples.tcp(payload: Array("hello".utf8))))]
        case .fragments:
            let datagram = Samples.tcp(payload: Array(repeating: 0x41, count: 40))
            return [[0] + Samples.frame(Samples.ipv4(Array(datagram[0..<24]), flagsAndOffset: 0x2000))
                        + Samples.frame(Samples.ipv4(Array(datagram[24...]), flagsAndOffset: 3))]
        case .httpRequest:
            return [[0, 2, 64, 200] + Array(Samples.request.utf8),
                    [0, 0] + Array(("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + "5\r\nhello\r\n0\r\n\r\n").utf8)]
        case .httpResponse:
            return [[0, 0, 1, 100] + Array(Samples.response.utf8),
                    [3, 0, 0] + Array("HTTP/1.1 200 Connection established\r\n\r\n\u{16}\u{3}\u{1}".utf8),
                    [0, 0, 0] + Array(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + "3\r\nabc\r\n0\r\n\r\n").utf8)]
        case .httpConversation:
            let request = Array(Samples.request.utf8)
            let response = Array(Samples.response.utf8)
            let share = (request.count * 256 + request.count + response.count - 1) / (request.count + response.count)
            return [[0b10, 1, UInt8(min(255, share))] + request + response]
        case .tlsStream:
            let hello = Samples.record(Samples.handshake(1, Samples.clientHelloBody))
            let server = Samples.record(Samples.handshake(2, Samples.serverHelloBody))
                + Samples.record(Samples.handshake(11, Samples.certificateBody))
            let share = hello.count * 256 / (hello.count + server.count) + 1
            return [[0, 0b10, 1, UInt8(min(255, share))] + hello + server]
        case .tlsClientHello: return [Samples.clientHelloBody]
        case .tlsServerHello: return [Samples.serverHelloBody]
        case .tlsCertificate: return [Samples.certificateBody]
        case .x509: return [Samples.certificate]
        case .pcapng: return [Samples.pcapng]
        case .pcap: return [Samples.pcap, Samples.pcapFile(Samples.tunnelFrames)]
        case .capture: return [Samples.pcap, Samples.pcapFile(Samples.tunnelFrames)]
        case .compressed:
            // Each plain capture compressed every way, as a file (byte 0 even), and given plain to be
            // compressed by the target (byte 0 odd).
            return Self.compressedSamples.map { [0] + $0.file }
                + Samples.plainCaptures.flatMap { plain in
                    Compressor.Format.allCases.map { [1, $0.rawValue, 128, 0] + plain }
                }
        case .referenceModel:
            return [Array(#"{"interval": {"seconds": 120}}"#.utf8), Array("{}".utf8)]
        case .sylink: return [Array(Samples.sylink.utf8)]
        case .zeekLog:
            return [[3] + Array(Samples.zeekConn.utf8) + [0] + Array(Samples.zeekHTTP.utf8) + [0]
                        + Array(Samples.zeekSSL.utf8),
                    [200] + Array(Samples.zeekConnJSON.utf8)]
        }
    }
}

extension FuzzTarget {
    /// The captures the `compressed` target's samples hold, each compressed every way (`Compressor.Format`):
    /// reading `file` must give exactly the packets of `plain`.
    public static var compressedSamples: [(plain: [UInt8], format: Compressor.Format, file: [UInt8])] {
        Samples.plainCaptures.flatMap { plain in
            Compressor.Format.allCases.map { (plain, $0, Compressor.compress(plain, as: $0, split: plain.count / 2)) }
        }
    }
}

/// Builders for the samples.
enum Samples {
    static let zeekConn = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
        + "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\t"
        + "resp_bytes\tconn_state\thistory\torig_pkts\tresp_pkts\n"
        + "1700000000.250000\tC1\t10.1.2.3\t50000\t10.1.0.10\t8014\ttcp\thttp\t1.5\t900\t2100\tSF\tShADadFf\t8\t7\n"
        + "1700000001.000000\tC2\t10.1.2.4\t50001\t10.1.0.10\t443\ttcp\tssl\t2.25\t1200\t5000\tSF\tShADadFf\t9\t9\n"
        + "1700000002.000000\tC3\t10.1.2.5\t50002\t10.1.0.10\t443\ttcp\t-\t3\t0\t0\tS0\tS\t2\t0\n"
    static let zeekHTTP = "#separator \\x09\n#fields\tts\tuid\tmethod\thost\turi\tversion\tuser_agent\t"
        + "request_body_len\tresponse_body_len\tstatus_code\tstatus_msg\n"
        + "1700000000.500000\tC1\tGET\t10.1.0.10\t/secars/secars.dll?h=ABC\t1.1\tSmc\t0\t1500\t200\tOK\n"
    static let zeekSSL = "{\"ts\":1700000001.1,\"uid\":\"C2\",\"version\":\"TLSv12\",\"server_name\":\"sepm\","
        + "\"established\":true}\n"
    static let zeekConnJSON = "{\"ts\":1700000000.25,\"uid\":\"C1\",\"id.orig_h\":\"10.1.2.3\",\"id.orig_p\":50000,"
        + "\"id.resp_h\":\"10.1.0.10\",\"id.resp_p\":8014,\"proto\":\"tcp\",\"duration\":1.5,\"history\":\"ShAD\"}\n"
    static let request = "GET /secars/secars.dll?h=ABC HTTP/1.1\r\nHost: sepm\r\nContent-Length: 5\r\n\r\nhello"
    static let response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc"
    static let sylink = """
        <?xml version="1.0" encoding="UTF-8"?>
        <ServerSettings DomainId="00112233445566778899AABBCCDDEEFF">
          <CommConf>
            <AgentCommunicationSetting CommunicationMode="PULL" PushHeartbeatSeconds="300"
                RandomizationEnabled="0" RandomizationRange="300"/>
            <ServerList Name="List">
              <ServerPriorityBlock Name="Priority1">
                <Server Address="198.51.100.10" HttpPort="8014" HttpsPort="443"/>
              </ServerPriorityBlock>
            </ServerList>
          </CommConf>
        </ServerSettings>
        """

    static func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    static func be24(_ v: Int) -> [UInt8] { [UInt8(v >> 16 & 0xff)] + be16(v) }
    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8 & 0xff)] }
    static func le32(_ v: Int) -> [UInt8] { le16(v & 0xffff) + le16(v >> 16 & 0xffff) }

    /// One frame of the decoding targets: control byte 0, then a 2-byte length.
    static func frame(_ bytes: [UInt8]) -> [UInt8] { [0] + be16(bytes.count) + bytes }

    static func tcp(payload: [UInt8], flags: UInt8 = 0x18, sequence: Int = 1_000, toServer: Bool = true) -> [UInt8] {
        let ports = toServer ? be16(40_000) + be16(80) : be16(80) + be16(40_000)
        return ports + be16(sequence >> 16) + be16(sequence) + [0, 0, 0x07, 0xd0] + [0x50, flags] + be16(8_192)
            + [0, 0, 0, 0] + payload
    }

    static func ipv4(_ payload: [UInt8], flagsAndOffset: Int = 0, toServer: Bool = true) -> [UInt8] {
        let (a, b): ([UInt8], [UInt8]) = ([192, 0, 2, 1], [192, 0, 2, 2])
        return [0x45, 0] + be16(20 + payload.count) + be16(0x1234) + be16(flagsAndOffset) + [64, 6, 0, 0]
            + (toServer ? a + b : b + a) + payload
    }

    static func ethernetTCP(payload: [UInt8], flags: UInt8 = 0x18, sequence: Int = 1_000,
                            toServer: Bool = true) -> [UInt8] {
        [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]
            + ipv4(tcp(payload: payload, flags: flags, sequence: sequence, toServer: toServer), toServer: toServer)
    }

    // MARK: - TLS

    static func record(_ body: [UInt8], type: UInt8 = 22) -> [UInt8] { [type, 3, 3] + be16(body.count) + body }
    static func handshake(_ type: UInt8, _ body: [UInt8]) -> [UInt8] { [type] + be24(body.count) + body }

    static var clientHelloBody: [UInt8] {
        let name = Array("sepm.example.test".utf8)
        let sni = be16(name.count + 3) + [0] + be16(name.count) + name
        let alpn = be16(9) + [8] + Array("http/1.1".utf8)
        let versions: [UInt8] = [4, 0x03, 0x04, 0x03, 0x03]
        let extensions = be16(0) + be16(sni.count) + sni + be16(16) + be16(alpn.count) + alpn
            + be16(43) + be16(versions.count) + versions
        return [3, 3] + [UInt8](repeating: 7, count: 32) + [0] + be16(4) + [0xc0, 0x2f, 0x00, 0xff] + [1, 0]
            + be16(extensions.count) + extensions
    }

    static var serverHelloBody: [UInt8] {
        [3, 3] + [UInt8](repeating: 9, count: 32) + [0] + [0xc0, 0x2f] + [0] + be16(5) + be16(0xff01) + be16(1) + [0]
    }

    static var certificateBody: [UInt8] {
        let der = certificate
        return be24(der.count + 3) + be24(der.count) + der
    }

    /// DER: tag and length (short or long form) around `content`.
    static func der(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        let n = content.count
        let length: [UInt8] = n < 128 ? [UInt8(n)] : n < 256 ? [0x81, UInt8(n)] : [0x82] + be16(n)
        return [tag] + length + content
    }

    /// A structurally sound (unsigned) X.509 v3 certificate for CN=sepm.example.test with a small RSA key.
    static var certificate: [UInt8] {
        let sha256WithRSA = der(0x06, [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b])
        let rsaEncryption = der(0x06, [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01])
        let algorithm = der(0x30, sha256WithRSA + [5, 0])
        let commonName = der(0x06, [0x55, 0x04, 0x03]) + der(0x0c, Array("sepm.example.test".utf8))
        let name = der(0x30, der(0x31, der(0x30, commonName)))
        let validity = der(0x30, der(0x17, Array("250101000000Z".utf8)) + der(0x17, Array("350101000000Z".utf8)))
        let modulus = der(0x02, [0x00, 0xc5] + [UInt8](repeating: 0x5a, count: 62))
        let key = der(0x30, modulus + der(0x02, [1, 0, 1]))
        let spki = der(0x30, der(0x30, rsaEncryption + [5, 0]) + der(0x03, [0] + key))
        let version = der(0xa0, der(0x02, [2]))
        let tbs = der(0x30, version + der(0x02, [0x10, 0x92]) + algorithm + name + validity + name + spki)
        return der(0x30, tbs + algorithm + der(0x03, [0] + [UInt8](repeating: 0x33, count: 64)))
    }

    // MARK: - Capture files

    /// An HTTP exchange on one connection, Ethernet frames with their times (microseconds).
    static var frames: [(Int, [UInt8])] {
        let request = Array(request.utf8)
        let response = Array(response.utf8)
        return [
            (0, ethernetTCP(payload: [], flags: 0x02, sequence: 999)),
            (400, ethernetTCP(payload: [], flags: 0x12, sequence: 4_999, toServer: false)),
            (800, ethernetTCP(payload: [], flags: 0x10, sequence: 1_000)),
            (1_000, ethernetTCP(payload: request, sequence: 1_000)),
            (3_000, ethernetTCP(payload: response, sequence: 5_000, toServer: false)),
            (4_000, ethernetTCP(payload: [], flags: 0x11, sequence: 1_000 + request.count)),
            (4_400, ethernetTCP(payload: [], flags: 0x11, sequence: 5_000 + response.count, toServer: false)),
        ]
    }

    /// A connection to a proxy: `CONNECT` answered 200 with a ServerHello in the same segment, a ClientHello
    /// sent with the request, then an application-data record each way inside the tunnel.
    static var tunnelFrames: [(Int, [UInt8])] {
        let up = Array("CONNECT sepm.example.test:443 HTTP/1.1\r\nHost: sepm.example.test:443\r\n\r\n".utf8)
            + record(handshake(1, clientHelloBody))
        let down = Array("HTTP/1.1 200 Connection established\r\n\r\n".utf8) + record(handshake(2, serverHelloBody))
        let data = record([UInt8](repeating: 0x5a, count: 40), type: 23)
        return [
            (0, ethernetTCP(payload: [], flags: 0x02, sequence: 999)),
            (400, ethernetTCP(payload: [], flags: 0x12, sequence: 4_999, toServer: false)),
            (800, ethernetTCP(payload: [], flags: 0x10, sequence: 1_000)),
            (1_000, ethernetTCP(payload: up, sequence: 1_000)),
            (3_000, ethernetTCP(payload: down, sequence: 5_000, toServer: false)),
            (3_500, ethernetTCP(payload: data, sequence: 1_000 + up.count)),
            (3_900, ethernetTCP(payload: data, sequence: 5_000 + down.count, toServer: false)),
            (4_000, ethernetTCP(payload: [], flags: 0x11, sequence: 1_000 + up.count + data.count)),
            (4_400, ethernetTCP(payload: [], flags: 0x11, sequence: 5_000 + down.count + data.count, toServer: false)),
        ]
    }

    /// The samples of `capture` and `pcapng`, which `compressed` reads compressed.
    static var plainCaptures: [[UInt8]] { [pcap, pcapFile(tunnelFrames), pcapng] }

    /// Classic pcap, microseconds, little-endian, Ethernet: the HTTP exchange of `frames`.
    static var pcap: [UInt8] { pcapFile(frames) }

    /// Classic pcap, microseconds, little-endian, Ethernet, holding `frames`.
    static func pcapFile(_ frames: [(Int, [UInt8])]) -> [UInt8] {
        var out = le32(0xa1b2_c3d4) + le16(2) + le16(4) + le32(0) + le32(0) + le32(65_535) + le32(1)
        for (micros, frame) in frames {
            out += le32(1_700_000_000) + le32(micros) + le32(frame.count) + le32(frame.count) + frame
        }
        return out
    }

    /// pcapng, little-endian: a section, one Ethernet interface, Enhanced Packet Blocks.
    static var pcapng: [UInt8] {
        var out = le32(0x0a0d_0d0a) + le32(28) + le32(0x1a2b_3c4d) + le16(1) + le16(0) + le32(-1) + le32(-1) + le32(28)
        out += le32(1) + le32(20) + le16(1) + le16(0) + le32(65_535) + le32(20)
        for (micros, frame) in frames {
            let padded = frame + [UInt8](repeating: 0, count: (4 - frame.count % 4) % 4)
            let ticks = 1_700_000_000 * 1_000_000 + micros
            let length = 32 + padded.count
            out += le32(6) + le32(length) + le32(0) + le32(ticks >> 32) + le32(ticks & 0xffff_ffff)
                + le32(frame.count) + le32(frame.count) + padded + le32(length)
        }
        return out
    }
}
