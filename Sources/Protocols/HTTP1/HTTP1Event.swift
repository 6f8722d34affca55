import Core

/// One header line as sent: name case kept, value with surrounding whitespace removed.
public struct HTTP1Header: Hashable, Sendable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

extension [HTTP1Header] {
    /// The first value for `name`, compared case-insensitively (ASCII), or nil.
    public func first(named name: String) -> String? {
        first { asciiCaseInsensitiveEqual($0.name, name) }?.value
    }
}

/// A request head: start line and headers.
public struct HTTP1RequestHead: Hashable, Sendable {
    /// As sent (case kept), e.g. `GET`.
    public var method: String
    /// The request-target as sent, not percent-decoded.
    public var target: String
    /// As sent, e.g. `HTTP/1.1`; `HTTP/0.9` for a request line without a version.
    public var version: String
    /// Header lines in order, at most `HTTP1Limits.maxHeaderCount`.
    public var headers: [HTTP1Header]
    /// Bytes from the first byte of the start line to the end of the blank line, including any
    /// empty lines that preceded the start line.
    public var headLength: Int
    /// Time of the packet that carried the first byte of the head.
    public var start: Timestamp
    /// The snap length cut the head (`HTTP1Parser.skip`): `headers` is empty, as none is known, and `headLength`
    /// counts the bytes captured. A request line cut before its end has its target up to the cut, marked
    /// `…` when the cut fell inside it, and an empty `version`.
    public var cutShort = false
}

/// A response head: status line and headers.
public struct HTTP1ResponseHead: Hashable, Sendable {
    /// As sent, e.g. `HTTP/1.1` (or `http/1.1`).
    public var version: String
    public var status: Int
    public var reason: String
    public var headers: [HTTP1Header]
    public var headLength: Int
    public var start: Timestamp
    /// The snap length cut the head (`HTTP1Parser.skip`): `headers` is empty, as none is known, and `headLength`
    /// counts the bytes captured. A status line cut before its end has its reason up to the cut, marked `…`.
    public var cutShort = false
    /// The snap length cut the status line before its code was whole (`cutShort` too): `status` is 0, not a code.
    public var statusCut = false

    /// A 1xx response other than 101: another response to the same request follows.
    public var isInterim: Bool { status >= 100 && status < 200 && status != 101 }
}

/// How a message ended.
public struct HTTP1MessageEnd: Hashable, Sendable {
    public var headLength: Int
    /// Body payload bytes (chunked: chunk data only), captured or missing.
    public var bodyLength: Int64
    /// Bytes after the head as sent: the body plus chunk framing and trailers, captured or missing.
    public var bodyWireLength: Int64
    /// Bytes of this message that were never captured (gaps).
    public var missingBytes: Int64
    /// False when the message was cut short: sync lost, or the stream ended early.
    public var complete: Bool
    /// Time of the packet that carried the message's last byte.
    public var end: Timestamp
    /// True when the stream ended inside the body (`body_cut_short`): fewer bytes than the Content-Length
    /// announced, or a chunked body without its last chunk. Gaps inside it count as bytes that came.
    public var cutShort = false
    /// The Content-Length of a body cut short; nil otherwise (chunked: not announced).
    public var declaredBodyLength: Int64?
    /// The message's head was cut by the snap length (its head event's `cutShort`): its body length is not
    /// known (`bodyLength` 0). `bodyWireLength` counts every byte after the head's captured bytes up to the
    /// next message start (or the stream's end), captured or missing, and `complete` is false.
    public var headCutShort = false
}

/// What an `HTTP1Parser` reports, in stream order.
public enum HTTP1Event: Hashable, Sendable {
    case requestHead(HTTP1RequestHead)
    case responseHead(HTTP1ResponseHead)
    /// An HTTP/0.9 response (no status line) began; the rest of the stream is its body.
    case simpleResponse(start: Timestamp)
    /// Body bytes went by (`missing`: they fell in a gap). No body bytes are kept.
    case body(count: Int64, missing: Bool, time: Timestamp)
    case messageEnd(HTTP1MessageEnd)
    case anomaly(HTTP1Anomaly, time: Timestamp)
    /// The connection switched protocols (101, or a 2xx to CONNECT); no more HTTP on this side.
    case tunnelStart(time: Timestamp)
    /// Opaque bytes after the switch (`missing`: they fell in a gap).
    case tunnel(count: Int64, missing: Bool, time: Timestamp)
    /// Bytes passed over while out of sync (`missing`: they fell in a gap).
    case skipped(count: Int64, missing: Bool, time: Timestamp)
}

/// Running totals for one parser.
public struct HTTP1ParserStatistics: Hashable, Sendable {
    public var messages = 0
    public var anomalies = 0
    public var skippedBytes: Int64 = 0
    public var missingBytes: Int64 = 0
    public var tunnelBytes: Int64 = 0

    public init() {}
}

@inlinable
func asciiLower(_ b: UInt8) -> UInt8 { b >= 65 && b <= 90 ? b + 32 : b }

func asciiCaseInsensitiveEqual(_ a: String, _ b: String) -> Bool {
    let x = a.utf8
    let y = b.utf8
    guard x.count == y.count else { return false }
    // Native strings: compare the contiguous bytes directly (no iterator per byte).
    let direct: Bool?? = x.withContiguousStorageIfAvailable { xs in
        y.withContiguousStorageIfAvailable { ys in
            for i in 0..<xs.count where asciiLower(xs[i]) != asciiLower(ys[i]) { return false }
            return true
        }
    }
    if let direct = direct ?? nil { return direct }
    for (p, q) in zip(x, y) where asciiLower(p) != asciiLower(q) { return false }
    return true
}
