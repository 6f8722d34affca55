import Core
import Foundation
import Heartbeat
import Testing
@testable import Simulation

/// `--interval-change` given more than once: an administrator trying a shorter heartbeat, then reverting the policy.
/// Each client takes each change in turn, the truth lists them all, and changes out of order or too close to be
/// taken one after the other are refused.
@Suite struct RepeatedIntervalChangeTests {
    /// 300 s, 60 s from 1 h, back to 300 s from 2 h.
    private static func reverted(seed: UInt64 = 5) -> SimulationConfiguration {
        var c = fleet(clients: 8, hours: 5, seed: seed, allFaults: false)
        c.pushShare = 0.4
        c.intervalChanges = [SimulatedIntervalChange(atSeconds: 3_600, seconds: 60),
                             SimulatedIntervalChange(atSeconds: 7_200, seconds: 300)]
        return c
    }

    /// Each client takes both changes, at its first check-in past each, and every gap runs the interval in effect at
    /// the check-in it starts from (within the jitter).
    @Test func eachClientTakesEachChangeInTurn() throws {
        let c = Self.reverted()
        let plan = try FleetPlan.make(c, model: .builtIn)
        let start = c.start.nanoseconds
        let second: Int64 = 1_000_000_000
        #expect(plan.clients.contains { $0.push } && plan.clients.contains { !$0.push })
        for client in plan.clients {
            #expect(client.intervalChanges.map(\.seconds) == [60, 300], "\(client.index)")
            for (change, spec) in zip(client.intervalChanges, c.intervalChanges) {
                let at = start + Int64(spec.atSeconds) * second
                #expect(change.time >= at && change.time < at + 310 * second, "\(client.index)")
                #expect(client.checkIns.contains { $0.time == change.time })
            }
            let base = client.push ? plan.pushInterval : plan.interval
            for (earlier, later) in zip(client.checkIns, client.checkIns.dropFirst()) {
                let level = client.intervalChanges.last { $0.time <= earlier.time }?.seconds ?? base
                let gap = Double(later.time - earlier.time) / 1e9
                #expect(abs(gap - level) <= plan.jitter, "\(client.index): \(gap) s at \(level) s")
            }
        }
    }

    /// The truth gives every change of the run and of each client; a run with one change writes neither list, so
    /// its file is the one written before changes could be repeated.
    @Test func truthListsEveryChange() throws {
        let dir = try TemporaryFolder()
        let plan = try FleetPlan.make(Self.reverted(), model: .builtIn)
        let result = try Simulator(plan: plan).write(to: dir.file("reverted.pcap"))
        let truth = try GroundTruth.load(path: try #require(result.truthPath))
        #expect(truth.intervalChange?.atSeconds == 3_600)
        #expect(truth.intervalChanges?.map(\.atSeconds) == [3_600, 7_200])
        #expect(truth.intervalChanges?.map(\.seconds) == [60, 300])
        for (client, planned) in zip(truth.clients, plan.clients) {
            let listed = try #require(client.intervalChanges)
            #expect(listed.map(\.ns) == planned.intervalChanges.map(\.time))
            #expect(listed.map(\.seconds) == [60, 300])
            #expect(listed.map(\.at) == listed.map { Timestamp(nanoseconds: $0.ns).rfc3339(fractionDigits: 9) })
            #expect(client.intervalChangedAtNs == listed.first?.ns)
        }

        var one = Self.reverted()
        one.intervalChanges.removeLast()
        let single = try Simulator(plan: try FleetPlan.make(one, model: .builtIn)).write(to: dir.file("one.pcap"))
        let text = try String(contentsOfFile: try #require(single.truthPath), encoding: .utf8)
        #expect(text.contains("\"intervalChangedAt\"") && !text.contains("\"intervalChanges\""))
    }

    /// Changes not in time order, or one coming before every client could take the one before (up to the longest
    /// interval running then, plus the jitter, after its time), are refused; one just past that is taken.
    @Test(arguments: [(7_200.0, 3_600.0, false), (3_600, 3_600, false), (3_600, 3_910, false),
                      (3_600, 3_911, true), (3_600, 4_000, true)])
    func changesOutOfOrderOrOverlappingAreRefused(first: Double, second: Double, accepted: Bool) throws {
        var c = Self.reverted()
        c.jitterSeconds = 10
        c.intervalChanges = [SimulatedIntervalChange(atSeconds: first, seconds: 60),
                             SimulatedIntervalChange(atSeconds: second, seconds: 300)]
        if accepted {
            let plan = try FleetPlan.make(c, model: .builtIn)
            #expect(plan.clients.allSatisfy { $0.intervalChanges.map(\.seconds) == [60, 300] })
        } else {
            #expect(throws: SimulationError.self) { try FleetPlan.make(c, model: .builtIn) }
        }
    }

    /// The reach counts the longest interval of any earlier change: after a change to 900 s, the next must come more
    /// than 910 s later, though the one before that ran 300 s.
    @Test func reachFollowsTheLongestIntervalRunning() throws {
        var c = Self.reverted()
        c.durationSeconds = 8 * 3_600
        c.jitterSeconds = 10
        c.intervalChanges = [SimulatedIntervalChange(atSeconds: 3_600, seconds: 900),
                             SimulatedIntervalChange(atSeconds: 4_400, seconds: 300)]
        #expect(throws: SimulationError.self) { try FleetPlan.make(c, model: .builtIn) }
        c.intervalChanges[1].atSeconds = 3_600 + 911
        let plan = try FleetPlan.make(c, model: .builtIn)
        #expect(plan.clients.allSatisfy { $0.intervalChanges.map(\.seconds) == [900, 300] })
    }
}
