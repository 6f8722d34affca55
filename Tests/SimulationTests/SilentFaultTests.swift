import Core
import Foundation
import Heartbeat
import Testing
@testable import Simulation

/// `simulate --fault silent=N`: N pull clients stop checking in from a point of the second half, recorded in the
/// truth file, and `analyze` names exactly them with `went-silent` at their last check-in.
@Suite struct SilentFaultTests {
    @Test(arguments: [(300.0, 7_200.0, UInt64(5)), (20, 600, 9)])
    func theSilentClientsAreExactlyTheOnesNamed(interval: Double, duration: Double, seed: UInt64) throws {
        let dir = try TemporaryFolder()
        let path = dir.file("silent.pcap")
        var c = fleet(clients: 12, seed: seed, allFaults: false)
        c.durationSeconds = duration
        c.intervalSeconds = interval
        c.faults[.silent] = 3
        let model = try ReferenceModel.builtIn.withInterval(seconds: interval)
        let plan = try FleetPlan.make(c, model: model)
        let result = try Simulator(plan: plan).write(to: path)
        let truth = try GroundTruth.load(path: try #require(result.truthPath))
        let report = try analyze([path], model: model)

        let silent = truth.clients.filter { $0.silentFrom != nil }
        #expect(silent.count == 3)
        #expect(truth.faults.filter { $0.kind == .silent }.count == 3)
        let start = c.start.nanoseconds
        for client in silent {
            let from = try #require(client.silentFromNs)
            // In the second half, and no check-in at or after it.
            #expect(from >= start + Int64(duration / 2 * 1e9))
            #expect(client.checkIns.allSatisfy { $0.ns < from })
            let last = try #require(client.checkIns.last)
            // Its one fault finding, at its last check-in (a plain-HTTP client has its plaintext-http too).
            let faultFindings = client.expectedFindings.filter { $0.fault != nil }
            #expect(faultFindings.map(\.code) == ["went-silent"])
            #expect(faultFindings.first?.ns == last.ns)
        }
        let named = report.findings.filter { $0.code == .wentSilent }
        #expect(named.compactMap { $0.client?.description }.sorted() == silent.map(\.address).sorted())
        #expect(report.wentSilent.count == 3)
        for f in named {
            let truthClient = silent.first { $0.address == f.client?.description }
            let expected = try #require(truthClient?.expectedFindings.first { $0.code == "went-silent" })
            #expect(abs((f.time?.nanoseconds ?? 0) - expected.ns) < 1_000_000_000)
        }
    }

    /// Fleets with push clients (heartbeat 300 s) among pull clients every 10 s, in runs of a few minutes: a push
    /// client's heartbeat outlasts the silence, so whether anybody is seen going on across it depends on the pull
    /// clients left. The truth names `went-silent` exactly where analyze does, every client's expected findings
    /// are exactly its findings, and a silence nobody is seen going on across stays a fault with no code.
    @Test(arguments: [(12, 0.6, 0.3, 300.0, UInt64(1)), (12, 0.6, 0.3, 300, 4), (4, 1, 0.5, 200, 1),
                      (4, 1, 0.5, 200, 3), (4, 1, 0.5, 200, 2)])
    func pushFleetsExpectExactlyTheSilencesAnalyzeNames(clients: Int, pushShare: Double, httpShare: Double,
                                                         duration: Double, seed: UInt64) throws {
        let dir = try TemporaryFolder()
        let path = dir.file("silent.pcap")
        var c = fleet(clients: clients, seed: seed, allFaults: false)
        c.durationSeconds = duration
        c.intervalSeconds = 10
        c.pushShare = pushShare
        c.httpShare = httpShare
        c.faults[.silent] = clients > 4 ? 2 : 1
        let model = try ReferenceModel.builtIn.withInterval(seconds: 10)
        let result = try Simulator(plan: try FleetPlan.make(c, model: model)).write(to: path)
        let truth = try GroundTruth.load(path: try #require(result.truthPath))
        let report = try analyze([path], model: model)

        #expect(truth.clients.contains { $0.mode == "push" })
        for client in truth.clients {
            let expected = client.expectedFindings.map(\.code).sorted()
            let got = report.findings.filter { $0.client?.description == client.address }.map(\.code.rawValue).sorted()
            #expect(got == expected, "client \(client.address) (\(client.mode))")
        }
        let silent = truth.clients.filter { $0.silentFrom != nil }
        #expect(silent.count == c.faults[.silent])
        #expect(result.faults == silent.count)
        for client in silent {
            let fault = try #require(truth.faults.first { $0.client == client.address && $0.kind == .silent })
            let named = client.expectedFindings.contains { $0.code == "went-silent" }
            #expect(fault.codes == (named ? ["went-silent"] : []))
            #expect(fault.ns == client.checkIns.last?.ns)
        }
    }

    /// In 200 s of four clients, three of them push clients whose one check-in comes before the silent pull
    /// client's last or after it, nobody is seen checking in across the silence: the truth expects no finding.
    @Test func aSilenceNobodyIsSeenGoingOnAcrossIsNoExpectedFinding() throws {
        let dir = try TemporaryFolder()
        let path = dir.file("silent.pcap")
        var c = fleet(clients: 4, seed: 1, allFaults: false)
        c.durationSeconds = 200
        c.intervalSeconds = 10
        c.pushShare = 1
        c.httpShare = 0.5
        c.faults[.silent] = 1
        let model = try ReferenceModel.builtIn.withInterval(seconds: 10)
        let result = try Simulator(plan: try FleetPlan.make(c, model: model)).write(to: path)
        let truth = try GroundTruth.load(path: try #require(result.truthPath))
        let client = try #require(truth.clients.first { $0.silentFrom != nil })
        #expect(!client.expectedFindings.contains { $0.code == "went-silent" })
        #expect(truth.faults.map(\.codes) == [[]])
        #expect(try analyze([path], model: model).wentSilent.isEmpty)
    }

    @Test func aFaultThatCannotShowIsRefused() {
        var c = fleet(clients: 3, allFaults: false)
        c.faults[.silent] = 3
        #expect(throws: SimulationError.self) { try FleetPlan.make(c, model: .builtIn) }
        // Half of 50 min leaves too little room for 3 + 2 intervals of 300 s before the end.
        c = fleet(clients: 3, hours: 50.0 / 60, allFaults: false)
        c.faults[.silent] = 1
        #expect(throws: SimulationError.self) { try FleetPlan.make(c, model: .builtIn) }
        c.durationSeconds = 3_010
        #expect((try? FleetPlan.make(c, model: .builtIn)) != nil)
    }
}
