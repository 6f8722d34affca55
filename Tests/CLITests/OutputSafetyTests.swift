import Foundation
import Testing

@testable import CLI
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A report that cannot be written is never lost silently, `-o` never overwrites an input
/// capture, standard input named twice is read once, and one minimum interval applies everywhere.
@Suite struct OutputSafetyTests {
    /// Runs `arguments` with the report going to `fd` and messages to a file; returns status and messages.
    private func run(_ arguments: [String], reportFD fd: Int32, in dir: TemporaryFolder) -> (Int32, String) {
        let messages = dir.path + "/stderr-\(UUID().uuidString)"
        let errorFD = open(messages, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var output = Output()
        output.outputFD = fd
        output.errorFD = errorFD
        let status = SepbeatCommand.run(arguments: arguments, output: &output)
        close(errorFD)
        return (status, (try? String(contentsOfFile: messages, encoding: .utf8)) ?? "")
    }

    private static let reports: [[String]] = ["text", "json", "jsonl", "csv", "html"].flatMap { f in
        [["analyze", "-q", "-F", f], ["audit", "-q", "-F", f], ["validate", "-q", "-F", f]]
    } + [["flows", "-q"], ["flows", "-q", "-F", "json"], ["model"], ["--version"]]

    @Test(arguments: reports)
    func closedPipeIsStatus4Quietly(command: [String]) throws {
        signal(SIGPIPE, SIG_IGN)  // as the executable does
        let dir = try TemporaryFolder()
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        close(ends[0])  // the reader went away
        let input = command.first == "model" || command.first == "--version" ? [] : [heartbeatCapture("https-idle")]
        let (status, messages) = run(command + input, reportFD: ends[1], in: dir)
        close(ends[1])
        #expect(status == ExitStatus.outputFailed, "\(command)")
        #expect(messages.isEmpty, "\(command): \(messages)")
    }

    @Test(arguments: reports)
    func failedWriteIsOneLineAndStatus4(command: [String]) throws {
        let dir = try TemporaryFolder()
        // A descriptor open for reading only: every write to it fails (EBADF), as on a full disk.
        let path = dir.write("read-only", "")
        let fd = open(path, O_RDONLY)
        let input = command.first == "model" || command.first == "--version" ? [] : [heartbeatCapture("https-idle")]
        let (status, messages) = run(command + input, reportFD: fd, in: dir)
        close(fd)
        #expect(status == ExitStatus.outputFailed, "\(command)")
        let name = command.first == "--version" ? "sepbeat" : "sepbeat \(command[0])"
        #expect(messages.hasPrefix("\(name): standard output: the report could not be written"), "\(messages)")
        #expect(messages.filter { $0 == "\n" }.count == 1, "\(messages)")
    }

    /// `-o` onto a device that takes no bytes (a full disk): one line naming the file and the reason.
    @Test func fullDeviceAsOutputFileNamesTheReason() throws {
        guard access("/dev/full", W_OK) == 0 else { return }  // not every machine has it
        let result = CLIRun(["analyze", "-q", "-F", "json", "-o", "/dev/full", heartbeatCapture("https-idle")])
        #expect(result.status == ExitStatus.outputFailed)
        // A device is not removed, and the message does not say it was.
        #expect(result.stderr == "sepbeat analyze: /dev/full: writing the report failed: No space left on device\n",
                "\(result.stderr)")
    }

    /// `-o` onto a file that cannot be removed and takes no byte (a /proc file, writable by root): the message
    /// says nothing was written to it, not that it holds a cut-short report.
    @Test func aFileThatTookNoByteIsNotSaidToHoldAReport() throws {
        guard access("/proc/version", W_OK) == 0 else { return }  // root only
        let result = CLIRun(["analyze", "-q", "-o", "/proc/version", heartbeatCapture("https-idle")])
        #expect(result.status == ExitStatus.outputFailed)
        #expect(result.stderr.hasPrefix("sepbeat analyze: /proc/version: writing the report failed"))
        #expect(result.stderr.hasSuffix(" (nothing was written to it)\n"), "\(result.stderr)")
    }

