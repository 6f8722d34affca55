import Core

/// A step back of a whole capture file's clock partway (every flow an hour behind from some packet on):
/// found by the traffic layer's timeline (`CaptureTimeline` in Analysis) when the packets after the step
/// go on at the earlier time and the time before it never comes back. The capture is taken to have run on
/// without a pause across the step, so the times stamped after it are read `nanoseconds` later: the
/// timeline and, in a run of one file, the connections opened from the step on (`firstConnection`) are
/// moved forward by that much, so that no interval spans the step backwards and check-ins either side
/// keep their order.
public struct ClockSetBack: Hashable, Sendable {
    /// The latest time stamped before the step.
    public var before: Timestamp
    /// The first time stamped after it (`nanoseconds` earlier than it is read).
    public var after: Timestamp
    /// How far the clock was set back: from `after` to `before`.
    public var nanoseconds: Int64
    /// The id of the first connection opened from the step on (ids are in order of first packet).
    public var firstConnection: UInt64
    /// Whether the times after the step were read on the clock before it (a run of one file).
    public var corrected: Bool

    public init(before: Timestamp, after: Timestamp, firstConnection: UInt64, corrected: Bool) {
        self.before = before
        self.after = after
        self.nanoseconds = max(0, before.nanoseconds(since: after))
        self.firstConnection = firstConnection
        self.corrected = corrected
    }
}

extension ConnectionRecord {
    /// Moves the record's times (its own, its exchanges', its tunnel's) by `nanoseconds` where
    /// `moves(time)` holds.
    public mutating func shiftTimes(by nanoseconds: Int64, where moves: (Timestamp) -> Bool) {
        func shifted(_ t: Timestamp) -> Timestamp {
            moves(t) ? Timestamp(nanoseconds: t.nanoseconds.addingReportingOverflow(nanoseconds).partialValue) : t
        }
        start = shifted(start)
        end = shifted(end)
        if end < start { end = start }
        synTime = synTime.map(shifted)
        synAckTime = synAckTime.map(shifted)
        closeTime = closeTime.map(shifted)
        for i in exchanges.indices {
            exchanges[i].start = shifted(exchanges[i].start)
            exchanges[i].end = shifted(exchanges[i].end)
            exchanges[i].responseStart = exchanges[i].responseStart.map(shifted)
        }
        if var t = tunnel {
            t.start = shifted(t.start)
            for i in t.setUp.indices {
                t.setUp[i].start = shifted(t.setUp[i].start)
                t.setUp[i].end = shifted(t.setUp[i].end)
                t.setUp[i].responseStart = t.setUp[i].responseStart.map(shifted)
            }
            tunnel = t
        }
    }
}
