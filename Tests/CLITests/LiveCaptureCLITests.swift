import Analysis
import Capture
import Dispatch
import Foundation
import Heartbeat
import Reports
import Testing
import TestSupport

@testable import CLI

#if canImport(Glibc)
import Glibc
#endif

/// Whether this process may capture on the loopback interface (root, or CAP_NET_RAW).
private let canCaptureLoopback: Bool = (try? LiveSource(interface: "lo")) != nil

/// `-i IFACE`: check-ins captured from an interface, reported when the capture ends.
@Suite struct LiveCaptureCLITests {
    // MARK: - Options

    @Test(arguments: ["analyze", "audit", "validate", "flows"])
    func captureFilesAndAnInterfaceAreNotTakenTogether(_ command: String) {
        let run = CLIRun([command, "-i", "lo", heartbeatCapture("https-idle")])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr == "sepbeat \(command): -i captures from an interface; give no capture file with it "
            + "(got '\(heartbeatCapture("https-idle"))')\n")
    }

    @Test func theLiveOptionsGoOnlyWithAnInterface() {
        for (args, name) in [(["--duration", "10"], "--duration"), (["-c", "5"], "--count"),
                             (["--snaplen", "1500"], "--snaplen"), (["-p"], "--no-promiscuous")] {
            let run = CLIRun(["analyze"] + args + [heartbeatCapture("https-idle")])
            #expect(run.status == ExitStatus.usage, "\(args)")
            #expect(run.stderr == "sepbeat analyze: \(name) goes with -i (a live capture); capture files are read "
                + "whole\n")
        }
    }

    @Test func badLiveValuesAreRefused() {
        let cases: [([String], String)] = [
            (["--duration", "0"], "--duration takes a time above 0 and up to a year (366d): "
                + "seconds, or numbers with s, m, h or d (90, 30m, "
                + "2h, 1h30m; each unit once, larger first), got '0'"),
            (["--duration", "soon"], "--duration takes a time above 0 and up to a year (366d): "
                + "seconds, or numbers with s, m, h or d (90, 30m, "
                + "2h, 1h30m; each unit once, larger first), got 'soon'"),
            (["--duration", "1h30"], "--duration takes a time above 0 and up to a year (366d): "
                + "seconds, or numbers with s, m, h or d (90, 30m, "
                + "2h, 1h30m; each unit once, larger first), got '1h30'"),
            (["--duration", "400d"], "--duration takes a time above 0 and up to a year (366d): seconds, or numbers "
                + "with s, m, h or d (90, 30m, 2h, 1h30m; each unit once, larger first), got '400d'"),
            (["-c", "0"], "--count takes a whole number of packets, 1 or more, got '0'"),
            (["--count", "-3"], "--count takes a whole number of packets, 1 or more, got '-3'"),
            (["-s", "20"], "--snaplen takes a number of bytes from 68 to 262144, got '20'"),
            (["-i", ""], "-i/--interface needs an interface name (`ip link` lists them)"),
            (["-i", "lo", "-i", "eth0"], "-i/--interface is given more than once; capture from one interface per run"),
        ]
        for (args, message) in cases {
            let run = CLIRun(["analyze"] + args)
            #expect(run.status == ExitStatus.usage, "\(args)")
            #expect(run.stderr == "sepbeat analyze: \(message)\n", "\(args)")
        }
    }

    @Test func anInterfaceThatDoesNotExistFailsWithOneLine() {
        let run = CLIRun(["audit", "-i", "sepbeat-none0", "--duration", "1"])
        #expect(run.status == ExitStatus.unreadableInput)
        #expect(run.stderr == "sepbeat audit: sepbeat-none0: no such network interface (`ip link` lists them)\n")
        #expect(run.stdout.isEmpty)
    }

    /// `-o x.pcap` typed for tcpdump's `-w` would overwrite a capture: refused before capturing, as with files;
    /// an -o that cannot be written is refused before capturing too, not after hours of capture.
    @Test func anOutputThatWouldOverwriteACaptureOrCannotBeWrittenIsRefusedFirst() throws {
        let folder = try TemporaryFolder()
        let victim = folder.path + "/earlier.pcap"
        try FileManager.default.copyItem(atPath: heartbeatCapture("https-idle"), toPath: victim)
        let before = try #require(FileManager.default.contents(atPath: victim))
        var run = CLIRun(["analyze", "-q", "-i", "sepbeat-none0", "-o", victim, "--duration", "1"])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr == "sepbeat analyze: -o \(victim) is a pcap capture file; the report would overwrite it: "
            + "give another output file (or remove it first)\n")
        #expect(FileManager.default.contents(atPath: victim) == before)
        let missing = folder.path + "/no/such/folder/report.json"
        run = CLIRun(["audit", "-q", "-i", "sepbeat-none0", "-o", missing, "--duration", "1"])
        #expect(run.status == ExitStatus.outputFailed)
        #expect(run.stderr == "sepbeat audit: \(missing): cannot write the report: No such file or directory "
            + "(checked before capturing)\n")
    }

    /// An interface deleted while it is captured: the packets captured before are reported, with a warning
    /// and a `capture-gap` finding (everything was thrown away, exit 3).
    @Test(.enabled(if: canCaptureLoopback && geteuid() == 0))
    func anInterfaceThatGoesAwayEndsTheCaptureKeepingItsPackets() throws {
        let veth = try #require(TestVeth(prefix: "sbdel"))
        let remover = Thread {
            usleep(1_500_000)
            veth.delete()
        }
        remover.start()
        let name = veth.name
        let run = CLIRun(["analyze", "-i", name, "--duration", "20", "-F", "json"])
        #expect(run.status == ExitStatus.ok, "\(run.stderr)")
        #expect(run.stderr.contains("sepbeat: warning: \(name): the capture ended early"), "\(run.stderr)")
        // Its going away is not also a stretch the interface was down.
        #expect(!run.stderr.contains("the interface was down from"), "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let findings = try #require(report["findings"] as? [[String: Any]])
        #expect(findings.contains { ($0["code"] as? String) == "capture-gap"
            && (($0["message"] as? String) ?? "").contains("the capture ended early") })
    }

    /// An interface down for a while is said, and its stretch is time the capture did not cover.
    @Test(.enabled(if: canCaptureLoopback && geteuid() == 0)) func anInterfaceDownForAWhileIsSaid() throws {
        let veth = try #require(TestVeth(prefix: "sbdn"))
        let flapper = Thread {
            usleep(1_000_000)
            veth.setUp(false)
            usleep(1_500_000)
            veth.setUp(true)
        }
        flapper.start()
        let name = veth.name
        let run = CLIRun(["analyze", "-i", name, "--duration", "4", "-F", "json"])
        #expect(run.status == ExitStatus.ok, "\(run.stderr)")
        #expect(run.stderr.contains("sepbeat: warning: \(name): the interface was down from "), "\(run.stderr)")
        #expect(run.stderr.contains(": nothing was captured then"))
    }

    /// A live capture's start line names only a signal that ends it.
    @Test(.enabled(if: canCaptureLoopback)) func aLiveCaptureNamesOnlyASignalThatEndsIt() throws {
        let start = "sepbeat analyze: capturing on lo (link type EN10MB); stops after 0.200 s"
        let hup = try FollowedInputNoteTests.stderr(of: #"trap '' INT TERM; "$0" analyze -i lo --duration 0.2"#)
        #expect(hup.text.contains(start + " or on SIGHUP (SIGINT and SIGTERM are ignored here), then writes the "
            + "report\n"), "\(hup.text)")
        let none = try FollowedInputNoteTests.stderr(of: #"trap '' INT TERM HUP; "$0" analyze -i lo --duration 0.2"#)
        #expect(none.text.contains(start + " (SIGINT, SIGTERM and SIGHUP are ignored here), then writes the report\n"),
                "\(none.text)")
    }

    @Test func withNoCaptureTheUsageLineNamesTheInterfaceOption() {
        let run = CLIRun(["analyze"])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr.contains("or -i IFACE to capture from an interface"))
    }

    // MARK: - Capturing (loopback traffic only)

    @Test(.enabled(if: canCaptureLoopback)) func checkInsCapturedForADurationAreReported() throws {
        let server = try #require(LoopbackCheckIns())
        let client = Thread {
            usleep(500_000)
            server.checkIn(count: 3, gap: 0.1)
        }
        client.start()
        let run = CLIRun(["analyze", "-i", "lo", "-f", server.filter, "--duration", "3", "-F", "json"])
        #expect(run.status == ExitStatus.ok, "\(run.stderr)")
        #expect(run.stderr == "sepbeat analyze: capturing on lo (link type EN10MB); stops after 3.000 s or on "
            + "Ctrl-C, then writes the report\n")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let captures = try #require(report["captures"] as? [[String: Any]])
        #expect(captures.count == 1)
        #expect(captures.first?["path"] as? String == "lo")
        #expect(captures.first?["format"] as? String == "live")
        #expect(captures.first?["droppedByKernel"] as? Int == 0)
        #expect(captures.first?["droppedByInterface"] as? Int == 0)
        // Three connections, each SYN, SYN-ACK, ACK, request, answer, FIN exchange: at least 8 packets each.
        #expect((captures.first?["packets"] as? Int ?? 0) >= 24)
        let counts = try #require(report["counts"] as? [String: Any])
        #expect(counts["connections"] as? Int == 3)
        #expect(counts["managerConnections"] as? Int == 3)
        let managers = try #require(report["managers"] as? [[String: Any]])
        #expect(managers.map { $0["address"] as? String } == [LoopbackCheckIns.serverAddress])
        #expect(managers.first?["source"] as? String == "inferred-http")
        // Three connections a tenth of a second apart are one check-in (within the join gap).
        let sessions = try #require(report["sessions"] as? [[String: Any]])
        #expect(sessions.count == 1)
        #expect(sessions.first?["client"] as? String == LoopbackCheckIns.clientAddress)
    }

    @Test(.enabled(if: canCaptureLoopback)) func flowsListsTheConnectionsOfALiveCapture() throws {
        let server = try #require(LoopbackCheckIns())
        let client = Thread {
            usleep(300_000)
            server.checkIn(count: 1)
        }
        client.start()
        let run = CLIRun(["flows", "-i", "lo", "-f", server.filter, "--duration", "2", "--http", "-q"])
        #expect(run.status == ExitStatus.ok, "\(run.stderr)")
        #expect(run.stderr.isEmpty)
        // The rows as connections end, then the summary of the interface.
        #expect(run.stdout.hasPrefix("#  client"))
        #expect(run.stdout.contains("\nlo: "))
        #expect(run.stdout.contains("GET /secars/secars.dll"))
        #expect(run.stdout.contains("lost while capturing: 0 dropped by the kernel (buffer full), 0 by the interface"))
    }

    @Test(.enabled(if: canCaptureLoopback)) func theCountStopsTheCapture() throws {
        let server = try #require(LoopbackCheckIns())
        let client = Thread {
            usleep(300_000)
            server.checkIn(count: 2)
        }
        client.start()
        // The handshake of the first connection: SYN, SYN-ACK, ACK.
        let run = CLIRun(["flows", "-i", "lo", "-f", server.filter, "-c", "3", "--duration", "20", "-q", "-F", "json"])
        #expect(run.status == ExitStatus.ok, "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let captures = try #require(report["captures"] as? [[String: Any]])
        #expect(captures.first?["packets"] as? Int == 3)
        #expect(captures.first?["tcpPackets"] as? Int == 3)
    }

    /// Ctrl-C ends a live capture and the report is still written (a second signal would stop the process).
    @Test(.enabled(if: canCaptureLoopback)) func sigintEndsTheCaptureAndTheReportIsWritten() throws {
        let binary = try CLIRun.builtBinary()
        let folder = try TemporaryFolder()
        let server = try #require(LoopbackCheckIns())
        let report = folder.path + "/live.json"
        let errors = folder.path + "/stderr.txt"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exec \"$0\" analyze -i lo -f \"$1\" -F json -o \"$2\" 2>\"$3\"", binary,
                             server.filter, report, errors]
        try CLIRun.runWithSignalsUnblocked(process)
        // Once the capture has begun (its line on stderr), two check-ins, then Ctrl-C.
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning, Date() < deadline,
              !(((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "").contains("capturing on lo")) {
            usleep(20_000)
        }
        server.checkIn(count: 2, gap: 0.05)
        usleep(600_000)
        kill(process.processIdentifier, SIGINT)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == ExitStatus.ok)
        let data = try #require(FileManager.default.contents(atPath: report))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let counts = try #require(json["counts"] as? [String: Any])
        #expect(counts["connections"] as? Int == 2)
        let summary = try #require(json["summary"] as? [String: Any])
        #expect(summary["sessions"] as? Int == 1)
    }
}

