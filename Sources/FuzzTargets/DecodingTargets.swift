import Core
import Decoding

/// Link, IP and TCP decoding, fragments included.
enum DecodingTargets {
    /// Link types the decoder reads, and a few it does not; byte 0 of the input picks one.
    static let linkTypes: [UInt32] = [1, 1, 1, 0, 10, 101, 12, 14, 228, 229, 108, 113, 276, 239, 9, 50, 51, 104, 147]

    /// Frames with the link type of byte 0. Each frame is a control byte (bits 0-3: bytes the snaplen
    /// cut; bit 4: a time step past the reassembly timeout), a 2-byte length and that many bytes.
    static func packet(_ bytes: UnsafeRawBufferPointer) {
        var input = FuzzInput(bytes)
        let pick = Int(input.byte())
        let linkType = LinkType(rawValue: linkTypes[pick % linkTypes.count])
        decodeFrames(&input, linkType: linkType, limits: DecoderLimits())
    }

    /// Frames of raw IP (IPv4 or IPv6 by byte 0) with small reassembly limits, so that eviction,
    /// overlap and timeout paths are reached with few fragments.
    static func fragments(_ bytes: UnsafeRawBufferPointer) {
        var input = FuzzInput(bytes)
        let linkType: LinkType = input.byte() & 1 == 0 ? .raw : .ipv6
        var limits = DecoderLimits()
        limits.maxDatagramsInFlight = 3
        limits.maxBufferedBytes = 4_096
        limits.maxFragmentsPerDatagram = 6
        limits.maxDatagramSize = 3_000
        decodeFrames(&input, linkType: linkType, limits: limits)
    }

    /// Decodes every frame twice: through the per-packet path (`decode(...tcp:)`) and through the
    /// general one, on two decoders. Both must agree on every TCP segment and on the statistics.
    private static func decodeFrames(_ input: inout FuzzInput, linkType: LinkType, limits: DecoderLimits) {
        var fast = PacketDecoder(limits: limits)
        var general = PacketDecoder(limits: limits)
        var nanoseconds: Int64 = 1_000_000_000
        while input.remaining > 0 {
            let control = input.byte()
            let length = Int(input.uint16() & 0x0fff)
            let frame = input.take(length)
            let originalLength = frame.count + Int(control & 0x0f)
            nanoseconds += control & 0x10 != 0 ? limits.reassemblyTimeoutNanoseconds + 1 : 1_000
            let time = Timestamp(nanoseconds: nanoseconds)

            var fastSegment: SegmentDigest?
            let fastResult = fast.decode(linkType: linkType, bytes: frame, originalLength: originalLength,
                                         timestamp: time) { view in
                fastSegment = SegmentDigest(view, frame: frame, limits: limits)
            }
            let generalResult = general.decode(linkType: linkType, bytes: frame, originalLength: originalLength,
                                               timestamp: time)
            var generalSegment: SegmentDigest?
            if case .tcp(let view) = generalResult {
                generalSegment = SegmentDigest(view, frame: frame, limits: limits)
            }
            if case .some(.tcp) = fastResult { preconditionFailure("the per-packet path returned a TCP segment") }
            precondition(fastSegment == generalSegment, "the two decoding paths disagree on a TCP segment")
        }
        precondition(fast.statistics == general.statistics, "the two decoding paths count differently")
        let s = general.statistics
        precondition(s.tcpSegments + s.otherIP + s.nonIP + s.unsupportedLink + s.truncated + s.malformed
                         <= s.packets, "decoder outcomes add up to more than the packets")
        precondition(s.bytesBuffered <= limits.maxBufferedBytes, "fragments buffered past the byte limit")
        precondition(s.datagramsInFlight <= limits.maxDatagramsInFlight, "datagrams held past the count limit")
    }
}

/// What the invariants compare of one TCP segment; building it checks the segment's own invariants.
private struct SegmentDigest: Equatable {
    var sequence: UInt32
    var acknowledgement: UInt32
    var payloadLength: Int
    var payload: [UInt8]
    var truncated: Bool
    var reassembled: Bool

    init(_ view: borrowing TCPSegmentView, frame: UnsafeRawBufferPointer, limits: DecoderLimits) {
        // Copied out first: `precondition` takes autoclosures, which cannot capture a borrowed view.
        let header = view.headerLength
        let bytes = view.payload
        let wireLength = view.payloadLength
        let fromDatagram = view.reassembled
        precondition(header >= 20 && header <= 60, "TCP header length out of range")
        precondition(bytes.count <= wireLength, "captured payload longer than the payload")
        if fromDatagram {
            precondition(bytes.count <= limits.maxDatagramSize, "reassembled payload past the size limit")
        } else {
            precondition(lies(bytes, within: frame), "TCP payload outside the frame")
        }
        sequence = view.sequence
        acknowledgement = view.acknowledgement
        payloadLength = view.payloadLength
        payload = Array(view.payload)
        truncated = view.truncated
        reassembled = view.reassembled
    }
}
