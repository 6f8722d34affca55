/// Table-wide counters, for the run summary.
public struct StreamStatistics: Hashable, Sendable {
    /// Segments given to `process`.
    public var segments = 0
    /// Connections created (including those started by port reuse).
    public var connectionsOpened = 0
    /// Connections emitted after FIN both ways or a RST.
    public var connectionsClosed = 0
    /// Connections emitted because they were idle for `StreamLimits.idleTimeout`.
    public var connectionsTimedOut = 0
    /// Connections emitted early to respect `StreamLimits.maxConnections`.
    public var connectionsEvicted = 0
    /// Connections emitted because a new SYN reused their 4-tuple.
    public var connectionsReused = 0
    /// Connections both ends opened with a SYN (a simultaneous open), kept as one.
    public var simultaneousOpens = 0
    /// Connections whose server, after its SYN-ACK, sent a SYN of its own while they were open: left out, each
    /// connection kept with its roles (see `Connection.isLateServerSyn`).
    public var lateServerSyns = 0
    /// Connections still open at `finish()`.
    public var connectionsOpenAtEnd = 0
    /// Most connections tracked at once.
    public var connectionsHighWater = 0
    /// Out-of-order bytes held right now (with per-piece overhead), and the most ever held.
    public var bufferedBytes = 0
    public var bufferedBytesHighWater = 0
    /// Times any bound of `StreamLimits` was reached (memory bounds and the connection bound).
    public var limitReached = 0
    /// Segments stamped more than `StreamLimits.unconfirmedClockStep` ahead of the table's clock
    /// while packets near the clock kept coming (a step confirmed by a second flow, or still
    /// pending at the end, is not counted).
    public var segmentsAheadOfClock = 0
    /// Connections that copy another one captured under other VLAN tags or on the same ones, and their
    /// segments left out of the analysis (see `ConnectionTable`, "Captured twice").
    public var connectionsCapturedTwice = 0
    public var segmentsCapturedTwice = 0
    /// Segments of such copies whose bytes filled a hole of the connection analysed (a segment one sensor
    /// or SPAN source lost and the other captured).
    public var segmentsFilledFromCopy = 0
    /// Connections whose two directions came under different VLAN tags, each direction under its own (a
    /// capture that tags one direction only), joined into one (see `ConnectionTable`, "Tagged one way").
    public var connectionsTaggedPerDirection = 0
    /// Connections a direction of which moved to other VLAN tags partway and went on there (a path or tagging
    /// change), kept whole, with no copy shown under other tags (see `ConnectionTable`, "Tags changed").
    public var connectionsTagsChanged = 0

    public init() {}
}
