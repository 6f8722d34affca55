import Analysis
import Capture
import Core
import Testing
import TestSupport

@testable import CLI

/// The application layer on a thread of its own behind the connection table
/// (`AnalysisConfiguration.applicationThread`) gives the records, their order, the ids left out among them and
/// the file summaries of the single-thread path, at the end and in every report so far.
@Suite struct ApplicationThreadTests {
    static func configuration(thread: Bool) -> AnalysisConfiguration {
        var configuration = AnalysisConfiguration()
        configuration.keepProtocolDetails = true
        configuration.applicationThread = thread
        return configuration
    }

    /// What a connection handed out is, written out for comparison: its record, its protocol details and its
    /// quiet bound.
    static func describe(_ c: CompletedConnection) -> String {
        "\(c.record) \(String(describing: c.details)) quiet \(c.longestQuietBound)"
    }

    /// Everything `paths` hands out, in the order handed out (ids left out among the connections), then the
    /// file summaries; or the error.
    static func outcome(_ paths: [String], thread: Bool) -> [String] {
        var run = CaptureRun(paths: paths, configuration: configuration(thread: thread))
        var out: [String] = []
        run.onLeftOut = { out.append("left out \($0)") }
        do {
            let files = try run.run(try run.open()) { out.append(describe($0)) }
            return out + files.map(ReadAheadRunTests.describe)
        } catch {
            return out + ["error \(error.message)"]
        }
    }

    @Test func corpusCapturesGiveTheSameBothWays() {
        let paths = CorpusPipelineTests.files("robustness") + CorpusPipelineTests.files("pcapng")
        #expect(paths.count > 900, "the shared corpus should be at \(Fixtures.corpus) (or set SEPBEAT_CORPUS)")
        var differing: [String] = []
        var lines = 0
        for path in paths {
            let single = Self.outcome([path], thread: false)
            lines += single.count
            if Self.outcome([path], thread: true) != single { differing.append(path) }
        }
        #expect(differing.isEmpty, "\(differing.prefix(10))")
        #expect(lines > 1_000)
    }

    /// A simulated fleet split over two files (counts per file, ids numbered across them) with faults, and one of
    /// its files merged with a capture of other traffic.
    @Test func simulatedFleetGivesTheSameBothWays() throws {
        let dir = try TemporaryFolder()
        let made = CLIRun(["simulate", "-q", "-o", dir.path + "/fleet.pcap", "--clients", "60", "--duration", "2h",
                           "--seed", "19", "--split", "2", "--fault", "missed", "--fault", "http-503"])
        #expect(made.status == 0, "simulate: \(made.stderr)")
        let files = [dir.path + "/fleet-1.pcap", dir.path + "/fleet-2.pcap"]
        let single = Self.outcome(files, thread: false)
        #expect(single.count > 500)
        #expect(Self.outcome(files, thread: true) == single)
        let copies = Fixtures.corpus + "/pcapng/le-advanced-test100.pcapng"
        #expect(Self.outcome([files[0], copies], thread: true) == Self.outcome([files[0], copies], thread: false))
    }

    /// Reports so far taken every few hundred packets are the same with and without the thread: the
    /// connections handed out by then, those still open as provisional records, and the summaries.
    @Test func reportsSoFarAreTheSameBothWays() throws {
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture("mixed.pcap", OpenConnectionsSoFarTests.mixed)
        func run(thread: Bool) throws -> [String] {
            let source = try CaptureRun(paths: [capture]).open()
            var out: [String] = []
            let analyzer = TrafficAnalyzer(configuration: Self.configuration(thread: thread)) {
                out.append(Self.describe($0))
            }
            var n = 0
            while let packet = try source.next() {
                analyzer.process(packet)
                n += 1
                guard n % 300 == 0 else { continue }
                let soFar = analyzer.soFar(fileStatistics: source.statistics)
                out.append("so far after \(n): \(out.count) handed out")
                out += soFar.open.map { "open " + Self.describe($0) }
                out += soFar.files.map(ReadAheadRunTests.describe)
            }
            analyzer.finish()
            analyzer.adopt(fileStatistics: source.statistics)
            return out + analyzer.files.map(ReadAheadRunTests.describe)
        }
        let single = try run(thread: false)
        #expect(single.filter { $0.hasPrefix("so far") }.count >= 3)
        #expect(single.contains { $0.hasPrefix("open ") })
        #expect(try run(thread: true) == single)
    }
}
