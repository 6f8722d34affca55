import Core
import Records

/// Receives what the connection table rebuilds, connection by connection.
///
/// Order of events for one connection `id`:
/// 1. `connectionOpened` once, before any other event for `id` (at its first packet).
/// 2. Per direction, `didReceive` and `didSkip` in stream order: together they cover the
///    direction's byte stream from its start without overlap. The two directions
///    interleave as their packets arrive. `didNotice` reports anomalies when they are seen;
///    `didAcknowledgeAhead` comes just before the bytes of a segment that acknowledged bytes of the
///    other direction not delivered yet.
/// 3. Before the connection is emitted, held data is flushed (holes become `didSkip`).
/// 4. `connectionClosed` once, last. No event for `id` follows it.
///
/// A copy of another connection (captured twice) gets only `connectionLeftOut` for its id (a stray SYN's
/// stub left out as a copy got `connectionOpened` before it), so every id
/// from 1 up is named either by `connectionClosed` or by `connectionLeftOut`.
///
/// Events of different connections interleave. Connections emitted together (one sweep,
/// `finish()`) are emitted in id order, so a run is deterministic.
///
/// The consumer (protocol parsers) keeps its own state keyed by connection id and merges
/// `application`, `tls` and `exchanges` into the record it receives in `connectionClosed`.
public protocol StreamDelegate: AnyObject {
    /// A new connection was seen. Ids increase in order of first packet, from 1.
    func connectionOpened(id: UInt64, client: Endpoint, server: Endpoint, vlan: VLANTags, time: Timestamp)

    /// In-order stream bytes of one direction.
    ///
    /// - Parameters:
    ///   - data: borrowed; valid only during the call. Copy what you keep.
    ///   - time: capture time of the packet that carried these bytes. Bytes that were held
    ///     out of order keep their own packet's time, so times may step backwards.
    func didReceive(data: UnsafeRawBufferPointer, direction: Direction, connection: UInt64, time: Timestamp)

    /// `gapBytes` bytes of this direction's stream were never captured (lost, or cut by the
    /// snap length); the next `didReceive` continues after them. `cutBySnapLength`: they are the end of a
    /// segment whose payload the snap length cut (the segment's captured bytes, when any, came just before
    /// them); false for bytes the capture lost.
    func didSkip(gapBytes: Int64, direction: Direction, connection: UInt64, time: Timestamp, cutBySnapLength: Bool)

    /// A segment of the other direction, whose bytes are delivered next (`didReceive` follows), acknowledged
    /// `bytes` of `direction`'s stream past everything delivered or skipped so far: its sender had received
    /// them before it sent its own bytes, but the capture has not shown them yet. They come later (held behind
    /// a hole, or shown only when retransmitted, say after the sender's FIN) or become a gap. A consumer
    /// that splits exchanges by turn-taking can place them by their stream offsets before the bytes that
    /// follow, whatever their capture time. Called only then (never on the in-order path, where the capture
    /// shows bytes before their acknowledgement), and not for one byte alone (most likely a lost FIN).
    /// The default implementation ignores it.
    func didAcknowledgeAhead(bytes: Int64, direction: Direction, connection: UInt64, time: Timestamp)

    /// An anomaly was noticed; it is also counted in the record's `StreamAnomalies`.
    /// The default implementation ignores it.
    func didNotice(_ notice: StreamNotice, direction: Direction, connection: UInt64, time: Timestamp)

    /// The connection ended (FIN both ways or RST, after `StreamLimits.closeLinger`), went
    /// idle, was evicted, or the input ended. The record has all TCP-level fields filled;
    /// `application`, `tls` and `exchanges` are left for the consumer, which owns the record
    /// (`consuming`: it can fill and keep it without a copy).
    func connectionClosed(_ record: consuming ConnectionRecord)

    /// The table's clock held back a segment stamped far ahead of it, or settled such segments
    /// (see `ClockStep`). Called only for those segments, never on the ordinary per-packet path.
    /// The default implementation ignores it.
    func clockStep(_ step: ClockStep)

