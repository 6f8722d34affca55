import Foundation
import Testing
import TestSupport

@testable import CLI

/// The same capture given twice under two names (a copy, not a link): recognised by its bytes, read once with
/// a one-line warning, not analysed as traffic captured twice.
@Suite struct CopiedCaptureTests {
    @Test func aCopyOfACaptureIsReadOnceWithAWarning() throws {
        let folder = try TemporaryFolder()
        let original = heartbeatCapture("fleet")
        let copy = folder.path + "/copy.pcap"
        try FileManager.default.copyItem(atPath: original, toPath: copy)

        let once = sepbeat("analyze", "-F", "json", original)
        let twice = sepbeat("analyze", "-F", "json", original, copy)
        #expect(twice.status == once.status)
        #expect(twice.stdout == once.stdout)
        #expect(twice.stderr == "sepbeat: warning: \(copy) holds the same bytes as \(original), given already (a copy "
            + "of the same capture); it is read once\n", "\(twice.stderr)")
        #expect(!twice.stderr.contains("exact copies"))

        // With another capture between them, in flows, with --jobs, and quietly.
        let other = heartbeatCapture("https-idle")
        let flows = sepbeat("flows", "-F", "json", original, other, copy)
        #expect(flows.stdout == sepbeat("flows", "-F", "json", original, other).stdout)
        #expect(flows.stderr.contains("\(copy) holds the same bytes as \(original)"))
        let jobs = sepbeat("analyze", "-F", "json", "-j", "2", copy, original, other)
        #expect(jobs.stdout == sepbeat("analyze", "-F", "json", "-j", "2", copy, other).stdout)
        #expect(jobs.stderr.contains("\(original) holds the same bytes as \(copy)"))
        #expect(sepbeat("flows", "-q", original, copy).stderr.isEmpty)
    }

    /// A copy named twice is dropped once as a copy, then as a name given more than once: one line per extra
    /// name, never the same-bytes line twice.
    @Test func aCopyNamedTwiceIsWarnedOfOncePerExtraName() throws {
        let folder = try TemporaryFolder()
        let original = heartbeatCapture("fleet")
        let copy = folder.path + "/copy.pcap"
        try FileManager.default.copyItem(atPath: original, toPath: copy)

        let run = sepbeat("analyze", "-F", "json", original, copy, copy, original)
        #expect(run.stdout == sepbeat("analyze", "-F", "json", original).stdout)
        #expect(run.stderr == "sepbeat: warning: \(copy) holds the same bytes as \(original), given already (a copy "
            + "of the same capture); it is read once\n"
            + "sepbeat: warning: \(copy) is given more than once; it is read once\n"
            + "sepbeat: warning: \(original) is given more than once; it is read once\n", "\(run.stderr)")
    }

    @Test func capturesOfTheSameSizeThatDifferAreBothRead() throws {
        let folder = try TemporaryFolder()
        let data = try #require(FileManager.default.contents(atPath: heartbeatCapture("https-idle")))
        // One byte of the last packet's payload changed: the same size, another capture.
        var changed = [UInt8](data)
        changed[changed.count - 1] ^= 0xFF
        let a = folder.path + "/a.pcap"
        let b = folder.path + "/b.pcap"
        #expect(FileManager.default.createFile(atPath: a, contents: data))
        #expect(FileManager.default.createFile(atPath: b, contents: Data(changed)))
        let run = sepbeat("flows", "-F", "json", a, b)
        #expect(!run.stderr.contains("same bytes"), "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect((report["captures"] as? [[String: Any]])?.count == 2)
    }

    /// Files over a MiB are compared first and last MiB first, then the rest: a difference anywhere counts.
    @Test(arguments: [0, 1_500_000, 2_600_000, 3_000_000 - 1])
    func filesDifferingAnywhereAreNotTheSame(at offset: Int) throws {
        let folder = try TemporaryFolder()
        var rng = SplitMix64(seed: 7)
        let bytes = (0..<3_000_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var other = bytes
        other[offset] ^= 1
        let a = folder.path + "/a.bin"
        let b = folder.path + "/b.bin"
        let c = folder.path + "/c.bin"
        #expect(FileManager.default.createFile(atPath: a, contents: Data(bytes)))
        #expect(FileManager.default.createFile(atPath: b, contents: Data(other)))
        #expect(FileManager.default.createFile(atPath: c, contents: Data(bytes)))
        #expect(!InputRun.sameContent(a, b, size: bytes.count))
        #expect(InputRun.sameContent(a, c, size: bytes.count))
        var output = Output()
        output.capture = true
        #expect(InputRun.distinctFiles([a, b, c], quiet: false, output: &output) == [a, b])
        #expect(output.standardError == "sepbeat: warning: \(c) holds the same bytes as \(a), given already (a copy "
            + "of the same capture); it is read once\n")
    }
}
