import Core
import Dispatch
import Synchronization

/// A packet source read on its own thread, a few batches ahead of the consumer.
///
/// On the first `next()` a reader thread starts pulling records from the wrapped source and copies
/// them into batches (an arena of packet bytes plus a small header per packet); full batches go
/// to the consumer through a bounded queue, and emptied ones come back to be filled again, so at
/// most `ReadAheadConfiguration.batches` batches exist (about 8 MiB with the defaults). The reader
/// waits when every batch is handed over; the consumer waits when none is ready.
///
/// What the consumer sees is exactly what the wrapped source gives, in the same order:
/// - a record's `bytes` point into the current batch and stay valid until the next `next()` call
///   here (the same contract as every `PacketSource`);
/// - a `CaptureError` the wrapped source throws is thrown here after every record read before it,
///   with the same message; after it (or after the end) `next()` returns nil;
/// - `statistics` are the wrapped source's, taken by the reader each time it hands a batch over:
///   once `next()` has returned nil or thrown they are the wrapped source's final values; while
///   reading they already cover the rest of the current batch.
///
/// Ownership: the wrapped source belongs to this object and must not be used elsewhere. Before the
/// first `next()` it is used on the caller's thread (`setFilter`, `statistics`); from then on only
/// the reader thread touches it. A `ReadAheadSource` itself is used by one consumer thread.
///
/// Stopping early: when the consumer lets go of the source before its end, the reader stops after
/// the record it is reading (at once when it is waiting for a batch) and its thread ends, releasing
/// the wrapped source. A reader blocked on a pipe whose writer is silent ends when that read returns;
/// a followed input's read returns at its stop request (`FollowedInput`), which ends the input, and the
/// batch being filled is handed over with the input's end as usual.
///
/// When the system refuses the reader thread (an address-space or thread limit), the wrapped source
/// is read on the consumer's thread instead, with the same records, errors and statistics.
///
/// Cost: one copy of every packet's bytes and one copy of the statistics per batch on the reader thread; a
/// semaphore signal and wait per batch on each side; a prefetch hint for the next record's bytes each time
/// a record is handed to the consumer (`ReadAheadBatch.prefetch(at:)`). Handing over happens in whole
/// batches, so a slow stream reaches the consumer a batch at a time, unless a wait handler is set before
/// the first `next()` (`setWaitHandler`, the rolling reports of a followed input): then the reader also
/// hands over the batch it is filling each time the wrapped source is about to wait for bytes, so the
/// consumer sees every packet read before a quiet stretch; and the consumer calls the handler about every
/// `PacketSourceWaiting.interval` while no batch is ready. A live capture would need a policy (count and
/// drop) for when every batch is taken.
public final class ReadAheadSource: PacketSource {
    private let pipeline: ReadAheadPipeline
    private var phase = Phase.notStarted
    /// The batch being read and the position of its next record.
    private var current: ReadAheadBatch?
    private var position = 0
    /// The statistics that came with the last batch taken.
    private var lastStatistics: [CaptureStatistics] = []
    /// No reader thread could be started: the wrapped source was read on the consumer's thread.
    private var readDirectly = false
    /// Called on the consumer's thread while no batch is ready (`setWaitHandler`).
    private var waitHandler: (() -> Void)?

    private enum Phase {
        case notStarted
        case reading
        /// No reader thread could be started: the wrapped source is read here, record by record.
        case direct
        case ended
    }

    /// Wraps `source`, which this object now owns. Nothing is read until the first `next()`.
    public init(_ source: PacketSource, configuration: ReadAheadConfiguration = .default) {
        pipeline = ReadAheadPipeline(source: source, configuration: configuration)
    }

    deinit {
        if case .reading = phase { pipeline.stop() }
    }

    /// The wrapped source's statistics (see the type's notes for when they are taken).
    public var statistics: [CaptureStatistics] {
        switch phase {
        case .notStarted, .direct: return pipeline.sourceBeforeStart.statistics
        case .reading, .ended: return readDirectly ? pipeline.sourceBeforeStart.statistics : lastStatistics
        }
    }

    /// Has `handler` called while `next()` waits (see `PacketSource.setWaitHandler`). Set before the first
    /// `next()`, it also makes the reader hand over a part-filled batch whenever the wrapped source is about
    /// to wait (see the type's notes); set later, it is only called. Without a reader thread the wrapped
    /// source calls it itself, from inside its reads.
    public func setWaitHandler(_ handler: (() -> Void)?) {
        waitHandler = handler
        if case .direct = phase { pipeline.sourceBeforeStart.setWaitHandler(handler) }
    }