    /// `-o` naming the model or SyLink file given is refused before anything is written.
    @Test func outputNamingTheModelOrSyLinkFileIsRefused() throws {
        let dir = try TemporaryFolder()
        let model = dir.path + "/m.json"
        #expect(CLIRun(["model", "-o", model]).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: model))
        let r = CLIRun(["analyze", "-q", "--model", model, "-o", model, heartbeatCapture("https-idle")])
        #expect(r.status == ExitStatus.usage)
        #expect(r.stderr == "sepbeat analyze: -o \(model) is the --model file; the report would overwrite it: "
                + "give another output file\n", "\(r.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == before)
        let rewrite = CLIRun(["model", "--model", model, "-o", model])
        #expect(rewrite.status == ExitStatus.usage, "\(rewrite.stderr)")
        #expect(rewrite.stderr.hasPrefix("sepbeat model: -o \(model) is the --model file;"), "\(rewrite.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == before)
        let sylink = dir.path + "/SyLink.xml"
        try FileManager.default.copyItem(atPath: Fixtures.packageRoot + "/../shared/docs/examples/SyLink.xml",
                                         toPath: sylink)
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/alias.xml", withDestinationPath: sylink)
        let s = CLIRun(["validate", "-q", "--sylink", sylink, "-o", dir.path + "/alias.xml",
                        heartbeatCapture("https-idle")])
        #expect(s.status == ExitStatus.usage)
        #expect(s.stderr.contains("is the --sylink file (the same file as \(sylink))"), "\(s.stderr)")
    }

