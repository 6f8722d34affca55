import Core
import Records

// MARK: - Provisional ends
//
// A report made while the capture goes on (a live capture's, a followed input's) says what the final report
// would say if the capture ended at that moment: the connections still open are made into records as
// `finish()` would make them, without ending them.

/// What emitting a connection delivers to the delegate before its record, in order: the held bytes and
/// holes of the flush, and the far acknowledgement it may notice (`StreamDelegate.didNotice`).
public enum FlushEvent: Sendable {
    /// Held bytes of a direction, with their packet's time (`StreamDelegate.didReceive`).
    case bytes([UInt8], Direction, Timestamp)
    /// A hole of a direction that becomes a gap (`StreamDelegate.didSkip`, with its `cutBySnapLength`).
    case gap(Int64, Direction, Timestamp, cutBySnapLength: Bool)
    /// Bytes acknowledged too far past everything a direction showed (`StreamNotice.farAcknowledgement`).
    case farAcknowledgement(Int64, Direction, Timestamp)
}

/// A connection still open, as `ConnectionTable.finish()` would hand it out now.
public struct ProvisionalEnd: Sendable {
    /// The record `finish()` would give the delegate (`connectionClosed`), with the anomalies of its flush.
    public var record: ConnectionRecord
    /// What the flush would deliver first (up's events, then down's).
    public var flush: [FlushEvent]
}

extension ConnectionTable {
    /// Every connection still tracked, in id order, as `finish()` would emit it now: its record and what its
    /// flush would deliver. Changes nothing: the connections go on, and a later `finish()` gives what it would
    /// have given. Copies of other connections (captured twice) are left out, as `finish()` reports none. Each
    /// keeps its own id (the one its record will have), so no id is taken from later connections. Not counted
    /// in `statistics` (the connections are not emitted). Cost: a record per connection, plus a copy of the
    /// bytes held out of order (shared with the held pieces until either changes), and a sort by id.
    public func provisionalEnds() -> [ProvisionalEnd] {
        var open = connections.values.filter { $0.copyOf == 0 }
        open.sort { $0.id < $1.id }
        return open.map { c in
            var flush: [FlushEvent] = []
            let up = c.up.previewFlush(now: c.last, direction: .up, into: &flush)
            let down = c.down.previewFlush(now: c.last, direction: .down, into: &flush)
            var record = c.record(end: c.isClosed ? .closed : .finished)
            record.anomaliesUp = up
            record.anomaliesDown = down
            return ProvisionalEnd(record: record, flush: flush)
        }
    }
}
