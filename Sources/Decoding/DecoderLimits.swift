import Core

/// Bounds on the memory IP fragment reassembly may hold. Hitting one evicts the
/// oldest incomplete datagram(s) and counts it in `DecoderStatistics`; nothing traps.
public struct DecoderLimits: Hashable, Sendable {
    /// Incomplete datagrams held at once (default 256). A new datagram past this evicts the oldest.
    public var maxDatagramsInFlight: Int
    /// Bytes buffered across all incomplete datagrams (default 8 MiB). Buffers are counted by
    /// their allocated size; adding past this evicts the oldest datagrams until the new data fits.
    public var maxBufferedBytes: Int
    /// Largest reassembled payload, in bytes after the IP header (default 65,535, the most an
    /// IPv4 or non-jumbo IPv6 datagram can carry). A fragment ending past it is malformed.
    public var maxDatagramSize: Int
    /// Fragments one datagram may consist of (default 1,024); more evicts it.
    public var maxFragmentsPerDatagram: Int
    /// An incomplete datagram whose first fragment is older than this is dropped
    /// (default 30 s, as Linux's `ipfrag_time`). Checked against each packet's timestamp.
    public var reassemblyTimeoutNanoseconds: Int64

    public init(
        maxDatagramsInFlight: Int = 256,
        maxBufferedBytes: Int = 8 << 20,
        maxDatagramSize: Int = 65_535,
        maxFragmentsPerDatagram: Int = 1_024,
        reassemblyTimeoutNanoseconds: Int64 = 30_000_000_000
    ) {
        self.maxDatagramsInFlight = maxDatagramsInFlight
        self.maxBufferedBytes = maxBufferedBytes
        self.maxDatagramSize = maxDatagramSize
        self.maxFragmentsPerDatagram = maxFragmentsPerDatagram
        self.reassemblyTimeoutNanoseconds = reassemblyTimeoutNanoseconds
    }
}

/// Counters a `PacketDecoder` keeps over its lifetime. Plain integers: reading them is free.
public struct DecoderStatistics: Hashable, Sendable {
    /// Frames passed to `decode`.
    public var packets = 0
    /// Results by case.
    public var tcpSegments = 0
    public var otherIP = 0
    public var nonIP = 0
    public var unsupportedLink = 0
    public var truncated = 0
    public var malformed = 0
    /// TCP segments whose payload the snaplen cut short (counted in `tcpSegments` too).
    public var truncatedPayloads = 0
    /// IPv4 total length 0 or IPv6 payload length 0 (offload or jumbogram): the frame length was used.
    public var zeroIPLength = 0
    /// IP lengths that claimed more than the frame holds (the frame's length was used).
    public var ipLengthPastFrame = 0
    /// TCP segments whose options the snaplen cut (counted in `tcpSegments` too).
    public var truncatedOptions = 0

    /// IPv4 and IPv6 fragments seen (whole ones; truncated fragments count in `fragmentsTruncated`).
    public var fragmentsReceived = 0
    /// Fragments currently held in incomplete datagrams.
    public var fragmentsHeld = 0
    /// Fragments cut by the snaplen, which cannot be reassembled.
    public var fragmentsTruncated = 0
    /// Fragments that overlapped data already held (the first copy was kept).
    public var fragmentsOverlapping = 0
    /// Of `fragmentsOverlapping`, those whose bytes over the overlap differ from the bytes held (kept, not theirs).
    public var fragmentsConflicting = 0
    /// Datagrams completed from fragments.
    public var datagramsReassembled = 0
    /// Incomplete datagrams currently held, and the bytes their buffers take.
    public var datagramsInFlight = 0
    public var bytesBuffered = 0
    /// Incomplete datagrams dropped: too old, too many in flight, too many bytes buffered,
    /// too many fragments, or a fragment inconsistent with the others.
    public var datagramsTimedOut = 0
    public var datagramsEvictedForCount = 0
    public var datagramsEvictedForBytes = 0
    public var datagramsEvictedForFragments = 0
    public var datagramsDroppedInconsistent = 0

    public init() {}

    /// All incomplete datagrams dropped for any reason.
    public var datagramsEvicted: Int {
        datagramsTimedOut + datagramsEvictedForCount + datagramsEvictedForBytes
            + datagramsEvictedForFragments + datagramsDroppedInconsistent
    }
}
