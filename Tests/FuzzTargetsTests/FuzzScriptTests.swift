import Foundation
import Testing
import TestSupport

/// `Scripts/fuzz.sh` checks its arguments before the long instrumented build. A `swift` that fails at once stands
/// in for the toolchain, so an argument the script lets through ends with that status instead of a build.
@Suite struct FuzzScriptTests {
    static let buildStatus: Int32 = 97

    /// Runs `sh Scripts/fuzz.sh ARGUMENTS` with the stand-in `swift` first on the PATH; its status and stderr.
    static func fuzz(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ScriptRun {
        let folder = NSTemporaryDirectory() + "sepbeat-fuzz-script-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try #require(FileManager.default.createFile(atPath: folder + "/swift",
                                                    contents: Data("#!/bin/sh\nexit \(buildStatus)\n".utf8),
                                                    attributes: [.posixPermissions: 0o755]))
        let path = folder + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        return try ScriptRun("/bin/sh", [Fixtures.packageRoot + "/Scripts/fuzz.sh"] + arguments,
                             environment: extra.merging(["PATH": path]) { $1 })
    }

    /// `00` is 0 seconds: without files it is refused as `0` is (before, libFuzzer was given 00 and fuzzed
    /// without end from no corpus).
    @Test(arguments: ["0", "00", "000"])
    func zeroSecondsWithoutFilesIsRefused(_ seconds: String) throws {
        let run = try Self.fuzz(["x509", seconds])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("SECONDS 0 runs the target once over the FILEs given after it"), "\(run.stderr)")
    }

    /// Two names in one argument are no target (before, they matched the list as a whole and went to the build).
    @Test func twoTargetNamesInOneArgumentAreRefused() throws {
        let run = try Self.fuzz(["packet fragments", "5"])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("fuzz.sh: unknown target 'packet fragments'"), "\(run.stderr)")
    }

    /// A relative `SEPBEAT_CORPUS` is read from where the script was run, not from the repository it moves to.
    @Test func aRelativeCorpusIsTheCallersPath() throws {
        let run = try Self.fuzz(["pcap", "5"], environment: ["SEPBEAT_CORPUS": "no-such-corpus-here"])
        #expect(run.status == Self.buildStatus)
        let shown = FileManager.default.currentDirectoryPath + "/no-such-corpus-here"
        #expect(run.stderr.contains("the capture corpus \(shown) is not a folder"), "\(run.stderr)")
    }

    /// A known target and a number of seconds go on to the build.
    @Test func aTargetAndSecondsGoToTheBuild() throws {
        #expect(try Self.fuzz(["x509", "007"]).status == Self.buildStatus)
        #expect(try Self.fuzz(["sylink", "5"]).status == Self.buildStatus)
    }
}
