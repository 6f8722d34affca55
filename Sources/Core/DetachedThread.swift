#if canImport(Glibc)
import Glibc
#endif

/// Starts work on a POSIX thread of its own, or says it could not.
///
/// Dispatch queues start their threads when they please and, when the system refuses a thread
/// (an address-space limit, a thread limit), wait and retry for ever: a consumer waiting for such
/// a queue's work hangs. A thread started here either runs or `start` returns false at once, and
/// the caller does the work itself.
public enum DetachedThread {
    /// Runs `body` on a new detached thread with a stack of `stackSize` bytes (at least the
    /// system's minimum). Returns false, running nothing, when the thread cannot be created.
    public static func start(stackSize: Int = 2 << 20, _ body: @escaping @Sendable () -> Void) -> Bool {
        var attributes = pthread_attr_t()
        guard pthread_attr_init(&attributes) == 0 else { return false }
        defer { pthread_attr_destroy(&attributes) }
        _ = pthread_attr_setstacksize(&attributes, max(stackSize, Int(PTHREAD_STACK_MIN)))
        _ = pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let box = Unmanaged.passRetained(Work(body))
        var thread = pthread_t()
        let made = pthread_create(&thread, &attributes, { raw in
            // The retain taken before `pthread_create` is handed over here.
            guard let raw else { return nil }
            Unmanaged<Work>.fromOpaque(raw).takeRetainedValue().body()
            return nil
        }, box.toOpaque())
        guard made == 0 else {
            box.release()
            return false
        }
        return true
    }

    private final class Work {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}
