import Core

/// One TCP segment as the connection table needs it: the decoded header fields and the
/// captured payload.
///
/// The Streams layer defines its own input type so that it depends on no decoder; the
/// pipeline copies the few header fields across (no payload copy).
///
/// - Important: `payload` is borrowed. It is valid only for the duration of the
///   `ConnectionTable.process(_:)` call it is passed to; the table copies only the bytes it
///   must hold (out-of-order data and a short history for retransmission checks).
public struct TCPSegment {
    public var timestamp: Timestamp
    public var vlan: VLANTags
    public var source: Endpoint
    public var destination: Endpoint
    public var sequence: UInt32
    public var acknowledgement: UInt32
    public var flags: TCPFlags
    public var window: UInt16
    /// The IPv4 identification field; nil for IPv6 (no identification in the fixed header).
    public var ipID: UInt32?
    /// The TCP checksum as it appeared on the wire (not verified).
    public var checksum: UInt16
    /// TCP payload length on the wire (from the IP lengths). May exceed `payload.count`
    /// when the capture's snap length cut the packet short.
    public var payloadLength: Int
    /// The captured payload bytes, borrowed for the duration of one `process` call.
    public var payload: UnsafeRawBufferPointer
    /// The packet was cut short by the capture's snap length.
    public var truncated: Bool

    public init(
        timestamp: Timestamp, vlan: VLANTags = .none, source: Endpoint, destination: Endpoint,
        sequence: UInt32, acknowledgement: UInt32 = 0, flags: TCPFlags, window: UInt16 = 0,
        ipID: UInt32? = nil, checksum: UInt16 = 0, payloadLength: Int,
        payload: UnsafeRawBufferPointer, truncated: Bool = false
    ) {
        self.timestamp = timestamp
        self.vlan = vlan
        self.source = source
        self.destination = destination
        self.sequence = sequence
        self.acknowledgement = acknowledgement
        self.flags = flags
        self.window = window
        self.ipID = ipID
        self.checksum = checksum
        self.payloadLength = payloadLength
        self.payload = payload
        self.truncated = truncated
    }

    /// Captured payload bytes that belong to the segment: never more than `payloadLength`.
    var capturedCount: Int { max(0, min(payload.count, payloadLength)) }
}
