import Analysis
import Foundation
import Heartbeat
import Testing
@testable import Simulation

/// A fleet simulated under a model other than the built-in one follows that model's HTTP facts and sizes, so
/// that the analysis under the same model reports exactly the ground truth; settings it cannot follow are
/// refused with one line.
@Suite struct ModelFleetTests {
    /// Simulates `c` under `model`, analyses it under the same model and checks that every client has exactly
    /// the findings and check-ins of the ground truth. Returns the capture's bytes.
    @discardableResult
    private func simulateAndCompare(_ c: SimulationConfiguration, model: ReferenceModel) throws -> Data {
        let dir = try TemporaryFolder()
        let path = dir.file("fleet.pcap")
        let result = try Simulator(plan: try FleetPlan.make(c, model: model)).write(to: path)
        let truth = try GroundTruth.load(path: try #require(result.truthPath))
        let report = try analyze([path], model: model)
        #expect(report.sessions.count == truth.clients.reduce(0) { $0 + $1.checkIns.count })
        for client in truth.clients {
            let mine = report.findings.filter { $0.client?.description == client.address }
            #expect(mine.map(\.code.rawValue).sorted() == client.expectedFindings.map(\.code).sorted(),
                    "client \(client.address) (\(client.transport), \(client.mode))")
        }
        #expect(report.findings.allSatisfy { $0.client != nil })
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    private func configuration(seed: UInt64, fullShare: Double = 0.3, faults: [FaultKind] = [])
        -> SimulationConfiguration {
        var c = fleet(clients: 20, hours: 1, seed: seed, allFaults: false)
        c.httpShare = 0.5
        c.pushShare = 0.3
        c.fullShare = fullShare
        for f in faults { c.faults[f] = 1 }
        return c
    }

    @Test(arguments: [false, true])
    func anotherSecarsPathAndUserAgentAreWhatTheRequestsCarry(proxy: Bool) throws {
        let m = Self.changed {
            $0.http.secarsPath = "/x"
            $0.http.userAgent = "Other"
        }
        var c = configuration(seed: 21, faults: [.missed, .http503, .oversizeUpload])
        if proxy { c.proxy = SimulatedProxy(address: 0xC0A8_0909, port: 3_128) }
        let bytes = try simulateAndCompare(c, model: m)
        #expect(bytes.range(of: Data("GET /x?h=".utf8)) != nil || bytes.range(of: Data(":8014/x?h=".utf8)) != nil)
        #expect(bytes.range(of: Data("User-Agent: Other\r\n".utf8)) != nil)
        #expect(bytes.range(of: Data("secars.dll".utf8)) == nil)
        #expect(bytes.range(of: Data("User-Agent: Smc".utf8)) == nil)
    }

    @Test func idleChecksInsFollowAnotherIdleRange() throws {
        let m = Self.changed {
            $0.sizes.idleMinBytes = 8_000
            $0.sizes.idleMaxBytes = 12_000
        }
        try simulateAndCompare(configuration(seed: 3), model: m)
        let plan = try FleetPlan.make(configuration(seed: 3), model: m)
        #expect(plan.sizes.idle == 8_002...11_998)
    }

    @Test func fullCheckInsShrinkUnderASmallFullMaximum() throws {
        let m = Self.changed { $0.sizes.fullMaxBytes = 60_000 }
        try simulateAndCompare(configuration(seed: 5, fullShare: 0.6), model: m)
        let s = try FleetPlan.make(configuration(seed: 5), model: m).sizes
        #expect(s.idle.upperBound + s.download.upperBound + s.logUpload.upperBound + s.sensorUpload.upperBound
                < 60_000)
    }

