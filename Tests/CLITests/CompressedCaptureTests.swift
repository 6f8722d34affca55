import Foundation
import Testing
import TestSupport

@testable import CLI

/// Whether the command-line tool `name` (gzip, xz, bzip2) is on this machine; the tests that make
/// compressed files with it run only then.
private func hasTool(_ name: String) -> Bool {
    (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").contains {
        FileManager.default.isExecutableFile(atPath: "\($0)/\(name)")
    }
}

/// Writes `tool -c input` (the file compressed, as the tool writes it) to `output`.
private func compress(_ tool: String, _ input: String, to output: String) throws {
    try #require(FileManager.default.createFile(atPath: output, contents: nil))
    let sink = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
    defer { try? sink.close() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool, "-c", input]
    process.standardOutput = sink
    try process.run()
    process.waitUntilExit()
    try #require(process.terminationStatus == 0, "\(tool) -c \(input) failed")
}

/// Compressed captures (gzip, xz, bzip2) are read as they are, detected by their magic number: the
/// report is the plain file's, byte for byte but for the file's name.
@Suite struct CompressedCaptureTests {
    static let tools = ["gzip", "xz", "bzip2"].filter(hasTool)

    /// `command`'s JSON report of `files`, each name replaced by `shownAs`'s (so that a compressed file's
    /// report can be compared with its plain file's), without the `reader` lines (`withoutReaderLines`).
    static func report(_ command: String, _ files: [String], shownAs: [String]) -> (status: Int32, text: String) {
        let run = CLIRun([command, "-q", "-F", "json"] + files)
        var text = run.stdout
        for (file, shown) in zip(files, shownAs) where file != shown {
            text = text.replacingOccurrences(of: file, with: shown)
        }
        return (run.status, withoutReaderLines(text))
    }

    @Test(arguments: tools)
    func aCompressedCaptureGivesThePlainFilesReport(_ tool: String) throws {
        let folder = try TemporaryFolder()
        let plain = try folder.simulatedCapture("day.pcap", ["--clients", "6", "--duration", "1h", "--fault", "late"])
        // A name that says nothing: the magic number tells.
        let packed = folder.path + "/day-\(tool)"
        try compress(tool, plain, to: packed)
        for command in ["analyze", "flows"] {
            let want = Self.report(command, [plain], shownAs: [plain])
            let got = Self.report(command, [packed], shownAs: [plain])
            #expect(got.status == want.status)
            #expect(!want.text.isEmpty)
            #expect(got.text == want.text, "\(command) of the \(tool) file differs")
        }
    }

    @Test(.enabled(if: hasTool("gzip")))
    func aGzippedPcapNGFileGivesThePlainFilesReport() throws {
        let folder = try TemporaryFolder()
        let plain = try folder.simulatedCapture("day.pcapng", ["--clients", "5", "--duration", "1h"])
        let packed = plain + ".gz"
        try compress("gzip", plain, to: packed)
        let want = Self.report("analyze", [plain], shownAs: [plain])
        let got = Self.report("analyze", [packed], shownAs: [plain])
        #expect(got.status == want.status)
        #expect(got.text == want.text)
        #expect(got.text.contains("\"pcapng\""))
    }

