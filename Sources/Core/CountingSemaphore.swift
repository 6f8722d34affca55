import Dispatch
import Synchronization

/// A counting semaphore that can also be taken only when it is free at once (`tryWait`), in user space.
///
/// `DispatchSemaphore.wait(timeout: .now())` is no such test: on Linux it makes a timed wait in the kernel,
/// and the thread was seen to go to sleep there, off the processor, hundreds of times while writing one large
/// report. Here the count is an atomic; the dispatch semaphore only puts to sleep the threads that must wait
/// (the count went below zero) and wakes them.
public final class CountingSemaphore: @unchecked Sendable {
    // Safety: `count` is atomic; `sleepers` is a dispatch semaphore, safe to share.

    /// Signals not yet taken; below zero, minus the number of threads waiting.
    private let count: Atomic<Int>
    private let sleepers = DispatchSemaphore(value: 0)

    public init(value: Int = 0) {
        count = Atomic(max(0, value))
    }

    /// Adds a signal, waking a waiting thread if there is one.
    public func signal() {
        if count.add(1, ordering: .acquiringAndReleasing).oldValue < 0 { sleepers.signal() }
    }

    /// Takes a signal, waiting for one if there is none.
    public func wait() {
        if count.subtract(1, ordering: .acquiringAndReleasing).oldValue <= 0 { sleepers.wait() }
    }

    /// Takes a signal if there is one, without waiting; returns whether it did.
    public func tryWait() -> Bool {
        var seen = count.load(ordering: .relaxed)
        while seen > 0 {
            let (taken, now) = count.compareExchange(
                expected: seen, desired: seen - 1, ordering: .acquiringAndReleasing)
            if taken { return true }
            seen = now
        }
        return false
    }
}
