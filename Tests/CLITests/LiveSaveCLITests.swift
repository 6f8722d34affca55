import Capture
import Dispatch
import Foundation
import Synchronization
import Testing
import TestSupport

@testable import CLI

#if canImport(Glibc)
import Glibc
#endif

/// Whether this process may capture on the loopback interface (root, or CAP_NET_RAW).
private let canCaptureLoopback: Bool = (try? LiveSource(interface: "lo")) != nil

/// `-w FILE`: a live capture's packets saved while they are analysed.
@Suite struct LiveSaveCLITests {
    // MARK: - Refused before capturing

    @Test func savingGoesOnlyWithAnInterface() {
        let run = CLIRun(["analyze", "-w", "/tmp/never.pcap", heartbeatCapture("https-idle")])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr == "sepbeat analyze: -w saves the packets of a live capture (-i); a capture file is "
            + "already saved (tcpdump -r FILE -w OTHER copies one)\n")
    }

    @Test(arguments: ["analyze", "audit", "validate", "flows"])
    func standardOutputAndTheReportFileAreRefused(_ command: String) throws {
        var run = CLIRun([command, "-i", "sepbeat-none0", "-w", "-", "--duration", "1"])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr == "sepbeat \(command): -w saves the packets to a file; standard output (-) is the "
            + "report's: give a file name\n")
        let folder = try TemporaryFolder()
        let both = folder.path + "/both.out"
        run = CLIRun([command, "-i", "sepbeat-none0", "-w", both, "-o", both, "--duration", "1"])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr == "sepbeat \(command): -w \(both) is the -o report file too; give the packets and the "
            + "report files of their own\n")
        // The same file by another name.
        #expect(FileManager.default.createFile(atPath: both, contents: Data()))
        run = CLIRun([command, "-i", "sepbeat-none0", "-w", both, "-o", folder.path + "/./both.out",
                      "--duration", "1"])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr.contains("is the -o report file too"))
    }

    /// The same file by other spellings while neither exists yet (`./x` and `x`, an absolute path, a symbolic
    /// link to where it would be), standard output by a name, and the model or SyLink.xml file.
    @Test func otherSpellingsOfTheReportStandardOutputAndSettingsFilesAreRefused() throws {
        let folder = try TemporaryFolder()
        let report = folder.path + "/new.json"
        let link = folder.path + "/link.pcap"
        #expect(symlink(report, link) == 0)
        for (save, out) in [(folder.path + "/./new.json", report), (link, report),
                            (folder.path + "/sub/../new.json", folder.path + "//new.json")] {
            if save.contains("/sub/") { try FileManager.default.createDirectory(atPath: folder.path + "/sub",
                                                                                 withIntermediateDirectories: true) }
            let run = CLIRun(["analyze", "-i", "sepbeat-none0", "-w", save, "-o", out, "--duration", "1"])
            #expect(run.status == ExitStatus.usage, "\(save) \(out)")
            #expect(run.stderr.contains("is the -o report file too"), "\(run.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: report))
        let model = folder.path + "/model.json"
        #expect(FileManager.default.createFile(atPath: model, contents: Data("{}".utf8)))
        let run = CLIRun(["audit", "-i", "sepbeat-none0", "-w", folder.path + "/./model.json", "--model", model,
                          "--duration", "1"])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr == "sepbeat audit: -w \(folder.path)/./model.json is the --model file; saving the packets "
            + "would overwrite it: give another file\n")
        #expect(LiveOptions.isStandardOutput("/dev/stdout"))
        #expect(!LiveOptions.isStandardOutput(model))
    }

    /// `--every` replaces its -o file by a rename: another hard link to it would keep the old report.
    @Test func aRollingReportFileWithOtherHardLinksIsRefused() throws {
        let folder = try TemporaryFolder()
        let report = folder.path + "/report.json"
        #expect(FileManager.default.createFile(atPath: report, contents: Data("{}".utf8)))
        #expect(link(report, folder.path + "/other-name.json") == 0)
        let run = CLIRun(["analyze", "-i", "sepbeat-none0", "--every", "5", "-o", report, "--duration", "1"])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr == "sepbeat analyze: --every replaces -o FILE whole each time, so FILE's other name "
            + "(a hard link) would keep the old report: \(report)\n")
    }

    /// A FIFO with no reader would hold the capture before it starts: refused with one line.
    @Test(.enabled(if: canCaptureLoopback)) func aFIFOWithNoReaderIsRefusedFirst() throws {
        let folder = try TemporaryFolder()
        let fifo = folder.path + "/packets"
        #expect(mkfifo(fifo, 0o600) == 0)
        let run = CLIRun(["analyze", "-q", "-i", "lo", "-w", fifo, "--duration", "1"])
        #expect(run.status == ExitStatus.outputFailed)
        #expect(run.stderr == "sepbeat analyze: \(fifo): cannot save the packets: no process is reading this FIFO "
            + "(start its reader first)\n")
    }

    /// A FIFO whose reader waits already gets the packets (the check for a reader does not end its data).
    @Test(.enabled(if: canCaptureLoopback)) func aFIFOWithAReaderGetsThePackets() throws {
        let folder = try TemporaryFolder()
        let fifo = folder.path + "/packets"
        #expect(mkfifo(fifo, 0o600) == 0)
        let received = Mutex<[UInt8]>([])
        let reader = Thread {
            guard let handle = FileHandle(forReadingAtPath: fifo) else { return }
            let data = handle.readDataToEndOfFile()
            received.withLock { $0 = [UInt8](data) }
        }
        reader.start()
        usleep(300_000)  // the reader waits in its open
        let server = try #require(LoopbackCheckIns())
        let client = Thread {
            usleep(300_000)
            server.checkIn(count: 1)
        }
        client.start()
        let run = CLIRun(["analyze", "-q", "-i", "lo", "-f", server.filter, "-w", fifo, "--duration", "1.5"])
        #expect(run.status == ExitStatus.ok, "\(run.stderr)")
        var waited = 0
        while received.withLock({ $0.isEmpty }), waited < 50 {
            usleep(100_000)
            waited += 1
        }
        let bytes = received.withLock { $0 }
        #expect(Array(bytes.prefix(4)) == [0x4D, 0x3C, 0xB2, 0xA1])
        #expect(bytes.count > 24 + 16 * 8, "\(bytes.count) bytes")
    }

    @Test func anEmptyOrRepeatedNameIsRefused() {
        var run = CLIRun(["analyze", "-i", "lo", "-w", ""])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr == "sepbeat analyze: -w/--write needs a file name\n")
        run = CLIRun(["analyze", "-i", "lo", "-w", "/tmp/no-such-folder/"])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr == "sepbeat analyze: -w/--write needs a file name, got a folder ('/tmp/no-such-folder/' "
            + "ends with /)\n")
        run = CLIRun(["analyze", "-o", "d/", heartbeatCapture("https-idle")])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr == "sepbeat analyze: -o/--output needs a file name, got a folder ('d/' ends with /)\n")
        run = CLIRun(["analyze", "-i", "lo", "-w", "/tmp/a.pcap", "--write", "/tmp/b.pcap"])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr == "sepbeat analyze: -w/--write is given more than once; save the packets to one file\n")
    }

    /// A file that cannot be written is said before capturing, not after hours of capture, whatever the
    /// interface (it is not opened yet).
    @Test func aFileThatCannotBeWrittenIsRefusedFirst() throws {
        let folder = try TemporaryFolder()
        let missing = folder.path + "/no/such/folder/day.pcap"
        var run = CLIRun(["analyze", "-q", "-i", "sepbeat-none0", "-w", missing, "--duration", "1"])
        #expect(run.status == ExitStatus.outputFailed)
        #expect(run.stderr == "sepbeat analyze: \(missing): cannot save the packets: No such file or directory "
            + "(checked before capturing)\n")
        run = CLIRun(["flows", "-q", "-i", "sepbeat-none0", "-w", folder.path, "--duration", "1"])
        #expect(run.status == ExitStatus.outputFailed)
        #expect(run.stderr == "sepbeat flows: \(folder.path): cannot save the packets: Is a directory "
            + "(checked before capturing)\n")
    }

    // MARK: - Capturing (loopback traffic only)

    /// The saved file holds the packets analysed: read again, it gives the live report's check-ins.
    @Test(.enabled(if: canCaptureLoopback)) func theSavedFileGivesTheSameReport() throws {
        let folder = try TemporaryFolder()
        let saved = folder.path + "/live.pcap"
        let server = try #require(LoopbackCheckIns())
        let client = Thread {
            usleep(400_000)
            server.checkIn(count: 2, gap: 0.05)
        }
        client.start()
        let live = CLIRun(["analyze", "-i", "lo", "-f", server.filter, "--duration", "2.5", "-w", saved,
                           "-F", "json"])
        #expect(live.status == ExitStatus.ok, "\(live.stderr)")
        #expect(live.stderr.hasSuffix(", then writes the report; the packets are saved to \(saved)\n"),
                "\(live.stderr)")
        let liveReport = try #require(try JSONSerialization.jsonObject(with: Data(live.stdout.utf8)) as? [String: Any])
        let liveCapture = try #require((liveReport["captures"] as? [[String: Any]])?.first)
        let packets = try #require(liveCapture["packets"] as? Int)
        #expect(packets >= 16)
        #expect(liveCapture["savedTo"] as? String == saved)
        #expect(liveCapture["savedPackets"] as? Int == packets)

        // A classic pcap file with nanosecond stamps and the interface's link type.
        let bytes = try #require(FileManager.default.contents(atPath: saved))
        #expect(Array(bytes.prefix(4)) == [0x4D, 0x3C, 0xB2, 0xA1])
        #expect(Array(bytes[20..<24]) == [1, 0, 0, 0])

        let again = CLIRun(["analyze", saved, "-F", "json"])
        #expect(again.status == ExitStatus.ok, "\(again.stderr)")
        let fileReport = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        let fileCapture = try #require((fileReport["captures"] as? [[String: Any]])?.first)
        #expect(fileCapture["packets"] as? Int == packets)
        #expect(fileCapture["warnings"] as? [String] == [])
        for key in ["counts", "sessions", "managers", "summary"] {
            #expect(try canonical(fileReport[key]) == canonical(liveReport[key]), "\(key)")
        }
    }

    /// A rolling report replacing an existing -o file keeps that file's mode (a report kept from others stays so).
    @Test(.enabled(if: canCaptureLoopback)) func aRollingReportKeepsTheModeOfTheFileItReplaces() throws {
        let folder = try TemporaryFolder()
        let report = folder.path + "/kept.json"
        #expect(FileManager.default.createFile(atPath: report, contents: Data("{}".utf8)))
        #expect(chmod(report, 0o640) == 0)
        let run = CLIRun(["analyze", "-q", "-i", "lo", "-f", "tcp port 9", "--every", "1", "--duration", "1.5",
                          "-o", report, "-F", "json"])
        #expect(run.status == ExitStatus.ok, "\(run.stderr)")
        var info = stat()
        #expect(stat(report, &info) == 0)
        #expect(info.st_mode & 0o7777 == 0o640)
        #expect((FileManager.default.contents(atPath: report)?.count ?? 0) > 2)
    }

    /// A save whose writes fail (a full disk; /dev/full refuses every write) stops the saving only: the
    /// capture and its report go on, a warning says so, and the exit status is 4.
    @Test(.enabled(if: canCaptureLoopback && access("/dev/full", W_OK) == 0))
    func aSaveThatFailsPartWayLeavesTheReportAndExitsFour() throws {
        let server = try #require(LoopbackCheckIns())
        let client = Thread {
            usleep(300_000)
            server.checkIn(count: 1)
        }
        client.start()
        let run = CLIRun(["analyze", "-i", "lo", "-f", server.filter, "--duration", "2", "-w", "/dev/full",
                          "-F", "json", "-q"])
        #expect(run.status == ExitStatus.outputFailed)
        #expect(run.stderr.contains("sepbeat: warning: lo: saving the packets to /dev/full failed after about "),
                "\(run.stderr)")
        #expect(run.stderr.contains(": cannot write: No space left on device; the capture and its analysis went "
            + "on, but that file holds only packets from before"), "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let counts = try #require(report["counts"] as? [String: Any])
        #expect(counts["connections"] as? Int == 1)
        let capture = try #require((report["captures"] as? [[String: Any]])?.first)
        #expect(capture["savedTo"] as? String == "/dev/full")
    }

    /// A JSON value written with sorted keys, to compare two parsed reports' members.
    private func canonical(_ value: Any?) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: try #require(value), options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