    /// `-o` over an existing capture (a `-qo` slip for `-q -r`) is refused whatever the command, for
    /// every capture magic number; other files are still overwritten, and simulate writes captures.
    @Test(arguments: ["analyze", "audit", "validate", "flows", "model"])
    func outputOverAnExistingCaptureIsRefused(command: String) throws {
        let dir = try TemporaryFolder()
        let magics: [(String, [UInt8], String)] = [
            ("us-le.pcap", [0xd4, 0xc3, 0xb2, 0xa1], "pcap"), ("us-be.pcap", [0xa1, 0xb2, 0xc3, 0xd4], "pcap"),
            ("ns-le.pcap", [0x4d, 0x3c, 0xb2, 0xa1], "pcap"), ("ns-be.pcap", [0xa1, 0xb2, 0x3c, 0x4d], "pcap"),
            ("modified.pcap", [0x34, 0xcd, 0xb2, 0xa1], "pcap"), ("shb.pcapng", [0x0a, 0x0d, 0x0d, 0x0a], "pcapng"),
        ]
        let input = command == "model" ? [] : [heartbeatCapture("https-idle")]
        for (name, magic, format) in magics {
            let bytes = Data(magic + [UInt8](repeating: 0, count: 20))
            let victim = dir.path + "/" + name
            try bytes.write(to: URL(fileURLWithPath: victim))
            let r = CLIRun([command, "-qo", victim] + input)
            #expect(r.status == ExitStatus.usage, "\(command) \(name): \(r.stderr)")
            let what = command == "model" ? "the model written" : "the report"
            #expect(r.stderr == "sepbeat \(command): -o \(victim) is a \(format) capture file; \(what) would "
                + "overwrite it: give another output file (or remove it first)\n", "\(r.stderr)")
            #expect(r.stdout.isEmpty)
            #expect(try Data(contentsOf: URL(fileURLWithPath: victim)) == bytes)
        }
        // The real capture too; a file that is no capture (or shorter than a magic) is overwritten as before.
        let copy = dir.path + "/copy.pcap"
        try FileManager.default.copyItem(atPath: heartbeatCapture("https-idle"), toPath: copy)
        #expect(CLIRun([command, "-qo", copy] + input).status == ExitStatus.usage)
        for bytes in [Data([0x0a, 0x0d, 0x0d]), Data("old report\n".utf8)] {
            let other = dir.path + "/other-\(bytes.count).txt"
            try bytes.write(to: URL(fileURLWithPath: other))
            let r = CLIRun([command, "-q", "-o", other] + input)
            #expect(r.status == ExitStatus.ok || r.status == ExitStatus.findings, "\(r.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: other)) != bytes)
        }
    }

    /// `-o` over an existing compressed file (`d.pcap.gz`, which may well hold a capture) is refused too, for
    /// gzip, zstd, xz ("an xz-compressed file"), bzip2 and lz4 ("an lz4-compressed file"; frame or legacy),
    /// whatever its name; a file that only starts like one (`BZ` and no block size) is overwritten.
    @Test(arguments: ["analyze", "model"])
    func outputOverAnExistingCompressedFileIsRefused(command: String) throws {
        let dir = try TemporaryFolder()
        let magics: [(String, [UInt8], String)] = [
            ("d.pcap.gz", [0x1f, 0x8b, 0x08, 0x00], "gzip"), ("d.pcapng.zst", [0x28, 0xb5, 0x2f, 0xfd], "zstd"),
            ("d.cap.xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], "xz"), ("d.pcap.bz2", [0x42, 0x5a, 0x68, 0x39], "bzip2"),
            ("d.lz4", [0x04, 0x22, 0x4d, 0x18], "lz4"), ("two-bytes", [0x1f, 0x8b], "gzip"),
            // The legacy lz4 frame (`lz4 -l`): it was overwritten.
            ("legacy.lz4", [0x02, 0x21, 0x4c, 0x18], "lz4"),
        ]
        let input = command == "model" ? [] : [heartbeatCapture("https-idle")]
        let what = command == "model" ? "the model written" : "the report"
        for (name, magic, format) in magics {
            let bytes = Data(magic + [UInt8](repeating: 7, count: name == "two-bytes" ? 0 : 20))
            let victim = dir.path + "/" + name
            try bytes.write(to: URL(fileURLWithPath: victim))
            let r = CLIRun([command, "-q", "-o", victim] + input)
            #expect(r.status == ExitStatus.usage, "\(command) \(name): \(r.stderr)")
            let article = format == "xz" || format == "lz4" ? "an" : "a"
            #expect(r.stderr == "sepbeat \(command): -o \(victim) is \(article) \(format)-compressed file "
                + "(a compressed capture, perhaps); \(what) would overwrite it: give another output file "
                + "(or remove it first)\n",
                "\(r.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: victim)) == bytes)
        }
        // a zip archive (a zipped capture, perhaps), empty or not.
        for (name, magic) in [("c.zip", [UInt8]([0x50, 0x4b, 0x03, 0x04])), ("empty.zip", [0x50, 0x4b, 0x05, 0x06])] {
            let bytes = Data(magic + [UInt8](repeating: 7, count: 18))
            let victim = dir.path + "/" + name
            try bytes.write(to: URL(fileURLWithPath: victim))
            let r = CLIRun([command, "-q", "-o", victim] + input)
            #expect(r.status == ExitStatus.usage, "\(command) \(name): \(r.stderr)")
            #expect(r.stderr == "sepbeat \(command): -o \(victim) is a zip archive (a zipped capture, perhaps); "
                + "\(what) would overwrite it: give another output file (or remove it first)\n", "\(r.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: victim)) == bytes)
        }
        let other = dir.path + "/bz.txt"
        try Data("BZh report\n".utf8).write(to: URL(fileURLWithPath: other))
        let r = CLIRun([command, "-q", "-o", other] + input)
        #expect(r.status == ExitStatus.ok || r.status == ExitStatus.findings, "\(r.stderr)")
    }

    /// A gzip file starts with both bytes of its magic number, 1f 8b: a one-byte file holding 0x1f (or 1f and
    /// another byte) is no compressed file and is overwritten like any other, by every command; the two bytes
    /// alone are refused. Read as a capture, the one byte is too short (exit status 3), in the singular.
    @Test(arguments: ["analyze", "audit", "validate", "flows", "model"])
    func aLoneGzipMagicByteIsNoCompressedFile(command: String) throws {
        let dir = try TemporaryFolder()
        let input = command == "model" ? [] : [heartbeatCapture("https-idle")]
        for bytes in [Data([0x1f]), Data([0x1f, 0x8c]), Data([0x8b, 0x1f])] {
            let victim = dir.path + "/\(bytes.count)-\(bytes.last!).out"
            try bytes.write(to: URL(fileURLWithPath: victim))
            let r = CLIRun([command, "-q", "-o", victim] + input)
            #expect(r.status == ExitStatus.ok || r.status == ExitStatus.findings, "\(command): \(r.stderr)")
            #expect(r.stderr.isEmpty, "\(r.stderr)")
            let written = try Data(contentsOf: URL(fileURLWithPath: victim))
            #expect(written.count > 100, "\(command): \(written.count) bytes")
        }
        let gzip = dir.path + "/magic.out"
        try Data([0x1f, 0x8b]).write(to: URL(fileURLWithPath: gzip))
        let refused = CLIRun([command, "-q", "-o", gzip] + input)
        #expect(refused.status == ExitStatus.usage, "\(refused.stderr)")
        #expect(refused.stderr.contains("-o \(gzip) is a gzip-compressed file"), "\(refused.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: gzip)) == Data([0x1f, 0x8b]))

        guard command != "model" else { return }
        let one = dir.path + "/one.pcap"
        try Data([0x1f]).write(to: URL(fileURLWithPath: one))
        let read = CLIRun([command, "-q", one])
        #expect(read.status == ExitStatus.unreadableInput, "\(read.stderr)")
        #expect(read.stderr == "sepbeat \(command): \(one): too short for a capture header (1 byte, need at least "
            + "24)\n", "\(read.stderr)")
    }

    /// simulate writes captures by design: an existing capture at its -o is truncated, as documented.
    @Test func simulateStillWritesOverAnExistingCapture() throws {
        let dir = try TemporaryFolder()
        let out = dir.path + "/sim.pcap"
        try FileManager.default.copyItem(atPath: heartbeatCapture("https-idle"), toPath: out)
        let r = CLIRun(["simulate", "-q", "-o", out, "--clients", "1", "--duration", "10m"])
        #expect(r.status == ExitStatus.ok, "\(r.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) != Data(contentsOf: URL(fileURLWithPath:
            heartbeatCapture("https-idle"))))
    }

    /// A report file that cannot be created: one line with the command, the file and the reason.
    @Test(arguments: ["analyze", "audit", "validate", "flows", "model"])
    func unopenableOutputFileNamesCommandFileAndReason(command: String) throws {
        let dir = try TemporaryFolder()
        let target = dir.path + "/no-such-folder/report.out"
        let input = command == "model" ? [] : [heartbeatCapture("https-idle")]
        let result = CLIRun([command, "-q", "-o", target] + input)
        #expect(result.status == ExitStatus.outputFailed)
        #expect(result.stderr == "sepbeat \(command): \(target): cannot write the report: No such file or directory\n",
                "\(result.stderr)")
    }

    /// Runs `binary ARGUMENTS` under a file-size limit of 8 blocks of 512 bytes (`ulimit -f 8`, the
    /// shell's unit), or the shell limit `ulimit` given: how it ended, its exit status and its standard error.
    static func runWithFileSizeLimit(
        _ binary: String, _ arguments: [String], ulimit: String = "-f 8"
    ) throws -> (reason: Process.TerminationReason, status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit \(ulimit) && exec \"$0\" \"$@\"", binary] + arguments
        let err = Pipe()
        process.standardError = err
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationReason, process.terminationStatus, stderr)
    }

    /// A write into a regular file failing part-way (here a file-size limit, as a full disk would):
    /// status 4, one line saying so, and no cut-short report left behind to be read as whole.
    @Test func partWrittenReportFileIsRemoved() throws {
        let binary = try CLIRun.builtBinary()
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture("fleet.pcap", ["--clients", "4", "--duration", "1h", "--seed", "9"])
        let report = dir.path + "/report.json"
        // The JSON report is far longer than the 4 KiB the limit lets through.
        let (reason, status, stderr) = try Self.runWithFileSizeLimit(
            binary, ["analyze", "-q", "-F", "json", "-o", report, capture])
        #expect(reason == .exit)
        #expect(status == ExitStatus.outputFailed, "\(stderr)")
        #expect(stderr == "sepbeat analyze: \(report): writing the report failed: File too large "
                + "(the partial file was removed)\n", "\(stderr)")
        #expect(!FileManager.default.fileExists(atPath: report))
        // Through a symbolic link the written file is not removed, and the message says what it holds.
        let target = dir.path + "/target.json"
        #expect(FileManager.default.createFile(atPath: target, contents: Data("keep".utf8)))
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/link.json", withDestinationPath: target)
        let (_, linkedStatus, linkedMessage) = try Self.runWithFileSizeLimit(
            binary, ["analyze", "-q", "-F", "json", "-o", dir.path + "/link.json", capture])
        #expect(linkedStatus == ExitStatus.outputFailed)
        #expect(linkedMessage.hasSuffix("File too large (the file holds a cut-short report)\n"), "\(linkedMessage)")
        #expect(FileManager.default.fileExists(atPath: target))
        // A simulate run cut short the same way removes the capture it was writing.
        let capture2 = dir.path + "/cut.pcap"
        let (_, simStatus, simMessage) = try Self.runWithFileSizeLimit(
            binary, ["simulate", "-q", "-o", capture2, "--clients", "4", "--duration", "1h", "--seed", "9"])
        #expect(simStatus == ExitStatus.outputFailed, "\(simMessage)")
        #expect(simMessage == "sepbeat simulate: \(capture2): writing failed: File too large "
                + "(the file written so far was removed)\n", "\(simMessage)")
        #expect(!FileManager.default.fileExists(atPath: capture2))
        // Without the limit the same command writes the whole report.
        let whole = CLIRun(["analyze", "-q", "-F", "json", "-o", report, capture])
        #expect(whole.stderr.isEmpty)
        #expect(try Data(contentsOf: URL(fileURLWithPath: report)).count > 8 * 512)
    }

    @Test func writableStandardOutputStaysStatus0() throws {
        let dir = try TemporaryFolder()
        let path = dir.path + "/report.json"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let (status, messages) = run(["audit", "-q", "-F", "json", heartbeatCapture("https-idle")], reportFD: fd,
                                     in: dir)
        close(fd)
        #expect(status == ExitStatus.ok, "\(messages)")
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("sepbeat-audit/1"))
    }

    @Test func outputNamingAnInputIsRefusedBeforeReading() throws {
        let dir = try TemporaryFolder()
        let capture = dir.path + "/in.pcap"
        try FileManager.default.copyItem(atPath: heartbeatCapture("https-idle"), toPath: capture)
        let before = try Data(contentsOf: URL(fileURLWithPath: capture))
        let link = dir.path + "/link.pcap"
        #expect(symlink(capture, link) == 0)
        for (out, inputs) in [(capture, [capture]), (link, [capture]), (capture, [heartbeatCapture("old-tls"), link])] {
            for command in ["analyze", "audit", "validate", "flows"] {
                let r = CLIRun([command, "-o", out] + inputs)
                #expect(r.status == ExitStatus.usage, "\(command) -o \(out)")
                #expect(r.stderr.contains("is one of the input captures"), "\(r.stderr)")
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: capture)) == before)
        // Another file in the same folder is fine.
        #expect(CLIRun(["analyze", "-q", "-o", dir.path + "/report.txt", capture]).status == 0)
    }

    @Test func standardInputNamedTwiceIsReadOnce() throws {
        let dir = try TemporaryFolder()
        let capture = heartbeatCapture("https-idle")
        let fd = open(capture, O_RDONLY)
        defer { close(fd) }
        var output = Output()
        output.capture = true
        output.inputFD = fd
        let kept = InputRun.distinctFiles(["-", "/dev/stdin", "/proc/self/fd/0"], quiet: false, output: &output)
        #expect(kept == ["-"])
        #expect(output.standardError.components(separatedBy: "is the same file as - (standard input), given already")
            .count == 3)
        // A file given by name and again as standard input (`f.pcap - < f.pcap`).
        output = Output()
        output.capture = true
        output.inputFD = fd
        #expect(InputRun.distinctFiles([capture, "-"], quiet: false, output: &output) == [capture])
        #expect(output.standardError.contains("- (standard input) is the same file as \(capture), given already; "
            + "it is read once"))
        _ = dir
    }

    @Test func subTenSecondIntervalIsRefused() throws {
        for value in ["0.5", "1", "9.99"] {
            let r = sepbeat("analyze", "--interval", value, heartbeatCapture("https-idle"))
            #expect(r.status == ExitStatus.usage, "--interval \(value)")
            #expect(r.stderr.contains("from 10"), "\(r.stderr)")
        }
        #expect(sepbeat("analyze", "-q", "--interval", "10", heartbeatCapture("https-idle")).status != 2)
        let dir = try TemporaryFolder()
        let model = dir.write("model.json", #"{"interval": {"seconds": 5, "toleranceSeconds": 0.5, "#
            + #""acceleratedMaxSeconds": 1}}"#)
        let r = sepbeat("model", "--model", model)
        #expect(r.status == ExitStatus.usage)
        #expect(r.stderr.contains("interval.seconds"), "\(r.stderr)")
        let sim = sepbeat("simulate", "-o", dir.path + "/s.pcap", "--interval", "5")
        #expect(sim.status == ExitStatus.usage)
    }
}
