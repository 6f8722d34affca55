import Core
import Records

/// Table-wide account of bytes held out of order by all reassemblers.
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
/// Holds its references `unowned(unsafe)` (no reference counting per packet): a context lives
/// only during one call from the `ConnectionTable` that made it, which keeps the budget alive,
/// and whose delegate must outlive the table's use by contract (see `ConnectionTable`).
struct ReassemblyContext {
    unowned(unsafe) let delegate: any StreamDelegate
    let connection: UInt64
    let direction: Direction
    let limits: StreamLimits
    unowned(unsafe) let budget: BufferBudget
    /// Bytes the other direction of the same connection holds (for the per-connection bound).
    let peerHeld: Int

    /// The bound that holding `bytes` more would break, if any.
    func refusal(toHold bytes: Int, alreadyHeld: Int) -> StreamLimitKind? {
        if alreadyHeld + peerHeld + bytes > limits.maxBufferedBytesPerConnection {
            return .bufferedBytesPerConnection
        }
        if budget.used + bytes > budget.limit { return .bufferedBytesTotal }
        return nil
    }
}
