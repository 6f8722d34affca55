import Core
import Protocols
import Records

/// The TLS record and handshake parsers and the X.509 reader.
enum TLSTargets {
    /// Both directions through `TLSConversation`. Byte 0: bit 0 midstream (the capture started
    /// inside the connection), bits 1-7 gaps before chunks 1-7; byte 1: the direction of chunk i
    /// (bit i); then split points and the stream. The client direction is also fed to a parser of
    /// its own, whose events are checked.
    static func stream(_ bytes: UnsafeRawBufferPointer) {
        var input = FuzzInput(bytes)
        let flags = input.byte()
        let directions = input.byte()
        let chunks = input.chunkedRest()
        let midstream = flags & 1 != 0
        var conversation = TLSConversation(midstream: midstream)
        var client = TLSStreamParser(midstream: midstream)
        var events: [TLSEvent] = []
        var exchanges: [Exchange] = []
        var given: [Direction: Int64] = [.up: 0, .down: 0]
        var time = Timestamp(nanoseconds: 1_000_000_000)
        for (i, chunk) in chunks.enumerated() {
            let direction: Direction = directions & (1 << (i & 7)) == 0 ? .up : .down
            if i > 0, flags & (1 << (i & 7)) != 0 {
                let gap = i * 41
                conversation.skip(gapBytes: gap, direction: direction, time: time, into: &exchanges)
                if direction == .up { client.skip(gapBytes: gap, time: time, into: &events) }
                given[direction, default: 0] += Int64(gap)
            }
            conversation.feed(chunk, direction: direction, time: time, into: &exchanges)
            if direction == .up { client.feed(chunk, time: time, into: &events) }
            given[direction, default: 0] += Int64(chunk.count)
            time = Timestamp(nanoseconds: time.nanoseconds + 1_000)
        }
        conversation.finish(time: time, into: &exchanges)
        client.finish(time: time, into: &events)

        precondition(exchanges.count == conversation.exchangeCount, "exchanges handed out miscounted")
        precondition(conversation.anomalies.count <= conversation.anomalyCount, "more anomalies kept than counted")
        for (parser, direction) in [(conversation.client, Direction.up), (conversation.server, .down)] {
            precondition(parser.streamOffset == given[direction], "TLS stream offset is not the bytes given")
            precondition(parser.ignoredBytes >= 0 && parser.ignoredBytes <= parser.streamOffset,
                         "TLS parser ignored more bytes than it was given")
            if let v = parser.applicationDataVersion {
                precondition((0x0300...0x0304).contains(v), "a record-layer version no record header can carry")
            }
        }
        if let v = conversation.summary.recordVersion {
            let sides = [conversation.client.applicationDataVersion, conversation.server.applicationDataVersion]
            precondition(sides.contains(v), "the summary's record-layer version is neither direction's")
        }
        precondition(recordBytes(events) <= given[.up] ?? 0, "TLS records add up to more than the stream")
    }

    /// The bytes of the records `events` report, headers included where the event counts them.
    private static func recordBytes(_ events: [TLSEvent]) -> Int64 {
        var total: Int64 = 0
        for event in events {
            switch event {
            case .applicationData(let length, _, _), .heartbeat(let length, _), .encryptedAlert(let length, _),
                 .encryptedHandshake(let length, _):
                precondition(length >= 0, "negative TLS record length")
                total += Int64(length)
            case .cutApplicationData(let captured, let missing, _, _, _):
                precondition(captured >= 0 && missing >= 0, "negative bytes of cut TLS data")
                total += captured + missing
            default: break
            }
        }
        return total
    }

    /// The bytes as the body of one handshake message of `type` (1 ClientHello, 2 ServerHello,
    /// 11 Certificate), framed as the product meets it: a handshake header and TLS 1.2 handshake
    /// records of at most 2^14 bytes each.
    static func handshakeMessage(type: UInt8, body: UnsafeRawBufferPointer) {
        let count = min(body.count, 0xff_ffff)
        var message: [UInt8] = [type, UInt8(count >> 16), UInt8((count >> 8) & 0xff), UInt8(count & 0xff)]
        message.append(contentsOf: body.prefix(count))
        var stream: [UInt8] = []
        var start = 0
        repeat {
            let piece = message[start..<min(message.count, start + 16_384)]
            stream += [22, 3, 3, UInt8(piece.count >> 8), UInt8(piece.count & 0xff)]
            stream += piece
            start += piece.count
        } while start < message.count

        var parser = TLSStreamParser()
        var events: [TLSEvent] = []
        let time = Timestamp(nanoseconds: 1_000_000_000)
        stream.withUnsafeBytes { parser.feed($0, time: time, into: &events) }
        parser.finish(time: time, into: &events)
        for event in events {
            switch event {
            case .clientHello(let hello, _):
                precondition(type == 1, "a ClientHello from another message type")
                precondition((hello.serverName?.utf8.count ?? 0) <= count, "server name longer than the message")
                precondition(hello.cipherSuites.count * 2 <= count, "more cipher suites than the message holds")
                precondition(hello.extensionTypes.count * 4 <= count, "more extensions than the message holds")
                precondition(hello.alpn.reduce(0) { $0 + $1.utf8.count } <= count, "ALPN longer than the message")
            case .serverHello(let hello, _):
                precondition(type == 2, "a ServerHello from another message type")
                precondition(hello.extensionTypes.count * 4 <= count, "more extensions than the message holds")
            case .certificate(let summary, let chainLength, _):
                precondition(type == 11, "a Certificate from another message type")
                precondition(chainLength >= 0 && chainLength * 3 <= count, "more certificates than the message holds")
                if let summary { checkSummary(summary, size: count) }
            default: break
            }
        }
    }

    /// The bytes as one DER certificate; the two entry points must agree.
    static func x509(_ bytes: UnsafeRawBufferPointer) {
        let summary = X509.summary(der: bytes)
        precondition(summary == X509.summary(der: Array(bytes)), "X.509 summaries of the same bytes differ")
        if let summary { checkSummary(summary, size: bytes.count) }
    }

    private static func checkSummary(_ summary: CertificateSummary, size: Int) {
        precondition((summary.subjectCommonName?.utf8.count ?? 0) <= size * 3, "subject longer than its bytes allow")
        precondition((summary.issuerCommonName?.utf8.count ?? 0) <= size * 3, "issuer longer than its bytes allow")
        if let bits = summary.keyBits { precondition(bits >= 0 && bits <= size * 8, "key longer than the certificate") }
    }
}
