import Core

/// Several sources merged into one stream in timestamp order.
///
/// A k-way merge: each source's current record waits as a head; `next()` returns
/// the earliest head, and only then (on the following call) advances that one
/// source. Ties go to the source given first, and a source whose clock runs
/// backwards keeps its own order (its heads are taken one at a time). So every
/// returned record's bytes stay valid until the next call of `next()` here,
/// because no other source is advanced in between.
///
/// A `DeferredFileSource` that has not been opened yet takes part through the time of its first
/// record: it is opened (its first `next()`) only when no head left to return is later than that
/// time, or as late and from a later source. Its records are never earlier than that time (unless
/// its own clock runs backwards), so the order is the one of all files open from the start, while
/// files that follow each other in time are open one after the other.
///
/// Cost: O(a) per record for a sources being read (a linear scan over those with a head, fine for
/// the handful of files that overlap in time), plus O(k log k) once to order the deferred ones.
public final class MergedSource: PacketSource {
    private let sources: [PacketSource]
    private var heads: [PacketRecord?]
    private var started = false
    /// Sources with a head, by position (ties go to the lower one).
    private var active: [Int] = []
    /// Deferred sources not opened yet, by (first record's time, position), earliest last.
    private var waiting: [(time: Timestamp, index: Int)] = []
    /// The source whose head was returned last and must be advanced first.
    private var lastTaken: Int?

    public init(_ sources: [PacketSource]) {
        self.sources = sources
        heads = Array(repeating: nil, count: sources.count)
    }

    public var statistics: [CaptureStatistics] {
        sources.flatMap { $0.statistics }
    }

    /// Every source that may wait (a followed input) calls `handler` while it does.
    public func setWaitHandler(_ handler: (() -> Void)?) {
        for source in sources { source.setWaitHandler(handler) }
    }

    /// Sets the filter on every source; the first bad expression throws.
    public func setFilter(_ expression: String) throws(CaptureError) {
        for source in sources { try source.setFilter(expression) }
    }

    public func next() throws(CaptureError) -> PacketRecord? {
        if !started {
            started = true
            for i in sources.indices {
                if let deferred = sources[i] as? DeferredFileSource, deferred.isWaiting,
                   let time = deferred.firstTimestamp
                {
                    waiting.append((time, i))
                } else {
                    try advance(i)
                }
            }
            waiting.sort { ($0.time, $0.index) > ($1.time, $1.index) }
        } else if let i = lastTaken {
            try advance(i)
        }
        while true {
            var best: Int?
            for i in active {
                guard let head = heads[i] else { continue }
                if let b = best, let current = heads[b], !(head.timestamp < current.timestamp) { continue }
                best = i
            }
            // A deferred file whose first record could come first is opened, and the heads compared again.
            if let (time, i) = waiting.last {
                let comesFirst: Bool
                if let b = best, let current = heads[b] {
                    comesFirst = time < current.timestamp || (time == current.timestamp && i < b)
                } else {
                    comesFirst = true
                }
                if comesFirst {
                    waiting.removeLast()
                    try advance(i)
                    continue
                }
            }
            lastTaken = best
            guard let best else { return nil }
            return heads[best]
        }
    }

    private func advance(_ i: Int) throws(CaptureError) {
        let wasActive = heads[i] != nil
        heads[i] = try sources[i].next()
        if heads[i] == nil {
            if wasActive { active.removeAll { $0 == i } }
        } else if !wasActive {
            let at = active.firstIndex { $0 > i } ?? active.count
            active.insert(i, at: at)
        }
    }
}
