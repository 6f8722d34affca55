import Foundation
import Heartbeat
import Testing
@testable import Simulation

/// The simulator's limits: the check-in cap checked before planning, jitter against the tolerance,
/// and at most one file per client.
@Suite struct SimulationLimitsTests {
    /// 3,000 s at the 300 s pull interval, no push clients: exactly 10 check-ins per client.
    private func pullFleet(clients: Int) -> SimulationConfiguration {
        var c = SimulationConfiguration()
        c.clients = clients
        c.durationSeconds = 3_000
        c.pushShare = 0
        return c
    }

    @Test func checkInCapAcceptsTheCapAndRefusesOnePast() throws {
        let cap = SimulationConfiguration.maxCheckIns
        let at = pullFleet(clients: cap / 10)
        #expect(at.estimatedCheckIns(model: .builtIn) == Double(cap))
        // validate works on the options alone: nothing is planned or allocated.
        try at.validate(model: .builtIn)
        var past = at
        past.durationSeconds += 1  // one more check-in per client
        #expect(past.estimatedCheckIns(model: .builtIn) > Double(cap))
        #expect(throws: SimulationError.self) { try past.validate(model: .builtIn) }
        past = pullFleet(clients: cap / 10 + 1)
        #expect(past.estimatedCheckIns(model: .builtIn) == Double(cap + 10))
        do {
            try past.validate(model: .builtIn)
            Issue.record("one client past the cap was accepted")
        } catch {
            #expect(error.message.contains("\(cap)"))
            #expect(!error.isOutputFailure)
        }
    }

    /// `--interval` takes what `--help` and the README say (10-604800 s).
    /// Write buffers: 8 MiB for one file, 32 MiB shared among more, never under 256 KiB a file.
    @Test func fileBuffersShareABudget() {
        #expect(Simulator.sinkBufferSize(files: 1) == 8 << 20)
        #expect(Simulator.sinkBufferSize(files: 4) == 8 << 20)
        #expect(Simulator.sinkBufferSize(files: 8) == 4 << 20)
        #expect(Simulator.sinkBufferSize(files: 64) == 512 << 10)
        #expect(Simulator.sinkBufferSize(files: 256) == 256 << 10)
        #expect(Simulator.sinkBufferSize(files: 0) == 8 << 20)
    }

    @Test func intervalUpToOneWeek() throws {
        var c = pullFleet(clients: 1)
        c.intervalSeconds = 604_800
        try c.validate(model: .builtIn)
        c.intervalSeconds = 604_801
        do {
            try c.validate(model: .builtIn)
            Issue.record("an interval over a week was accepted")
        } catch {
            #expect(error.message == "--interval must be 10-604800 s")
        }
    }

    /// The accelerated fault's extra check-in starts a second past the join gap at least (at a 20 s interval
    /// the range ends at 4 s, half of it would be joined), and an interval whose range leaves no such gap
    /// (10 s: up to 2 s) is refused rather than planted where analyze cannot see it.
    @Test func acceleratedFaultStaysAboveTheJoinGap() throws {
        var c = pullFleet(clients: 2)
        c.durationSeconds = 600
        c.faults[.accelerated] = 1
        let model20 = try ReferenceModel.builtIn.withInterval(seconds: 20)
        c.intervalSeconds = 20
        let plan = try FleetPlan.make(c, model: model20)
        let times = try #require(plan.clients.first { $0.expected.contains { $0.code == .acceleratedHeartbeat } })
            .checkIns.map(\.time)
        let gaps = zip(times.dropFirst(), times).map { Double($0 - $1) / 1e9 }
        let extra = try #require(gaps.min())
        #expect(extra > model20.checkIn.joinGapSeconds && extra <= model20.interval.acceleratedMaxSeconds)
        #expect(FleetPlan.acceleratedGap(.builtIn) == ReferenceModel.builtIn.interval.acceleratedMaxSeconds / 2)
        c.intervalSeconds = 10
        let model10 = try ReferenceModel.builtIn.withInterval(seconds: 10)
        do {
            _ = try FleetPlan.make(c, model: model10)
            Issue.record("an accelerated fault at a 10 s interval was planned")
        } catch {
            #expect(error.message.contains("the accelerated fault needs a gap above the join gap"))
            #expect(error.message.contains("use a longer --interval"))
        }
    }

