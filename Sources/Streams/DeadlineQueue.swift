/// Connections ordered by the earliest capture time at which the table's sweep could act on
/// them (a binary min-heap), so a sweep touches only the connections that are due.
///
/// Entries are lower bounds and may be stale: a connection is queued again only when its
/// deadline moves earlier (`Connection.scheduled` holds the one that counts); entries of
/// emitted connections and superseded entries are skipped when they surface. Stale entries
/// are bounded: the owner rebuilds the queue when they outnumber the live ones.
///
/// Cost: O(log n) per push and pop; no allocation once the storage has grown.
struct DeadlineQueue {
    private struct Entry {
        var deadline: Int64
        var connection: Connection
    }

    private var heap: [Entry] = []

    var count: Int { heap.count }

    /// The earliest deadline queued, `Int64.max` when empty.
    var earliest: Int64 { heap.first?.deadline ?? Int64.max }

    mutating func push(_ deadline: Int64, _ connection: Connection) {
        heap.append(Entry(deadline: deadline, connection: connection))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the entry with the earliest deadline.
    mutating func pop() -> (deadline: Int64, connection: Connection)? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < heap.count else { break }
                var child = left
                if left + 1 < heap.count, heap[left + 1].deadline < heap[left].deadline { child = left + 1 }
                guard heap[child].deadline < heap[parent].deadline else { break }
                heap.swapAt(child, parent)
                parent = child
            }
        }
        return (top.deadline, top.connection)
    }

    mutating func removeAll() {
        heap.removeAll(keepingCapacity: true)
    }
}
