import Core
import Dispatch
import Records
import Streams

/// Runs an `ApplicationLayer` on a thread of its own, behind the connection table: the analyzer's thread
/// appends each delegate call the layer needs as an event to a batch, and the queue's thread replays the
/// batches in order, so the layer sees exactly the calls it would see on the analyzer's thread, and hands
/// the finished connections to `onConnection` (on the queue's thread) in the same order.
///
/// Bytes delivered are borrowed by the table's call, so they are copied into the batch. A batch is handed
/// over when about `batchBytes` of bytes or `batchEvents` events are in it; `batches` batches exist, used
/// over and over (nothing is allocated per event once they have grown to their size), and the analyzer's
/// thread waits when all of them are handed over and not replayed yet.
///
/// `synchronize()` is the barrier: it hands over what was appended and waits until the queue's thread has
/// replayed it all. After it, and until the next event is appended, the analyzer's thread may read and use
/// the layer (reports so far, the summaries, the end of the run). When the system refuses the thread, the
/// owner drives the layer itself (`init` returns nil).
///
/// One producer thread: the append methods and `synchronize()` must not be called concurrently.
final class ApplicationQueue {
    private let shared: Shared
    /// The batch being filled (the producer's own until it is handed over).
    private var current: ApplicationBatch
    private let batchBytes: Int
    private let batchEvents: Int

    /// Nil when the system refuses a thread.
    init?(_ layer: ApplicationLayer, batches: Int = 4, batchBytes: Int = 256 * 1024, batchEvents: Int = 8192) {
        let count = max(2, batches)
        self.batchBytes = max(1, batchBytes)
        self.batchEvents = max(1, batchEvents)
        current = ApplicationBatch(bytes: self.batchBytes, events: self.batchEvents)
        let spare = (1..<count).map { _ in ApplicationBatch(bytes: max(1, batchBytes), events: max(1, batchEvents)) }
        let shared = Shared(layer, spare: spare)
        self.shared = shared
        guard DetachedThread.start({ shared.consume() }) else { return nil }
    }

    deinit {
        // Let go of without a last `synchronize()` (the run failed): wake the thread with nothing added, so
        // that it replays what was handed over and ends.
        shared.available.signal()
    }

    /// The layer, for the producer's use after `synchronize()` only.
    var layer: ApplicationLayer { shared.layer }

    func received(_ data: UnsafeRawBufferPointer, direction: Direction, connection: UInt64, time: Timestamp,
                  reading: Int32) {
        if !current.fits(data.count) { handOver() }
        let offset = current.append(data)
        current.events.append(ApplicationEvent(
            kind: .bytes, direction: direction, connection: connection, time: time, value: Int64(offset),
            length: data.count, files: FileContext(reading: reading, current: 0, count: 0)))
        if current.isFull(bytes: batchBytes, events: batchEvents) { handOver() }
    }

    func skipped(_ gapBytes: Int64, direction: Direction, connection: UInt64, time: Timestamp, cut: Bool,
                 reading: Int32) {
        append(ApplicationEvent(
            kind: cut ? .cutGap : .gap, direction: direction, connection: connection, time: time, value: gapBytes,
            length: 0, files: FileContext(reading: reading, current: 0, count: 0)))
    }

    func acknowledgedAhead(_ bytes: Int64, direction: Direction, connection: UInt64, reading: Int32) {
        append(ApplicationEvent(
            kind: .acknowledgedAhead, direction: direction, connection: connection, time: .zero, value: bytes,
            length: 0, files: FileContext(reading: reading, current: 0, count: 0)))
    }

    /// Only the notices `ApplicationLayer.noticed` counts.
    func noticed(_ notice: StreamNotice, direction: Direction, connection: UInt64, files: FileContext) {
        let kind: ApplicationEvent.Kind, value: Int64
        switch notice {
        case .farAcknowledgement: (kind, value) = (.farAcknowledgement, 0)
        case .keepAlive: (kind, value) = (.keepAlive, 0)
        case .cutSeenLate(let bytes): (kind, value) = (.cutSeenLate, bytes)
        default: return
        }
        append(ApplicationEvent(
            kind: kind, direction: direction, connection: connection, time: .zero, value: value, length: 0,
            files: files))
    }

    func closed(_ record: consuming ConnectionRecord, files: FileContext) {
        let id = record.id
        current.records.append(record)
        append(ApplicationEvent(
            kind: .closed, direction: .up, connection: id, time: .zero, value: Int64(current.records.count - 1),
            length: 0, files: files))
    }

    func leftOut(_ id: UInt64) {
        append(ApplicationEvent(
            kind: .leftOut, direction: .up, connection: id, time: .zero, value: 0, length: 0,
            files: FileContext(reading: 0, current: 0, count: 0)))
    }

    @inline(__always)
    private func append(_ event: ApplicationEvent) {
        current.events.append(event)
        if current.isFull(bytes: batchBytes, events: batchEvents) { handOver() }
    }

    /// Hands over what was appended and waits until the queue's thread has replayed every event: the layer is
    /// then the producer's to read until the next event is appended.
    func synchronize() {
        handOver()
        let spare = shared.spareCount
        // Every batch handed over is replayed once all the spare ones are back: taken, then given back.
        for _ in 0..<spare { shared.slots.wait() }
        // Taken for its ordering only: the consumer gave the last batch back under this lock, after its events.
        shared.queues.withLock { _ in }
        for _ in 0..<spare { shared.slots.signal() }
    }

