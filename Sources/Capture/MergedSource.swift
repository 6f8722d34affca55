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
/// Cost: O(k) per record for k sources (a linear scan, fine for the handful of
/// files a run names).
public final class MergedSource: PacketSource {
    private let sources: [PacketSource]
    private var heads: [PacketRecord?]
    private var started = false
    private var exhausted: [Bool]
    /// The source whose head was returned last and must be advanced first.
    private var lastTaken: Int?

    public init(_ sources: [PacketSource]) {
        self.sources = sources
        heads = Array(repeating: nil, count: sources.count)
        exhausted = Array(repeating: false, count: sources.count)
    }

    public var statistics: [CaptureStatistics] {
        sources.flatMap { $0.statistics }
    }

    /// Sets the filter on every source; the first bad expression throws.
    public func setFilter(_ expression: String) throws(CaptureError) {
        for source in sources { try source.setFilter(expression) }
    }

    public func next() throws(CaptureError) -> PacketRecord? {
        if !started {
            started = true
            for i in sources.indices { try advance(i) }
        } else if let i = lastTaken {
            try advance(i)
        }
        var best: Int?
        for i in heads.indices {
            guard let head = heads[i] else { continue }
            if let b = best, let current = heads[b], !(head.timestamp < current.timestamp) { continue }
            best = i
        }
        lastTaken = best
        guard let best else { return nil }
        return heads[best]
    }

    private func advance(_ i: Int) throws(CaptureError) {
        guard !exhausted[i] else { return }
        heads[i] = try sources[i].next()
        if heads[i] == nil { exhausted[i] = true }
    }
}