    /// A full maximum a little above the least full check-in: the download and uploads shrink towards their
    /// floors (700 bytes, and 301 for an upload above its answer when the upload minimum is lower), and still
    /// read as such.
    @Test func aTinyFullMaximumShrinksTowardsTheFloors() throws {
        let m = Self.changed {
            $0.sizes.fullMaxBytes = 9_000
            $0.tls.uploadMinBytes = 1
        }
        let s = try FleetPlan.make(configuration(seed: 9), model: m).sizes
        #expect(s.download.lowerBound >= 700)
        #expect(s.logUpload.lowerBound >= 301)
        #expect(s.sensorUpload.lowerBound >= 301)
        #expect(s.idle.upperBound + s.download.upperBound + s.logUpload.upperBound + s.sensorUpload.upperBound
                < 9_000)
        try simulateAndCompare(configuration(seed: 9, fullShare: 1), model: m)
    }

    /// A narrow idle range below the reference one, a small upload cap and upload minimum, with the oversize
    /// fault (whose check-in fits the full maximum).
    @Test func narrowRangesAndASmallCap() throws {
        let m = Self.changed {
            $0.sizes.idleMinBytes = 1_500
            $0.sizes.idleMaxBytes = 1_600
            $0.sizes.logUploadMaxRecords = 2
            $0.sizes.logRecordBytes = 1_000
            $0.sizes.uploadOverheadBytes = 0
            $0.tls.uploadMinBytes = 500
        }
        try simulateAndCompare(configuration(seed: 7, fullShare: 0.5, faults: [.oversizeUpload, .http400]), model: m)
    }

    @Test func theBuiltInModelKeepsTheReferenceRanges() throws {
        let s = try FleetPlan.make(configuration(seed: 1), model: .builtIn).sizes
        #expect(s.idle == 3_400...4_600)
        #expect(s.download == 20_000...60_000)
        #expect(s.logUpload == 20_000...90_000)
        #expect(s.sensorUpload == 4_000...30_000)
        #expect(s.oversizeUpload == 110_592 + 20_000)
    }

    /// The built-in model with `change` made to it.
    private static func changed(_ change: (inout ReferenceModel) -> Void) -> ReferenceModel {
        var m = ReferenceModel.builtIn
        change(&m)
        return m
    }

    @Test(arguments: [
        (changed {
            $0.sizes.idleMinBytes = 100
            $0.sizes.idleMaxBytes = 1_000
        }, "sizes.idleMaxBytes of at least 1402"),
        (changed {
            $0.sizes.idleMinBytes = 4_000
            $0.sizes.idleMaxBytes = 4_003
        }, "a range at least 4 bytes wide"),
        (changed {
            $0.sizes.logUploadMaxRecords = 1
            $0.sizes.logRecordBytes = 1
            $0.sizes.uploadOverheadBytes = 0
        }, "uploadOverheadBytes = 1) is too small to simulate"),
        (changed { $0.sizes.fullMaxBytes = 5_000 }, "sizes.fullMaxBytes must be at least"),
        (changed {
            $0.sizes.idleMinBytes = 100_000_000
            $0.sizes.idleMaxBytes = 200_000_000
            $0.sizes.fullMaxBytes = 1_000_000_000
        }, "asks for idle check-ins larger than the simulator writes"),
        (changed { $0.http.secarsPath = "/a b" }, "http.secarsPath \"/a b\""),
        (changed { $0.http.userAgent = "A\r\nX: y" }, "http.userAgent"),
    ])
    func modelsThatCannotBeFollowedAreRefused(model m: ReferenceModel, words: String) {
        #expect {
            _ = try FleetPlan.make(configuration(seed: 1), model: m)
        } throws: { error in
            guard let e = error as? SimulationError else { return false }
            return e.message.contains(words) && !e.message.contains("\n") && !e.isOutputFailure
        }
    }

    @Test func theOversizeFaultNeedsRoomUnderTheFullMaximum() {
        let m = Self.changed { $0.sizes.fullMaxBytes = 60_000 }
        #expect(throws: SimulationError.self) {
            _ = try FleetPlan.make(configuration(seed: 1, faults: [.oversizeUpload]), model: m)
        }
        #expect((try? FleetPlan.make(configuration(seed: 1), model: m)) != nil)
    }
}