    /// gzip files joined end to end (`cat a.gz b.gz`, or `gzip` run on each piece) are one stream of
    /// bytes, as `zcat` reads them.
    @Test(.enabled(if: hasTool("gzip")))
    func gzipMembersJoinedEndToEndAreReadThrough() throws {
        let folder = try TemporaryFolder()
        let plain = try folder.simulatedCapture("day.pcap", ["--clients", "5", "--duration", "1h"])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: plain))
        // Cut mid-record: the second member carries on the first one's record.
        let half = bytes.count / 2 + 7
        try bytes.prefix(half).write(to: URL(fileURLWithPath: folder.path + "/one"))
        try bytes.suffix(from: half).write(to: URL(fileURLWithPath: folder.path + "/two"))
        try compress("gzip", folder.path + "/one", to: folder.path + "/one.gz")
        try compress("gzip", folder.path + "/two", to: folder.path + "/two.gz")
        let joined = folder.path + "/joined.pcap.gz"
        var both = try Data(contentsOf: URL(fileURLWithPath: folder.path + "/one.gz"))
        both.append(try Data(contentsOf: URL(fileURLWithPath: folder.path + "/two.gz")))
        try both.write(to: URL(fileURLWithPath: joined))
        let want = Self.report("analyze", [plain], shownAs: [plain])
        let got = Self.report("analyze", [joined], shownAs: [plain])
        #expect(got.text == want.text)
        #expect(!got.text.contains("capture-truncated"))
    }

    /// Compressed files beside plain ones, merged by time (and read apart with `--jobs`), give the plain
    /// files' report.
    @Test(.enabled(if: hasTool("gzip") && hasTool("xz")))
    func compressedFilesBesidePlainOnesAreMergedByTime() throws {
        let folder = try TemporaryFolder()
        _ = try folder.simulatedCapture("s.pcap", ["--clients", "6", "--duration", "1h", "--split", "3"])
        let plain = (1...3).map { folder.path + "/s-\($0).pcap" }
        let mixed = [plain[0], plain[1] + ".gz", plain[2] + ".xz"]
        try compress("gzip", plain[1], to: mixed[1])
        try compress("xz", plain[2], to: mixed[2])
        for command in ["analyze", "flows"] {
            let want = Self.report(command, plain, shownAs: plain)
            #expect(Self.report(command, mixed, shownAs: plain).text == want.text, "\(command), merged")
            // Given in another order: the merge goes by time, not by the order of the names.
            let reversed = Self.report(command, mixed.reversed(), shownAs: plain.reversed())
            #expect(reversed.status == want.status)
        }
        let apart = CLIRun(["analyze", "-q", "-F", "json", "--jobs", "2"] + mixed)
        let apartPlain = CLIRun(["analyze", "-q", "-F", "json", "--jobs", "2"] + plain)
        var text = apart.stdout
        for (file, shown) in zip(mixed, plain) { text = text.replacingOccurrences(of: file, with: shown) }
        #expect(withoutReaderLines(text) == withoutReaderLines(apartPlain.stdout))
    }

    /// A copy of a compressed file is told as a copy of a plain one is (the same bytes); a compressed file and
    /// its plain file are not (their bytes differ), as the README says.
    @Test(.enabled(if: hasTool("gzip")))
    func aCopyOfACompressedFileIsReadOnce() throws {
        let folder = try TemporaryFolder()
        let plain = try folder.simulatedCapture("day.pcap", ["--clients", "3", "--duration", "30m"])
        try compress("gzip", plain, to: plain + ".gz")
        let copy = folder.path + "/copy.gz"
        try FileManager.default.copyItem(atPath: plain + ".gz", toPath: copy)
        let run = sepbeat("analyze", "-F", "json", plain + ".gz", copy)
        #expect(run.stderr.contains("sepbeat: warning: \(copy) holds the same bytes as \(plain).gz, given already"),
                "\(run.stderr)")
        let both = sepbeat("analyze", "-F", "json", plain, plain + ".gz")
        #expect(!both.stderr.contains("holds the same bytes"))
    }

    /// A compressed file cut short part-way: the packets before the cut are read, and one warning names
    /// the file, says the compressed data ends early, and counts its offset in decompressed bytes.
    @Test(arguments: tools)
    func aCompressedFileCutShortKeepsThePacketsBefore(_ tool: String) throws {
        let folder = try TemporaryFolder()
        let plain = try folder.simulatedCapture("day.pcap", ["--clients", "6", "--duration", "1h"])
        let packed = folder.path + "/packed"
        try compress(tool, plain, to: packed)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: packed))
        let cut = folder.path + "/cut.pcap." + tool
        // Three quarters: past bzip2's first block (900 kB of the capture), which gives no byte before it is whole.
        try bytes.prefix(bytes.count * 3 / 4).write(to: URL(fileURLWithPath: cut))
        let run = CLIRun(["analyze", "-F", "json", cut])
        #expect(run.status != ExitStatus.unreadableInput)
        let warning = "\(cut): the \(tool) data ends before its end (the compressed file is cut short)"
        #expect(run.stderr.contains("sepbeat: warning: " + warning), "\(run.stderr)")
        #expect(run.stderr.contains("(byte offsets count decompressed bytes)"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let files = try #require(json["captures"] as? [[String: Any]] ?? (json["files"] as? [[String: Any]]))
        let packets = try #require(files.first?["packets"] as? Int)
        #expect(packets > 100)
        // The finding for a capture cut short, at an offset in decompressed bytes.
        #expect(run.stdout.contains("\"capture-truncated\""))
        #expect(run.stdout.contains("\(cut) is cut short at decompressed byte offset "))
    }

    /// A simulated capture of 6 clients over an hour compressed with `tool` into `folder`, then changed by `damage`:
    /// the path of the damaged file (`bad.pcap.SUFFIX`).
    static func damaged(_ tool: String, suffix: String, in folder: TemporaryFolder,
                        _ damage: (inout [UInt8]) -> Void) throws -> String {
        let plain = try folder.simulatedCapture("day.pcap", ["--clients", "6", "--duration", "1h"])
        let packed = folder.path + "/day.pcap." + suffix
        try compress(tool, plain, to: packed)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: packed)))
        damage(&bytes)
        let bad = folder.path + "/bad.pcap." + suffix
        try Data(bytes).write(to: URL(fileURLWithPath: bad))
        return bad
    }

    /// Damaged compressed data: the packets decompressed before the damage are read, and a warning says the
    /// data is corrupt. Never a crash or a hang.
    @Test(.enabled(if: hasTool("gzip")))
    func corruptGzipDataKeepsThePacketsBefore() throws {
        let folder = try TemporaryFolder()
        let bad = try Self.damaged("gzip", suffix: "gz", in: folder) { bytes in
            for i in stride(from: bytes.count / 2, to: bytes.count / 2 + 64, by: 1) { bytes[i] ^= 0x5A }
        }
        let run = CLIRun(["analyze", "-F", "json", bad])
        #expect(run.status != ExitStatus.unreadableInput)
        // The damaged data may decompress to bytes the capture reader stops at first: the compressed data's
        // fault is then said too (its check fails).
        #expect(run.stderr.contains("sepbeat: warning: \(bad): the gzip data is corrupt ("), "\(run.stderr)")
        #expect(run.stdout.contains("\"capture-truncated\""))
        #expect(run.stdout.contains("\"packets\" : "))
        #expect(!run.stdout.contains("\"packets\" : 0,"))

        // Given on standard input, the regular file has an end too: its rest is checked, and the fault said.
        let input = open(bad, O_RDONLY)
        try #require(input >= 0)
        defer { close(input) }
        let outputs = try TemporaryFolder()
        let piped = try FollowedInputCLITests.Run(["analyze", "-F", "json", "-"], input: input, folder: outputs.path)
        #expect(piped.finish() != ExitStatus.unreadableInput)
        #expect(piped.stderr.contains("sepbeat: warning: -: the gzip data is corrupt ("), "\(piped.stderr)")
    }

    /// bzip2 checks a block only at its end: a damaged first block decompresses to other bytes first. The
    /// refusal named those bytes as no capture, with no word of the damage; it names the damage now.
    @Test(.enabled(if: hasTool("bzip2")))
    func aDamagedFirstBlockIsRefusedAsDamage() throws {
        let folder = try TemporaryFolder()
        let bad = try Self.damaged("bzip2", suffix: "bz2", in: folder) { bytes in bytes[bytes.count / 4] ^= 0x10 }
        for command in ["analyze", "flows"] {
            let run = sepbeat(command, bad)
            #expect(run.status == ExitStatus.unreadableInput)
            #expect(run.stderr.hasPrefix("sepbeat \(command): \(bad): the bzip2 data is corrupt ("), "\(run.stderr)")
            #expect(run.stderr.contains(" decompressed bytes, which are no capture: not a pcap or pcapng file"))
        }
    }

    /// gzip and xz check their data only at a member's or block's end (a CRC in a trailer), which may be the
    /// file's end, past the first MiB: a damaged trailer of a file of no capture is named as damage, as a
    /// damaged bzip2 block is, not left out of a refusal that names only the content.
    @Test(arguments: [("gzip", "gz"), ("xz", "xz")])
    func aDamagedTrailerIsNamedAsDamage(tool: String, suffix: String) throws {
        try #require(hasTool(tool))
        let folder = try TemporaryFolder()
        let line = "hello, this is no capture at all, and it goes on for more than a MiB\n"
        let text = folder.write("notes.txt", String(repeating: line, count: 40_000))
        let packed = folder.path + "/notes.pcap." + suffix
        try compress(tool, text, to: packed)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: packed)))
        if tool == "gzip" {
            bytes[bytes.count - 8] ^= 0x01  // the CRC-32 of the member's data, first of the trailer's 8 bytes
        } else {
            // The block's check ends where the index starts: before the 12-byte stream footer and the index,
            // whose size the footer gives (its bytes 4-7, little-endian, in 4-byte units less one).
            let footer = bytes.count - 12
            let units = (0..<4).reduce(0) { $0 | Int(bytes[footer + 4 + $1]) << (8 * $1) }
            bytes[footer - (units + 1) * 4 - 1] ^= 0x01
        }
        let bad = folder.path + "/bad.pcap." + suffix
        try Data(bytes).write(to: URL(fileURLWithPath: bad))
        let whole = line.utf8.count * 40_000
        for command in ["analyze", "flows"] {
            let run = sepbeat(command, bad)
            #expect(run.status == ExitStatus.unreadableInput)
            #expect(run.stderr.hasPrefix("sepbeat \(command): \(bad): the \(tool) data is corrupt ("), "\(run.stderr)")
            #expect(run.stderr.hasSuffix(" decompressed bytes, which are no capture: not a pcap or pcapng file "
                + "(starts with 0x68656c6c) once decompressed (\(tool))\n"), "\(run.stderr)")
            #expect(run.stderr.contains("after \(whole) decompressed bytes") || tool == "xz", "\(run.stderr)")
            #expect(run.stderr.filter { $0 == "\n" }.count == 1)
        }
    }

    /// A compressed file that holds no capture is refused like any other non-capture, saying it was
    /// decompressed: one line, exit status 3.
    @Test(.enabled(if: hasTool("gzip")))
    func aGzippedTextFileIsRefused() throws {
        let folder = try TemporaryFolder()
        let text = folder.write("notes.txt", "hello, this is no capture at all\n")
        let packed = folder.path + "/notes.pcap.gz"
        try compress("gzip", text, to: packed)
        for command in ["analyze", "flows", "audit", "validate"] {
            let run = sepbeat(command, packed)
            #expect(run.status == ExitStatus.unreadableInput)
            #expect(run.stderr == "sepbeat \(command): \(packed): not a pcap or pcapng file (starts with 0x68656c6c) "
                + "once decompressed (gzip)\n", "\(run.stderr)")
        }
        let empty = folder.write("empty", "")
        try compress("gzip", empty, to: folder.path + "/empty.gz")
        let run = sepbeat("analyze", folder.path + "/empty.gz")
        #expect(run.status == ExitStatus.unreadableInput)
        #expect(run.stderr.hasSuffix(": empty file (0 bytes) once decompressed (gzip)\n"), "\(run.stderr)")
    }

    /// A gzip file cut inside its first bytes gives no capture header: refused, saying why.
    @Test func gzipCutBeforeTheCaptureHeaderIsRefused() throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/head.gz"
        // A gzip member header (deflate, no flags) and nothing more.
        try Data([0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]).write(to: URL(fileURLWithPath: path))
        let run = sepbeat("analyze", path)
        #expect(run.status == ExitStatus.unreadableInput)
        #expect(run.stderr == "sepbeat analyze: \(path): the gzip data ends before its end (the compressed file is "
            + "cut short) after 0 decompressed bytes, before the end of a capture header\n", "\(run.stderr)")
    }

    /// An xz file cut inside its 6-byte magic number, past the 4 bytes that tell it from a capture, was called
    /// no pcap file; it is named cut short as longer cut xz files are. Cut shorter, it is too short.
    @Test func xzCutInsideItsMagicNumberIsNamedCutShort() throws {
        let folder = try TemporaryFolder()
        for count in 4...6 {
            let path = folder.path + "/cut\(count).xz"
            try Data([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00].prefix(count)).write(to: URL(fileURLWithPath: path))
            let run = sepbeat("analyze", path)
            #expect(run.status == ExitStatus.unreadableInput)
            #expect(run.stderr == "sepbeat analyze: \(path): the xz data ends before its end (the compressed file "
                + "is cut short) after 0 decompressed bytes, before the end of a capture header\n", "\(run.stderr)")
        }
        let path = folder.path + "/cut3.xz"
        try Data([0xFD, 0x37, 0x7A]).write(to: URL(fileURLWithPath: path))
        #expect(sepbeat("analyze", path).stderr
            .hasSuffix("too short for a capture header (3 bytes, need at least 24)\n"))
    }

    /// zstd and lz4 (no library here) are refused as before, with the command that reads them through a pipe.
    @Test(arguments: [
        ([0x28, 0xB5, 0x2F, 0xFD, 0, 0, 0, 0], "zstd", "zstdcat"),
        ([0x04, 0x22, 0x4D, 0x18, 0, 0, 0, 0], "lz4", "lz4cat"),
    ] as [([UInt8], String, String)])
    func zstdAndLz4AreRefusedWithHowToReadThem(_ magic: [UInt8], _ tool: String, _ reader: String) throws {
        let dir = try TemporaryFolder()
        let path = dir.path + "/x.pcap.\(tool)"
        try Data(magic + [UInt8](repeating: 7, count: 40)).write(to: URL(fileURLWithPath: path))
        for command in ["analyze", "flows"] {
            let run = sepbeat(command, path)
            #expect(run.status == ExitStatus.unreadableInput)
            #expect(run.stderr == "sepbeat \(command): \(path): compressed with \(tool), which sepbeat does not "
                + "read: decompress it first, e.g. `\(reader) \(path) | sepbeat \(command) -`\n", "\(run.stderr)")
        }
    }

    /// The progress meter cannot set decompressed bytes against compressed sizes: it tells compressed inputs.
    @Test(.enabled(if: hasTool("xz")))
    func theProgressMeterTellsCompressedFiles() throws {
        let folder = try TemporaryFolder()
        let plain = try folder.simulatedCapture("day.pcap", ["--clients", "2", "--duration", "10m"])
        let packed = folder.path + "/day"
        try compress("xz", plain, to: packed)
        #expect(Progress.isCompressed(packed))
        #expect(!Progress.isCompressed(plain))
        #expect(!Progress.isCompressed(folder.path))
    }

    /// A compressed stream (here a FIFO; standard input and pipes alike) is decompressed as it comes: the
    /// report is the plain file's.
    @Test(.enabled(if: hasTool("gzip")))
    func aGzipStreamGivesThePlainFilesReport() throws {
        let folder = try TemporaryFolder()
        let plain = try folder.simulatedCapture("day.pcap", ["--clients", "5", "--duration", "1h"])
        try compress("gzip", plain, to: plain + ".gz")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: plain + ".gz")))
        let fifo = folder.path + "/in"
        try #require(mkfifo(fifo, 0o600) == 0)
        let writer = Thread {
            let fd = open(fifo, O_WRONLY)
            guard fd >= 0 else { return }
            var at = 0
            while at < bytes.count {
                let n = bytes[at...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                at += n
            }
            close(fd)
        }
        writer.start()
        let got = Self.report("analyze", [fifo], shownAs: [plain])
        let want = Self.report("analyze", [plain], shownAs: [plain])
        #expect(got.status == want.status)
        #expect(got.text == want.text)
    }

    /// Bytes after the last gzip member or bzip2 stream that start no other (padding, text appended) are ignored,
    /// as `zcat` and `bzcat` do: a warning says how many, and the capture is whole (no `capture-truncated`).
    @Test(arguments: tools.filter { $0 != "xz" })
    func bytesAfterTheLastMemberAreIgnoredAndSaid(_ tool: String) throws {
        let folder = try TemporaryFolder()
        let plain = try folder.simulatedCapture("day.pcap", ["--clients", "4", "--duration", "1h"])
        let packed = folder.path + "/padded"
        try compress(tool, plain, to: packed)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: packed))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(repeating: 0, count: 512) + Data("appended text".utf8))
        try handle.close()
        let run = CLIRun(["analyze", "-F", "json", packed])
        let what = tool == "gzip" ? "the last gzip member" : "the last bzip2 stream"
        #expect(run.stderr.contains("sepbeat: warning: \(packed): 525 bytes after \(what) start no other and were "
            + "ignored"), "\(run.stderr)")
        #expect(!run.stdout.contains("\"capture-truncated\""))
        #expect(!run.stderr.contains("corrupt"))
        let want = Self.report("analyze", [plain], shownAs: [plain])
        let got = Self.report("analyze", [packed], shownAs: [plain])
        #expect(got.status == want.status)
        // The same packets and check-ins as the plain file; only the capture's warning is more.
        let (mine, plains) = (try #require(Self.json(got.text)), try #require(Self.json(want.text)))
        #expect(FollowedRollingReportTests.packets(mine) == FollowedRollingReportTests.packets(plains))
        #expect(mine["sessions"] as? [[String: Any]] != nil)
        #expect((mine["sessions"] as? [Any])?.count == (plains["sessions"] as? [Any])?.count)
        #expect(NSDictionary(dictionary: mine["summary"] as? [String: Any] ?? [:])
                    .isEqual(to: plains["summary"] as? [String: Any] ?? [:]))
    }

    /// A stray byte that begins a magic number is no member cut short; a member joined after padding is said to
    /// be unread (as `zcat` leaves it), not called padding.
    @Test(.enabled(if: hasTool("gzip")))
    func aStrayByteIsTrailingAndAMemberAfterPaddingIsSaid() throws {
        let folder = try TemporaryFolder()
        let plain = try folder.simulatedCapture("day.pcap", ["--clients", "3", "--duration", "1h"])
        let packed = folder.path + "/day.gz"
        try compress("gzip", plain, to: packed)
        let member = try Data(contentsOf: URL(fileURLWithPath: packed))
        let stray = folder.path + "/stray.gz"
        try (member + Data([0x1F])).write(to: URL(fileURLWithPath: stray))
        let one = CLIRun(["analyze", "-F", "json", stray])
        #expect(one.stderr.contains("\(stray): 1 byte after the last gzip member starts no other and was ignored"),
                "\(one.stderr)")
        #expect(!one.stdout.contains("\"capture-truncated\""))
        let padded = folder.path + "/padded.gz"
        try (member + Data(repeating: 0, count: 512) + member).write(to: URL(fileURLWithPath: padded))
        let two = CLIRun(["analyze", "-F", "json", padded])
        #expect(two.stderr.contains("\(padded): \(512 + member.count) bytes after the last gzip member start no other "
            + "and were ignored, but they hold what looks like another member further on"), "\(two.stderr)")
    }

    static func json(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    /// A compressed followed input hands what it decompressed to the analysis as it comes, not a buffer's worth
    /// at a time: fed one gzip member and then quiet, its `--every` report so far holds that member's packets.
    @Test(.enabled(if: hasTool("gzip")))
    func aQuietGzipStreamIsReportedSoFar() throws {
        let folder = try TemporaryFolder()
        let (header, first, second) = try FollowedRollingReportTests.parts()
        let firstPlain = folder.path + "/first.pcap"
        let secondPlain = folder.path + "/second.raw"
        try Data(header + first.flatMap { Array($0) }).write(to: URL(fileURLWithPath: firstPlain))
        try Data(second.flatMap { Array($0) }).write(to: URL(fileURLWithPath: secondPlain))
        try compress("gzip", firstPlain, to: firstPlain + ".gz")
        try compress("gzip", secondPlain, to: secondPlain + ".gz")
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        let report = folder.path + "/now.json"
        let run = try FollowedInputCLITests.Run(["analyze", "-q", "-F", "json", "--every", "1", "-o", report, "-"],
                                                input: ends[0], folder: folder.path)
        close(ends[0])
        var writing = true
        defer { if writing { close(ends[1]) } }
        try FollowedInputCLITests.write([UInt8](try Data(contentsOf: URL(fileURLWithPath: firstPlain + ".gz"))),
                                        to: ends[1])
        #expect(run.wait { FollowedRollingReportTests.packets(FollowedRollingReportTests.report(at: report)) == 84 },
                "stderr: \(run.stderr)")
        #expect(run.process.isRunning)
        // The rest as a second member: the final report holds every packet.
        try FollowedInputCLITests.write([UInt8](try Data(contentsOf: URL(fileURLWithPath: secondPlain + ".gz"))),
                                        to: ends[1])
        close(ends[1])
        writing = false
        #expect(run.finish() == ExitStatus.ok, "stderr: \(run.stderr)")
        #expect(FollowedRollingReportTests.packets(FollowedRollingReportTests.report(at: report)) == 101)
    }
}
