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
        items.append((key, tie, element))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.precedes(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the entry with the smallest key (and tie).
    @inlinable
    public mutating func pop() -> Entry? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < items.count else { break }
                var child = left
                if left + 1 < items.count, Self.precedes(items[left + 1], items[left]) { child = left + 1 }
                guard Self.precedes(items[child], items[parent]) else { break }
                items.swapAt(child, parent)
                parent = child
            }
        }
        return top
    }

    public mutating func removeAll(keepingCapacity keep: Bool = false) {
        items.removeAll(keepingCapacity: keep)
    }
}
