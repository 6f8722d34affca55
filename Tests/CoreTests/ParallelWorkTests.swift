import Synchronization
import Testing

@testable import Core

#if canImport(Glibc)
import Glibc
#endif

@Suite struct ParallelWorkTests {
    @Test(arguments: [(0, 2), (1, 1), (1, 4), (7, 2), (100, 3), (5, 0)])
    func everyIndexRunsExactlyOnce(iterations: Int, threads: Int) {
        let counts = Mutex([Int](repeating: 0, count: iterations))
        ParallelWork.perform(iterations: iterations, threads: threads) { i in
            counts.withLock { $0[i] += 1 }
        }
        #expect(counts.withLock { $0 } == [Int](repeating: 1, count: iterations))
    }

    @Test func returnsOnlyAfterEveryCallHasReturned() {
        let done = Mutex(0)
        ParallelWork.perform(iterations: 8, threads: 4) { _ in
            var x = 0
            for k in 0..<20_000 { x &+= k }
            if x != 0 { done.withLock { $0 += 1 } }
        }
        #expect(done.withLock { $0 } == 8)
    }

    @Test func detachedThreadRunsItsWork() {
        let ran = Mutex(false)
        #expect(DetachedThread.start { ran.withLock { $0 = true } })
        var waited = 0
        while !ran.withLock({ $0 }), waited < 5_000 {
            waited += 1
            usleep(1_000)
        }
        #expect(ran.withLock { $0 })
    }
}
