import Core

/// Connections ordered by the earliest capture time at which the table's sweep could act on
/// them (a binary min-heap), so a sweep touches only the connections that are due.
///
/// Entries are lower bounds and may be stale: a connection is queued again only when its
/// deadline moves earlier (`Connection.scheduled` holds the one that counts); entries of
/// emitted connections and superseded entries are skipped when they surface. Stale entries
/// are bounded: the owner rebuilds the queue when they outnumber the live ones.
///
/// Cost: O(log n) per push and pop (`KeyedMinHeap`); no allocation once the storage has grown.
/// The heap holds each connection as one retain taken by `push` and handed back by `pop` (or
/// dropped by `removeAll`), so moving entries while it keeps its order counts no references.
/// The owner must call `removeAll()` before it lets the queue go, or the queued connections leak.
struct DeadlineQueue {
    private var heap = KeyedMinHeap<Unmanaged<Connection>>()

    var count: Int { heap.count }

    /// The earliest deadline queued, `Int64.max` when empty.
    var earliest: Int64 { heap.minimumKey ?? Int64.max }

    mutating func push(_ deadline: Int64, _ connection: Connection) {
        heap.push(deadline, Unmanaged.passRetained(connection))
    }

    /// Removes and returns the entry with the earliest deadline.
    mutating func pop() -> (deadline: Int64, connection: Connection)? {
        heap.pop().map { ($0.key, $0.element.takeRetainedValue()) }
    }

    /// Drops every entry and its retain (in one pass; the storage is kept for the next entries).
    mutating func removeAll() {
        heap.removeAll { $0.release() }
    }
}
