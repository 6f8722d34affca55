/// Why a frame's headers cannot be right, with the offending values.
///
/// A struct around a private enum so new reasons can be added without breaking callers.
/// `code` is a short stable key for counting; `description` is one readable sentence.
public struct MalformedReason: Hashable, Sendable, CustomStringConvertible {
    enum Kind: Hashable, Sendable {
        /// A header needs more bytes than the frame holds on the wire.
        case headerPastEnd(HeaderName, needed: Int, available: Int)
        case ipVersionMismatch(expected: Int, found: Int)
        case unknownIPVersion(Int)
        case ipv4HeaderLength(words: Int)
        case ipv4TotalLengthBelowHeader(total: Int, header: Int)
        case tcpDataOffset(words: Int)
        case tcpHeaderPastPayload(header: Int, payload: Int)
        case fragmentPastLimit(end: Int, limit: Int)
        case fragmentPastDatagramEnd(end: Int, datagramEnd: Int)
        case fragmentEndConflict(end: Int, datagramEnd: Int)
        case nestedFragmentation
        case tooManyHeaders(limit: Int)
        case nflogAttributeLength(Int)
    }

    let kind: Kind

    init(_ kind: Kind) { self.kind = kind }

    /// A short key naming the kind of problem, e.g. `ipv4-header-length`.
    public var code: String {
        switch kind {
        case .headerPastEnd: return "header-past-end"
        case .ipVersionMismatch: return "ip-version-mismatch"
        case .unknownIPVersion: return "unknown-ip-version"
        case .ipv4HeaderLength: return "ipv4-header-length"
        case .ipv4TotalLengthBelowHeader: return "ipv4-total-length-below-header"
        case .tcpDataOffset: return "tcp-data-offset"
        case .tcpHeaderPastPayload: return "tcp-header-past-payload"
        case .fragmentPastLimit: return "fragment-past-limit"
        case .fragmentPastDatagramEnd: return "fragment-past-datagram-end"
        case .fragmentEndConflict: return "fragment-end-conflict"
        case .nestedFragmentation: return "nested-fragmentation"
        case .tooManyHeaders: return "too-many-headers"
        case .nflogAttributeLength: return "nflog-attribute-length"
        }
    }

    public var description: String {
        switch kind {
        case .headerPastEnd(let name, let needed, let available):
            return "\(name) needs \(needed) bytes but the frame has \(available) left"
        case .ipVersionMismatch(let expected, let found):
            return "IPv\(expected) header carries version \(found)"
        case .unknownIPVersion(let v):
            return "IP version \(v) is neither 4 nor 6"
        case .ipv4HeaderLength(let words):
            return "IPv4 header length \(words) words is below the minimum 5"
        case .ipv4TotalLengthBelowHeader(let total, let header):
            return "IPv4 total length \(total) is below its \(header)-byte header"
        case .tcpDataOffset(let words):
            return "TCP data offset \(words) words is below 5"
        case .tcpHeaderPastPayload(let header, let payload):
            return "TCP header of \(header) bytes exceeds the \(payload)-byte IP payload"
        case .fragmentPastLimit(let end, let limit):
            return "IP fragment ends at byte \(end), past the \(limit)-byte datagram limit"
        case .fragmentPastDatagramEnd(let end, let datagramEnd):
            return "IP fragment ends at byte \(end), past the datagram end \(datagramEnd) set by its last fragment"
        case .fragmentEndConflict(let end, let datagramEnd):
            return "IP last fragment ends at byte \(end), but the datagram already holds bytes up to \(datagramEnd)"
        case .nestedFragmentation:
            return "a reassembled IP datagram carries another fragment"
        case .tooManyHeaders(let limit):
            return "more than \(limit) nested headers"
        case .nflogAttributeLength(let length):
            return "NFLOG attribute length \(length) is below 4 or past the end"
        }
    }
}
