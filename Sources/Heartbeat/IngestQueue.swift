import Dispatch
import Records

/// Feeds a `SessionBuilder` on a thread of its own, so that filing connection records overlaps the
/// traffic layers that produce them.
///
/// Records are handed over in batches, in the order given, to one serial queue: the builder sees
/// exactly the sequence of `ingest(_:)` calls it would see on the calling thread, and `finish()`
/// returns it in the same state. At most `maxBatchesInFlight` batches wait at a time; a producer
/// that runs ahead waits for the builder (memory stays bounded by batches, not by the capture).
///
/// One producer thread: `ingest(_:)` and `finish()` must not be called concurrently.
public final class IngestQueue: @unchecked Sendable {
    // Safety: `builder` is touched only by blocks on `queue` (serial) until `finish()` has waited
    // for the last of them; `pending` only by the producer thread.
    private var builder: SessionBuilder?
    private var pending: [ConnectionRecord] = []
    private let batchSize: Int
    private let queue = DispatchQueue(label: "sepbeat.heartbeat.ingest")
    private let slots: DispatchSemaphore
    private var finished = false

    /// - Parameters:
    ///   - builder: the builder to feed; get it back, with every record filed, from `finish()`.
    ///   - batchSize: records per hand-over (at least 1).
    ///   - maxBatchesInFlight: batches handed over and not yet filed (at least 1).
    public init(_ builder: SessionBuilder, batchSize: Int = 32, maxBatchesInFlight: Int = 4) {
        self.builder = builder
        self.batchSize = max(1, batchSize)
        self.slots = DispatchSemaphore(value: max(1, maxBatchesInFlight))
        pending.reserveCapacity(self.batchSize)
    }

    /// Files `record` (on the queue's thread, once its batch is full or at `finish()`).
    public func ingest(_ record: ConnectionRecord) {
        precondition(!finished, "IngestQueue.ingest after finish")
        pending.append(record)
        if pending.count >= batchSize { handOver() }
    }

    /// Waits until every record given is filed and hands the builder over: the queue keeps no copy,
    /// so the builder's records can be let go as `SessionBuilder.finish()` builds. Call it once.
    public func finish() -> SessionBuilder {
        precondition(!finished, "IngestQueue.finish called twice")
        handOver()
        finished = true
        return queue.sync {
            // Taken out: a copy left here would keep every record alive while the report is built.
            guard let b = builder.take() else { preconditionFailure("IngestQueue has no builder") }
            return b
        }
    }

    private func handOver() {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending = []
        pending.reserveCapacity(batchSize)
        slots.wait()
        queue.async { [self] in
            for record in batch { builder?.ingest(record) }
            slots.signal()
        }
    }
}
