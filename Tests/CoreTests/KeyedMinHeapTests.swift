import Core
import Testing

@Suite("KeyedMinHeap")
struct KeyedMinHeapTests {
    /// The plain swapping heap, kept here as the reference the heap must match entry for entry.
    private struct SwappingHeap {
        var items: [(key: Int64, tie: Int, element: Int)] = []

        static func precedes(_ a: (key: Int64, tie: Int, element: Int), _ b: (key: Int64, tie: Int, element: Int))
            -> Bool
        {
            a.key < b.key || a.key == b.key && a.tie < b.tie
        }

        mutating func push(_ key: Int64, tie: Int, _ element: Int) {
            items.append((key, tie, element))
            var child = items.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard Self.precedes(items[child], items[parent]) else { break }
                items.swapAt(child, parent)
                child = parent
            }
        }

        mutating func pop() -> (key: Int64, tie: Int, element: Int)? {
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
    }

    @Test func popsTheSameEntriesInTheSameOrderAsASwappingHeap() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func random(_ bound: UInt64) -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (state >> 33) % bound
        }
        var heap = KeyedMinHeap<Int>()
        var reference = SwappingHeap()
        var element = 0
        for _ in 0..<20_000 {
            if random(3) < 2 {
                // Few distinct keys and ties, so equal entries are common.
                let key = Int64(random(40))
                let tie = Int(random(3))
                heap.push(key, tie: tie, element)
                reference.push(key, tie: tie, element)
                element += 1
            } else {
                let got = heap.pop()
                let want = reference.pop()
                #expect(got?.key == want?.key && got?.tie == want?.tie && got?.element == want?.element)
            }
            #expect(heap.count == reference.items.count)
            #expect(heap.minimumKey == reference.items.first?.key)
        }
        while let want = reference.pop() {
            let got = heap.pop()
            #expect(got?.key == want.key && got?.tie == want.tie && got?.element == want.element)
        }
        #expect(heap.pop() == nil)
    }

    @Test func removeAllHandsOutEveryElementOnceAndEmpties() {
        var heap = KeyedMinHeap<Int>()
        for i in 0..<500 { heap.push(Int64((i * 7_919) % 503), tie: i, i) }
        var seen: [Int] = []
        heap.removeAll { seen.append($0) }
        #expect(seen.sorted() == Array(0..<500))
        #expect(heap.count == 0)
        #expect(heap.pop() == nil)
        heap.push(5, 1)
        heap.push(3, 2)
        #expect(heap.pop()?.element == 2)
        #expect(heap.pop()?.element == 1)
    }
}
