import Testing

@testable import Core

@Suite struct PosixMutexTests {
    /// Threads changing the value under the lock all count: none of their changes is lost.
    @Test func changesFromSeveralThreadsAllCount() {
        let counter = PosixMutex(0)
        let rounds = 20_000
        let threads = 4
        ParallelWork.perform(iterations: threads, threads: threads) { _ in
            for _ in 0..<rounds { counter.withLock { $0 += 1 } }
        }
        #expect(counter.withLock { $0 } == rounds * threads)
    }

    struct Refused: Error {}

    /// A throwing body passes its error on and lets go of the lock: the next `withLock` does not wait for ever,
    /// and the change made before the error stays.
    @Test func aThrowingBodyLetsGoOfTheLock() {
        let value = PosixMutex([1])
        #expect(throws: Refused.self) {
            try value.withLock { (list: inout [Int]) throws(Refused) in
                list.append(2)
                throw Refused()
            }
        }
        #expect(value.withLock { $0 } == [1, 2])
    }

    /// A value that cannot be copied is kept and changed in place.
    @Test func keepsAValueThatCannotBeCopied() {
        struct Unique: ~Copyable {
            var count = 0
        }
        let unique = PosixMutex(Unique())
        unique.withLock { $0.count += 3 }
        #expect(unique.withLock { $0.count } == 3)
    }
}
