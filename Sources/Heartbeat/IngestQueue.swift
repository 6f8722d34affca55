import Core
import Dispatch
import Records

/// Feeds a `SessionBuilder` on a thread of its own, so that filing connection records overlaps the
/// traffic layers that produce them.
///
/// Records are handed over in batches, in the order given, to one consumer thread: the builder sees
/// exactly the sequence of `ingest(_:)` calls it would see on the calling thread, and `finish()`
/// returns it in the same state. At most `maxBatchesInFlight` batches wait at a time; a producer
/// that runs ahead waits for the builder (memory stays bounded by batches, not by the capture).
/// When the system refuses the thread (an address-space or thread limit), records are filed on the
/// calling thread instead, with the same result. A queue let go without `finish()` (the capture
/// failed) ends its thread.
///
/// Filed batches come back to the producer, which lets go of them on its next hand-over: the
/// records' memory was allocated on the producer's thread, and freeing it there keeps the two
/// threads off each other's heap lock (the C allocator's arenas: a thread freeing another's
/// blocks takes that arena's lock, which the other takes to allocate; on a 1 GB capture that cost
/// thousands of sleeps on the lock on each side).
///
/// One producer thread: `ingest(_:)` and `finish()` must not be called concurrently.
public final class IngestQueue {
    private let shared: Shared
    private var pending: [ConnectionRecord] = []
    private let batchSize: Int
    private let threaded: Bool
    private var finished = false

    /// - Parameters:
    ///   - builder: the builder to feed; get it back, with every record filed, from `finish()`.
    ///   - batchSize: records per hand-over (at least 1).
    ///   - maxBatchesInFlight: batches handed over and not yet filed (at least 1).
    ///   - ownThread: false files every record on the calling thread, as when the system refuses
    ///     the thread.
    public init(
        _ builder: SessionBuilder, batchSize: Int = 128, maxBatchesInFlight: Int = 4, ownThread: Bool = true
    ) {
        let shared = Shared(builder, maxBatchesInFlight: max(1, maxBatchesInFlight))
        self.shared = shared
        self.batchSize = max(1, batchSize)
        pending.reserveCapacity(self.batchSize)
        threaded = ownThread && DetachedThread.start { shared.consume() }
    }

    /// Whether records are filed on a thread of the queue's own.
    public var hasOwnThread: Bool { threaded }

    deinit {
        // Let go before `finish()`: wake the consumer with nothing added, so that its thread ends.
        if threaded, !finished { shared.available.signal() }
    }

    /// Files `record` (on the queue's thread, once its batch is full or at `finish()`).
    public func ingest(_ record: ConnectionRecord) {
        precondition(!finished, "IngestQueue.ingest after finish")
        guard threaded else {
            shared.builder?.ingest(record)
            return
        }
        pending.append(record)
        if pending.count >= batchSize { handOver() }
    }

    /// Waits until every record given is filed and hands the builder over: the queue keeps no copy,
    /// so the builder's records can be let go as `SessionBuilder.finish()` builds. Call it once.
    public func finish() -> SessionBuilder {
        precondition(!finished, "IngestQueue.finish called twice")
        finished = true
        if threaded {
            handOver()
            shared.available.signal()  // with no batch added: the consumer ends
            shared.done.wait()
            shared.waiting.withLock { $0.filed = [] }
        }
        // Taken out: a copy left here would keep every record alive while the report is built.
        guard let b = shared.builder.take() else { preconditionFailure("IngestQueue has no builder") }
        return b
    }

    /// Waits until every record given so far is filed and returns a copy of the builder (its storage is
    /// shared with the queue's until either changes), for a report while records still come (a live
    /// capture's rolling report). The queue goes on as before.
    public func snapshot() -> SessionBuilder {
        precondition(!finished, "IngestQueue.snapshot after finish")
        guard threaded else {
            guard let b = shared.builder else { preconditionFailure("IngestQueue has no builder") }
            return b
        }
        handOver()
        // Every batch handed over is filed once all the slots are free again: taken, then given back.
        for _ in 0..<shared.maxBatchesInFlight { shared.slots.wait() }
        // Safety: the consumer has filed every batch and waits for the next one; it does not touch the
        // builder until one is handed over, which only this (producer) thread does.
        let copy = shared.builder
        for _ in 0..<shared.maxBatchesInFlight { shared.slots.signal() }
        guard let copy else { preconditionFailure("IngestQueue has no builder") }
        return copy
    }

    private func handOver() {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending = []
        pending.reserveCapacity(batchSize)
        shared.slots.wait()
        let filed = shared.waiting.withLock { queue -> [[ConnectionRecord]] in
            queue.waiting.append(batch)
            defer { queue.filed = [] }
            return queue.filed
        }
        shared.available.signal()
        // Let go of here, on the thread that made them (see the type's notes).
        _ = consume filed
    }

    /// What the producer and the consumer thread share.
    private final class Shared: @unchecked Sendable {
        // Safety: `builder` is used by the consumer thread from its start until it signals `done`,
        // and by the producer only after `done` (or always when there is no consumer thread);
        // `waiting` is used under its mutex. The semaphores order each hand-over before its use.
        var builder: SessionBuilder?
        /// Batches handed over and not yet filed, and batches filed and not yet given back.
        let waiting = PosixMutex<(waiting: [[ConnectionRecord]], filed: [[ConnectionRecord]])>(([], []))
        /// Signalled once per batch put in `waiting`, and once more (with nothing added) to end.
        let available = DispatchSemaphore(value: 0)
        let slots: DispatchSemaphore
        let maxBatchesInFlight: Int
        let done = DispatchSemaphore(value: 0)

        init(_ builder: SessionBuilder, maxBatchesInFlight: Int) {
            self.builder = builder
            self.maxBatchesInFlight = maxBatchesInFlight
            slots = DispatchSemaphore(value: maxBatchesInFlight)
        }

        /// The consumer thread: files each batch in order; a wake-up with no batch ends it.
        func consume() {
            while true {
                available.wait()
                let batch: [ConnectionRecord]? = waiting.withLock {
                    $0.waiting.isEmpty ? nil : $0.waiting.removeFirst()
                }
                guard let batch else { break }
                for record in batch { builder?.ingest(record) }
                // Given back to the producer to be let go of there (see the type's notes).
                waiting.withLock { $0.filed.append(batch) }
                slots.signal()
            }
            done.signal()
        }
    }
}
