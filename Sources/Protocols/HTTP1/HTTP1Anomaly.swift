/// A named oddity in HTTP/1.x traffic: reported and counted, never fatal.
///
/// `code` is a stable identifier for reports and tests; `description` says it in words.
/// The list below is every anomaly the parsers report:
///
/// - `content_length_and_transfer_encoding`: both present; Transfer-Encoding frames the body.
/// - `duplicate_content_length`: Content-Length repeated with one value; that value is used.
/// - `conflicting_content_length`: Content-Length values disagree; the first is used.
/// - `content_length_leading_zeros`: digits with leading zeros; read as decimal.
/// - `invalid_content_length`: not a decimal number (negative, empty, junk). A request then has no
///   body; a response body runs until the connection closes.
/// - `content_length_too_large`: does not fit in a signed 64-bit count; handled like an invalid one.
/// - `transfer_encoding_not_chunked_last`: chunked is listed but not last; the body is read as chunked.
/// - `unsupported_transfer_encoding`: no chunked coding; a request then has no body, a response
///   body runs until close.
/// - `invalid_chunk_size`: a chunk-size line is not hex digits with optional extensions; sync lost.
/// - `chunk_line_too_long`: chunk-size line over `maxChunkLineBytes`; sync lost.
/// - `missing_chunk_terminator`: chunk data not followed by CRLF; the bytes are read as the next size.
/// - `head_too_large`: head over `maxHeadBytes`; sync lost.
/// - `too_many_headers`: more header or trailer lines than `maxHeaderCount`; the rest are not kept.
/// - `invalid_start_line`: bytes where a message should start are not an HTTP start line; sync lost.
/// - `obsolete_line_folding`: a header value continued on an indented line; joined with one space.
/// - `header_without_colon`: a header line without a colon; ignored.
/// - `bare_line_feed`: lines end in LF without CR; accepted.
/// - `lower_case_method`: a known method sent in lower or mixed case; accepted as sent.
/// - `lower_case_version`: `http/1.1` instead of `HTTP/1.1`; accepted.
/// - `http09_request`: request line without a version; the response is all body until close.
/// - `whitespace_in_target`: spaces inside the request-target; the target is everything from the
///   method to the version, as sent.
/// - `missing_request_target`: a known method alone on the request line, headers following; the
///   request is kept with an empty target and version.
/// - `gap_in_head`: bytes missing inside a message head; the head is dropped and sync lost. When the snap
///   length cut them and the start line was captured, the head is kept with no header (`cutShort`).
///   Its message runs to the next message start.
/// - `gap_in_chunk_framing`: bytes missing across chunk framing; the message ends and sync is lost.
/// - `gap_between_messages`: bytes missing where a message should start; sync lost.
/// - `body_cut_short`: the stream ended before the framed body did.
/// - `head_cut_short`: the stream ended inside a message head.
/// - `response_without_request`: a response with no request waiting for it.
/// - `too_many_pending_requests`: more than `maxPendingRequests` unanswered requests.
/// - `request_in_tunnel`: a request after the `CONNECT` the proxy answered with 2xx that is not taken as
///   the tunnel's bytes: a `CONNECT` pipelined after it (and what came between the two), or requests
///   past the bytes held for the tunnel (`HTTP1Limits.maxHeadBytes`, or a gap in them); left out of the
///   exchanges and not followed as tunnel data. (Requests sent after the latest `CONNECT` but before its
///   2xx came are the tunnel's first bytes, whatever their protocol.)
/// - `connect_cut`: the snap length cut a `CONNECT` request's head: it is dropped (as any head that may switch
///   protocols), so no tunnel is followed and whatever went through one is not read (`connectCut`).
/// - `absolute_form_host_changed`: a request in absolute form (`http://host:port/…`, sent to a proxy)
///   names another host or port than the first such request on the connection; the first is kept.
public struct HTTP1Anomaly: Hashable, Sendable, CustomStringConvertible {
    public let code: String
    public let description: String

    private init(_ code: String, _ description: String) {
        self.code = code
        self.description = description
    }

