import Core

/// Bounds and timings of the connection table and its reassemblers.
///
/// Every bound is enforced; reaching one is counted (`StreamAnomalies.limitReached` on the
/// connection, `StreamStatistics.limitReached` for the table) and never stops the run.
/// Times are capture time (packet timestamps), never the wall clock, so that a file gives
/// the same result however fast it is read.
///
/// Worst-case memory is roughly `maxBufferedBytesTotal` + `maxConnections` x
/// (2 x `retransmissionCheckBytes` + about 3 KB of state). A connection that never carried
/// data (a SYN flood) costs only its state; the history rings are allocated with the first
/// payload and freed again when the connection closes or stays quiet for `closeLinger`.
public struct StreamLimits: Sendable {
    /// Most out-of-order bytes one connection may hold (both directions together).
    /// Default 1 MiB: four times the 256 KiB hole bound of one direction's gap rule, so the
    /// gap rule normally acts first; this bound guards against a lowered gap rule or
    /// pathological tiny-segment patterns (each held segment is charged 64 bytes of overhead).
    public var maxBufferedBytesPerConnection: Int = 1 << 20
    /// Most out-of-order bytes all connections together may hold. Default 64 MiB: enough for
    /// 64 connections each holding a full per-connection buffer at once, which real captures
    /// (even lossy SPAN captures) do not approach, while keeping a hostile capture flat.
    public var maxBufferedBytesTotal: Int = 64 << 20
    /// Most connections tracked at once; when a new one would exceed it, 1/64 of the table is
    /// emitted early: lingering closed connections, then lone SYNs, then other open connections
    /// ("evicted"), each group least recently active first. Default 262,144: room for a site of
    /// about 200,000 push clients, each holding one connection open, with its pull traffic beside.
    /// Nothing is allocated per slot, so a capture with fewer connections open costs the same at any
    /// bound, and a site with more pays for its open connections either way (evicted, they come back
    /// as new pieces: more time and memory, and cut check-ins). What the bound caps is a hostile
    /// capture: a flood of lone SYNs holds about 1.7 KB each (450 MB at the default), connections that
    /// all carried data within `closeLinger` about 11 KB each (2.9 GB), the worst case above. The CLI
    /// sets it with `--max-connections`.
    public var maxConnections: Int = 262_144
    /// What one open, idle connection costs while the table holds it, in bytes: an established TLS
    /// connection quiet for longer than `closeLinger` (its retransmission history freed), with its table
    /// entry, both reassemblers, its application state and its deadline-queue entry, measured at 3.3-3.6 KB
    /// (docs/performance.md, "Open connections"). For help and warning texts; nothing is allocated per
    /// slot of `maxConnections`, so memory follows the connections open, not the bound.
    public static let bytesPerOpenConnection = 3_500
    /// `bytesPerOpenConnection` as the help and warning texts give it: "3.5 KB".
    public static var openConnectionSizeText: String {
        let tenths = (bytesPerOpenConnection + 50) / 100
        return tenths % 10 == 0 ? "\(tenths / 10) KB" : "\(tenths / 10).\(tenths % 10) KB"
    }
    /// A connection with no packet for this long is emitted as still open. Default 3600 s.
    /// It must be longer than the quietest stretch of a live connection we want to see whole:
    /// SEP clients in push mode keep one TLS connection open and speak on it about every
    /// 300 s (the default heartbeat), and administrators set heartbeats of up to 30 minutes;
    /// an hour covers those with margin, and stays below the 2-hour TCP keepalive default,
    /// so a connection kept alive only by keepalives is flushed rather than held forever.
    /// A connection that speaks again after being flushed comes back as a new, midstream
    /// connection. Memory stays bounded by `maxConnections` (the least recently active are
    /// evicted first), whatever the timeout.
    public var idleTimeout: Int64 = 3600 * 1_000_000_000
    /// After FIN both ways or a RST, the connection stays in the table this long (capture
    /// time) so that late packets still count on it: the final ACK from a slow peer, a
    /// retransmitted FIN when that ACK was lost (retransmission timeouts back off to tens of
    /// seconds), a late RST, mirror-port reordering. tshark keeps such packets in the same
    /// stream too. Default 60 s, in the range of the 2 x MSL of TIME-WAIT on common stacks
    /// (Linux waits 60 s). A new SYN on the 4-tuple still starts a new connection at once, and a
    /// packet later than this opens a new, midstream connection.
    ///
    /// A lingering connection costs little: `holeTimeout` after the close its held data is
    /// flushed and its reassembly buffers are released; and when the table is full, lingering
    /// closed connections are emitted (as closed) before any open one is evicted. An open
    /// connection quiet for this long also frees its retransmission history (until its next data).
    public var closeLinger: Int64 = 60 * 1_000_000_000
    /// A hole in one direction becomes a gap when it has stayed open this long while data
    /// beyond it waited. Default 3 s: above the 1 s initial retransmission timeout of
    /// RFC 6298 plus one backoff, so a real retransmission normally fills the hole first.
    public var holeTimeout: Int64 = 3 * 1_000_000_000
    /// A hole the peer's cumulative ACK covers (captured after the bytes beyond the hole) becomes a gap
    /// once this much capture time has passed since that ACK with the hole still open, or at once when
    /// the connection is emitted. Not at the ACK itself: a mirror port may show a segment a few ms after
    /// the ACK that covers it, and a spurious retransmission of a segment the capture lost (the sender's
    /// timer fired before the ACK reached it) comes up to about one round trip after the ACK; those
    /// bytes fill the hole. Default 500 ms: above the 200 ms minimum retransmission timeout of common
    /// stacks and the round trips of the links we analyse, and far below `holeTimeout`, so a quiet push
    /// connection that lost a segment still delivers the bytes after it with their burst.
    public var acknowledgedHoleGrace: Int64 = 500_000_000
    /// A hole in one direction becomes a gap when more than this many bytes wait beyond it.
    /// Default 256 KiB: more than the data a sender puts in flight before the receiver's
    /// duplicate ACKs bring the missing segment again on the links we analyse.
    public var gapAfterBufferedBytes: Int = 256 << 10
    /// Bytes of already delivered stream kept per direction to compare retransmissions
    /// with the first copy. Older retransmitted bytes are counted but not compared.
    /// Default 4 KiB: covers the last two or three full segments, where nearly all
    /// retransmissions land, at a small fixed cost per connection that carries data.
    public var retransmissionCheckBytes: Int = 4 << 10
    /// Two packets in one direction with the same sequence, acknowledgement, flags, length,
    /// window, IP identification and checksum within this time are one packet seen twice
    /// (a SPAN port copying both ingress and egress). Default 50 ms: mirror copies arrive
    /// microseconds apart, while a genuine retransmission waits at least the 200 ms minimum
    /// retransmission timeout of common stacks (and usually differs in IP id or checksum).
    public var duplicateWindow: Int64 = 50_000_000
    /// A connection whose SYN repeats the client, server and ISN of a connection on other VLAN tags
    /// within this time of that one's SYN is a copy of it, captured twice (see `ConnectionTable`,
    /// "Captured twice"). Default 1 s: SPAN and trunk copies arrive microseconds to milliseconds apart,
    /// while two different connections share a 4-tuple and an ISN by chance only (1 in 2^32).
    public var capturedTwiceWindow: Int64 = 1_000_000_000
    /// The wider window for copies matched on their initial sequence numbers: a connection whose SYN repeats
    /// the client, server and ISN of a connection tracked on other VLAN tags (or a SYN-ACK that acknowledges
    /// that one's client ISN and, when its SYN-ACK was seen, repeats its server ISN) within this time of that
    /// one's SYN (SYN-ACK) is a copy; so is a SYN on the same tags repeating the ISN of the established,
    /// closed connection it finds there (see `ConnectionTable`, "Captured twice"). Default 10 s: two captures
    /// merged from sensors whose clocks are seconds apart. Weaker evidence (a copy picked up past both its
    /// SYN and SYN-ACK, matched on sequence ranges) keeps `capturedTwiceWindow`. A new connection on the
    /// same 4-tuple within seconds picks another ISN (RFC 6528: it moves with a clock of a few microseconds),
    /// so port reuse stays apart. Below `capturedTwiceWindow`, that one applies.
    public var capturedTwiceISNWindow: Int64 = 10 * 1_000_000_000
    /// A SYN on the same tags repeating the ISN of a refused connect (its SYN answered by a reset) within this
    /// time of that one's SYN is a second sensor's copy of it (see `ConnectionTable`, "Captured twice").
    /// Default 100 ms: sensors' clocks a few milliseconds apart, while a stack retrying a refused SYN waits
    /// half a second or more (Windows), so a retry with the same ISN stays a connect of its own.
    public var refusedCopyWindow: Int64 = 100_000_000
    /// A segment stamped more than this ahead of the table's clock moves the clock only once the step
    /// is confirmed (`clockStepConfirmation`; see `ConnectionTable`, "The clock"); until then its own
    /// connection is judged by its own time. Default 60 s: the capture summary's
    /// silence threshold, so a capture with no silence moves the clock exactly as every packet says,
    /// and the same as the close linger, so an unconfirmed step can at worst end holes early
    /// (3 s) but never a lingering or idle connection. At zero, every step ahead waits for confirmation.
    public var unconfirmedClockStep: Int64 = 60 * 1_000_000_000
    /// How long a step ahead must hold before it moves the clock: segments of at least two flows, all
    /// within `unconfirmedClockStep` of one another, spanning this much of their own time, with no
    /// packet near the old clock in between (which withdraws the step). Default 10 s: a capture that
    /// jumped (a pause, a clock set forward) keeps going at its new time, while two interfaces, one of
    /// whose clocks is off, interleave their packets far more often than that.
    public var clockStepConfirmation: Int64 = 10 * 1_000_000_000

    public init() {}
}
