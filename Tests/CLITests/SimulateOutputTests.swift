import Foundation
import Testing
import TestSupport

@testable import CLI

#if canImport(Glibc)
import Glibc
#endif

/// `simulate -o` writes through the path it is given, as the other commands' `-o` do, and refuses
/// runs and options it cannot honour before writing anything.
@Suite struct SimulateOutputTests {
    private static let small = ["--clients", "2", "--duration", "30m", "-q"]

    private func fileType(_ path: String) -> mode_t {
        var info = stat()
        guard lstat(path, &info) == 0 else { return 0 }
        return info.st_mode & S_IFMT
    }

    @Test func writesIntoAFIFOWithoutReplacingIt() throws {
        let dir = try TemporaryFolder()
        let fifo = dir.path + "/out.pcap"
        let truthFIFO = fifo + ".truth.json"
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(mkfifo(truthFIFO, 0o600) == 0)
        let capture = FIFOReader(fifo)
        let truth = FIFOReader(truthFIFO)
        let run = CLIRun(["simulate", "-o", fifo] + Self.small)
        #expect(run.status == 0, "\(run.stderr)")
        let bytes = try #require(capture.wait())
        let json = try #require(truth.wait())
        #expect(Array(bytes.prefix(4)) == [0x4D, 0x3C, 0xB2, 0xA1])  // pcap, nanoseconds, little-endian
        #expect(bytes.count > 1_000)
        #expect(String(decoding: json, as: UTF8.self).contains("sepbeat-simulation-truth/1"))
        #expect(fileType(fifo) == S_IFIFO)
        #expect(fileType(truthFIFO) == S_IFIFO)
    }

    /// A FIFO no process reads is refused at once (exit status 4), not waited on forever.
    @Test func aFIFOWithNoReaderIsRefused() throws {
        let dir = try TemporaryFolder()
        let fifo = dir.path + "/out.pcap"
        #expect(mkfifo(fifo, 0o600) == 0)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try CLIRun.builtBinary())
        process.arguments = ["simulate", "-o", fifo] + Self.small
        let err = Pipe()
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { usleep(2_000) }
        let waited = process.isRunning
        if waited { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(!waited, "waited for a reader")
        #expect(process.terminationStatus == 4)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stderr == "sepbeat simulate: \(fifo): cannot write: no process is reading this FIFO (start its "
            + "reader first)\n")
        #expect(fileType(fifo) == S_IFIFO)
    }

    @Test func followsSymbolicLinks() throws {
        let dir = try TemporaryFolder()
        let target = dir.write("target.pcap", "old contents, longer than nothing")
        let truthTarget = dir.write("target.truth", "old truth")
        let link = dir.path + "/link.pcap"
        #expect(symlink(target, link) == 0)
        #expect(symlink(truthTarget, link + ".truth.json") == 0)
        let run = CLIRun(["simulate", "-o", link] + Self.small)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(fileType(link) == S_IFLNK)
        #expect(fileType(link + ".truth.json") == S_IFLNK)
        let written = try Data(contentsOf: URL(fileURLWithPath: target))
        #expect(Array(written.prefix(4)) == [0x4D, 0x3C, 0xB2, 0xA1])
        let truth = try String(contentsOfFile: truthTarget, encoding: .utf8)
        #expect(truth.hasPrefix("{"))
        #expect(truth.contains("sepbeat-simulation-truth/1"))
    }

    @Test func refusesADirectoryWithOneLineAndStatus4() throws {
        let dir = try TemporaryFolder()
        let folder = dir.path + "/folder--name"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        let run = CLIRun(["simulate", "-o", folder] + Self.small)
        #expect(run.status == ExitStatus.outputFailed)
        #expect(run.stderr.contains(folder))
        #expect(run.stderr.filter { $0 == "\n" }.count == 1)
        #expect(fileType(folder) == S_IFDIR)
    }

