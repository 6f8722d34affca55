import Core
import Records

/// Table-wide account of bytes held out of order by all reassemblers.
///
/// Stored state is `@exclusivity(unchecked)` (no run-time exclusivity check per access on the
/// per-packet path): it is changed only by the table's reassemblers, on one thread, and no call
/// re-enters the budget while it is being changed.
final class BufferBudget {
    let limit: Int
    @exclusivity(unchecked) private(set) var used = 0
    @exclusivity(unchecked) private(set) var highWater = 0
    /// Times any bound was reached (per-connection or total).
    @exclusivity(unchecked) var limitHits = 0

    init(limit: Int) {
        self.limit = limit
    }

    func charge(_ bytes: Int) {
        used += bytes
        highWater = max(highWater, used)
    }

    func release(_ bytes: Int) {
        used -= bytes
        precondition(used >= 0, "buffer budget released more than it charged")
    }
}

/// What a reassembler needs from its connection and table for one call: where events go
/// and how much it may hold.
///
/// Four words, made once per segment: the table's settings are read through the table.
/// The table is held `unowned(unsafe)` (no reference counting per packet): a context lives
/// only during one call from the `ConnectionTable` that made it.
struct ReassemblyContext {
    unowned(unsafe) let table: ConnectionTable
    let connection: UInt64
    let direction: Direction
    /// Bytes the other direction of the same connection holds (for the per-connection bound).
    let peerHeld: Int

    /// Where events go (not retained by the table; alive as long as the table is used).
    var delegate: any StreamDelegate { table.delegate }
    var limits: StreamLimits { table.limits }
    var budget: BufferBudget { table.budget }

    /// The bound that holding `bytes` more would break, if any.
    func refusal(toHold bytes: Int, alreadyHeld: Int) -> StreamLimitKind? {
        if alreadyHeld + peerHeld + bytes > limits.maxBufferedBytesPerConnection {
            return .bufferedBytesPerConnection
        }
        if budget.used + bytes > budget.limit { return .bufferedBytesTotal }
        return nil
    }
}
