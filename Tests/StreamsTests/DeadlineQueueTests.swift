import Core
import Records
@testable import Streams
import Testing

@Suite struct DeadlineQueueTests {
    private func connection(_ id: UInt64) -> Connection {
        let a = Endpoint(address: IPAddress(ipv4: 0x0a00_0001), port: 40_000)
        let b = Endpoint(address: IPAddress(ipv4: 0x0a00_0002), port: 443)
        let segment = TCPSegment(
            timestamp: .zero, source: a, destination: b, sequence: 1, flags: [.syn], payloadLength: 0,
            payload: UnsafeRawBufferPointer(start: nil, count: 0))
        return Connection(id: id, key: FlowKey(segment), client: a, server: b, time: .zero, limits: StreamLimits())
    }

    @Test func popsInDeadlineOrder() {
        var queue = DeadlineQueue()
        var state: UInt64 = 12_345
        var pushed: [Int64] = []
        for id in 0..<2_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1
            let deadline = Int64(truncatingIfNeeded: state >> 20) - (1 << 43)
            pushed.append(deadline)
            queue.push(deadline, connection(UInt64(id)))
        }
        pushed.append(contentsOf: [Int64.min, Int64.max, Int64.max])
        queue.push(Int64.min, connection(9_000))
        queue.push(Int64.max, connection(9_001))
        queue.push(Int64.max, connection(9_002))
        #expect(queue.count == pushed.count)
        #expect(queue.earliest == Int64.min)

        var popped: [Int64] = []
        while let entry = queue.pop() { popped.append(entry.deadline) }
        #expect(popped == pushed.sorted())
        #expect(queue.earliest == Int64.max)
        #expect(queue.pop() == nil)
    }
}
