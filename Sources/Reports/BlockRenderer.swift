import Core
import Dispatch
import Heartbeat
import Synchronization

/// Renders numbered items (a report's check-ins, its clients' tables) in blocks on worker threads,
/// ahead of the thread that hands them on (`render(count:blockBytes:mostPerBlock:threads:slots:first:items:each:)`),
/// so rendering and writing overlap; the calling thread renders too whenever the next block is not ready.
///
/// Owns a ring of `slots` blocks, each about `blockBytes` of text and where its items end; a block
/// is rendered into a free slot and the slot is free again once `each` has returned. Memory: the ring
/// (about `slots × blockBytes`, capacities kept from block to block). Costs: the worker threads are
/// started once per call; one lock per block to claim it, one semaphore signal per block each way. The
/// calling thread's tests of whether a block is ready or a slot free stay in user space (`CountingSemaphore`):
/// a timed dispatch semaphore wait there slept in the kernel (hundreds of times for a 115 MB report)
/// when it could have rendered a block.
/// What the items read must outlive `render` (it does whenever they are the caller's: `render` waits
/// for its threads before returning or throwing), and must not change while it runs.
final class BlockRenderer: @unchecked Sendable {
    // Safety: a slot is written only by the thread that claimed its block, between the claim and the
    // slot's `ready` signal, and read only by the calling thread between that signal and `free`'s; the
    // cursor is behind a lock; `renderItems` reads only what does not change while `render` runs.

    /// One block of rendered items: their bytes, where each item's bytes end, the items it covers, and
    /// the error that cut it short; on an error `ends` lists the items before it only.
    struct Block {
        var bytes: [UInt8] = []
        var ends: [Int] = []
        var items: Range<Int> = 0..<0
        var error: (any Error)?
    }

    /// Renders `items` in order, appending each one's bytes to `bytes` and, after each, its end to
    /// `ends`; throws to cut the block short. Called on several threads at once, for different items.
    typealias RenderItems = @Sendable (_ items: Range<Int>, _ bytes: inout [UInt8], _ ends: inout [Int]) throws -> Void

    private struct Claim {
        var block: Int
        var items: Range<Int>
    }

    /// Which block is claimed next, from which item, and how large blocks have been so far.
    private struct Cursor {
        var block = 0
        var next = 0
        var renderedBytes = 0
        var rendered = 0
    }

    private let count: Int
    private let renderItems: RenderItems
    private let slots: UnsafeMutableBufferPointer<Block>
    private let ready: [CountingSemaphore]
    private let free: CountingSemaphore
    private let done = DispatchSemaphore(value: 0)
    private let stop = Atomic<Bool>(false)
    private let cursor = PosixMutex(Cursor())
    private let blockBytes: Int
    private let mostPerBlock: Int

    private init(count: Int, renderItems: @escaping RenderItems, blockBytes: Int, mostPerBlock: Int, slots: Int) {
        self.count = count
        self.renderItems = renderItems
        self.blockBytes = max(1, blockBytes)
        self.mostPerBlock = max(1, mostPerBlock)
        self.slots = .allocate(capacity: max(1, slots))
        self.slots.initialize(repeating: Block())
        self.ready = (0..<self.slots.count).map { _ in CountingSemaphore() }
        self.free = CountingSemaphore(value: self.slots.count)
    }

    deinit {
        slots.deinitialize()
        slots.deallocate()
    }

    /// Renders items `0..<count` with `items` in blocks of about `blockBytes` bytes and at most
    /// `mostPerBlock` items, on `threads` threads (the calling one included), and hands each block to
    /// `each` in order, on the calling thread, after calling `first` there (while the other threads render
    /// the first blocks). Throws the error of the first block that has one, after handing that block
    /// over; errors of `each` pass through. Blocks are sized by the items rendered so far (the first
    /// ones hold one).
    static func render(
        count: Int, blockBytes: Int, mostPerBlock: Int = 64, threads: Int = 2, slots: Int = 16,
        first: () throws -> Void = {}, items: @escaping RenderItems, each: (Block) throws -> Void
    ) throws {
        guard count > 0 else { return try first() }
        let renderer = BlockRenderer(count: count, renderItems: items, blockBytes: blockBytes,
                                     mostPerBlock: mostPerBlock, slots: slots)
        var started = 0
        for _ in 0..<max(0, threads - 1) {
            let running = DetachedThread.start {
                renderer.work()
                renderer.done.signal()
            }
            if running { started += 1 }
        }
        defer {
            // Workers waiting for a slot wake, see `stop`, and pass the wake-up on as they leave.
            renderer.stop.store(true, ordering: .releasing)
            for _ in 0..<started { renderer.free.signal() }
            for _ in 0..<started { renderer.done.wait() }
        }
        try first()
        var next = 0
        while true {
            let k = next % renderer.slots.count
            renderer.waitFor(next)
            try each(renderer.slots[k])
            let last = renderer.slots[k].items.upperBound == count
            let error = renderer.slots[k].error
            renderer.free.signal()
            if let error { throw error }
            if last { return }
            next += 1
        }
    }