    @Test func unwritablePathIsStatus4() throws {
        let dir = try TemporaryFolder()
        let path = dir.path + "/missing-folder/out.pcap"
        let run = CLIRun(["simulate", "-o", path] + Self.small)
        #expect(run.status == ExitStatus.outputFailed)
        #expect(run.stderr.contains(path))
    }

    @Test func hugeRunIsRefusedUpFront() throws {
        let dir = try TemporaryFolder()
        let path = dir.path + "/big.pcap"
        let run = CLIRun(["simulate", "-o", path, "--clients", "200000", "--duration", "31d"])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr.contains("5000000"))
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func shortIntervalNeedsNoJitterOption() throws {
        let dir = try TemporaryFolder()
        let ok = CLIRun(["simulate", "-o", dir.path + "/a.pcap", "--interval", "60"] + Self.small)
        #expect(ok.status == 0, "\(ok.stderr)")
        let truth = try String(contentsOfFile: dir.path + "/a.pcap.truth.json", encoding: .utf8)
        #expect(truth.contains("\"jitterSeconds\": 3.0"))
        let tooMuch = CLIRun(["simulate", "-o", dir.path + "/b.pcap", "--interval", "60", "--jitter", "4"]
            + Self.small)
        #expect(tooMuch.status == ExitStatus.usage)
        #expect(tooMuch.stderr.contains("--jitter"))
    }

    @Test func splitIntoMoreFilesThanClientsIsRefused() throws {
        let dir = try TemporaryFolder()
        let run = CLIRun(["simulate", "-o", dir.path + "/s.pcap", "--split", "3"] + Self.small)
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr.contains("--split"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/s-1.pcap"))
        let two = CLIRun(["simulate", "-o", dir.path + "/t.pcap", "--split", "2"] + Self.small)
        #expect(two.status == 0, "\(two.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.path + "/t-1.pcap"))
        #expect(FileManager.default.fileExists(atPath: dir.path + "/t-2.pcap"))
    }

    /// A capture sent to a device (here /dev/null, to time a run) gets no truth file beside it: nothing is written
    /// into /dev, and the closing line says so. Split files, named after -o, are refused for a device.
    @Test func aDeviceGetsNoTruthFile() throws {
        let sibling = "/dev/null.truth.json"
        let before = FileManager.default.fileExists(atPath: sibling)
        let run = CLIRun(["simulate", "-o", "/dev/null", "--clients", "2", "--duration", "30m"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("no truth file (the capture went to a device"), "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: sibling) == before)
        let split = CLIRun(["simulate", "-o", "/dev/null", "--split", "2"] + Self.small)
        #expect(split.status == ExitStatus.usage)
        #expect(split.stderr == "sepbeat simulate: /dev/null is a device: --split names its files after -o, so it "
            + "needs a file name\n")
        // Through a symbolic link, the device is what counts.
        let dir = try TemporaryFolder()
        let link = dir.path + "/null.pcap"
        #expect(symlink("/dev/null", link) == 0)
        let linked = CLIRun(["simulate", "-o", link] + Self.small)
        #expect(linked.status == 0, "\(linked.stderr)")
        #expect(!FileManager.default.fileExists(atPath: link + ".truth.json"))
    }

    /// The closing line counts in the right number: `1 fault`, and `0 faults`.
    @Test func summaryCountsFaultsInTheRightNumber() throws {
        let dir = try TemporaryFolder()
        let one = CLIRun(["simulate", "-o", dir.path + "/one.pcap", "--clients", "2", "--duration", "1h",
                          "--http-share", "0", "--push-share", "0", "--fault", "missed"])
        #expect(one.stderr.contains(" check-ins, 1 fault in "), "\(one.stderr)")
        let none = CLIRun(["simulate", "-o", dir.path + "/none.pcap", "--clients", "2", "--duration", "1h"])
        #expect(none.stderr.contains(" check-ins, 0 faults in "), "\(none.stderr)")
    }
}
