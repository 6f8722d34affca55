/// A binary min-heap of elements ordered by an `Int64` key, ties broken by a second integer
/// (equal keys and ties come out in no particular order). Used for event times in the simulator
/// and for connection deadlines in the traffic layer.
///
/// Cost: O(log n) per push and pop; no allocation once the storage has grown.
public struct KeyedMinHeap<Element> {
    public typealias Entry = (key: Int64, tie: Int, element: Element)

    @usableFromInline var items: [Entry] = []

    public init() {}

    public var count: Int { items.count }

    /// The smallest key queued, nil when empty.
    public var minimumKey: Int64? { items.first?.key }

    @inlinable
    static func precedes(_ a: Entry, _ b: Entry) -> Bool {
        a.key < b.key || a.key == b.key && a.tie < b.tie
    }

    @inlinable
    public mutating func push(_ key: Int64, tie: Int = 0, _ element: Element) {
        let entry: Entry = (key, tie, element)
        items.append(entry)
        // The hole left by each parent moved down is filled once at the end; the buffer is
        // used only inside the call, and every index is below `heap.count` (a child's parent is
        // smaller than the child), so the unchecked accesses stay in bounds.
        items.withUnsafeMutableBufferPointer { heap in
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard Self.precedes(entry, heap[parent]) else { break }
                heap[child] = heap[parent]
                child = parent
            }
            heap[child] = entry
        }
    }

    /// Removes and returns the entry with the smallest key (and tie).
    @inlinable
    public mutating func pop() -> Entry? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        guard !items.isEmpty else { return top }
        // The last entry sinks from the root: children move up into the hole, and the entry fills
        // it once at the end (the same places as swapping it down). The buffer is used only inside
        // the call, and every index is checked against `heap.count` before it is read.
        items.withUnsafeMutableBufferPointer { heap in
            let count = heap.count
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < count else { break }
                var child = left
                if left + 1 < count, Self.precedes(heap[left + 1], heap[left]) { child = left + 1 }
                guard Self.precedes(heap[child], last) else { break }
                heap[parent] = heap[child]
                parent = child
            }
            heap[parent] = last
        }
        return top
    }

    public mutating func removeAll(keepingCapacity keep: Bool = false) {
        items.removeAll(keepingCapacity: keep)
    }

    /// Hands every element to `body`, in no particular order, and empties the heap, keeping its
    /// storage: O(n), where popping them one by one would be O(n log n).
    @inlinable
    public mutating func removeAll(each body: (Element) -> Void) {
        for entry in items { body(entry.element) }
        items.removeAll(keepingCapacity: true)
    }
}
