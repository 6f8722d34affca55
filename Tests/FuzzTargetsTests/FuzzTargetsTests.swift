import Foundation
import FuzzTargets
import Testing
import TestSupport

/// Every fuzz target over its samples, small corpus files and a few thousand deterministic
/// mutations of them. A failure here is a crash of the test process (a trap or a failed
/// precondition); the seed and iteration then reproduce it (`Mutator(seed:)` is deterministic).
@Suite struct FuzzTargetsTests {
    /// Mutations per target. The whole suite stays within a few seconds in debug builds.
    static let mutations = 3_000
    /// Largest input handed to a target, so that a mutation run cannot grow without bound.
    static let maxInput = 16 * 1_024

    @Test(arguments: FuzzTarget.allCases)
    func samplesAndMutationsRunCleanly(_ target: FuzzTarget) throws {
        let seeds = target.samples + Self.corpusSeeds(for: target)
        #expect(!seeds.isEmpty)
        for seed in seeds { target.run(seed) }

        var mutator = Mutator(seed: target.rawValue.utf8.reduce(0x5e9b_ea70) { $0 &* 31 &+ UInt64($1) })
        for _ in 0..<Self.mutations {
            let base = seeds[mutator.below(seeds.count)]
            let other = seeds[mutator.below(seeds.count)]
            var input = mutator.mutate(base, other: other)
            if input.count > Self.maxInput { input.removeSubrange(Self.maxInput...) }
            Self.keepForReproduction(input, target)
            target.run(input)
        }
    }

    /// With `SEPBEAT_FUZZ_LAST_INPUT=DIR`, each input is written to `DIR/TARGET` before it runs, so
    /// the file left after a crash reproduces it (`Scripts/fuzz.sh TARGET 0 FILE` runs one input).
    static func keepForReproduction(_ input: [UInt8], _ target: FuzzTarget) {
        guard let directory = ProcessInfo.processInfo.environment["SEPBEAT_FUZZ_LAST_INPUT"] else { return }
        // Best effort: a file that cannot be written only leaves no reproduction behind.
        _ = FileManager.default.createFile(atPath: directory + "/" + target.rawValue, contents: Data(input))
    }

    @Test func everyTargetHasSamples() {
        for target in FuzzTarget.allCases {
            #expect(!target.samples.isEmpty, "\(target.rawValue) has no samples")
        }
    }

    /// `Scripts/fuzz.sh` keeps its own list of targets (it checks a name before the long instrumented build), and
    /// README's "Fuzzing" names them: a target added to `FuzzTarget` must be added to both.
    @Test func scriptAndReadmeNameEveryTarget() throws {
        let script = try String(contentsOfFile: Fixtures.packageRoot + "/Scripts/fuzz.sh", encoding: .utf8)
        let listStart = try #require(script.range(of: "targets=\""))
        let listEnd = try #require(script[listStart.upperBound...].firstIndex(of: "\""))
        let listed = script[listStart.upperBound..<listEnd].split(whereSeparator: \.isWhitespace).map(String.init)
        #expect(listed == FuzzTarget.allCases.map(\.rawValue))

        let readme = try String(contentsOfFile: Fixtures.packageRoot + "/README.md", encoding: .utf8)
        let section = try #require(readme.range(of: "### Fuzzing"))
        let fuzzing = readme[section.upperBound...].prefix(1_500)
        for target in FuzzTarget.allCases {
            #expect(fuzzing.contains("`\(target.rawValue)`"), "README's Fuzzing section leaves out \(target.rawValue)")
        }
    }

    /// Small files of the shared corpus for the targets that read capture files (none when the
    /// corpus is missing): at most a few per target, so the suite stays quick.
    static func corpusSeeds(for target: FuzzTarget) -> [[UInt8]] {
        let folders: [String]
        switch target {
        case .pcapng: folders = ["pcapng"]
        case .pcap: folders = ["oracle/http", "oracle/tcp"]
        case .capture: folders = ["oracle/http", "oracle/tcp", "pcapng"]
        default: return []
        }
        var seeds: [[UInt8]] = []
        for folder in folders {
            let directory = Fixtures.corpus + "/" + folder
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for name in names.sorted() where name.hasSuffix(".pcap") || name.hasSuffix(".pcapng") {
                guard let data = FileManager.default.contents(atPath: directory + "/" + name),
                      data.count <= 4_096 else { continue }
                seeds.append(Array(data))
                if seeds.count >= 6 * folders.firstIndex(of: folder)! + 6 { break }
            }
        }
        return seeds
    }
}
