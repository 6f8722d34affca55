import Core
import Protocols
import Records

/// The HTTP/1 parser, fed in chunks as the stream reassembly hands it bytes.
enum HTTPTargets {
    /// Methods a response may answer, picked by the input (the parser frames bodies by them).
    static let methods = ["GET", "HEAD", "CONNECT", "POST", "OPTIONS", "PUT"]

    /// Request side: byte 0 picks gaps, then split points, then the stream.
    static func request(_ bytes: UnsafeRawBufferPointer) {
        var input = FuzzInput(bytes)
        var parser = HTTP1Parser(role: .request)
        feed(&parser, &input)
    }

    /// Response side: byte 0 picks the request method, HTTP/0.9 and how many requests wait for an
    /// answer; then as `request`.
    static func response(_ bytes: UnsafeRawBufferPointer) {
        var input = FuzzInput(bytes)
        let choice = input.byte()
        var parser = HTTP1Parser(role: .response)
        for i in 0...Int(choice >> 6) {
            let method = methods[(Int(choice & 7) + i) % methods.count]
            parser.expectResponse(toMethod: method, http09: choice & 8 != 0 && i == 0)
        }
        feed(&parser, &input)
    }

    /// Feeds the rest of `input` in chunks, with gaps where the gap byte says (every other one as bytes the snap
    /// length cut, which may keep a head's start line), and checks that the parser accounts for no more bytes
    /// than it was given.
    private static func feed(_ parser: inout HTTP1Parser, _ input: inout FuzzInput) {
        let gapMask = input.byte()
        let chunks = input.chunkedRest()
        var events: [HTTP1Event] = []
        var fed: Int64 = 0
        var gaps: Int64 = 0
        var time = Timestamp(nanoseconds: 1_000_000_000)
        for (i, chunk) in chunks.enumerated() {
            if gapMask & (1 << (i & 7)) != 0, gapMask & 0x80 != 0 {
                let gap = Int64(i + 1) * 37
                parser.skip(gapBytes: gap, time: time, cutBySnapLength: i & 1 == 1, into: &events)
                gaps += gap
            }
            parser.feed(chunk, time: time, into: &events)
            fed += Int64(chunk.count)
            time = Timestamp(nanoseconds: time.nanoseconds + 1_000)
        }
        parser.finish(time: time, into: &events)
        check(events, fed: fed, gaps: gaps)
        precondition(parser.statistics.missingBytes <= gaps, "more bytes missing than fell in gaps")
        precondition(parser.statistics.skippedBytes <= fed + gaps, "more bytes skipped than given")
    }

    /// Bytes in heads, bodies, tunnels and skipped runs add up to at most those given (and missing
    /// ones to at most the gaps).
    static func check(_ events: [HTTP1Event], fed: Int64, gaps: Int64) {
        var present: Int64 = 0
        var missing: Int64 = 0
        for event in events {
            switch event {
            case .requestHead(let head): present += Int64(head.headLength)
            case .responseHead(let head): present += Int64(head.headLength)
            case .body(let count, let gap, _), .tunnel(let count, let gap, _), .skipped(let count, let gap, _):
                precondition(count >= 0, "negative byte count in an event")
                if gap { missing += count } else { present += count }
            case .messageEnd(let end):
                precondition(end.bodyLength >= 0 && end.missingBytes >= 0, "negative length at a message end")
                precondition(end.missingBytes <= gaps, "a message misses more bytes than fell in gaps")
            case .simpleResponse, .anomaly, .tunnelStart: break
            }
        }
        precondition(present <= fed, "HTTP parser accounts for \(present) bytes of \(fed) given")
        precondition(missing <= gaps, "HTTP parser accounts for \(missing) missing bytes of \(gaps) in gaps")
    }

    /// Both directions through `HTTP1Conversation`: byte 0 says which direction each chunk goes
    /// (bit i for chunk i), then split points and the stream.
    static func conversation(_ bytes: UnsafeRawBufferPointer) {
        var input = FuzzInput(bytes)
        let directions = input.byte()
        let chunks = input.chunkedRest()
        var conversation = HTTP1Conversation()
        var exchanges: [Exchange] = []
        var time = Timestamp(nanoseconds: 1_000_000_000)
        for (i, chunk) in chunks.enumerated() {
            let direction: Direction = directions & (1 << (i & 7)) == 0 ? .up : .down
            conversation.feed(chunk, direction: direction, time: time, into: &exchanges)
            time = Timestamp(nanoseconds: time.nanoseconds + 1_000)
        }
        conversation.finish(time: time, into: &exchanges)
        precondition(exchanges.count == conversation.exchangeCount, "exchanges handed out miscounted")
        precondition(conversation.anomalies.count <= conversation.anomalyCount, "more anomalies kept than counted")
    }
}
