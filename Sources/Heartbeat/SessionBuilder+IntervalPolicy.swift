import Core

extension SessionBuilder {
    /// The fleet's `interval-change` finding (no client): many clients changing their own interval
    /// (`ClientSummary.intervalChange`) near the same time is an administrator's change of the heartbeat policy,
    /// said once for the fleet. Each client takes the new interval at its next check-in, so their changes fall
    /// within one old interval of each other: the finding needs at least two clients (pull or push) and half of
    /// the clients with a regular interval changing to one new interval (within its tolerance) within the longest
    /// old interval (and its tolerance) of the first of them. Cost: O(n log n + n w) in clients, w the changes
    /// within one window.
    func policyChangeFindings(_ clients: [ClientSummary]) -> [Finding] {
        let judged = clients.count { $0.intervalSeconds != nil }
        // Pull and push clients alike: a policy sets both.
        let changes = clients.compactMap(\.intervalChange).sorted { $0.at < $1.at }
        guard changes.count >= 2, changes.count * 2 >= judged else { return [] }
        // The largest group of changes to one new interval (a policy sets one, for pull and push clients alike)
        // within the longest old interval (and its tolerance) of the first of them: clients going to different
        // intervals at once follow no one policy, and the medians of both would read as a change 'from 300 s to
        // 300 s'. The longest, as a push client on 300 s takes the policy up to 300 s after a pull client on 60 s.
        let longest = changes.map(\.fromSeconds).max() ?? 0
        let window = Nanos.from(seconds: longest + model.intervalRules(forSeconds: longest).toleranceSeconds)
        var group: [IntervalChange] = []
        for i in changes.indices {
            let to = changes[i].toSeconds
            let near = model.intervalRules(forSeconds: to).toleranceSeconds
            var members: [IntervalChange] = []
            var j = i
            while j < changes.count, changes[j].at.nanoseconds(since: changes[i].at) <= window {
                if abs(changes[j].toSeconds - to) <= near { members.append(changes[j]) }
                j += 1
            }
            if members.count > group.count { group = members }
        }
        guard group.count >= 2, group.count * 2 >= judged, let first = group.first, let last = group.last else {
            return []
        }
        func median(_ v: [Double]) -> Double { Median.of(sorted: v.sorted()) }
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
