import Core

extension SessionBuilder {
    /// The fleet's `interval-change` findings (no client), one per policy change: many clients changing their own
    /// interval (`ClientSummary.intervalChanges`) near the same time is an administrator's change of the heartbeat
    /// policy, said once for the fleet. Each client takes the new interval at its next check-in, so their changes
    /// fall within one old interval of each other: a finding needs at least two clients (pull or push) and half of
    /// the clients with a regular interval changing to one new interval (within its tolerance) within the longest
    /// old interval (and its tolerance) of the first of them. A policy tried and reverted gives two: the largest
    /// such group is said first, then the largest among the changes left, and so on. Cost: O(g (n log n + n w)) in
    /// changes, w the changes within one window, g the findings.
    func policyChangeFindings(_ clients: [ClientSummary]) -> [Finding] {
        let judged = clients.count { $0.intervalSeconds != nil }
        // Pull and push clients alike: a policy sets both.
        var left = clients.flatMap(\.intervalChanges).sorted { $0.at < $1.at }
        guard left.count >= 2, left.count * 2 >= judged else { return [] }
        var out: [Finding] = []
        while let group = policyGroup(left), group.count >= 2, group.count * 2 >= judged {
            out.append(policyChangeFinding(group.map { left[$0] }, judged: judged))
            left = left.indices.filter { !group.contains($0) }.map { left[$0] }
        }
        return out
    }

    /// The positions in `changes` (in time order) of the largest group of changes to one new interval (a policy
    /// sets one, for pull and push clients alike) within the longest old interval (and its tolerance) of the first
    /// of them: clients going to different intervals at once follow no one policy, and the medians of both would
    /// read as a change 'from 300 s to 300 s'. The longest, as a push client on 300 s takes the policy up to 300 s
    /// after a pull client on 60 s. Nil when there are no changes.
    private func policyGroup(_ changes: [IntervalChange]) -> [Int]? {
        guard !changes.isEmpty else { return nil }
        let longest = changes.map(\.fromSeconds).max() ?? 0
        let window = Nanos.from(seconds: longest + model.intervalRules(forSeconds: longest).toleranceSeconds)
        var group: [Int] = []
        for i in changes.indices {
            let to = changes[i].toSeconds
            let near = model.intervalRules(forSeconds: to).toleranceSeconds
            var members: [Int] = []
            var j = i
            while j < changes.count, changes[j].at.nanoseconds(since: changes[i].at) <= window {
                if abs(changes[j].toSeconds - to) <= near { members.append(j) }
                j += 1
            }
            if members.count > group.count { group = members }
        }
        return group
    }

    /// The finding of one policy change: its clients' changes (`group`, in time order, not empty) among `judged`
    /// clients.
    private func policyChangeFinding(_ group: [IntervalChange], judged: Int) -> Finding {
        func median(_ v: [Double]) -> Double { Median.of(sorted: v.sorted()) }
        let from = formatSeconds(median(group.map(\.fromSeconds)))
        let to = formatSeconds(median(group.map(\.toSeconds)))
        let first = group[0].at
        let last = group[group.count - 1].at
        return Finding(
            code: .intervalChange, severity: model.severity(of: .intervalChange),
            message: "\(group.count) of \(counted(judged, "client")) with a regular interval changed their interval "
                + "from \(from) s to \(to) s (medians) between \(first.rfc3339(fractionDigits: 3)) and "
                + "\(last.rfc3339(fractionDigits: 3)): a policy change; each client's gaps are judged against "
                + "its own interval on each side",
            client: nil, time: first)
    }
}