    /// Sets the filter of the wrapped source. Must be called before the first `next()`.
    public func setFilter(_ expression: String) throws(CaptureError) {
        guard case .notStarted = phase else { preconditionFailure("setFilter after reading started") }
        try pipeline.sourceBeforeStart.setFilter(expression)
    }

    /// The next record; its bytes are valid until the next call.
    @inline(__always)
    public func next() throws(CaptureError) -> PacketRecord? {
        if let batch = current, position < batch.count {
            let record = batch.record(at: position)
            position &+= 1
            if position < batch.count { batch.prefetch(at: position) }
            return record
        }
        return try nextBatch()
    }

    /// Hands the finished batch back and takes the next one, ending with the reader's outcome.
    private func nextBatch() throws(CaptureError) -> PacketRecord? {
        while true {
            switch phase {
            case .ended:
                return nil
            case .notStarted:
                guard pipeline.start(handingOverWhenQuiet: waitHandler != nil) else {
                    // The system refused a thread (e.g. under an address-space limit): read without one.
                    phase = .direct
                    readDirectly = true
                    pipeline.sourceBeforeStart.setWaitHandler(waitHandler)
                    continue
                }
                phase = .reading
            case .direct:
                do throws(CaptureError) {
                    if let record = try pipeline.sourceBeforeStart.next() { return record }
                    phase = .ended
                    return nil
                } catch {
                    phase = .ended
                    throw error
                }
            case .reading:
                break
            }
            if let batch = current {
                current = nil
                if let end = batch.end {
                    phase = .ended
                    pipeline.recycle(batch)
                    if case .failed(let error) = end { throw error }
                    return nil
                }
                pipeline.recycle(batch)
            }
            let batch = pipeline.take(whileWaiting: waitHandler)
            lastStatistics = batch.statistics
            current = batch
            position = 0
            if batch.count > 0 {
                position = 1
                if batch.count > 1 { batch.prefetch(at: 1) }
                return batch.record(at: 0)
            }
        }
    }
}