    /// A segment of a connection that copies another one captured under other VLAN tags, or on the same
    /// tags (`sameTags`: a second sensor on the same VLAN, its clock seconds apart), see `ConnectionTable`,
    /// "Captured twice"; `opens` for the copy's first segment; `fillsHole` when its bytes filled a hole of
    /// the connection analysed (delivered to it before this call). The copy gets no other event: it is left
    /// out of the analysis. The default implementation ignores it.
    func copiedSegment(opens: Bool, sameTags: Bool, fillsHole: Bool)

    /// The id `id` went to a copy of a connection captured under other VLAN tags (see `ConnectionTable`,
    /// "Captured twice"): no other event names it, and no record of it comes. Called once, when the copy is
    /// opened, so that a consumer listing records in id order need not wait for it; or, for a lone SYN found
    /// to be a stray when a SYN with its client ISN came under other tags, then, after its `connectionOpened`
    /// (no other event). The default implementation ignores it.
    func connectionLeftOut(id: UInt64)
}

extension StreamDelegate {
    public func didAcknowledgeAhead(bytes: Int64, direction: Direction, connection: UInt64, time: Timestamp) {}
    public func didNotice(_ notice: StreamNotice, direction: Direction, connection: UInt64, time: Timestamp) {}
    public func clockStep(_ step: ClockStep) {}
    public func copiedSegment(opens: Bool, sameTags: Bool, fillsHole: Bool) {}
    public func connectionLeftOut(id: UInt64) {}
}

/// What became of segments stamped more than `StreamLimits.unconfirmedClockStep` ahead of the
/// table's clock (see `ConnectionTable`, "The clock"). Held segments are odd only once withdrawn.
public enum ClockStep: Hashable, Sendable {
    /// The segment being processed is ahead of the clock: the clock stays, the segment is held.
    case held
    /// A segment of another flow reached as far: the capture's clock did move. The `segments`
    /// held since the step began were a jump of the whole capture, not odd.
    case confirmed(segments: Int)
    /// A packet near the clock's time came while `segments` were held: they were stamped ahead of
    /// the capture's clock (counted in `StreamStatistics.segmentsAheadOfClock`).
    case withdrawn(segments: Int)
}

/// An anomaly the reassembler noticed on one direction. Each kind but `farAcknowledgement`, `keepAlive` and
/// `cutSeenLate` is also counted in `StreamAnomalies`:
public enum StreamNotice: Hashable, Sendable {
    /// A segment repeated `bytes` stream bytes already seen (delivered or held).
    case retransmission(bytes: Int64)
    /// Of the repeated bytes, `bytes` differed from the first copy, which was kept.
    case conflict(bytes: Int)
    /// An exact copy of a packet seen within `StreamLimits.duplicateWindow` (SPAN port);
    /// counted in packet and byte totals, dropped from reassembly.
    case duplicate
    /// A segment arrived ahead of a hole; `bytes` of it were held until the hole closes.
    case outOfOrder(bytes: Int64)
    /// The snap length cut `missingBytes` of the segment's payload; they become a gap.
    case truncated(missingBytes: Int64)
    /// A bound of `StreamLimits` was reached; held data was released early (a hole became a gap).
    case limitReached(StreamLimitKind)
    /// The peer acknowledged `bytes` past everything the capture showed of this direction, with nothing
    /// after them, more than `HalfConnectionReassembler.acknowledgedTailReach`: no lost tail is that
    /// long, so the bytes are not counted as a gap (the analyzer counts an odd acknowledgement).
    case farAcknowledgement(bytes: Int64)
    /// A TCP keep-alive probe (RFC 1122: sequence one below the next byte, 0 or 1 garbage byte): not data,
    /// not a retransmission or a conflict (the analyzer counts it per file).
    case keepAlive
    /// A later copy (a retransmission, or the whole copy of a capture merged from two with different snap lengths)
    /// carried `bytes` bytes the snap length had cut from the first, which were already delivered as cut: the
    /// layers above read on without them (the analyzer counts them per file).
    case cutSeenLate(bytes: Int64)
}

/// Which bound of `StreamLimits` was reached.
public enum StreamLimitKind: Hashable, Sendable {
    case bufferedBytesPerConnection
    case bufferedBytesTotal
    case connections
}