/// `--every`: the report so far replaces the -o file while the capture goes on.
@Suite struct RollingReportTests {
    @Test func everyNeedsAnOutputFileThatCanBeReplaced() throws {
        let folder = try TemporaryFolder()
        var run = CLIRun(["analyze", "-i", "lo", "--every", "5m"])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr == "sepbeat analyze: --every writes the report so far to the -o FILE it replaces each "
            + "time; give -o FILE\n")
        let link = folder.path + "/link.json"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: folder.path + "/real.json")
        run = CLIRun(["audit", "-i", "lo", "--every", "60", "-o", link])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr.hasPrefix("sepbeat audit: --every replaces -o FILE whole each time, so FILE must be a "
            + "regular file"))
        run = CLIRun(["analyze", "--every", "60", "-o", folder.path + "/r.json", heartbeatCapture("https-idle")])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr == "sepbeat analyze: --every goes with -i (a live capture) or a followed input (standard "
            + "input that is not a regular file, or a FIFO named as a capture); capture files are read whole\n")
        run = CLIRun(["analyze", "-i", "lo", "--every", "0.5", "-o", folder.path + "/r.json"])
        #expect(run.stderr == "sepbeat analyze: --every takes a time from 1 s to a year (366d): seconds, or numbers "
            + "with s, m, h or d (90, 30m, 2h, 1h30m; each unit once, larger first), got '0.5'\n")
        // 0 is refused with the same words (it said "above 0" while 0.5 was refused as below 1 s).
        run = CLIRun(["analyze", "-i", "lo", "--every", "0", "-o", folder.path + "/r.json"])
        #expect(run.stderr == "sepbeat analyze: --every takes a time from 1 s to a year (366d): seconds, or numbers "
            + "with s, m, h or d (90, 30m, 2h, 1h30m; each unit once, larger first), got '0'\n")
        // flows writes at the end only.
        run = CLIRun(["flows", "-i", "lo", "--every", "60"])
        #expect(run.status == ExitStatus.usage)
        #expect(run.stderr.hasPrefix("sepbeat flows: unknown option '--every'"))
    }

    /// `--every` writes each report to a new file beside FILE and renames it over FILE: a folder that takes
    /// no new file is refused before capturing even when FILE itself may be written, instead of every report
    /// failing and the final one being lost after the capture. Without `--every` the report is written in
    /// place, so FILE alone counts. (An immutable folder refuses new files to root too.)
    @Test(.enabled(if: canMakeFoldersImmutable)) func everyWantsAFolderThatTakesNewFiles() throws {
        let folder = try TemporaryFolder()
        let report = folder.write("r.json", "")
        try #require(chattr("+i", folder.path))
        defer { _ = chattr("-i", folder.path) }
        var run = CLIRun(["analyze", "-q", "-i", "sepbeat-none0", "--every", "60", "-o", report])
        #expect(run.status == ExitStatus.outputFailed)
        #expect(run.stderr == "sepbeat analyze: \(report): cannot write the report: Operation not permitted "
            + "(checked before capturing)\n")
        run = CLIRun(["analyze", "-q", "-i", "sepbeat-none0", "-o", report])
        #expect(run.status == ExitStatus.unreadableInput)
        #expect(run.stderr.contains("no such network interface"))
    }

    /// While the interface is quiet the connection table follows the system's clock, so a connection
    /// that closed is handed out after its linger without waiting for another packet; the rolling
    /// report gets the summaries so far.
    @Test(.enabled(if: canCaptureLoopback)) func quietCapturesHandConnectionsOutAndReportAsTheyGo() throws {
        let server = try #require(LoopbackCheckIns())
        var settings = LiveCaptureSettings()
        settings.durationNanoseconds = 5_000_000_000
        settings.readTimeoutMilliseconds = 50
        let source = try LiveSource(interface: "lo", settings: settings)
        try source.setFilter(server.filter)
        var configuration = AnalysisConfiguration()
        configuration.streamLimits.closeLinger = 500_000_000
        var run = CaptureRun(paths: ["lo"], configuration: configuration)
        var snapshots: [Int] = []
        run.rolling = RollingReports(intervalNanoseconds: 400_000_000) { soFar in
            snapshots.append(soFar.files.first?.packets ?? -1)
        }
        var delivered: [Date] = []
        let client = Thread {
            usleep(300_000)
            server.checkIn(count: 3, gap: 0.05)
        }
        client.start()
        let files = try run.run(source) { _ in delivered.append(Date()) }
        let ended = Date()
        #expect(delivered.count == 3)
        // Handed out once the linger (0.5 s) and the clock's margin (2 s) passed, well before the end (5 s).
        #expect(delivered.allSatisfy { ended.timeIntervalSince($0) > 1 })
        #expect(snapshots.count >= 5)
        #expect(zip(snapshots, snapshots.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(snapshots.last == files.first?.packets)
    }

    @Test(.enabled(if: canCaptureLoopback)) func theOutputFileIsReplacedWhileCapturing() throws {
        let folder = try TemporaryFolder()
        let server = try #require(LoopbackCheckIns())
        let report = folder.path + "/rolling.json"
        let box = RunBox()
        let runner = Thread {
            box.run = CLIRun(["analyze", "-i", "lo", "-f", server.filter, "--every", "1", "--duration", "4",
                              "-F", "json", "-o", report, "-q"])
            box.done.signal()
        }
        runner.start()
        // Once the capture has begun (it opens the interface at once).
        usleep(1_000_000)
        server.checkIn(count: 2, gap: 0.05)
        // A whole report is there before the capture ends (each one replaces the last whole).
        var seenWhileRunning = false
        let deadline = Date().addingTimeInterval(30)
        while box.done.wait(timeout: .now() + .milliseconds(100)) == .timedOut, Date() < deadline {
            if let data = FileManager.default.contents(atPath: report),
               (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] != nil {
                seenWhileRunning = true
            }
        }
        #expect(seenWhileRunning)
        let run = try #require(box.run)
        #expect(run.status == ExitStatus.ok, "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        let data = try #require(FileManager.default.contents(atPath: report))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect((json["counts"] as? [String: Any])?["connections"] as? Int == 2)
        // No temporary file is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["rolling.json"])
        let mode = try FileManager.default.attributesOfItem(atPath: report)[.posixPermissions] as? Int
        #expect(mode.map { $0 & 0o044 } == 0o044 || mode.map { $0 & 0o600 } == 0o600)
    }
}