/// The state the consumer and the reader thread share: the wrapped source, the batches and the
/// two queues between them.
///
/// Each queue is a ring of `batches` slots with one writer and one reader, and a semaphore counting
/// the slots written: `ready` (reader thread writes, consumer reads) and `free` (the consumer
/// writes, the reader thread reads; filled with every batch at the start). A slot is written only
/// after the other side is done with it: there are only `batches` batches, so the reader's `k`-th
/// hand-over needs the consumer's `(k - batches)`-th recycling (which follows its take of that
/// same slot), and the consumer recycles the `k`-th batch only after taking it, which follows the
/// reader's `k`-th acquiring. The semaphores order each write before the read it enables.
///
/// `@unchecked Sendable` because of the wrapped source (a `PacketSource` is not `Sendable`) and the
/// rings: the source is used by the creating thread until `start()` and from then on only by the
/// reader thread (starting the thread orders the two); the rings are used as above; the
/// position counters each belong to one side.
final class ReadAheadPipeline: @unchecked Sendable {
    private let source: PacketSource
    private let configuration: ReadAheadConfiguration
    private let ready: UnsafeMutablePointer<ReadAheadBatch?>
    private let free: UnsafeMutablePointer<ReadAheadBatch?>
    /// Signalled once per slot written in `ready`.
    private let readySignal = DispatchSemaphore(value: 0)
    /// Signalled once per slot written in `free`, and once more to wake the reader for `stop()`.
    /// (Both start at 0: a dispatch semaphore must not be released below its initial value.)
    private let freeSignal = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)
    /// Consumer side: batches taken from `ready` and put back on `free` so far.
    private var taken = 0
    private var recycled: Int
    /// Reader side: batches taken from `free` and handed over on `ready` so far.
    private var acquired = 0
    private var handedOver = 0
    /// Reader side: the batch being filled (nil once asked to stop without one).
    private var filling: ReadAheadBatch?

    init(source: PacketSource, configuration: ReadAheadConfiguration) {
        self.source = source
        var settings = configuration
        settings.batchBytes = max(settings.batchBytes, 1)
        settings.batchPackets = max(settings.batchPackets, 1)
        settings.batches = max(settings.batches, 2)
        self.configuration = settings
        let slots = settings.batches
        ready = .allocate(capacity: slots)
        ready.initialize(repeating: nil, count: slots)
        free = .allocate(capacity: slots)
        for i in 0..<slots {
            (free + i).initialize(to: ReadAheadBatch(bytes: settings.batchBytes, packets: settings.batchPackets))
            freeSignal.signal()
        }
        recycled = slots
    }

    deinit {
        ready.deinitialize(count: configuration.batches)
        ready.deallocate()
        free.deinitialize(count: configuration.batches)
        free.deallocate()
    }

    /// The wrapped source, for use before `start()` only (or instead of it, when it returned false).
    var sourceBeforeStart: PacketSource { source }

    /// Starts the reader thread; false when the system refuses one (nothing is read then, and the
    /// source may still be read directly). `handingOverWhenQuiet`: the batch being filled is handed over
    /// each time the source is about to wait for bytes, not only when full (`ReadAheadSource`'s notes).
    func start(handingOverWhenQuiet: Bool = false) -> Bool {
        guard configuration.readerThread else { return false }
        if handingOverWhenQuiet {
            // Called by the source on the reader thread, between two of its records: a batch handed over
            // then holds whole records only. The handler goes with the reading (`read()` removes it).
            source.setWaitHandler { [unowned self] in handOverEarly() }
        }
        return DetachedThread.start { [self] in read() }
    }

    /// Asks the reader to stop; it ends after the record it is reading, or at once when waiting.
    func stop() {
        stopping.store(true, ordering: .releasing)
        freeSignal.signal()
    }

    /// Consumer: the next filled batch, waiting for it; `handler`, when given, is called about every
    /// `PacketSourceWaiting.interval` while none is ready.
    func take(whileWaiting handler: (() -> Void)? = nil) -> ReadAheadBatch {
        if let handler {
            let interval = DispatchTimeInterval.milliseconds(Int(PacketSourceWaiting.interval))
            while readySignal.wait(timeout: .now() + interval) == .timedOut { handler() }
        } else {
            readySignal.wait()
        }
        let slot = ready + taken % configuration.batches
        taken += 1
        guard let batch = slot.pointee else { preconditionFailure("a ready signal without a ready batch") }
        slot.pointee = nil
        return batch
    }

    /// Consumer: gives an emptied batch back to the reader.
    func recycle(_ batch: ReadAheadBatch) {
        (free + recycled % configuration.batches).pointee = batch
        recycled += 1
        freeSignal.signal()
    }

    // MARK: - Reader thread

    /// Reads the source to its end (or an error, or `stop()`), handing over batches as they fill.
    private func read() {
        defer { source.setWaitHandler(nil) }
        guard let first = acquire() else { return }
        filling = first
        do throws(CaptureError) {
            while let record = try source.next() {
                // Nil: asked to stop while a batch was handed over early (`handOverEarly`).
                guard var batch = filling else { return }
                if !batch.fits(record) {
                    if batch.count > 0 {
                        handOver(batch)
                        guard let empty = acquire() else {
                            filling = nil
                            return
                        }
                        batch = empty
                        filling = empty
                    }
                    if !batch.fits(record) { batch.grow(toHold: record.bytes.count) }
                }
                batch.append(record)
                if stopping.load(ordering: .relaxed) { return }
            }
            guard let batch = filling else { return }
            batch.end = .finished
        } catch {
            guard let batch = filling else { return }
            batch.end = .failed(error)
        }
        if let batch = filling { handOver(batch) }
        filling = nil
    }

    /// The source is about to wait for bytes: the records of the batch being filled are handed over now,
    /// and an empty batch taken (waiting for one); when asked to stop meanwhile, none is, and `read()` ends
    /// after the source's record.
    private func handOverEarly() {
        guard let batch = filling, batch.count > 0 else { return }
        handOver(batch)
        filling = acquire()
    }

    /// An empty batch to fill, waiting for one; nil when asked to stop.
    private func acquire() -> ReadAheadBatch? {
        freeSignal.wait()
        if stopping.load(ordering: .acquiring) { return nil }
        // Not stopping: the signal came from `init` or `recycle`, which filled the slot first.
        let slot = free + acquired % configuration.batches
        acquired += 1
        guard let batch = slot.pointee else { preconditionFailure("a free signal without a free batch") }
        slot.pointee = nil
        batch.reset(bytes: configuration.batchBytes)
        return batch
    }

    private func handOver(_ batch: ReadAheadBatch) {
        batch.statistics = source.statistics
        (ready + handedOver % configuration.batches).pointee = batch
        handedOver += 1
        readySignal.signal()
    }
}