    /// Hands the current batch over (when it holds anything) and takes a spare one to fill next, waiting for
    /// one when every batch is handed over.
    private func handOver() {
        guard !current.events.isEmpty else { return }
        let full = current
        shared.slots.wait()
        current = shared.queues.withLock { queues in
            queues.ready.append(full)
            return queues.spare.removeLast()
        }
        shared.available.signal()
    }

    /// What the producer and the queue's thread share.
    private final class Shared: @unchecked Sendable {
        // Safety: `layer` is used by the consumer thread while it replays a batch, and by the producer only
        // after `synchronize()` (every batch back, the consumer waiting for the next one) and before its next
        // hand-over; `queues` is used under its mutex. The semaphores and the mutex order each hand-over
        // before its use.
        let layer: ApplicationLayer
        /// Batches handed over and not replayed yet, in order, and batches replayed and ready to be filled.
        let queues: PosixMutex<(ready: [ApplicationBatch], spare: [ApplicationBatch])>
        let spareCount: Int
        /// Signalled once per batch put in `ready`, and once more (with nothing added) to end.
        let available = DispatchSemaphore(value: 0)
        /// Counts the batches in `spare`. (Both start at 0 and are signalled up: a dispatch semaphore must not
        /// be released below its initial value.)
        let slots = DispatchSemaphore(value: 0)

        init(_ layer: ApplicationLayer, spare: [ApplicationBatch]) {
            self.layer = layer
            spareCount = spare.count
            queues = PosixMutex((ready: [], spare: spare))
            for _ in spare { slots.signal() }
        }

        /// The queue's thread: replays each batch in order; a wake-up with no batch ends it.
        func consume() {
            while true {
                available.wait()
                let batch: ApplicationBatch? = queues.withLock { $0.ready.isEmpty ? nil : $0.ready.removeFirst() }
                guard let batch else { break }
                batch.replay(into: layer)
                queues.withLock { $0.spare.append(batch) }
                slots.signal()
            }
        }
    }
}

/// One delegate call of the connection table that the application layer needs (`ApplicationQueue`).
struct ApplicationEvent {
    enum Kind: UInt8 {
        case bytes, gap, cutGap, acknowledgedAhead, farAcknowledgement, keepAlive, cutSeenLate, closed, leftOut
    }

    var kind: Kind
    var direction: Direction
    var connection: UInt64
    var time: Timestamp
    /// The bytes' offset in the batch's arena; a gap's or an acknowledgement's bytes; the record's index in
    /// the batch's records.
    var value: Int64
    /// The bytes' count.
    var length: Int
    var files: FileContext
}

/// A batch of events with the bytes delivered and the records closed that they refer to.
final class ApplicationBatch: @unchecked Sendable {
    // Safety: a batch has one owner at a time, handed over through `Shared.queues`' mutex and ordered by its
    // semaphores: the producer fills it, the queue's thread replays it, and neither touches it while the other
    // holds it.
    var events: [ApplicationEvent] = []
    var records: [ConnectionRecord] = []
    /// The delivered bytes, one after the other; grown only for a delivery larger than it.
    private var arena: UnsafeMutableRawPointer
    private var capacity: Int
    private var used = 0

    init(bytes: Int, events count: Int) {
        capacity = bytes
        arena = .allocate(byteCount: bytes, alignment: 16)
        events.reserveCapacity(count)
    }

    deinit { arena.deallocate() }

    /// Whether `count` more bytes fit in the arena (always true for an empty batch: the arena grows then).
    func fits(_ count: Int) -> Bool { events.isEmpty || used + count <= capacity }

    func isFull(bytes: Int, events limit: Int) -> Bool { used >= bytes || events.count >= limit }

    /// Copies `data` into the arena and returns its offset.
    func append(_ data: UnsafeRawBufferPointer) -> Int {
        if used + data.count > capacity {
            let larger = UnsafeMutableRawPointer.allocate(byteCount: used + data.count, alignment: 16)
            larger.copyMemory(from: arena, byteCount: used)
            arena.deallocate()
            arena = larger
            capacity = used + data.count
        }
        let offset = used
        if let base = data.baseAddress { (arena + offset).copyMemory(from: base, byteCount: data.count) }
        used += data.count
        return offset
    }

    /// Makes the layer's calls, in order, and empties the batch for its next use.
    func replay(into layer: ApplicationLayer) {
        let arena = self.arena
        for i in events.indices {
            let e = events[i]
            switch e.kind {
            case .bytes:
                let data = UnsafeRawBufferPointer(start: arena + Int(e.value), count: e.length)
                layer.received(data, direction: e.direction, connection: e.connection, time: e.time,
                               reading: e.files.reading)
            case .gap, .cutGap:
                layer.skipped(e.value, direction: e.direction, connection: e.connection, time: e.time,
                              cut: e.kind == .cutGap, reading: e.files.reading)
            case .acknowledgedAhead:
                layer.acknowledgedAhead(e.value, direction: e.direction, connection: e.connection,
                                        reading: e.files.reading)
            case .farAcknowledgement:
                layer.noticed(.farAcknowledgement(bytes: 0), connection: e.connection, files: e.files)
            case .keepAlive:
                layer.noticed(.keepAlive, connection: e.connection, files: e.files)
            case .cutSeenLate:
                layer.noticed(.cutSeenLate(bytes: e.value), connection: e.connection, files: e.files)
            case .closed:
                layer.closed(records[Int(e.value)], files: e.files)
            case .leftOut:
                layer.leftOut(e.connection)
            }
        }
        events.removeAll(keepingCapacity: true)
        records.removeAll(keepingCapacity: true)
        used = 0
    }
}
