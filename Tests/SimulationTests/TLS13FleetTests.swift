import Analysis
import Capture
import Core
import Foundation
import Heartbeat
import Testing
@testable import Simulation

/// A fleet simulated from a model whose minimum TLS version is 1.3: its HTTPS check-ins speak TLS 1.3, so
/// that the analysis under the same model agrees with the ground truth.
@Suite struct TLS13FleetTests {
    private static var model13: ReferenceModel {
        var m = ReferenceModel.builtIn
        m.tls.minimumVersion = "1.3"
        return m
    }

    @Test func aMinimumOf13GivesTLS13CheckInsThatMeetIt() throws {
        let dir = try TemporaryFolder()
        let path = dir.file("fleet13.pcap")
        var c = fleet(clients: 20, hours: 2, seed: 11)
        c.pushShare = 0.3
        let plan = try FleetPlan.make(c, model: Self.model13)
        #expect(plan.tlsVersion == 0x0304)
        let result = try Simulator(plan: plan).write(to: path)
        let truth = try GroundTruth.load(path: try #require(result.truthPath))
        let report = try analyze([path], model: Self.model13)

        #expect(truth.faults.count == FaultKind.allCases.count)
        #expect(report.sessions.count == truth.clients.reduce(0) { $0 + $1.checkIns.count })
        for client in truth.clients {
            if client.transport == .https {
                let old = truth.faults.contains { $0.client == client.address && $0.kind == .oldTLS }
                #expect(client.tlsVersion == (old ? "1.0" : "1.3"), "\(client.address)")
            }
            let mine = report.findings.filter { $0.client?.description == client.address }
            #expect(mine.map(\.code.rawValue).sorted() == client.expectedFindings.map(\.code).sorted(),
                    "client \(client.address) (\(client.transport), \(client.mode))")
            let sessions = report.sessions.filter { $0.client.description == client.address }
            #expect(sessions.count == client.checkIns.count, "check-ins of \(client.address)")
        }
        // The only version finding is the old-tls fault's, its code naming the model's minimum (1.3), in the
        // report and in the ground truth alike.
        let below = report.findings.filter { $0.code.isTLSBelowMinimum }
        let oldFault = try #require(truth.faults.first { $0.kind == .oldTLS })
        let oldClient = oldFault.client
        #expect(below.map { $0.client?.description } == [oldClient])
        #expect(below.map(\.code) == [.tlsBelow13])
        #expect(below.first?.message.contains("below the minimum 1.3") == true)
        #expect(oldFault.codes == ["tls-below-1.3"])
        #expect(report.findings.allSatisfy { $0.client != nil })

        // Every TLS 1.3 pull check-in that was answered names its steps as a 1.2 one does: 1, 2, 3 (4-6 when
        // full), 7, with step 2 a TLS 1.3 handshake holding the encrypted handshake records and nothing of steps
        // 3-6 (the failed ones of the no-answer and tls-handshake-failed faults have no step 3).
        let tls13 = report.sessions.filter { s in
            s.transport == .https && s.mode == .pull && s.client.description != oldClient && !s.failed
        }
        #expect(tls13.count > 20)
        for s in tls13 {
            let numbers = s.steps.map(\.step)
            #expect(numbers.first == 1 && numbers.dropFirst().first == 2 && numbers.last == 7, "\(numbers)")
            #expect(numbers.contains(3))
            let connect = try #require(s.steps.first { $0.step == 2 })
            #expect(connect.evidence.contains("TLS 1.3 handshake"), "\(connect.evidence)")
            // ClientHello, the client's CCS and Finished, and its close_notify: no application byte.
            #expect(connect.bytesUp < 450, "\(connect.bytesUp)")
            #expect(connect.bytesDown > EmbeddedCertificate.der.count, "\(connect.bytesDown)")
        }
        // Idle check-ins carry the model's idle range in steps 3-6, as in 1.2.
        #expect(report.findings.allSatisfy { $0.code != .idleSizeOutOfRange })
    }

    @Test func aMinimumOf12OrLowerKeepsTLS12() throws {
        for version in ["1.0", "1.1", "1.2"] {
            var m = ReferenceModel.builtIn
            m.tls.minimumVersion = version
            let plan = try FleetPlan.make(fleet(clients: 4, hours: 0.5, allFaults: false), model: m)
            #expect(plan.tlsVersion == 0x0303, "minimum \(version)")
        }
    }

    /// The old-tls fault's TLS 1.0 is no finding under a minimum of 1.0, so it is refused there: its truth file
    /// named a `tls-below-1.0` that analyze never reports.
    @Test func theOldTLSFaultNeedsAMinimumAbove10() throws {
        var c = fleet(clients: 4, hours: 0.5, allFaults: false)
        c.faults[.oldTLS] = 1
        c.httpShare = 0
        var m = ReferenceModel.builtIn
        m.tls.minimumVersion = "1.0"
        #expect(throws: SimulationError.self) { try FleetPlan.make(c, model: m) }
        m.tls.minimumVersion = "1.1"
        let plan = try FleetPlan.make(c, model: m)
        #expect(plan.clients.filter(\.oldTLS).count == 1)
    }

    /// The same fleet under the built-in model and under a 1.3 model: the check-ins, the sizes of their steps
    /// 3-6 and the findings (none) are the same; the handshakes and the close differ.
    @Test func onlyTheHandshakeDiffersFromTheSameFleetIn12() throws {
        let dir = try TemporaryFolder()
        var c = fleet(clients: 10, hours: 1, seed: 3, allFaults: false)
        c.httpShare = 0
        c.pushShare = 0
        let a = try Simulator(plan: FleetPlan.make(c, model: .builtIn)).write(to: dir.file("a.pcap"))
        let b = try Simulator(plan: FleetPlan.make(c, model: Self.model13)).write(to: dir.file("b.pcap"))
        let r12 = try analyze(a.paths)
        let r13 = try analyze(b.paths, model: Self.model13)
        #expect(r12.sessions.count == r13.sessions.count)
        for (x, y) in zip(r12.sessions, r13.sessions) {
            #expect(x.start == y.start)
            #expect(x.steps.map(\.step) == y.steps.map(\.step))
            let middle = { (s: SessionReport) in
                s.steps.filter { (3...6).contains($0.step) }.map { [$0.bytesUp, $0.bytesDown] }
            }
            #expect(middle(x) == middle(y))
            // Step 7 of 1.3 holds the client's encrypted close_notify (an application-data record of 24 bytes).
            #expect(y.steps.last.map { [$0.step, Int($0.bytesUp)] } == [7, 24])
            #expect(y.steps.last?.evidence.hasSuffix("in an encrypted alert record before it (TLS 1.3 close_notify)")
                == true)
        }
        #expect(r12.findings.isEmpty, "\(r12.findings.map(\.description))")
        #expect(r13.findings.isEmpty, "\(r13.findings.map(\.description))")
    }
}
