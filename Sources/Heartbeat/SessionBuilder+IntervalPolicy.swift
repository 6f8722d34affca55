import Core

extension SessionBuilder {
    /// The fleet's `interval-change` finding (no client): many clients changing their own interval
    /// (`ClientSummary.intervalChange`) near the same time is an administrator's change of the heartbeat policy,
    /// said once for the fleet. Each client takes the new interval at its next check-in, so their changes fall
    /// within one old interval of each other: the finding needs at least two clients (pull or push) and half of
    /// the clients with a regular interval changing one way (all to a longer interval, or all to a shorter one)
    /// within the longest old interval (and its tolerance) of the first of them. Cost: O(n log n) in clients.
    func policyChangeFindings(_ clients: [ClientSummary]) -> [Finding] {
        let judged = clients.count { $0.intervalSeconds != nil }
        // Pull and push clients alike: a policy sets both.
        let changes = clients.compactMap(\.intervalChange).sorted { $0.at < $1.at }
        guard changes.count >= 2, changes.count * 2 >= judged else { return [] }
        // The largest group of changes one way (all longer, or all shorter) within one old interval (and its
        // tolerance) of the first of them: clients going both ways at once follow no one policy, and the medians
        // of both ways read as a change 'from 300 s to 300 s'.
        var group: ArraySlice<IntervalChange> = []
        for longer in [true, false] {
            let way = changes.filter { ($0.toSeconds > $0.fromSeconds) == longer }
            for i in way.indices {
                let old = way[i].fromSeconds
                let window = Nanos.from(seconds: old + model.intervalRules(forSeconds: old).toleranceSeconds)
                var j = i
                while j < way.count, way[j].at.nanoseconds(since: way[i].at) <= window { j += 1 }
                if j - i > group.count { group = way[i..<j] }
            }
        }
        guard group.count >= 2, group.count * 2 >= judged, let first = group.first, let last = group.last else {
            return []
        }
        func median(_ v: [Double]) -> Double { v.sorted()[(v.count - 1) / 2] }
        let from = formatSeconds(median(group.map(\.fromSeconds)))
        let to = formatSeconds(median(group.map(\.toSeconds)))
        return [Finding(
            code: .intervalChange, severity: model.severity(of: .intervalChange),
            message: "\(group.count) of \(counted(judged, "client")) with a regular interval changed their interval "
                + "from \(from) s to \(to) s (medians) between \(first.at.rfc3339(fractionDigits: 3)) and "
                + "\(last.at.rfc3339(fractionDigits: 3)): a policy change; each client's gaps are judged against "
                + "its own interval on each side",
            client: nil, time: first.at)]
    }
}