    /// A fault no client can carry because the capture is too short names the duration, not the clients.
    @Test func faultRefusalNamesTheDurationWhenItIsTheLimit() {
        var c = pullFleet(clients: 200)
        c.durationSeconds = 1_200
        c.faults[.missed] = 1
        do {
            _ = try FleetPlan.make(c, model: .builtIn)
            Issue.record("a missed fault in 20 minutes was planned")
        } catch {
            #expect(error.message.contains("--duration must be at least 6 intervals (1800 s)"))
            #expect(!error.message.contains("--clients"))
        }
        c.durationSeconds = 1_800
        c.clients = 1
        c.faults = [.missed: 2]
        do {
            _ = try FleetPlan.make(c, model: .builtIn)
            Issue.record("two faults on one client were planned")
        } catch {
            #expect(error.message.contains("use more --clients"))
        }
    }

    /// At an interval over a sixth of 31 days no duration gives six check-ins: the message asked for a
    /// --duration that --duration refuses.
    @Test func anIntervalTooLongForAFaultNamesTheInterval() throws {
        var c = SimulationConfiguration()
        c.clients = 4
        c.pushShare = 0
        c.intervalSeconds = 604_800
        c.durationSeconds = 31 * 86_400
        c.faults = [.late: 1]
        do {
            _ = try FleetPlan.make(c, model: .builtIn)
            Issue.record("a late fault was planned with fewer than six check-ins")
        } catch {
            #expect(error.message == "the late fault needs a client with at least 6 check-ins: 6 intervals "
                + "(3628800 s) are longer than the longest --duration (31 days): use an --interval of at most 446400 s")
        }
        c.intervalSeconds = 446_400
        #expect(try FleetPlan.make(c, model: .builtIn).clients.count == 4)
    }

    @Test func hugeFleetIsRefusedBeforePlanning() {
        var c = SimulationConfiguration()
        c.clients = 200_000
        c.durationSeconds = 31 * 86_400
        let started = Date()
        #expect(throws: SimulationError.self) { try FleetPlan.make(c, model: .builtIn) }
        // Planning 178 million check-ins would take far longer (and gigabytes).
        #expect(Date().timeIntervalSince(started) < 1)
    }

    @Test func pushClientsCountAtThePushInterval() {
        var c = SimulationConfiguration()
        c.clients = 1
        c.durationSeconds = 3_600
        c.pushShare = 0.5
        let push = ReferenceModel.builtIn.push.heartbeatSeconds
        let pull = ReferenceModel.builtIn.interval.seconds
        let expected = (3_600 / min(push, pull)).rounded(.up)
        #expect(c.estimatedCheckIns(model: .builtIn) == expected)
    }

    @Test func jitterDefaultsBelowHalfTheTolerance() throws {
        let model = try ReferenceModel.builtIn.withInterval(seconds: 60)  // tolerance 6 s
        var c = SimulationConfiguration()
        #expect(c.jitter(model: model) == 3)
        #expect(c.jitter(model: .builtIn) == 10)
        try c.validate(model: model)
        c.jitterSeconds = 3
        try c.validate(model: model)
        c.jitterSeconds = 3.001
        #expect(throws: SimulationError.self) { try c.validate(model: model) }
        c.jitterSeconds = ReferenceModel.builtIn.interval.toleranceSeconds / 2
        try c.validate(model: .builtIn)
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6])
    func missedFaultStaysMissedAtTheLargestJitter(seed: UInt64) throws {
        let dir = try TemporaryFolder()
        var c = fleet(clients: 6, hours: 3, seed: seed, allFaults: false)
        c.jitterSeconds = ReferenceModel.builtIn.interval.toleranceSeconds / 2
        c.faults[.missed] = 3
        c.pushShare = 0
        let result = try Simulator(plan: FleetPlan.make(c, model: .builtIn)).write(to: dir.file("m.pcap"))
        let truth = try GroundTruth.load(path: try #require(result.truthPath))
        let report = try analyze(result.paths)
        let missed = truth.faults.filter { $0.kind == .missed }
        #expect(missed.count == 3)
        for fault in missed {
            let codes = report.findings.filter { $0.client?.description == fault.client }.map(\.code)
            #expect(codes.contains(.missedHeartbeat), "seed \(seed), \(fault.client): \(codes)")
            #expect(!codes.contains(.intervalLate), "seed \(seed), \(fault.client): \(codes)")
            #expect(!codes.contains(.intervalEarly), "seed \(seed), \(fault.client): \(codes)")
        }
    }

    @Test func splitNeedsAClientPerFile() throws {
        var c = SimulationConfiguration()
        c.clients = 3
        c.files = 3
        try c.validate(model: .builtIn)
        c.files = 4
        #expect(throws: SimulationError.self) { try c.validate(model: .builtIn) }
    }
}
