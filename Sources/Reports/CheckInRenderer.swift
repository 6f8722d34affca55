import Core
import Dispatch
import Heartbeat
import Synchronization

/// Renders a report's check-ins as JSON in blocks on a worker thread, ahead of the thread that hands
/// them on (`render(_:blockBytes:mostPerBlock:threads:slots:first:each:)`), so rendering and writing overlap;
/// the calling thread renders too whenever the next block is not ready.
///
/// Owns a ring of `slots` blocks, each about `blockBytes` of JSON and where its check-ins end; a block
/// is rendered into a free slot and the slot is free again once `each` has returned. Memory: the ring
/// (about `slots × blockBytes`, capacities kept from block to block). Costs: the worker threads are
/// started once per report; one lock per block to claim it, one semaphore signal per block each way.
/// Check-ins are read in place through `sessions`, which must outlive `render` (it does: `render`
/// waits for its threads before returning or throwing).
final class CheckInRenderer: @unchecked Sendable {
    // Safety: a slot is written only by the thread that claimed its block, between the claim and the
    // slot's `ready` signal, and read only by the calling thread between that signal and `free`'s; the
    // cursor is behind a lock; `sessions` is read only.

    /// One block of rendered check-ins: their JSON (each check-in preceded by its `,` and line break),
    /// where each check-in's bytes end, the sessions it covers, and the error that cut it short (a
    /// confidence that is not a finite number); on an error `ends` lists the check-ins before it only.
    struct Block {
        var bytes: [UInt8] = []
        var ends: [Int] = []
        var sessions: Range<Int> = 0..<0
        var error: (any Error)?
    }

    private struct Claim {
        var block: Int
        var sessions: Range<Int>
    }

    /// Which block is claimed next, from which check-in, and how large blocks have been so far.
    private struct Cursor {
        var block = 0
        var next = 0
        var renderedBytes = 0
        var rendered = 0
    }

    private let sessions: UnsafeBufferPointer<SessionReport>
    private let base: UnsafePointer<SessionReport>
    private let slots: UnsafeMutableBufferPointer<Block>
    private let ready: [DispatchSemaphore]
    private let free = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private let stop = Atomic<Bool>(false)
    private let cursor = Mutex(Cursor())
    private let blockBytes: Int
    private let mostPerBlock: Int

    private init(_ sessions: UnsafeBufferPointer<SessionReport>, base: UnsafePointer<SessionReport>,
                 blockBytes: Int, mostPerBlock: Int, slots: Int) {
        self.sessions = sessions
        self.base = base
        self.blockBytes = max(1, blockBytes)
        self.mostPerBlock = max(1, mostPerBlock)
        self.slots = .allocate(capacity: max(1, slots))
        self.slots.initialize(repeating: Block())
        self.ready = (0..<self.slots.count).map { _ in DispatchSemaphore(value: 0) }
        // Counted up from zero: a semaphore must not be freed below the value it was made with.
        for _ in self.slots.indices { free.signal() }
    }

    deinit {
        slots.deinitialize()
        slots.deallocate()
    }

    /// Renders `sessions` (`level` 2 of the report, each after its `,` unless the first of all) in
    /// blocks of about `blockBytes` bytes and at most `mostPerBlock` check-ins, on `threads` threads
    /// (the calling one included), and hands each block to `each` in order, on the calling thread, after
    /// calling `first` there (while the other threads render the first blocks).
    /// Throws the error of the first block that has one, after handing that block over; errors of
    /// `each` pass through. Blocks are sized by the check-ins rendered so far (the first ones hold one).
    static func render(
        _ sessions: UnsafeBufferPointer<SessionReport>, blockBytes: Int, mostPerBlock: Int = 64,
        threads: Int = 2, slots: Int = 16, first: () throws -> Void = {}, each: (Block) throws -> Void
    ) throws {
        guard let base = sessions.baseAddress, !sessions.isEmpty else { return try first() }
        let renderer = CheckInRenderer(sessions, base: base, blockBytes: blockBytes, mostPerBlock: mostPerBlock,
                                       slots: slots)
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
            let last = renderer.slots[k].sessions.upperBound == sessions.count
            let error = renderer.slots[k].error
            renderer.free.signal()
            if let error { throw error }
            if last { return }
            next += 1
        }
    }

    /// A worker's loop: claims and renders blocks while a slot is free and check-ins are left.
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
        while mine.wait(timeout: .now()) == .timedOut {
            guard free.wait(timeout: .now()) == .success else {
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

    /// The next block's number and check-ins, or nil when every check-in is claimed.
    private func claim() -> Claim? {
        cursor.withLock { c in
            guard c.next < sessions.count else { return nil }
            let average = c.rendered == 0 ? 0 : max(1, c.renderedBytes / c.rendered)
            let size = average == 0 ? 1 : max(1, min(mostPerBlock, blockBytes / average))
            let range = c.next..<min(sessions.count, c.next + size)
            defer {
                c.block += 1
                c.next = range.upperBound
            }
            return Claim(block: c.block, sessions: range)
        }
    }

    /// Renders `claim`'s check-ins into its slot, reusing the slot's buffers, and signals it ready.
    private func render(_ claim: Claim) {
        let k = claim.block % slots.count
        var block = Block()
        swap(&block, &slots[k])
        block.bytes.removeAll(keepingCapacity: true)
        block.ends.removeAll(keepingCapacity: true)
        block.sessions = claim.sessions
        block.error = nil
        var times = TimeText()
        do {
            for n in claim.sessions {
                if n > 0 { block.bytes.append(UInt8(ascii: ",")) }
                JSONText.appendNewline(level: 2, to: &block.bytes)
                try ReportJSON.append(at: base + n, level: 2, to: &block.bytes, times: &times)
                block.ends.append(block.bytes.count)
            }
        } catch {
            block.error = error
        }
        let bytes = block.bytes.count
        let count = claim.sessions.count
        swap(&block, &slots[k])
        cursor.withLock { c in
            c.renderedBytes += bytes
            c.rendered += count
        }
        ready[k].signal()
    }
}