    /// A worker's loop: claims and renders blocks while a slot is free and items are left.
    private func work() {
        while true {
            free.wait()
            guard !stop.load(ordering: .acquiring), let claim = claim() else {
                free.signal()
                return
            }
            render(claim)
        }
    }

    /// Waits until block `n` is rendered, rendering blocks itself while a slot is free.
    private func waitFor(_ n: Int) {
        let mine = ready[n % slots.count]
        while !mine.tryWait() {
            guard free.tryWait() else {
                mine.wait()
                return
            }
            guard let claim = claim() else {
                free.signal()
                mine.wait()
                return
            }
            render(claim)
        }
    }

    /// The next block's number and items, or nil when every item is claimed.
    private func claim() -> Claim? {
        cursor.withLock { c in
            guard c.next < count else { return nil }
            let average = c.rendered == 0 ? 0 : max(1, c.renderedBytes / c.rendered)
            let size = average == 0 ? 1 : max(1, min(mostPerBlock, blockBytes / average))
            let range = c.next..<min(count, c.next + size)
            defer {
                c.block += 1
                c.next = range.upperBound
            }
            return Claim(block: c.block, items: range)
        }
    }

    /// Renders `claim`'s items into its slot, reusing the slot's buffers, and signals it ready.
    private func render(_ claim: Claim) {
        let k = claim.block % slots.count
        var block = Block()
        swap(&block, &slots[k])
        block.bytes.removeAll(keepingCapacity: true)
        block.ends.removeAll(keepingCapacity: true)
        block.items = claim.items
        block.error = nil
        do {
            try renderItems(claim.items, &block.bytes, &block.ends)
        } catch {
            block.error = error
        }
        let bytes = block.bytes.count
        let count = claim.items.count
        swap(&block, &slots[k])
        cursor.withLock { c in
            c.renderedBytes += bytes
            c.rendered += count
        }
        ready[k].signal()
    }
}

/// A report's check-ins as JSON array elements (`level` 2, each after its `,` unless the first of all,
/// and a line break), rendered in blocks by `BlockRenderer`.
enum CheckInRenderer {
    /// `BlockRenderer.render` over `sessions`: each block's bytes are the `ReportJSON` text of its check-ins;
    /// a confidence that is not a finite number cuts a block short with an error.
    static func render(
        _ sessions: UnsafeBufferPointer<SessionReport>, blockBytes: Int, mostPerBlock: Int = 64,
        threads: Int = 2, slots: Int = 16, first: () throws -> Void = {}, each: (BlockRenderer.Block) throws -> Void
    ) throws {
        guard let base = sessions.baseAddress, !sessions.isEmpty else { return try first() }
        let shared = SharedPointer(base)
        try BlockRenderer.render(
            count: sessions.count, blockBytes: blockBytes, mostPerBlock: mostPerBlock, threads: threads, slots: slots,
            first: first,
            items: { range, bytes, ends in
                // Written into a `ByteBuffer` (cheaper appends than the block's array), then copied over
                // at once, also when a check-in cut the block short.
                var text = ByteBuffer(capacity: blockBytes + blockBytes / 4)
                defer { text.withBytes { bytes.append(contentsOf: $0) } }
                var times = TimeText()
                for n in range {
                    if n > 0 { text.append(UInt8(ascii: ",")) }
                    JSONText.appendNewline(level: 2, to: &text)
                    try ReportJSON.append(at: shared.pointer + n, level: 2, to: &text, times: &times)
                    ends.append(bytes.count + text.count)
                }
            },
            each: each)
    }
}

/// A pointer handed to rendering threads; sound while what it points to outlives them and does not change
/// (`BlockRenderer.render` waits for its threads before returning).
struct SharedPointer<T>: @unchecked Sendable {
    let pointer: UnsafePointer<T>

    init(_ pointer: UnsafePointer<T>) { self.pointer = pointer }
}