/// A report so far that cannot be written is said once, not at every interval, and its recovery in one line.
@Suite struct RollingFailureTests {
    @Test func aFailureIsSaidOnceUntilItChanges() {
        let failures = RollingFailures()
        #expect(failures.note(nil, command: "analyze", path: "r.json") == nil)
        let full = "sepbeat analyze: r.json: cannot write the report: No space left on device"
        #expect(failures.note(full, command: "analyze", path: "r.json")
            == full + " (the capture goes on; said again only when this changes)")
        #expect(failures.note(full, command: "analyze", path: "r.json") == nil)
        let denied = "sepbeat analyze: r.json: cannot write the report: Permission denied"
        #expect(failures.note(denied, command: "analyze", path: "r.json")?.hasPrefix(denied) == true)
        #expect(failures.note(nil, command: "analyze", path: "r.json")
            == "sepbeat analyze: r.json: the report so far was written again")
        #expect(failures.note(nil, command: "analyze", path: "r.json") == nil)
        #expect(failures.note(full, command: "analyze", path: "r.json") != nil)
    }

    @Test func theStartLineShowsADurationUnderAMillisecond() {
        #expect(InputRun.durationText(0.0001) == "100.000 µs")
        #expect(InputRun.durationText(0.001) == "0.001 s")
        #expect(InputRun.durationText(90) == "1 min 30 s")
    }

    /// The folder refuses new files for about two intervals of the capture, then takes them again: one error
    /// line, one line when it is written again.
    @Test(.enabled(if: canCaptureLoopback && canMakeFoldersImmutable))
    func aFolderThatRefusesReportsForAWhileIsSaidOnce() throws {
        let folder = try TemporaryFolder()
        let report = folder.path + "/rolling.json"
        let box = RunBox()
        let runner = Thread {
            box.run = CLIRun(["analyze", "-i", "lo", "-f", "tcp port 9", "--every", "1", "--duration", "7",
                              "-F", "json", "-o", report, "-q"])
            box.done.signal()
        }
        runner.start()
        usleep(1_500_000)
        try #require(chattr("+i", folder.path))
        usleep(3_000_000)
        #expect(chattr("-i", folder.path))
        #expect(box.done.wait(timeout: .now() + 30) == .success)
        let run = try #require(box.run)
        #expect(run.status == ExitStatus.ok, "\(run.stderr)")
        let lines = run.stderr.split(separator: "\n").map(String.init)
        #expect(lines == [
            "sepbeat analyze: \(report): cannot write the report: Operation not permitted; it still holds the "
                + "report written before (the capture goes on; said again only when this changes)",
            "sepbeat analyze: \(report): the report so far was written again",
        ])
    }
}

