import Dispatch
import Synchronization

/// Work spread over a few threads: the caller's and threads started with `DetachedThread`.
public enum ParallelWork {
    /// Calls `body(i)` once for each `i` in `0..<iterations`, on up to `threads` threads at once (the
    /// calling thread is one of them), and returns when every call has returned. Indices are taken
    /// one at a time in increasing order. A thread the system refuses is simply not used: the calls
    /// then run on the threads there are, at worst all on the calling thread, never waiting for a
    /// thread to become possible (as a dispatch queue would).
    public static func perform(iterations: Int, threads: Int, _ body: (Int) -> Void) {
        guard iterations > 0 else { return }
        let extra = min(max(1, threads), iterations) - 1
        withoutActuallyEscaping(body) { body in
            // Safety: every started thread signals `finished` after its last call, and this waits for
            // all of them before returning, so `body` does not outlive the call.
            let shared = Shared(iterations: iterations, body: body)
            var started = 0
            for _ in 0..<extra {
                let running = DetachedThread.start {
                    shared.work()
                    shared.finished.signal()
                }
                if running { started += 1 }
            }
            shared.work()
            for _ in 0..<started { shared.finished.wait() }
            // Let go of `body` here: `withoutActuallyEscaping` checks that nothing holds it any more.
            shared.body = nil
        }
    }

    private final class Shared: @unchecked Sendable {
        // Safety: `next` is atomic; `body` is called concurrently, as `perform` documents, and set to
        // nil only after every thread has signalled `finished`.
        let next = Atomic<Int>(0)
        let iterations: Int
        var body: ((Int) -> Void)?
        let finished = DispatchSemaphore(value: 0)

        init(iterations: Int, body: @escaping (Int) -> Void) {
            self.iterations = iterations
            self.body = body
        }

        func work() {
            guard let body else { return }
            while true {
                let i = next.add(1, ordering: .relaxed).oldValue
                guard i < iterations else { return }
                body(i)
            }
        }
    }
}
