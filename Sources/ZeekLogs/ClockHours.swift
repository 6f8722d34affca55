import Core
import Records

/// The hours the records start in, to set apart the few dated far from the rest (a row a decade away), which
/// would otherwise make their clients miss millions of check-ins: what `CaptureSummary.offClock` does for
/// packets stamped off a capture's clock.
struct ClockHours {
    private struct Hour {
        var records = 0
        var first: Timestamp
        var last: Timestamp
    }

    /// Hours kept at most (24 bytes and a key each); a log spread over more sets nothing apart.
    static let maxHours = 100_000
    /// Records more than this many hours from any other start a group of their own.
    static let apartHours: Int64 = 24
    private static let hour: Int64 = 3_600_000_000_000

    private var hours: [Int64: Hour] = [:]
    private var overflowed = false

    mutating func note(start: Timestamp, end: Timestamp) {
        guard !overflowed else { return }
        let key = start.nanoseconds / Self.hour
        if var h = hours[key] {
            h.records += 1
            h.first = min(h.first, start)
            h.last = max(h.last, end)
            hours[key] = h
        } else if hours.count < Self.maxHours {
            hours[key] = Hour(records: 1, first: start, last: end)
        } else {
            overflowed = true
            hours = [:]
        }
    }

    /// The span of the largest group of hours (the logs' clock), and a stretch per other group holding fewer
    /// than a quarter of its records.
    func apart() -> (first: Timestamp?, last: Timestamp?, offClock: [OffClockStretch]) {
        var groups: [Hour] = []
        var previous: Int64?
        for key in hours.keys.sorted() {
            guard let h = hours[key] else { continue }
            if let previous, key - previous <= Self.apartHours, var g = groups.popLast() {
                g.records += h.records
                g.first = min(g.first, h.first)
                g.last = max(g.last, h.last)
                groups.append(g)
            } else {
                groups.append(h)
            }
            previous = key
        }
        guard let main = groups.indices.max(by: { groups[$0].records < groups[$1].records }) else {
            return (nil, nil, [])
        }
        let isOff = groups.indices.map { $0 != main && groups[$0].records * 4 < groups[main].records }
        let kept = groups.indices.filter { !isOff[$0] }
        let off = groups.indices.filter { isOff[$0] }.map {
            OffClockStretch(start: groups[$0].first, end: groups[$0].last)
        }
        return (kept.map { groups[$0].first }.min(), kept.map { groups[$0].last }.max(), off)
    }
}
