import Core

/// Connections by last activity, least recent first (a binary min-heap keyed on `Connection.last`
/// and the id), so that a full table finds its eviction victims without sorting itself.
///
/// Entries are lazy: a connection is queued when it opens (or closes, in the queue of closed ones)
/// with its `last` of that moment, and is not moved when later packets make it more recent, so the
/// per-packet path costs nothing. `last` only grows, so a queued key is a lower bound: when an entry
/// surfaces with a key older than the connection's `last`, the connection is queued again at its
/// `last` and the next entry is looked at. An entry that surfaces current is therefore the least
/// recently active connection of the queue, ties broken by the lower id: the order a full sort by
/// (`last`, id) gives. Entries of emitted connections are skipped when they surface; the owner
/// rebuilds the queue when they outnumber the live ones (`isCrowded`).
///
/// Cost: O(log n) per push and pop; a connection is queued again at most once per time it surfaces.
/// Like `DeadlineQueue`, each entry holds one retain: call `removeAll()` before letting the queue go.
struct RecencyQueue {
    private var heap = KeyedMinHeap<Unmanaged<Connection>>()

    var count: Int { heap.count }

    mutating func push(_ connection: Connection) {
        heap.push(connection.last.nanoseconds, tie: Int(truncatingIfNeeded: connection.id),
                  Unmanaged.passRetained(connection))
    }

    /// Removes and returns the least recently active connection still in the table that `accepts`,
    /// dropping entries of emitted and rejected connections on the way; nil when none is left.
    mutating func popLeastRecent(where accepts: (Connection) -> Bool) -> Connection? {
        while let entry = heap.pop() {
            let c = entry.element.takeRetainedValue()
            guard c.inTable, accepts(c) else { continue }
            guard c.last.nanoseconds == entry.key else {
                push(c)  // more recent than when it was queued: back at its place
                continue
            }
            return c
        }
        return nil
    }

    /// Whether stale entries outnumber a quarter of `live` plus 1,024 (time to rebuild from the table).
    func isCrowded(live: Int) -> Bool {
        heap.count > live + max(1024, live / 4)
    }

    /// Drops every entry and its retain (in one pass; the storage is kept for the next entries).
    mutating func removeAll() {
        heap.removeAll { $0.release() }
    }
}
