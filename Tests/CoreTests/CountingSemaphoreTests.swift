import Synchronization
import Testing

@testable import Core

@Suite struct CountingSemaphoreTests {
    /// `tryWait` takes what there is and no more, and never goes below zero: a later signal is not owed
    /// to a test that failed.
    @Test func tryWaitTakesOnlyWhatThereIs() {
        let s = CountingSemaphore(value: 2)
        #expect(s.tryWait())
        #expect(s.tryWait())
        #expect(!s.tryWait())
        #expect(!s.tryWait())
        s.signal()
        #expect(s.tryWait())
        #expect(!s.tryWait())
    }

    /// A thread waiting on the semaphore wakes once for each signal, in whichever order waits and signals
    /// come; `tryWait` by another thread meanwhile takes no signal a waiting thread is owed.
    @Test func waitsAndSignalsAcrossThreads() {
        let items = CountingSemaphore()
        let done = CountingSemaphore()
        let taken = Mutex(0)
        let rounds = 2_000
        #expect(DetachedThread.start {
            for _ in 0..<rounds {
                items.wait()
                taken.withLock { $0 += 1 }
            }
            done.signal()
        })
        for n in 0..<rounds {
            items.signal()
            // Now and then take the signal back and give it again: only one no thread waits for can be taken.
            if n % 3 == 0, items.tryWait() { items.signal() }
        }
        done.wait()
        #expect(taken.withLock { $0 } == rounds)
        #expect(!items.tryWait())
    }
}
