import Analysis
import Capture
import Core
import Foundation
import Records
import Testing
import TestSupport

@testable import CLI

/// `--jobs N`: files read apart on several threads give the merged run's report byte for byte, and
/// files that share connections (or standard input) are read in order instead.
@Suite struct ParallelRunTests {
    static let fallbackLine = "sepbeat: files share connections; reading them in order instead"

    /// A fleet whose clients are spread over three files (`simulate --split 3`), push clients included.
    static func splitFleet(_ dir: TemporaryFolder) -> [String] {
        let made = CLIRun(["simulate", "-q", "-o", dir.path + "/fleet.pcap", "--clients", "24", "--duration", "2h",
                           "--seed", "7", "--split", "3", "--push-share", "0.3", "--fault", "missed",
                           "--fault", "late", "--fault", "http-503"])
        #expect(made.status == 0, "simulate: \(made.stderr)")
        return (1...3).map { dir.path + "/fleet-\($0).pcap" }
    }

    @Test(arguments: ["analyze", "audit", "validate"])
    func clientSplitFilesGiveTheMergedReport(_ command: String) throws {
        let dir = try TemporaryFolder()
        let files = Self.splitFleet(dir)
        let merged = CLIRun([command, "-F", "json", "--jobs", "1"] + files)
        let apart = CLIRun([command, "-F", "json", "--jobs", "3"] + files)
        #expect(!merged.stdout.isEmpty)
        #expect(apart.stdout == merged.stdout)
        #expect(apart.status == merged.status)
        #expect(apart.stderr == merged.stderr, "\(apart.stderr)")
        #expect(!apart.stderr.contains("reading them in order"))
        // -j 2 (fewer threads than files) and the text report agree too.
        #expect(CLIRun([command, "-F", "json", "-j", "2"] + files).stdout == merged.stdout)
        #expect(CLIRun([command, "-j2"] + files).stdout == CLIRun([command] + files).stdout)
    }

    @Test func clientSplitFilesAreReadApart() throws {
        let dir = try TemporaryFolder()
        let files = Self.splitFleet(dir)
        let run = ParallelCaptureRun(paths: files, jobs: 3)
        let apart = try #require(try? run.run(try run.open()).get())
        let merged = try CaptureRun(paths: files).connections()
        #expect(apart.connections.map(\.record) == merged.connections.map(\.record))
        #expect(apart.files.map(\.packets) == merged.files.map(\.packets))
        #expect(apart.files.map(\.path) == files)
    }

    /// push-mode.pcap (one long connection) cut in two files at the middle of its time span.
    static func timeSplit(_ dir: TemporaryFolder) throws -> [String] {
        let source = try CaptureReader.open(path: heartbeatCapture("push-mode"))
        var packets: [(Timestamp, [UInt8], Int)] = []
        var link = LinkType.ethernet
        while let p = try source.next() {
            packets.append((p.timestamp, Array(p.bytes), p.originalLength))
            link = p.linkType
        }
        let first = try #require(packets.first?.0)
        let last = try #require(packets.last?.0)
        let cut = Timestamp(nanoseconds: first.nanoseconds + last.nanoseconds(since: first) / 2)
        let paths = [dir.path + "/early.pcap", dir.path + "/late.pcap"]
        let writers = try paths.map { path throws(CaptureError) in try PcapFileWriter(path: path, linkType: link) }
        for (time, bytes, length) in packets {
            try writers[time < cut ? 0 : 1].append(timestamp: time, bytes: bytes, originalLength: length)
        }
        for w in writers { try w.close() }
        #expect(packets.contains { $0.0 < cut } && packets.contains { !($0.0 < cut) })
        return paths
    }

    @Test(arguments: ["analyze", "audit", "validate"])
    func connectionCutByTimeFallsBackToTheMergedRun(_ command: String) throws {
        let dir = try TemporaryFolder()
        let files = try Self.timeSplit(dir)
        let merged = CLIRun([command, "-F", "json"] + files)
        let apart = CLIRun([command, "-F", "json", "-j", "2"] + files)
        #expect(!merged.stdout.isEmpty)
        #expect(apart.stdout == merged.stdout)
        #expect(apart.status == merged.status)
        #expect(apart.stderr == Self.fallbackLine + "\n" + merged.stderr, "\(apart.stderr)")
        let quiet = CLIRun([command, "-F", "json", "-q", "-j", "2"] + files)
        #expect(quiet.stdout == merged.stdout)
        #expect(quiet.stderr.isEmpty)
    }

