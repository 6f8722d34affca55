/// The one median the reports give: the middle value of a sorted list, or halfway between the middle two for an even
/// count (`FleetAudit.quantile` at 0.5, interpolated between ranks as every quantile of the reports). The levels gaps
/// are judged against (`IntervalAudit.mismatches`, `IntervalLevels`), the interval statistics (`FleetAudit.Spread`,
/// `IntervalStats`) and the messages all take it from here, so a client's median reads the same in its column, its
/// findings and its reasons.
enum Median {
    /// The median of sorted nanoseconds, halfway rounded down to the nanosecond; 0 when there are none.
    static func of<C: RandomAccessCollection>(sorted s: C) -> Int64 where C.Element == Int64 {
        guard !s.isEmpty else { return 0 }
        let lower = s[s.index(s.startIndex, offsetBy: (s.count - 1) / 2)]
        let upper = s[s.index(s.startIndex, offsetBy: s.count / 2)]
        // Each half added (and the half both odd values leave), so no sum overflows near the ends of the range.
        return (lower >> 1) + (upper >> 1) + (lower & upper & 1)
    }

    /// The median of sorted values; 0 when there are none.
    static func of(sorted s: [Double]) -> Double { FleetAudit.quantile(s, 0.5) }
}
