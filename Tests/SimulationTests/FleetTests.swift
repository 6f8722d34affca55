import Analysis
import Capture
import Core
import Foundation
import Heartbeat
import Testing
@testable import Simulation

/// A fresh temporary folder, removed when the value is released.
final class TemporaryFolder {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "sepbeat-simulation-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

/// Runs the analysis in process, as `sepbeat analyze` does.
func analyze(_ paths: [String], model: ReferenceModel = .builtIn, threads: Int? = nil) throws -> HeartbeatReport {
    let run = CaptureRun(paths: paths)
    final class Box { var builder: SessionBuilder; init(_ b: SessionBuilder) { builder = b } }
    let box = Box(SessionBuilder(model: model))
    if let threads { box.builder.threads = threads }
    let files = try run.run(try run.open()) { box.builder.ingest($0.record) }
    let merged = CaptureSummary.merged(files)
    if let first = merged.first, let last = merged.last { box.builder.noteCaptureSpan(first: first, last: last) }
    return box.builder.finish()
}

func fleet(clients: Int = 20, hours: Double = 2, seed: UInt64 = 7, allFaults: Bool = true,
           format: SimulationFileFormat = .pcap, files: Int = 1) -> SimulationConfiguration {
    var c = SimulationConfiguration()
    c.clients = clients
    c.durationSeconds = hours * 3_600
    c.seed = seed
    c.format = format
    c.files = files
    c.fullShare = 0.15
    if allFaults {
        for k in FaultKind.allCases { c.faults[k] = 1 }
        // Enough push clients for the push-connection-dropped fault among a few clients.
        c.pushShare = 0.3
    }
    return c
}

@Suite struct FleetTests {
    @Test func findingsNameExactlyTheInjectedFaults() throws {
        let dir = try TemporaryFolder()
        let path = dir.file("fleet.pcap")
        let plan = try FleetPlan.make(fleet(), model: .builtIn)
        let result = try Simulator(plan: plan).write(to: path)
        let truth = try GroundTruth.load(path: try #require(result.truthPath))
        let report = try analyze([path])

        #expect(truth.faults.count == FaultKind.allCases.count)
        #expect(report.summary.clients == truth.clients.count)
        #expect(report.sessions.count == truth.clients.reduce(0) { $0 + $1.checkIns.count })
        for client in truth.clients {
            let mine = report.findings.filter { $0.client?.description == client.address }
            let expected = client.expectedFindings.map(\.code).sorted()
            let got = mine.map(\.code.rawValue).sorted()
            #expect(got == expected, "client \(client.address) (\(client.transport), \(client.mode))")
            // Each expected finding is stamped within a second of the truth's time.
            for e in client.expectedFindings {
                let near = mine.contains { f in
                    f.code.rawValue == e.code && abs((f.time?.nanoseconds ?? 0) - e.ns) < 1_000_000_000
                }
                #expect(near, "\(e.code) of \(client.address) at \(e.time)")
            }
            let sessions = report.sessions.filter { $0.client.description == client.address }
            #expect(sessions.count == client.checkIns.count, "check-ins of \(client.address)")
            #expect(sessions.filter(\.failed).count == client.checkIns.filter { $0.failed == true }.count,
                    "failed check-ins of \(client.address)")
            #expect(sessions.allSatisfy { $0.mode.rawValue == client.mode }, "mode of \(client.address)")
        }
        // Nothing outside the clients (capture-level findings).
        #expect(report.findings.allSatisfy { $0.client != nil })
    }

    @Test func reportIsTheSameOnAnyNumberOfThreads() throws {
        let dir = try TemporaryFolder()
        let path = dir.file("fleet.pcap")
        let plan = try FleetPlan.make(fleet(clients: 24, hours: 1), model: .builtIn)
        _ = try Simulator(plan: plan).write(to: path)
        let one = try analyze([path], threads: 1)
        #expect(one.sessions.count > 100)
        #expect(one.findings.count > 5)
        for threads in [2, 3, 8] {
            let many = try analyze([path], threads: threads)
            #expect(many.sessions == one.sessions, "\(threads) threads")
            #expect(many.findings == one.findings, "\(threads) threads")
            #expect(many.clients == one.clients, "\(threads) threads")
            #expect(many.managers == one.managers, "\(threads) threads")
            #expect(many.counts == one.counts, "\(threads) threads")
        }
    }

