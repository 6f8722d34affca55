import Analysis
import Capture
import Testing
import TestSupport

/// Every robustness and pcapng capture goes through the whole pipeline (reader,
/// decoder, connection table, HTTP/TLS parsers) without a crash or a hang, and
/// either gives a result or one clear error line naming the file.
@Suite struct CorpusPipelineTests {
    static func files(_ folder: String) -> [String] {
        listDirectory(Fixtures.corpus + "/" + folder)
            .filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }
            .map { Fixtures.corpus + "/" + folder + "/" + $0 }
    }

    struct Outcome {
        var read = 0
        var failed = 0
        var packets = 0
        var connections = 0
    }

    static func runAll(_ paths: [String]) -> Outcome {
        var outcome = Outcome()
        var configuration = AnalysisConfiguration()
        configuration.keepProtocolDetails = true
        for path in paths {
            do {
                let result = try CaptureRun(paths: [path], configuration: configuration).connections()
                outcome.read += 1
                outcome.packets += result.files.reduce(0) { $0 + $1.packets }
                outcome.connections += result.connections.count
                for f in result.files {
                    for w in f.warnings {
                        #expect(w.contains(path) && !w.contains("\n"), "one line naming the file: \(w)")
                    }
                }
            } catch {
                outcome.failed += 1
                #expect(error.message.contains(path), "error should name the file: \(error.message)")
                #expect(!error.message.contains("\n"))
            }
        }
        return outcome
    }

    @Test func robustnessCorpusRunsThroughThePipeline() {
        let paths = Self.files("robustness")
        #expect(paths.count == 841, "the shared corpus should be at \(Fixtures.corpus) (or set SEPBEAT_CORPUS)")
        let outcome = Self.runAll(paths)
        #expect(outcome.read + outcome.failed == paths.count)
        // libpcap opens every file of this folder; none may be lost to an error.
        #expect(outcome.failed == 0)
        #expect(outcome.packets > 10_000)
    }

    @Test func pcapngCorpusRunsThroughThePipeline() {
        let paths = Self.files("pcapng")
        #expect(paths.count == 95, "the shared corpus should be at \(Fixtures.corpus) (or set SEPBEAT_CORPUS)")
        let outcome = Self.runAll(paths)
        #expect(outcome.failed == 0)
        #expect(outcome.read == paths.count)
    }
}

/// The analyzer owns its connection table and the table does not retain it back, so a
/// library user analysing many captures in one process does not keep every run alive.
@Suite struct TrafficAnalyzerLifetimeTests {
    @Test func analyzerIsFreedAfterARun() throws {
        weak var weakAnalyzer: TrafficAnalyzer?
        do {
            let analyzer = TrafficAnalyzer { _ in }
            weakAnalyzer = analyzer
            let source = try CaptureReader.open(path: Fixtures.captures + "/heartbeat/https-idle.pcap")
            while let packet = try source.next() { analyzer.process(packet) }
            analyzer.finish()
            #expect(analyzer.summary.packets > 0)
        }
        #expect(weakAnalyzer == nil)
    }
}
