#if canImport(Glibc)
import Glibc
#endif
import Core
import Heartbeat

/// What a simulation run wrote.
public struct SimulationResult: Sendable {
    /// Capture files written, in file order.
    public var paths: [String]
    /// Where the ground truth went; nil when the capture went to a device (`Simulator.truthPath(for:)`).
    public var truthPath: String?
    public var packets: Int
    /// File bytes written, headers included.
    public var bytes: Int64
    public var checkIns: Int
    public var faults: Int
}

/// Writes a synthetic capture of a fleet of SEP clients from a `FleetPlan`.
///
/// Every client is an actor with a time-ordered list of phases (a pull check-in, a push burst, a
/// keep-alive); a binary heap keyed by each actor's next packet time interleaves them, so the
/// output is in time order. A phase's packets are planned when it starts, into a pooled `Phase`
/// (only a few dozen are active at once), and written straight into the sink's buffer.
/// Cost per packet: one heap step (O(log clients)), one frame write with its checksums.
public struct Simulator {
    public let plan: FleetPlan

    public init(plan: FleetPlan) {
        self.plan = plan
    }

    /// Path of file `index` of `count` for the output path `path` (`x.pcap` -> `x-1.pcap`).
    public static func filePath(_ path: String, index: Int, count: Int) -> String {
        guard count > 1 else { return path }
        if let dot = path.lastIndex(of: "."), !path[dot...].contains("/") {
            return "\(path[..<dot])-\(index + 1)\(path[dot...])"
        }
        return "\(path)-\(index + 1)"
    }

    /// Where the ground truth of a capture written to `path` goes: `<path>.truth.json`, or nil when `path` is a
    /// character or block device (after following links), such as `/dev/null`: a device's folder is no place
    /// for a file of the run's own, and a capture thrown away needs no truth. A FIFO keeps its sibling (its
    /// reader may have made one to read the truth from, as the capture).
    public static func truthPath(for path: String) -> String? {
        var info = stat()
        if stat(path, &info) == 0, [S_IFCHR, S_IFBLK].contains(info.st_mode & S_IFMT) { return nil }
        return path + ".truth.json"
    }

    /// Writes the capture file(s) and `<path>.truth.json` (none for a device: `truthPath(for:)`). When writing
    /// fails, the regular files this run wrote are removed (a cut-short capture would read as a shorter fleet),
    /// and the error says so. Split files are named after `path`, so a device is refused for them.
    public func write(to path: String) throws(SimulationError) -> SimulationResult {
        if plan.configuration.files > 1, Self.truthPath(for: path) == nil {
            throw SimulationError("\(path) is a device: --split names its files after -o, so it needs a file name")
        }
        var sinks: [CaptureSink] = []
        do {
            return try write(to: path, sinks: &sinks)
        } catch {
            var removed = 0
            for s in sinks where s.discard() { removed += 1 }
            // The truth file removes itself when its own write fails; after that nothing can fail.
            var e = error
            if removed == 1 { e.message += " (the file written so far was removed)" }
            if removed > 1 { e.message += " (the \(removed) files written so far were removed)" }
            throw e
        }
    }

    /// Each file's write buffer: 8 MiB for one file (few, large writes), the files sharing 32 MiB when there are
    /// more (256 files would otherwise hold 2 GiB of buffers), and at least 256 KiB each.
    static func sinkBufferSize(files: Int) -> Int {
        max(256 << 10, min(8 << 20, (32 << 20) / max(1, files)))
    }

