import Analysis
import Core
import Foundation
import Heartbeat
import Testing
@testable import Simulation

/// The early, connect-timeout, no-answer, tls-handshake-failed and push-connection-dropped faults: where they are
/// placed, what the truth says of them, and when they are refused.
@Suite struct FailureFaultTests {
    private static let newFaults: [FaultKind] = [.early, .connectTimeout, .noAnswer, .tlsHandshakeFailed,
                                                 .pushConnectionDropped]

    private func fleetWithNewFaults(seed: UInt64, proxy: SimulatedProxy? = nil) -> SimulationConfiguration {
        var c = fleet(clients: 20, hours: 2, seed: seed, allFaults: false)
        c.pushShare = 0.3
        c.proxy = proxy
        for k in Self.newFaults where !(proxy != nil && k == .connectTimeout) { c.faults[k] = 1 }
        return c
    }

    /// Each fault's finding is reported by analyze at exactly the time the truth gives, and nothing else but the
    /// plain-HTTP findings every such client gets; the failed check-ins are the ones the truth marks failed.
    @Test(arguments: [(UInt64(21), false), (22, false), (23, true)])
    func analyzeReportsExactlyTheTruth(seed: UInt64, proxied: Bool) throws {
        let dir = try TemporaryFolder()
        let path = dir.file("failures.pcap")
        let proxy = proxied ? SimulatedProxy(address: 0x0A05_0505, port: 8080) : nil
        let plan = try FleetPlan.make(fleetWithNewFaults(seed: seed, proxy: proxy), model: .builtIn)
        let result = try Simulator(plan: plan).write(to: path)
        let truth = try GroundTruth.load(path: try #require(result.truthPath))
        let report = try analyze([path])

        #expect(truth.faults.count == (proxied ? 4 : 5))
        for client in truth.clients {
            let mine = report.findings.filter { $0.client?.description == client.address }
            let got = mine.map { "\($0.code.rawValue)@\($0.time?.nanoseconds ?? 0)" }.sorted()
            let expected = client.expectedFindings.map { "\($0.code)@\($0.ns)" }.sorted()
            #expect(got == expected, "client \(client.address) (\(client.transport), \(client.mode))")
            let sessions = report.sessions.filter { $0.client.description == client.address }
            #expect(sessions.count == client.checkIns.count, "check-ins of \(client.address)")
            #expect(sessions.filter(\.failed).count == client.checkIns.filter { $0.failed == true }.count)
        }
        #expect(report.summary.failed == 2)
        #expect(report.findings.allSatisfy { $0.client != nil })
    }

    /// The early check-in lies halfway between the accelerated range and the interval less its tolerance after
    /// the one before, and the next one comes a jittered interval after it.
    @Test func theEarlyCheckInIsWellInsideTheEarlyRange() throws {
        var c = fleet(clients: 4, hours: 2, seed: 5, allFaults: false)
        c.pushShare = 0
        c.faults[.early] = 1
        let plan = try FleetPlan.make(c, model: .builtIn)
        let client = try #require(plan.clients.first { $0.expected.contains { $0.code == .intervalEarly } })
        let at = try #require(client.expected.first { $0.code == .intervalEarly }).time
        let n = try #require(client.checkIns.firstIndex { $0.time == at })
        let before = Double(at - client.checkIns[n - 1].time) / 1e9
        let after = Double(client.checkIns[n + 1].time - at) / 1e9
        #expect(before == (60 + 300 - 30) / 2)
        #expect(abs(after - 300) <= plan.jitter)
    }

    /// On a client that takes a policy change, the early check-in comes before it: after a change to twice or half
    /// the interval, which analyze reads as missed check-ins, a gap of 315 s at 600 s was judged against 300 s
    /// (on time) while the truth expected `interval-early`.
    @Test(arguments: [600.0, 900, 450, 1200, 200, 75])
    func anEarlyCheckInComesBeforeAPolicyChange(seconds: Double) throws {
        var c = fleet(clients: 30, hours: 3, seed: 1, allFaults: false)
        c.pushShare = 0.6
        c.intervalChanges = [SimulatedIntervalChange(atSeconds: 3600, seconds: seconds)]
        c.faults[.early] = 2
        let dir = try TemporaryFolder()
        let path = dir.file("early-change.pcap")
        let plan = try FleetPlan.make(c, model: .builtIn)
        let result = try Simulator(plan: plan).write(to: path)
        let truth = try GroundTruth.load(path: try #require(result.truthPath))
        let report = try analyze([path])
        let early = truth.clients.filter { $0.expectedFindings.contains { $0.code == "interval-early" } }
        #expect(early.count == 2)
        for client in early {
            let at = try #require(client.expectedFindings.first { $0.code == "interval-early" }).ns
            if let changed = client.intervalChangedAtNs { #expect(at < changed, "\(client.address)") }
            let got = report.findings.filter { $0.client?.description == client.address && $0.code == .intervalEarly }
            #expect(got.map { $0.time?.nanoseconds ?? 0 } == [at], "\(client.address)")
        }
    }

    /// A change to half or a third of the interval reads as missed check-ins at the new level, where no early gap's
    /// judgement is known: the early fault is refused with it.
    @Test(arguments: [150.0, 100, 155])
    func anEarlyCheckInWithAChangeToHalfOrAThirdIsRefused(seconds: Double) throws {
        var c = fleet(clients: 30, hours: 3, seed: 1, allFaults: false)
        c.intervalChanges = [SimulatedIntervalChange(atSeconds: 3600, seconds: seconds)]
        c.faults[.early] = 1
        #expect(throws: SimulationError.self) { try FleetPlan.make(c, model: .builtIn) }
    }

    /// A retry within the retry window would make the failure `retried-and-answered`, so a pull interval less the
    /// jitter that leaves the next check-in inside the window is refused; connect-timeout is refused through a
    /// proxy, and push-connection-dropped needs a push client.
    @Test func faultsThatCannotShowAreRefused() throws {
        var c = fleet(clients: 6, hours: 1, seed: 2, allFaults: false)
        c.pushShare = 0
        c.intervalSeconds = 33
        c.jitterSeconds = 2
        c.faults = [.noAnswer: 1]
        #expect(throws: SimulationError.self) { try FleetPlan.make(c, model: .builtIn) }
        c.faults = [.tlsHandshakeFailed: 1]
        c.httpShare = 0
        #expect(throws: SimulationError.self) { try FleetPlan.make(c, model: .builtIn) }
        c.intervalSeconds = 40
        #expect(try FleetPlan.make(c, model: .builtIn).clients.count == 6)

        c.faults = [.connectTimeout: 1]
        c.proxy = SimulatedProxy(address: 0x0A05_0505, port: 8080)
        #expect(throws: SimulationError.self) { try FleetPlan.make(c, model: .builtIn) }

        c.proxy = nil
        c.faults = [.pushConnectionDropped: 1]
        do {
            _ = try FleetPlan.make(c, model: .builtIn)
            Issue.record("a push-connection-dropped fault was planned in a fleet without push clients")
        } catch {
            #expect(error.message.contains("not enough suitable clients for the push-connection-dropped faults"))
        }
    }
}