/// A run made on another thread, and its end.
private final class RunBox: @unchecked Sendable {
    var run: CLIRun?
    let done = DispatchSemaphore(value: 0)
}

/// Packets a live capture lost: in the summary, and a `capture-gap` finding in the report.
@Suite struct LiveCaptureDropTests {
    static func summary(kernel: Int?, interface: Int?) -> CaptureSummary {
        var s = CaptureSummary(path: "eth0")
        s.format = "live"
        s.packets = 100
        s.droppedByKernel = kernel
        s.droppedByInterface = interface
        return s
    }

    @Test func lostPacketsBecomeACaptureGapFinding() throws {
        var builder = SessionBuilder(model: .builtIn)
        let report = ReportCommand.finish(&builder, files: [Self.summary(kernel: 7, interface: 2)])
        let gaps = report.findings.filter { $0.code == .captureGap }
        #expect(gaps.map(\.message) == ["eth0: 9 packets were lost while capturing (7 dropped by the kernel with "
            + "its buffer full, 2 by the interface); check-ins around them may be incomplete"])
        var clean = SessionBuilder(model: .builtIn)
        #expect(ReportCommand.finish(&clean, files: [Self.summary(kernel: 0, interface: 0)]).findings.isEmpty)
    }

    @Test func theSummaryShowsDropsOnlyForAnInterface() {
        let live = Self.summary(kernel: 3, interface: 0)
        #expect(CaptureSummaryReport.text(live).contains(
            "  lost while capturing: 3 dropped by the kernel (buffer full), 0 by the interface\n"))
        let file = Self.summary(kernel: nil, interface: nil)
        #expect(!CaptureSummaryReport.text(file).contains("lost while capturing"))
        let json = CaptureSummaryReport.json(live).serialized()
        #expect(json.contains("\"droppedByKernel\":3"))
        #expect(!CaptureSummaryReport.json(file).serialized().contains("dropped"))
        let merged = CaptureSummary.merged([live, Self.summary(kernel: 4, interface: 1), file])
        #expect(merged.droppedByKernel == 7)
        #expect(merged.droppedByInterface == 1)
    }
}

/// Whether this process can make a folder immutable (`chattr +i`: root, on a file system with the attribute).
let canMakeFoldersImmutable: Bool = {
    guard geteuid() == 0, let folder = try? TemporaryFolder(), chattr("+i", folder.path) else { return false }
    return chattr("-i", folder.path)
}()

/// Runs `chattr FLAG path`; whether it succeeded.
func chattr(_ flag: String, _ path: String) -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
    p.arguments = [flag, path]
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}