    private func write(to path: String, sinks: inout [CaptureSink]) throws(SimulationError) -> SimulationResult {
        let c = plan.configuration
        // Decided before the capture is opened, which makes a missing path a regular file.
        let truthPath = Self.truthPath(for: path)
        let buffer = Self.sinkBufferSize(files: c.files)
        for i in 0..<c.files {
            sinks.append(try CaptureSink(path: Self.filePath(path, index: i, count: c.files), format: c.format,
                                         bufferSize: buffer))
        }
        var actors = plan.clients.map { ClientActor(client: $0.index, seed: c.seed) }
        var heap = EventHeap()
        for (i, client) in plan.clients.enumerated() {
            if let first = client.checkIns.first { heap.push(first.time, i) }
        }
        let names = ManagerNames(plan: plan)
        var pool: [Phase] = []
        let end = c.start.nanoseconds + Int64((c.durationSeconds * 1e9).rounded())
        let keepAliveEvery: Int64 = 100_000_000_000

        while let (time, a) = heap.pop() {
            if let phase = actors[a].phase {
                let packet = phase.packets[phase.cursor]
                let ends = phase.ends[Int(packet.connection)]
                let sink = sinks[a % sinks.count]
                try writePacket(packet, ends: ends, phase: phase, sink: sink)
                phase.cursor += 1
                if phase.cursor < phase.packets.count {
                    heap.push(phase.packets[phase.cursor].time, a)
                    continue
                }
                actors[a].phase = nil
                pool.append(phase)
                if let next = nextEventTime(actors[a], after: packet.time, end: end, keepAliveEvery: keepAliveEvery) {
                    heap.push(next, a)
                }
                continue
            }
            // Start the actor's next phase.
            let phase = pool.popLast() ?? Phase()
            phase.reset()
            let me = plan.clients[a]
            let index = actors[a].nextEvent
            if me.push {
                if index < me.checkIns.count, me.checkIns[index].time <= time {
                    actors[a].pushBurst(me.checkIns[index], plan: plan, names: names, phase: phase)
                    actors[a].nextEvent += 1
                } else {
                    actors[a].pushKeepAlive(at: time, phase: phase)
                }
            } else if index < me.checkIns.count {
                actors[a].pullCheckIn(me.checkIns[index], plan: plan, names: names, phase: phase)
                actors[a].nextEvent += 1
            }
            guard let first = phase.packets.first else {
                pool.append(phase)
                continue
            }
            actors[a].phase = phase
            heap.push(first.time, a)
        }
        var packets = 0
        var bytes: Int64 = 0
        for s in sinks {
            try s.close()
            packets += s.packets
            bytes += s.bytesWritten
        }
        if let truthPath { try GroundTruth.write(plan, paths: sinks.map(\.path), to: truthPath) }
        return SimulationResult(
            paths: sinks.map(\.path), truthPath: truthPath, packets: packets, bytes: bytes,
            checkIns: plan.clients.reduce(0) { $0 + $1.checkIns.count },
            faults: plan.clients.reduce(0) { n, c in n + c.faults.count })
    }

    /// The next phase start of an actor whose phase just ended at `after`, or nil when it is done.
    private func nextEventTime(_ actor: ClientActor, after: Int64, end: Int64, keepAliveEvery: Int64) -> Int64? {
        let me = plan.clients[actor.client]
        let nextCheckIn = actor.nextEvent < me.checkIns.count ? me.checkIns[actor.nextEvent].time : nil
        guard me.push, actor.pushConnection != nil else {
            return nextCheckIn.map { max($0, after + 1) }
        }
        // Keep the push connection from looking idle: a keep-alive when the next burst is far off.
        let keepAlive = actor.lastActivity + keepAliveEvery
        if let n = nextCheckIn, keepAlive >= n - 20_000_000_000 { return max(n, after + 1) }
        return keepAlive < end ? max(keepAlive, after + 1) : nextCheckIn.map { max($0, after + 1) }
    }

    @inline(__always)
    private func writePacket(_ p: PlannedPacket, ends: ConnectionEnds, phase: Phase, sink: CaptureSink)
        throws(SimulationError)
    {
        let length = Int(p.payloadLength)
        let offset = Int(p.payloadOffset)
        if length == 0 {
            try sink.append(time: p.time) { TCPFrame.write(p, ends: ends, payload: nil, to: $0) }
            return
        }
        var failure: SimulationError?
        let stream = p.fromClient ? phase.up : phase.down
        stream.withUnsafeBytes { raw in
            precondition(offset >= 0 && raw.count - offset >= length, "planned payload outside its stream")
            let payload = raw.baseAddress.map { UnsafeRawPointer($0 + offset) }
            do throws(SimulationError) {
                try sink.append(time: p.time) { TCPFrame.write(p, ends: ends, payload: payload, to: $0) }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }
}

/// Actors by their next packet time, ties broken by actor index, so output order is fixed.
struct EventHeap {
    private var heap = KeyedMinHeap<Void>()

    mutating func push(_ time: Int64, _ actor: Int) { heap.push(time, tie: actor, ()) }

    mutating func pop() -> (Int64, Int)? { heap.pop().map { ($0.key, $0.tie) } }
}