    @Test func connectionCutByTimeIsSeen() throws {
        let dir = try TemporaryFolder()
        let files = try Self.timeSplit(dir)
        let run = ParallelCaptureRun(paths: files, jobs: 2)
        let outcome = run.run(try run.open())
        #expect(throws: ParallelCaptureRun.Fallback.sharedConnections) { try outcome.get() }
        // Each file alone holds one piece of the connection: open at the end, then picked up midstream.
        let pieces = try files.map { path throws(CaptureError) in try CaptureRun(paths: [path]).connections() }
        #expect(pieces[0].connections.contains { $0.record.state.contains(.openAtEnd) })
        #expect(pieces[1].connections.contains { $0.record.state.contains(.midstream) })
    }

    /// A proxy tunnel to a host name is judged by the name bindings of the connections filed before it,
    /// in arrival order, so files holding one are read in order; tunnels to addresses are read apart.
    @Test func tunnelsToHostNamesAreReadInOrder() {
        func connection(_ tunnel: ConnectionTunnel?) -> CompletedConnection {
            var r = ConnectionRecord(id: 1, client: Endpoint(address: IPAddress(ipv4: 0x0a14_0001), port: 50000),
                                     server: Endpoint(address: IPAddress(ipv4: 0x0a05_0505), port: 8080),
                                     start: Timestamp(seconds: 1, nanoseconds: 0), end: Timestamp(seconds: 2, nanoseconds: 0))
            r.tunnel = tunnel
            return CompletedConnection(record: r)
        }
        let t0 = Timestamp(seconds: 1, nanoseconds: 0)
        let byName = ConnectionTunnel(target: "sepm.corp:443", start: t0)
        let byAddress = ConnectionTunnel(target: "10.1.0.11:443", start: t0)
        #expect(ReportCommand.tunnelRefusal([connection(nil), connection(byAddress)]) == nil)
        #expect(ReportCommand.tunnelRefusal([connection(byAddress), connection(byName)])?.reason
            == "a proxy tunnel names its target by host name")
    }

    @Test func standardInputIsReadInOrderFromTheStart() throws {
        #expect(!InputRun.isRegularFile("-"))
        #expect(!InputRun.isRegularFile("/dev/stdin"))
        #expect(InputRun.isRegularFile(heartbeatCapture("push-mode")))
        let dir = try TemporaryFolder()
        let fifo = dir.path + "/capture.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(!InputRun.isRegularFile(fifo))

        let binary = try CLIRun.builtBinary()
        let files = Self.splitFleet(dir)
        func run(_ jobs: String) throws -> (status: Int32, stdout: Data, stderr: Data) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["analyze", "-F", "json", "--jobs", jobs, "-", files[1], files[2]]
            process.standardInput = FileHandle(forReadingAtPath: files[0])
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, stdout, stderr)
        }
        let sequential = try run("1")
        let withJobs = try run("3")
        #expect(sequential.status == 1)  // the injected faults are findings
        #expect(!sequential.stdout.isEmpty)
        #expect(withJobs.status == sequential.status)
        #expect(withJobs.stdout == sequential.stdout)
        #expect(withJobs.stderr == sequential.stderr)
        // The same report as the files named on the command line, but for the first file's name.
        let named = CLIRun(["analyze", "-F", "json"] + files)
        let fromStdin = String(decoding: withJobs.stdout, as: UTF8.self)
        #expect(withoutReaderLines(fromStdin.replacingOccurrences(of: "\"path\" : \"-\"",
                                                                  with: "\"path\" : \"\(files[0])\""))
            == withoutReaderLines(named.stdout))
    }

    @Test func jobsOptionIsChecked() {
        for bad in ["0", "-1", "x", "1.5", "257", ""] {
            let r = CLIRun(["analyze", "--jobs", bad, heartbeatCapture("push-mode")])
            #expect(r.status == ExitStatus.usage, "--jobs \(bad)")
            #expect(r.stderr.contains("--jobs takes a whole number"), "\(r.stderr)")
        }
        #expect(CLIRun(["flows", "--jobs", "2", heartbeatCapture("push-mode")]).status == ExitStatus.usage)
    }
}
