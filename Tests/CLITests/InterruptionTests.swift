import CLI
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// SIGINT, SIGTERM or SIGHUP in the middle of a run: the process dies of the signal (a shell reports
/// 128 + signal) and leaves no cut-short report, capture, split file or truth file behind.
@Suite(.serialized) struct InterruptionTests {
    /// How a run ended, and whether the signal went out before it did.
    struct Ending {
        var reason: Process.TerminationReason
        var status: Int32
        var signalled: Bool
        /// The status a shell reports: 128 + signal for a process killed by one.
        var shellStatus: Int32 { reason == .uncaughtSignal ? 128 + status : status }
    }

    /// Runs `command` (through `/bin/sh -c`, `exec`ing the binary, so the process keeps its id) and
    /// sends it `signal` once `file` holds a byte. Gives up after 30 s.
    static func run(_ command: String, arguments: [String], signal: Int32, once file: String) throws -> Ending {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command] + arguments
        process.standardError = FileHandle.nullDevice
        try CLIRun.runWithSignalsUnblocked(process)
        var signalled = false
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning, Date() < deadline {
            var info = stat()
            if stat(file, &info) == 0, info.st_size > 0 {
                signalled = kill(process.processIdentifier, signal) == 0
                break
            }
            usleep(500)
        }
        if process.isRunning, !signalled { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return Ending(reason: process.terminationReason, status: process.terminationStatus, signalled: signalled)
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// A fleet far too long to finish: `simulate` is still writing when the signal comes.
    static let longFleet = ["--clients", "1000", "--duration", "8h", "--seed", "9"]

    @Test func simulateStoppedBySignalRemovesItsCaptureAndTruthFile() throws {
        let binary = try CLIRun.builtBinary()
        let dir = try TemporaryFolder()
        for (signal, status, split) in [(SIGINT, 130, 1), (SIGTERM, 143, 3), (SIGHUP, 129, 1)] {
            let capture = dir.path + "/fleet-\(signal).pcap"
            let files = split == 1 ? [capture] : (1...split).map { dir.path + "/fleet-\(signal)-\($0).pcap" }
            let ending = try Self.run(
                #"exec "$0" "$@""#, arguments: [binary, "simulate", "-q", "-o", capture, "--split", "\(split)"]
                    + Self.longFleet, signal: signal, once: files[0])
            #expect(ending.signalled, "signal \(signal): the run ended first")
            #expect(ending.reason == .uncaughtSignal && ending.shellStatus == Int32(status),
                    "signal \(signal): \(ending)")
            for file in files + [capture + ".truth.json"] {
                #expect(!Self.exists(file), "signal \(signal): \(file) left behind")
            }
        }
    }

    @Test func aCaptureReachedThroughASymbolicLinkIsLeft() throws {
        let binary = try CLIRun.builtBinary()
        let dir = try TemporaryFolder()
        let target = dir.path + "/target.pcap"
        let link = dir.path + "/link.pcap"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let ending = try Self.run(#"exec "$0" "$@""#,
                                  arguments: [binary, "simulate", "-q", "-o", link] + Self.longFleet,
                                  signal: SIGINT, once: target)
        #expect(ending.signalled && ending.shellStatus == 130, "\(ending)")
        #expect(Self.exists(link) && Self.exists(target))
    }

    @Test func anIgnoredInterruptStaysIgnored() throws {
        let binary = try CLIRun.builtBinary()
        let dir = try TemporaryFolder()
        let capture = dir.path + "/fleet.pcap"
        // As a background job of a shell without job control: SIGINT ignored from the start.
        let ending = try Self.run(#"trap '' INT; exec "$0" "$@""#,
                                  arguments: [binary, "simulate", "-q", "-o", capture, "--clients", "20",
                                              "--duration", "2h", "--seed", "9"],
                                  signal: SIGINT, once: capture)
        #expect(ending.reason == .exit && ending.status == 0, "\(ending)")
        #expect(Self.exists(capture) && Self.exists(capture + ".truth.json"))
    }

    /// The report is written after the capture is read, in a window of a tenth of a second or so:
    /// a run that ends before the signal goes out is tried again.
    @Test func analyzeStoppedBySignalRemovesItsReport() throws {
        let binary = try CLIRun.builtBinary()
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture(
            "fleet.pcap", ["--clients", "100", "--duration", "2h", "--push-share", "0", "--seed", "3"])
        let report = dir.path + "/report.txt"
        var interrupted = 0
        for _ in 0..<5 where interrupted == 0 {
            unlink(report)
            let ending = try Self.run(#"exec "$0" "$@""#, arguments: [binary, "analyze", "-q", "-o", report, capture],
                                      signal: SIGTERM, once: report)
            guard ending.reason == .uncaughtSignal else {
                #expect(ending.status == ExitStatus.ok, "\(ending)")
                continue
            }
            interrupted += 1
            #expect(ending.shellStatus == 143, "\(ending)")
            #expect(!Self.exists(report), "the cut-short report was left")
        }
        #expect(interrupted == 1, "every run finished before the signal")
    }
}
