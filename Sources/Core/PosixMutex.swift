#if canImport(Glibc)
import Glibc
#endif

/// A value that threads read and change one at a time, behind a POSIX mutex.
///
/// Used instead of the standard library's `Mutex` so that ThreadSanitizer can check the code that shares
/// state: on Linux `Mutex` takes its lock in code the sanitizer does not see, so every access it guards is
/// reported as a race (a program of two threads adding to a counter under it is flagged, though the count
/// comes out right), which hides any real race among dozens of false ones. The sanitizer knows
/// `pthread_mutex_lock` and `pthread_mutex_unlock`. The cost is that of `Mutex`: an atomic exchange when the
/// lock is free, a futex wait when it is not.
public final class PosixMutex<Value: ~Copyable>: @unchecked Sendable {
    // Safety: `value` is read and changed only inside `withLock`, with `mutex` held.

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    /// `value` is sent into the mutex, as `Mutex`'s is: the caller cannot go on using it without the lock.
    public init(_ value: consuming sending Value) {
        self.value = value
        // Allocated on its own: a `pthread_mutex_t` must not move while in use.
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Calls `body` with the value, the lock held; the lock is let go of when `body` returns or throws.
    /// `body` must not take this lock again (it would wait for itself). The value and the result are `sending`,
    /// as `Mutex`'s are; but Swift 6.3 lets `withLock { $0 }` hand out a reference to a class value (with `Mutex`
    /// too), which two threads could then use at once: keep the use of such a value inside `body`.
    public func withLock<Result, Failure: Error>(
        _ body: (inout sending Value) throws(Failure) -> sending Result
    ) throws(Failure) -> sending Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