    public static let contentLengthAndTransferEncoding = HTTP1Anomaly(
        "content_length_and_transfer_encoding", "Content-Length and Transfer-Encoding both present")
    public static let duplicateContentLength = HTTP1Anomaly(
        "duplicate_content_length", "Content-Length repeated with the same value")
    public static let conflictingContentLength = HTTP1Anomaly(
        "conflicting_content_length", "Content-Length values disagree")
    public static let contentLengthLeadingZeros = HTTP1Anomaly(
        "content_length_leading_zeros", "Content-Length has leading zeros")
    public static let invalidContentLength = HTTP1Anomaly(
        "invalid_content_length", "Content-Length is not a decimal number")
    public static let contentLengthTooLarge = HTTP1Anomaly(
        "content_length_too_large", "Content-Length does not fit in 63 bits")
    public static let transferEncodingNotChunkedLast = HTTP1Anomaly(
        "transfer_encoding_not_chunked_last", "Transfer-Encoding lists chunked, but not last")
    public static let unsupportedTransferEncoding = HTTP1Anomaly(
        "unsupported_transfer_encoding", "Transfer-Encoding without chunked")
    public static let invalidChunkSize = HTTP1Anomaly("invalid_chunk_size", "invalid chunk size")
    public static let chunkLineTooLong = HTTP1Anomaly("chunk_line_too_long", "chunk-size line too long")
    public static let missingChunkTerminator = HTTP1Anomaly(
        "missing_chunk_terminator", "chunk data not followed by CRLF")
    public static let headTooLarge = HTTP1Anomaly("head_too_large", "header block exceeds the size limit")
    public static let tooManyHeaders = HTTP1Anomaly("too_many_headers", "more header lines than the limit")
    public static let invalidStartLine = HTTP1Anomaly("invalid_start_line", "not an HTTP start line")
    public static let obsoleteLineFolding = HTTP1Anomaly(
        "obsolete_line_folding", "header value folded onto an indented line")
    public static let headerWithoutColon = HTTP1Anomaly("header_without_colon", "header line without a colon")
    public static let bareLineFeed = HTTP1Anomaly("bare_line_feed", "line ends in LF without CR")
    public static let lowerCaseMethod = HTTP1Anomaly("lower_case_method", "method not in upper case")
    public static let lowerCaseVersion = HTTP1Anomaly("lower_case_version", "HTTP version not in upper case")
    public static let http09Request = HTTP1Anomaly("http09_request", "request line without a version (HTTP/0.9)")
    public static let whitespaceInTarget = HTTP1Anomaly(
        "whitespace_in_target", "whitespace inside the request-target")
    public static let missingRequestTarget = HTTP1Anomaly(
        "missing_request_target", "request line with a method only")
    public static let gapInHead = HTTP1Anomaly("gap_in_head", "bytes missing inside a message head")
    public static let gapInChunkFraming = HTTP1Anomaly(
        "gap_in_chunk_framing", "bytes missing across chunk framing")
    public static let gapBetweenMessages = HTTP1Anomaly(
        "gap_between_messages", "bytes missing where a message should start")
    public static let bodyCutShort = HTTP1Anomaly("body_cut_short", "stream ended inside a message body")
    public static let headCutShort = HTTP1Anomaly("head_cut_short", "stream ended inside a message head")
    public static let responseWithoutRequest = HTTP1Anomaly(
        "response_without_request", "response with no request waiting for it")
    public static let tooManyPendingRequests = HTTP1Anomaly(
        "too_many_pending_requests", "more unanswered requests than the limit")
    public static let requestInTunnel = HTTP1Anomaly(
        "request_in_tunnel",
        "request pipelined after the CONNECT the proxy answered 2xx, read as a request and left out of the tunnel")
    public static let connectCut = HTTP1Anomaly(
        "connect_cut", "CONNECT head cut by the snap length: dropped, so no tunnel is followed")
    public static let absoluteFormHostChanged = HTTP1Anomaly(
        "absolute_form_host_changed", "absolute-form request names another host than the first")
}
