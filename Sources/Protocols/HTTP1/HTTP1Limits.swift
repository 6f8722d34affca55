/// Bounds on what the HTTP/1.x parsers buffer and keep.
///
/// Only message heads, chunk-size lines and trailer sections are ever buffered, so a
/// parser holds at most about `maxHeadBytes` bytes. Reaching a limit is reported as an
/// anomaly and parsing goes on (or resynchronises); it never traps.
public struct HTTP1Limits: Hashable, Sendable {
    /// Largest message head (start line, header lines and the blank line that ends them), in bytes.
    /// A head one byte longer is reported as `headTooLarge`. When its start line was read, the start line
    /// and the header lines within the limit are kept and the rest of the head is counted, not kept, up
    /// to its blank line: the message goes on with its real head length (a body framed by a header past
    /// the limit is not known, so it is read as the next message's bytes). A start line longer than the
    /// limit is dropped and the parser resynchronises.
    /// Default 65,536 (a little above common server limits of 8-64 KiB).
    public var maxHeadBytes: Int
    /// Most header lines (or trailer lines) kept per message. Further lines still count for framing
    /// (Content-Length, Transfer-Encoding) but are not stored; reported once as `tooManyHeaders`.
    /// Default 128.
    public var maxHeaderCount: Int
    /// Longest chunk-size line, extensions included. Default 4,096.
    public var maxChunkLineBytes: Int
    /// Most requests a conversation keeps waiting for their responses (pipelining depth).
    /// The oldest is handed out without a response when this is exceeded. Default 1,024.
    public var maxPendingRequests: Int
    /// Most anomaly and message records a conversation keeps until the caller takes them.
    /// Older ones are still counted. Default 10,000.
    public var maxKeptRecords: Int
    /// Exchanges a conversation hands out one by one. Past this, an exchange starting at most a second after
    /// the previous one ended (pipelined or back-to-back requests) is folded into it: its bytes, records and
    /// end are added, the worse HTTP status kept, and `HTTP1Conversation.foldedExchanges` counts it. Quieter
    /// gaps (a push connection's bursts) still start an exchange of their own. Default 4,096.
    public var foldExchangesAfter: Int
    /// Past this many exchanges handed out, every further exchange is folded into the last one, so one
    /// connection's exchanges take a bounded memory (about 20 MB at the default) whatever it carries.
    /// Default 65,536.
    public var maxExchanges: Int

    public init(
        maxHeadBytes: Int = 65_536,
        maxHeaderCount: Int = 128,
        maxChunkLineBytes: Int = 4_096,
        maxPendingRequests: Int = 1_024,
        maxKeptRecords: Int = 10_000,
        foldExchangesAfter: Int = 4_096,
        maxExchanges: Int = 65_536
    ) {
        self.maxHeadBytes = max(16, maxHeadBytes)
        self.maxHeaderCount = max(0, maxHeaderCount)
        self.maxChunkLineBytes = max(8, maxChunkLineBytes)
        self.maxPendingRequests = max(1, maxPendingRequests)
        self.maxKeptRecords = max(0, maxKeptRecords)
        self.foldExchangesAfter = max(1, foldExchangesAfter)
        self.maxExchanges = max(self.foldExchangesAfter, maxExchanges)
    }
}
