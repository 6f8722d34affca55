import Core
import Protocols
import Records

/// The protocol detail kept per connection for `flows --http/--tls` and the oracle tests.
public struct ProtocolDetails: Sendable {
    /// HTTP message rows in stream order (requests and responses, 1xx included).
    public var httpMessages: [HTTP1MessageRecord] = []
    /// ClientHello / ServerHello rows in stream order.
    public var tlsHellos: [TLSHelloRow] = []
    /// Named protocol anomalies, as text, with the direction they were seen in.
    public var anomalies: [String] = []

    public init() {}
}

/// Which parser a connection's bytes go to, decided from its first bytes.
///
/// Detection looks at content, not ports: HTTP on any port is HTTP, and non-TLS
/// bytes on 443 are recognised as such. While undecided, each chunk's start is
/// tested (a capture that begins mid-connection may reach a message start later),
/// up to `undecidedLimit` bytes a direction; then the connection is `other`.
/// A connection that begins in plain text and then starts a TLS handshake on the
/// client side (STARTTLS) moves to TLS at that point.
struct ApplicationState {
    enum Parser {
        case undecided
        case http(HTTP1Conversation)
        case tls(TLSConversation)
        case other
    }

    static let undecidedLimit: Int64 = 64 * 1024

    var parser: Parser = .undecided
    var undecidedBytes: [Int64] = [0, 0]
    var exchanges: [Exchange] = []
    var details: ProtocolDetails?
    var sawPayload = false
    var midstream: Bool

    init(keepDetails: Bool, midstream: Bool) {
        details = keepDetails ? ProtocolDetails() : nil
        self.midstream = midstream
    }

    var application: ApplicationProtocol {
        switch parser {
        case .undecided, .other: return sawPayload ? .other : .none
        case .http: return .http
        case .tls(let t): return t.isNotTLS ? .other : .tls
        }
    }

    mutating func didReceive(_ data: UnsafeRawBufferPointer, direction: Direction, time: Timestamp) {
        guard !data.isEmpty else { return }
        sawPayload = true
        switch parser {
        case .undecided:
            decide(data, direction: direction)
            if case .undecided = parser {
                undecidedBytes[Int(direction.rawValue)] += Int64(data.count)
                if undecidedBytes.allSatisfy({ $0 >= ApplicationState.undecidedLimit })
                    || undecidedBytes[Int(direction.rawValue)] >= ApplicationState.undecidedLimit * 4 {
                    parser = .other
                }
                return
            }
            didReceive(data, direction: direction, time: time)
        case .http(var http):
            parser = .other  // release the payload's reference while mutating
            http.feed(data, direction: direction, time: time, into: &exchanges)
            parser = .http(http)
        case .tls(var tls):
            parser = .other
            tls.feed(data, direction: direction, time: time, into: &exchanges)
            parser = .tls(tls)
        case .other:
            if direction == .up, TLSStreamParser.looksLikeTLS(data) {
                parser = .tls(TLSConversation(midstream: false))
                didReceive(data, direction: direction, time: time)
            }
        }
    }

    mutating func didSkip(_ gapBytes: Int64, direction: Direction, time: Timestamp) {
        switch parser {
        case .undecided, .other:
            break
        case .http(var http):
            parser = .other
            http.skip(gapBytes: gapBytes, direction: direction, time: time, into: &exchanges)
            parser = .http(http)
        case .tls(var tls):
            parser = .other
            tls.skip(gapBytes: Int(clamping: gapBytes), direction: direction, time: time, into: &exchanges)
            parser = .tls(tls)
        }
    }

    private mutating func decide(_ data: UnsafeRawBufferPointer, direction: Direction) {
        if TLSStreamParser.looksLikeTLS(data) {
            parser = .tls(TLSConversation(midstream: midstream))
        } else if direction == .up ? HTTP1Parser.looksLikeRequest(data) : HTTP1Parser.looksLikeResponse(data) {
            parser = .http(HTTP1Conversation(recordsMessages: details != nil))
        }
    }

    /// Ends both directions, and fills `record` with what the parsers found.
    mutating func finish(into record: inout ConnectionRecord) {
        let time = record.end
        switch parser {
        case .undecided, .other:
            break
        case .http(var http):
            http.finish(time: time, into: &exchanges)
            if details != nil {
                details?.httpMessages = http.takeMessageRecords()
                details?.anomalies += http.takeAnomalies().map { "\($0.direction): \($0.anomaly)" }
            }
        case .tls(var tls):
            tls.finish(time: time, into: &exchanges)
            record.tls = tls.summary
            if details != nil {
                details?.tlsHellos = tls.hellos
                details?.anomalies += tls.anomalies.map { "\($0.direction): \($0.anomaly)" }
            }
        }
        record.application = application
        record.exchanges = exchanges
    }
}
