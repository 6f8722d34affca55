import Core
import Testing
import TestSupport
@testable import Capture

/// Every capture of the shared corpus's `robustness/` and `pcapng/` folders opens and
/// reads to the end without a crash or hang, giving records or a one-line error.
@Suite struct CorpusRobustnessTests {
    struct Outcome {
        var files = 0
        var read = 0
        var packets = 0
        var errors: [String] = []
        var warnings = 0
        var switched = 0
    }

    static func readAll(folder: String) throws -> Outcome {
        var outcome = Outcome()
        for name in listFolder(folder) where name.hasSuffix(".pcap") || name.hasSuffix(".pcapng") {
            let path = folder + "/" + name
            outcome.files += 1
            do throws(CaptureError) {
                let source = try CaptureReader.open(path: path)
                while let record = try source.next() {
                    #expect(record.bytes.count == record.capturedLength)
                    outcome.packets += 1
                }
                guard let statistics = source.statistics.first else {
                    Issue.record("no statistics for \(path)")
                    continue
                }
                outcome.read += 1
                outcome.warnings += statistics.warnings.count
                if statistics.reader != .libpcap, statistics.reader != .ownPcap { outcome.switched += 1 }
                for warning in statistics.warnings {
                    #expect(warning.description.hasPrefix(path + ": "))
                    #expect(!warning.description.contains("\n"))
                }
            } catch {
                #expect(error.message.hasPrefix(path + ": "), "error does not name the file: \(error.message)")
                #expect(!error.message.contains("\n"))
                #expect(error.exitStatus == 3)
                outcome.errors.append(error.message)
            }
        }
        return outcome
    }

    @Test func robustnessFolderReadsWithoutCrash() throws {
        let outcome = try Self.readAll(folder: Fixtures.corpus + "/robustness")
        #expect(outcome.files == 841)
        print("robustness: \(outcome.read) read, \(outcome.errors.count) errors, \(outcome.packets) packets, "
              + "\(outcome.warnings) warnings, \(outcome.switched) not by libpcap alone")
        for message in outcome.errors { print("  " + message) }
        #expect(outcome.read + outcome.errors.count == outcome.files)
    }

    @Test func pcapngFolderReadsWithoutCrash() throws {
        let outcome = try Self.readAll(folder: Fixtures.corpus + "/pcapng")
        #expect(outcome.files == 95)
        print("pcapng: \(outcome.read) read, \(outcome.errors.count) errors, \(outcome.packets) packets, "
              + "\(outcome.warnings) warnings, \(outcome.switched) not by libpcap alone")
        for message in outcome.errors { print("  " + message) }
        #expect(outcome.read + outcome.errors.count == outcome.files)
    }
}