    @Test func healthyFleetHasNoWarningsBeyondPlainHTTP() throws {
        let dir = try TemporaryFolder()
        let path = dir.file("healthy.pcapng")
        var c = fleet(clients: 12, hours: 1, seed: 99, allFaults: false, format: .pcapng)
        c.pushShare = 0.5
        let plan = try FleetPlan.make(c, model: .builtIn)
        _ = try Simulator(plan: plan).write(to: path)
        let report = try analyze([path])
        let unexpected = report.findings.filter { $0.code != .plaintextHTTP }
        #expect(unexpected.isEmpty, "\(unexpected.map(\.description))")
        #expect(report.summary.verdict == "pass")
        #expect(report.sessions.contains { $0.mode == .push })
    }

    @Test func sameSeedSameBytesOtherSeedOtherBytes() throws {
        let dir = try TemporaryFolder()
        var digests: [Data] = []
        for (name, seed) in [("a.pcap", UInt64(5)), ("b.pcap", 5), ("c.pcap", 6)] {
            let plan = try FleetPlan.make(fleet(clients: 6, hours: 0.5, seed: seed, allFaults: false), model: .builtIn)
            _ = try Simulator(plan: plan).write(to: dir.file(name))
            digests.append(try Data(contentsOf: URL(fileURLWithPath: dir.file(name))))
            let truth = try Data(contentsOf: URL(fileURLWithPath: dir.file(name + ".truth.json")))
            digests.append(truth.filter { $0 != 0x61 && $0 != 0x62 && $0 != 0x63 })  // ignore the file names
        }
        #expect(digests[0] == digests[2])
        #expect(digests[1] == digests[3])
        #expect(digests[0] != digests[4])
    }

    @Test(arguments: [SimulationFileFormat.pcap, .pcapng])
    func outputReadsBackThroughCaptureReader(format: SimulationFileFormat) throws {
        let dir = try TemporaryFolder()
        let path = dir.file("read." + format.rawValue)
        let plan = try FleetPlan.make(fleet(clients: 4, hours: 0.5, allFaults: false, format: format), model: .builtIn)
        let result = try Simulator(plan: plan).write(to: path)
        let source = try CaptureReader.open(path: path)
        var packets = 0
        var last = Timestamp.zero
        var ordered = true
        while let p = try source.next() {
            packets += 1
            #expect(p.linkType == .ethernet)
            ordered = ordered && p.timestamp >= last
            last = p.timestamp
        }
        #expect(packets == result.packets)
        #expect(ordered)
        #expect(source.statistics.allSatisfy { $0.warnings.isEmpty })
    }

    @Test func splitFilesGiveTheMergedReport() throws {
        let dir = try TemporaryFolder()
        var c = fleet(clients: 9, hours: 1, allFaults: false)
        c.faults = [.missed: 1, .failover: 1, .oldTLS: 1]
        let one = try Simulator(plan: FleetPlan.make(c, model: .builtIn)).write(to: dir.file("one.pcap"))
        c.files = 3
        let three = try Simulator(plan: FleetPlan.make(c, model: .builtIn)).write(to: dir.file("three.pcap"))
        #expect(three.paths.count == 3)
        #expect(three.packets == one.packets)
        let a = try HeartbeatReport.encoder().encode(try analyze(one.paths))
        let b = try HeartbeatReport.encoder().encode(try analyze(three.paths))
        #expect(a == b)
    }

    @Test func validationNamesTheOption() {
        var c = SimulationConfiguration()
        c.jitterSeconds = 30
        #expect(throws: SimulationError.self) { try c.validate(model: .builtIn) }
        c = SimulationConfiguration()
        c.clients = 2
        c.faults[.http503] = 5
        #expect(throws: SimulationError.self) { try FleetPlan.make(c, model: .builtIn) }
    }
}
