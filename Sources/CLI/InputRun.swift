import Analysis
import Capture
import Core
import Reports
import Streams
#if canImport(Glibc)
import Glibc
#endif

extension Options {
    /// The settings of the traffic layers the options give (`--max-connections`).
    func analysisConfiguration() -> AnalysisConfiguration {
        var configuration = AnalysisConfiguration()
        configuration.streamLimits.maxConnections = maxConnections
        return configuration
    }
}

/// Runs the captures named on the command line through the traffic layers, with
/// a progress meter on stderr and the readers' warnings printed at the end.
enum InputRun {
    ///
    /// With `accept`, `options.jobs` above 1 and several regular files, the files are first read
    /// apart (`ParallelCaptureRun`); `accept` gets the result and answers nil to take it, or why the
    /// files must be read in order after all. Then, and whenever the run answers so itself, the
    /// files are read again merged in time order (a line on stderr says so unless `--quiet`), and
    /// `onConnection` gets their connections as usual. Standard input and FIFOs cannot be read
    /// twice, so with one of them the merged run is the only one.
    static func run(
        options: Options, command: String, configuration: AnalysisConfiguration, output: inout Output,
        parallel accept: ((ParallelCaptureRun.Result) -> ParallelCaptureRun.Fallback?)? = nil,
        rolling: RollingReport? = nil,
        onConnection: @escaping (CompletedConnection) -> Void
    ) throws -> [CaptureSummary] {
        // A live capture, or a followed input with `--every` (checked by `openCaptures`): read with the rolling
        // reports, if any.
        if options.interface != nil || options.live.everySeconds != nil {
            let input = try openCaptures(options: options, command: command, configuration: configuration,
                                         output: &output)
            // The rolling report runs on this thread, between packets, inside `input.read` below: `output`
            // is alive and used by nothing else meanwhile.
            let files = try withUnsafeMutablePointer(to: &output) { out in
                let reports = rolling.flatMap { report in
                    options.live.everySeconds.map { every in
                        RollingReports(intervalNanoseconds: Int64((every * 1e9).rounded())) { soFar in
                            report(soFar, &out.pointee)
                        }
                    }
                }
                return try input.read(onConnection: onConnection, rolling: reports)
            }
            printWarnings(files, options: options, output: &output)
            return files
        }
        try LiveOptions.check(options, command: command, stdin: output.inputFD)
        guard !options.captures.isEmpty else {
            throw UsageError("sepbeat \(command): no capture given (usage: sepbeat \(command) [options] CAPTURE..., "
                + "or -i IFACE to capture from an interface)")
        }
        try refuseOverwritingInput(options, command: command, stdin: output.inputFD)
        try ReportFIFO.openEarly(options, command: command)
        let paths = distinctFiles(options.captures, quiet: options.quiet, output: &output)
        if let accept, options.jobs > 1, paths.count > 1, paths.allSatisfy(isRegularFile) {
            let parallel = ParallelCaptureRun(
                paths: paths, filter: options.filter, configuration: configuration, jobs: options.jobs)
            if let files = try readApart(parallel, options: options, command: command, output: &output, accept) {
                return files
            }
        }
        let input = try openCaptures(
            paths: paths, options: options, command: command, configuration: configuration, output: &output)
        let files = try input.read(onConnection: onConnection)
        printWarnings(files, options: options, output: &output)
        return files
    }

    /// The captures checked (`-o` naming one of them or an existing capture is refused first) and opened, not
    /// read yet: errors about them come before anything else is done, and `OpenedInput.read` reads them
    /// merged in time order (its caller prints the readers' warnings, `printWarnings`). `progress` false
    /// draws no meter on stderr (a report streamed to the same terminal meanwhile).
    static func openCaptures(
        options: Options, command: String, configuration: AnalysisConfiguration, output: inout Output,
        progress: Bool = true
    ) throws -> OpenedInput {
        try LiveOptions.check(options, command: command, stdin: output.inputFD)
        if let interface = options.interface {
            // Before capturing: an -o that would overwrite a capture (`-o x.pcap` typed for tcpdump's -w), or
            // that cannot be written, is refused now, not after hours of capture.
            try refuseOverwritingInput(options, command: command, stdin: output.inputFD)
            try LiveOptions.checkWritable(options, command: command)
            try ReportFIFO.openEarly(options, command: command)
            return try openLive(interface: interface, options: options, command: command, configuration: configuration,
                                output: &output)
        }
        guard !options.captures.isEmpty else {
            throw UsageError("sepbeat \(command): no capture given (usage: sepbeat \(command) [options] CAPTURE..., "
                + "or -i IFACE to capture from an interface)")
        }
        try refuseOverwritingInput(options, command: command, stdin: output.inputFD)
        // A followed input may be read for hours before the first report so far: an -o that cannot be written
        // is refused now, as for a live capture.
        if options.live.everySeconds != nil { try LiveOptions.checkWritable(options, command: command) }
        try ReportFIFO.openEarly(options, command: command)
        let paths = distinctFiles(options.captures, quiet: options.quiet, output: &output)
        return try openCaptures(paths: paths, options: options, command: command, configuration: configuration,
                        output: &output, progress: progress)
    }

    private static func openCaptures(
        paths: [String], options: Options, command: String, configuration: AnalysisConfiguration,
        output: inout Output, progress drawn: Bool = true
    ) throws -> OpenedInput {
        var run = CaptureRun(paths: paths, filter: options.filter, configuration: configuration)
        // Standard input, pipes and FIFOs may never end: the first signal ends them instead (`Interruption`).
        run.stop = .process
        var source: PacketSource
        do {
            source = try run.open()
        } catch {
            throw openFailure(error, command: command)
        }
        if let note = LiveOptions.followedInputNote(options, command: command, stdin: output.inputFD) {
            output.error(SepbeatCommand.oneLine(note))
        }
        let enabled = drawn && !options.quiet && output.stderrIsTerminal
        let progress = ProgressBox(Progress(enabled: enabled, paths: paths))
        if progress.meter.enabled {
            source = ByteCountingSource(source, files: paths.count) { n, bytes in
                progress.meter.update(packets: n, bytesRead: bytes)
            }
        }
        return OpenedInput(run: run, source: source, progress: progress, command: command)
    }

    /// `--duration` as the start line says it: a time under a millisecond in microseconds, which three decimals
    /// of seconds would show as `0.000 s` (the capture stops at the first packet or read timeout after it).
    static func durationText(_ seconds: Double) -> String {
        seconds >= 0.001 ? formatSeconds(seconds) : formatFixed(seconds * 1e6, digits: 3) + " µs"
    }

    /// A report made while a live capture or a followed input goes on (`--every`), from the capture so far: the
    /// summaries, and the connections still open as provisional records.
    typealias RollingReport = (_ soFar: CaptureSoFar, _ output: inout Output) -> Void

    /// `interface` opened for capture (the filter compiled for it), to be read until `--duration`,
    /// `--count` or a signal (the first SIGINT, SIGTERM or SIGHUP ends the capture, see `Interruption`)
    /// ends it; the run is otherwise a file's: one summary, for the interface. One line on stderr says
    /// what ends it (not with `--quiet`).
    private static func openLive(
        interface: String, options: Options, command: String, configuration: AnalysisConfiguration,
        output: inout Output
    ) throws -> OpenedInput {
        let source: LiveSource
        do {
            source = try LiveSource(interface: interface, settings: options.live.capture(stop: .process))
            if let filter = options.filter { try source.setFilter(filter) }
        } catch {
            throw openFailure(error, command: command)
        }
        if let save = options.live.savePath {
            do {
                try source.startSaving(to: save)
            } catch {
                throw CommandFailure(message: "sepbeat \(command): \(save): cannot save the packets: "
                    + error.problem.replacingOccurrences(of: "cannot write: ", with: ""),
                    status: ExitStatus.outputFailed)
            }
        }
        if !options.quiet {
            var stops: [String] = []
            if let d = options.live.durationSeconds { stops.append("after \(durationText(d))") }
            if let n = options.live.packetLimit { stops.append("after \(n == 1 ? "1 packet" : "\(n) packets")") }
            // Started in the background by a script, SIGINT is ignored: name what still stops it.
            let signal = LiveOptions.endingSignal()
            if let signal { stops.append("on " + signal.name + (signal.ignored.map { " (\($0))" } ?? "")) }
            output.error(SepbeatCommand.oneLine("sepbeat \(command): capturing on \(interface) (link type "
                + "\(source.interfaceLinkType.name)); stops "
                + (stops.isEmpty ? "on no signal" : stops.joined(separator: " or "))
                + (signal == nil ? " (\(LiveOptions.allEndingSignalsIgnored))" : "") + ", then writes the report"
                + (options.live.savePath.map { "; the packets are saved to \($0)" } ?? "")))
        }
        let run = CaptureRun(paths: [interface], configuration: configuration)
        return OpenedInput(run: run, source: source, progress: ProgressBox(Progress(enabled: false, paths: [])),
                           command: command)
    }

    /// The readers' warnings on stderr; with `--quiet` only a failed save of a live capture's packets (`-w`),
    /// which is an output's failure (exit status 4), not a remark on the input.
    static func printWarnings(_ files: [CaptureSummary], options: Options, output: inout Output) {
        if !options.quiet {
            for note in endedInputNotes(files) { output.error(SepbeatCommand.oneLine(note)) }
            for w in files.flatMap(\.warnings) { output.error(SepbeatCommand.oneLine("sepbeat: warning: \(w)")) }
            if let hint = filterHint(files, options: options) { output.error(SepbeatCommand.oneLine(hint)) }
            if let note = evictionWarning(files, tableSize: options.maxConnections) {
                output.error(SepbeatCommand.oneLine(note))
            }
            for note in copiedFileWarnings(files) { output.error(SepbeatCommand.oneLine(note)) }
        } else {
            for file in files {
                if let why = file.saveFailed {
                    output.error(SepbeatCommand.oneLine("sepbeat: warning: \(file.path): \(why)"))
                }
            }
        }
    }

    /// One line for each followed input (standard input, a pipe, a FIFO) that the first signal ended: the run
    /// goes on to its report, which covers the packets read before it.
    static func endedInputNotes(_ files: [CaptureSummary]) -> [String] {
        files.compactMap { f in
            f.endedBy.map { by in
                "sepbeat: \(f.path): input ended by \(by) after \(formatCount(f.packets, "packet")); the report covers "
                    + "them (a second signal stops sepbeat without a report)"
            }
        }
    }

    /// Connections handed out early from a full connection table (more open at once than it holds): said once
    /// for the run, since the table is the run's. The heartbeat layer rejoins their pieces, but memory and time
    /// grow with them, and `flows` lists each piece apart. The remedy is named: a larger table
    /// (`--max-connections`), with what it costs.
    static func evictionWarning(_ files: [CaptureSummary], tableSize: Int) -> String? {
        let evicted = files.reduce(0) { $0 + $1.connectionsEvicted }
        guard evicted > 0 else { return nil }
        return "sepbeat: warning: \(evicted) connections were evicted: more were open at once than the connection "
            + "table holds (\(tableSize)), so each was handed out early and its later packets "
            + "read as a new piece (rejoined for check-ins, but a check-in cut so may read as failed; `flows` lists "
            + "the pieces apart, state `evicted`); raise the limit with --max-connections N (about "
            + "\(StreamLimits.openConnectionSizeText) per open connection, 11 KB within a minute of its data)"
    }

    /// Files whose packets repeat another file's exactly, each copy just after its original in time order: the
    /// same packets given twice (a capture and an excerpt of it, overlapping rotated files), so their bytes count
    /// twice. From 10 copies on (a stray one is a coincidence of two sensors).
    static func copiedFileWarnings(_ files: [CaptureSummary]) -> [String] {
        files.compactMap { f in
            guard f.copiesOfOtherFiles >= 10, let i = f.copiedFile, files.indices.contains(i) else { return nil }
            return "sepbeat: warning: \(f.path): \(f.copiesOfOtherFiles) packets are exact copies of packets of "
                + "\(files[i].path) (the same packets given in two files: a capture and an excerpt of it, or files "
                + "that overlap?): connections' and check-ins' bytes up and down count both copies, their steps "
                + "each byte once"
        }
    }

    /// A filter that left out every packet of the captures: it sees the outermost headers, which for a
    /// tunnelled capture (VXLAN, Geneve, GRE, ERSPAN: cloud traffic mirroring) are the tunnel's. Frames with MPLS
    /// labels or in PPPoE sessions, when some were left out, are named first: a filter reads their IP headers only
    /// after `mpls` or `pppoes`, and past one label per `mpls` (as many as the deepest stack left out held). The same
    /// for VLAN tags: one `vlan` per tag of the deepest stack left out (a QinQ frame has two).
    static func filterHint(_ files: [CaptureSummary], options: Options) -> String? {
        guard let filter = options.filter else { return nil }
        let merged = CaptureSummary.merged(files)
        guard merged.packets == 0, merged.filteredOut > 0 else { return nil }
        var forms: [String] = []
        if merged.filteredOutMPLS > 0 {
            let labels = max(1, merged.deepestMPLSStack)
            let each = labels > 1 ? " (one \"mpls and\" per label: up to \(labels) were stacked)" : ""
            forms.append("for the \(merged.filteredOutMPLS) with MPLS labels write \""
                + String(repeating: "mpls and ", count: labels) + "(\(filter))\"" + each)
        }
        if merged.filteredOutPPPoE > 0 {
            forms.append("for the \(merged.filteredOutPPPoE) in PPPoE sessions write \"pppoes and (\(filter))\"")
        }
        // One "vlan and" per tag of the deepest stack left out, as for MPLS labels; one tag reads as before.
        let tags = max(1, merged.deepestVLANStack)
        let vlan = String(repeating: "vlan and ", count: tags).dropLast()
        let perTag = tags > 1 ? " (one \"vlan and\" per tag: up to \(tags) were stacked)" : ""
        let encapsulated = forms.isEmpty ? "" : forms.joined(separator: ", ") + " (behind VLAN tags, \"\(vlan)\" "
            + "before it); "
        return "sepbeat: warning: the filter \"\(filter)\" left out every one of the \(merged.filteredOut) packets; "
            + "a filter sees the outermost headers: " + encapsulated
            + "for packets with VLAN tags write \"\(vlan) (\(filter))\"" + perTag + " (or "
            + "\"(\(filter)) or (\(vlan) (\(filter)))\" for a mix), and in a tunnelled capture (VXLAN, Geneve, GRE, "
            + "ERSPAN) they are the tunnel's: filter on them (e.g. \"udp port 4789\"), or give no filter"
    }

    /// The error of opening the captures, as the command reports it.
    static func openFailure(_ error: CaptureError, command: String) -> CommandFailure {
        // A filter error is about the expression, not the file libpcap compiled it against.
        var text = error.isFilterError ? error.problem : error.message
        // A compressed capture's hint names the command that was run.
        if error.isCompressed {
            text = text.replacingOccurrences(of: "| sepbeat analyze -`", with: "| sepbeat \(command) -`")
        }
        let status = error.isFilterError ? ExitStatus.usage : error.exitStatus
        return CommandFailure(message: "sepbeat \(command): \(text)", status: status)
    }

    /// The files read apart; nil (after the one line on stderr) when they must be read in order.
    private static func readApart(
        _ run: ParallelCaptureRun, options: Options, command: String, output: inout Output,
        _ accept: (ParallelCaptureRun.Result) -> ParallelCaptureRun.Fallback?
    ) throws -> [CaptureSummary]? {
        var sources: [PacketSource]
        do {
            sources = try run.open()
        } catch {
            throw openFailure(error, command: command)
        }
        let progress = SharedProgress(
            Progress(enabled: !options.quiet && output.stderrIsTerminal, paths: run.paths), files: sources.count)
        if progress.enabled {
            sources = sources.enumerated().map { i, source in
                ByteCountingSource(source, files: 1) { n, bytes in progress.update(file: i, packets: n, bytes: bytes) }
            }
        }
        let outcome = run.run(sources)
        progress.clear()
        let fallback: ParallelCaptureRun.Fallback
        switch outcome {
        case .success(let result):
            guard let refused = accept(result) else {
                printWarnings(result.files, options: options, output: &output)
                return result.files
            }
            fallback = refused
        case .failure(let refused):
            fallback = refused
        }
        if !options.quiet && !fallback.readFailed { output.error("sepbeat: \(fallback.message)\n") }
        return nil
    }
}

extension InputRun {
    /// Whether `path` names a regular file (one that can be read twice); standard input never does.
    static func isRegularFile(_ path: String) -> Bool {
        guard !standardInputNames.contains(path) else { return false }
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }
}

extension InputRun {
    /// `paths` without a capture given twice: the same file (same device and inode, or the same text when a
    /// path cannot be looked up: the reader then reports it), or a regular file holding the same bytes as
    /// one given before it (a copy, `cp fleet.pcap copy.pcap`). Reading a capture twice would double every
    /// count and make each packet look captured twice, so each later mention is dropped with a one-line
    /// warning on stderr (unless `quiet`). Cost: one stat per path; of files that share their size, the
    /// first and last 64 KiB are read (`fingerprint`), and files that agree there are compared whole
    /// (`sameContent`): captures of the same size that differ cost 128 KiB each, copies are read whole.
    static func distinctFiles(_ paths: [String], quiet: Bool, output: inout Output) -> [String] {
        var seen: [String: String] = [:]
        var out: [String] = []
        let looked = paths.map { lookUp($0, stdin: output.inputFD) }
        var filesOfSize: [Int: Int] = [:]
        for case let size? in looked.map(\.regularSize) { filesOfSize[size, default: 0] += 1 }
        /// Regular files kept so far that share their size with another path, by size and fingerprint.
        var kept: [FileFingerprint: [String]] = [:]
        func named(_ p: String) -> String { p == "-" ? "- (standard input)" : p }
        for (path, (identity, size)) in zip(paths, looked) {
            let key = identity ?? "path:" + path
            if let first = seen[key] {
                if !quiet {
                    let text = first == path ? "\(path) is given more than once"
                        : "\(named(path)) is the same file as \(named(first)), given already"
                    output.error(SepbeatCommand.oneLine("sepbeat: warning: \(text); it is read once"))
                }
                continue
            }
            let marks = size.flatMap { filesOfSize[$0, default: 0] > 1 ? fingerprint(path, size: $0) : nil }
            if let size, let marks, let original = kept[marks]?.first(where: { sameContent($0, path, size: size) }) {
                if !quiet {
                    output.error(SepbeatCommand.oneLine("sepbeat: warning: \(path) holds the same bytes as "
                        + "\(original), given already (a copy of the same capture); it is read once"))
                }
                // A later mention of this name is then "given more than once", not this line again.
                seen[key] = path
                continue
            }
            seen[key] = path
            out.append(path)
            if let marks { kept[marks, default: []].append(path) }
        }
        return out
    }

    /// A regular file's size and a hash of its first and last 64 KiB: files that differ there differ.
    struct FileFingerprint: Hashable {
        var size: Int
        var ends: Int
    }

    /// `path`'s fingerprint (`size` bytes); nil when it cannot be read (the reader reports that later).
    static func fingerprint(_ path: String, size: Int) -> FileFingerprint? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let piece = 1 << 16
        var bytes = [UInt8](repeating: 0, count: piece)
        var hasher = Hasher()
        for offset in Set([0, max(0, size - piece)]).sorted() {
            let count = min(piece, size - offset)
            guard readFully(fd, into: &bytes, count: count, at: offset) else { return nil }
            bytes.withUnsafeBytes { hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
        return FileFingerprint(size: size, ends: hasher.finalize())
    }


    /// Whether the regular files `a` and `b`, both `size` bytes, hold the same bytes: their first MiB, then
    /// their last, then the rest, compared a MiB at a time and stopped at the first difference, so captures
    /// of the same size that differ cost a MiB or two of reading; copies are read whole. False when either
    /// cannot be read (the reader reports that later).
    static func sameContent(_ a: String, _ b: String, size: Int) -> Bool {
        let fa = open(a, O_RDONLY | O_CLOEXEC)
        let fb = open(b, O_RDONLY | O_CLOEXEC)
        defer {
            if fa >= 0 { close(fa) }
            if fb >= 0 { close(fb) }
        }
        guard fa >= 0, fb >= 0 else { return false }
        let chunk = 1 << 20
        var first = [UInt8](repeating: 0, count: chunk)
        var second = [UInt8](repeating: 0, count: chunk)
        /// Whether the `count` bytes at `offset` agree.
        func agree(at offset: Int, count: Int) -> Bool {
            guard readFully(fa, into: &first, count: count, at: offset),
                  readFully(fb, into: &second, count: count, at: offset) else { return false }
            return first.withUnsafeBytes { x in
                second.withUnsafeBytes { y in
                    guard let p = x.baseAddress, let q = y.baseAddress else { return false }
                    return memcmp(p, q, count) == 0
                }
            }
        }
        let chunks = (size + chunk - 1) / chunk
        let order = chunks == 1 ? [0] : [0, chunks - 1] + Array(1..<(chunks - 1))
        for i in order {
            let offset = i * chunk
            guard agree(at: offset, count: min(chunk, size - offset)) else { return false }
        }
        return true
    }

    /// Reads exactly `count` bytes of `fd` at `offset` into `buffer`; false when fewer are there or a read fails.
    private static func readFully(_ fd: Int32, into buffer: inout [UInt8], count: Int, at offset: Int) -> Bool {
        var got = 0
        while got < count {
            let n = buffer.withUnsafeMutableBytes { raw in
                pread(fd, raw.baseAddress.map { $0 + got }, count - got, off_t(offset + got))
            }
            if n > 0 {
                got += n
            } else if n < 0, errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }
}

extension InputRun {
    /// Names by which a capture is read from standard input.
    static let standardInputNames: Set<String> = ["-", "/dev/stdin", "/proc/self/fd/0", "/dev/fd/0"]

    /// "device:inode" of the file `path` names (symbolic links followed; standard input's names are
    /// looked up on the descriptor `stdin`), or nil when it cannot be looked up.
    static func identity(_ path: String, stdin: Int32) -> String? {
        lookUp(path, stdin: stdin).identity
    }

    /// `identity(path, stdin:)`, and the size of the regular file `path` names if it is one and not empty
    /// (nil for standard input, a FIFO or device, or a path that cannot be looked up): one stat.
    static func lookUp(_ path: String, stdin: Int32) -> (identity: String?, regularSize: Int?) {
        var info = stat()
        let isStandardInput = standardInputNames.contains(path)
        guard isStandardInput ? fstat(stdin, &info) == 0 : stat(path, &info) == 0 else { return (nil, nil) }
        let regular = !isStandardInput && info.st_mode & S_IFMT == S_IFREG && info.st_size > 0
        return ("\(info.st_dev):\(info.st_ino)", regular ? Int(info.st_size) : nil)
    }

    /// Refuses (usage error, exit status 2, before anything is read) an `-o` file that is one of
    /// the input captures, by device and inode, so the report never overwrites a capture.
    static func refuseOverwritingInput(_ options: Options, command: String, stdin: Int32) throws {
        guard let out = options.outputPath, out != "-", let target = identity(out, stdin: stdin) else { return }
        for capture in options.captures where identity(capture, stdin: stdin) == target {
            let same = capture == out ? "" : " (the same file as \(capture))"
            throw UsageError("sepbeat \(command): -o \(out) is one of the input captures\(same); "
                + "the report would overwrite it: give another output file")
        }
        let settings = [("--model", options.modelPath), ("--sylink", options.sylinkPath)]
        let what = command == "model" ? "the model written" : "the report"
        for case let (option, path?) in settings where identity(path, stdin: stdin) == target {
            let same = path == out ? "" : " (the same file as \(path))"
            throw UsageError("sepbeat \(command): -o \(out) is the \(option) file\(same); "
                + "\(what) would overwrite it: give another output file")
        }
        // A capture not on the command line, as after `-qo victim.pcap x.pcap` meant as `-q -r`; or a
        // compressed file (`-o d.pcap.gz`): no report starts like one, and it may well hold a capture.
        if let kind = protectedFileKind(at: out) {
            throw UsageError("sepbeat \(command): -o \(out) is \(kind); \(what) would overwrite "
                + "it: give another output file (or remove it first)")
        }
    }

    /// The compression formats whose files `-o` does not overwrite, by their magic numbers.
    static let compressionMagics: [(name: String, magic: [UInt8])] = [
        ("gzip", [0x1f, 0x8b]), ("zstd", [0x28, 0xb5, 0x2f, 0xfd]), ("xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
        ("bzip2", [0x42, 0x5a, 0x68]), ("lz4", [0x04, 0x22, 0x4d, 0x18]),
        // The legacy lz4 frame (`lz4 -l`, as the Linux kernel's initramfs uses).
        ("lz4", [0x02, 0x21, 0x4c, 0x18]),
        // zip: a local file header, or the end record of an empty archive ("PK\u{3}\u{4}", "PK\u{5}\u{6}").
        ("zip", [0x50, 0x4b, 0x03, 0x04]), ("zip", [0x50, 0x4b, 0x05, 0x06]),
    ]

    /// What `path` holds, when it is an existing regular file that `-o` must not overwrite: `a pcap capture
    /// file` or `a pcapng capture file` when it starts with a capture's magic number
    /// (`CaptureReader.magicFormat`: classic pcap of any kind, either byte order, or a pcapng section header
    /// block), `a gzip-compressed file (a compressed capture, perhaps)` (also zstd, xz, bzip2, lz4 in its
    /// frame or legacy format, zip) when it starts with a compression format's; else nil (also when it cannot
    /// be read: the write then reports what is wrong); `a Zeek log` when it starts as Zeek's tab-separated logs
    /// do (`#separ`). Reads 6 bytes of a regular file; anything else is
    /// opened without waiting and not read.
    static func protectedFileKind(at path: String) -> String? {
        guard let head = regularFileHead(path, bytes: 6) else { return nil }
        // Zeek's tab-separated logs start with their `#separator` line (`--zeek` reads them).
        if head.elementsEqual("#separ".utf8) { return "a Zeek log" }
        if head.count >= 4, let f = CaptureReader.magicFormat(Array(head.prefix(4))) {
            return f.format == .pcapng ? "a pcapng capture file" : "a pcap capture file"
        }
        for (name, magic) in compressionMagics where head.starts(with: magic) {
            // bzip2: "BZh" and a block size digit.
            if name == "bzip2", head.count < 4 || !(0x31...0x39).contains(head[3]) { continue }
            if name == "zip" { return "a zip archive (a zipped capture, perhaps)" }
            // "an xz-compressed": the article goes by the sound of the letter.
            let article = name == "xz" || name == "lz4" ? "an" : "a"
            return "\(article) \(name)-compressed file (a compressed capture, perhaps)"
        }
        return nil
    }

    /// The first `bytes` bytes of the regular file at `path` (fewer when it is shorter), read without
    /// waiting; nil when it is empty, cannot be opened, or is not a regular file (a FIFO or device is
    /// opened without waiting and not read).
    static func regularFileHead(_ path: String, bytes: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        var head = [UInt8](repeating: 0, count: bytes)
        let got = head.withUnsafeMutableBytes { read(fd, $0.baseAddress, bytes) }
        guard got > 0 else { return nil }
        head.removeLast(bytes - got)
        return head
    }
}

/// Captures opened by `InputRun.openCaptures`, to be read once.
struct OpenedInput {
    let run: CaptureRun
    let source: PacketSource
    let progress: ProgressBox
    let command: String

    /// Reads the captures to their end, handing each finished connection to `onConnection` and each id that
    /// has no record (a copy of a connection captured twice) to `onLeftOut`; returns one summary per file.
    /// `rolling` (`--every`, of a live capture or a followed input) gets the capture so far while it goes on.
    /// Throws a `CommandFailure` (exit status 3 for input that turned unreadable) naming the command.
    func read(
        onConnection: @escaping (CompletedConnection) -> Void, onLeftOut: ((UInt64) -> Void)? = nil,
        rolling: RollingReports? = nil
    ) throws -> [CaptureSummary] {
        var run = run
        run.onLeftOut = onLeftOut
        run.rolling = rolling
        let files: [CaptureSummary]
        do {
            files = try run.run(source, onConnection: onConnection)
        } catch {
            progress.meter.clear()
            throw CommandFailure(message: "sepbeat \(command): \(error.message)", status: error.exitStatus)
        }
        progress.meter.clear()
        return files
    }
}

/// Lets the progress callback mutate the meter.
final class ProgressBox {
    var meter: Progress
    init(_ meter: Progress) { self.meter = meter }
}

/// One meter for files read on several threads: each file's counts, summed under a lock.
final class SharedProgress: Sendable {
    let enabled: Bool
    private let state: PosixMutex<(meter: Progress, packets: [Int], bytes: [Int64])>

    init(_ meter: Progress, files: Int) {
        enabled = meter.enabled
        state = PosixMutex((meter, Array(repeating: 0, count: files), Array(repeating: 0, count: files)))
    }

    func update(file: Int, packets: Int, bytes: Int64) {
        state.withLock { s in
            s.packets[file] = packets
            s.bytes[file] = bytes
            s.meter.update(packets: s.packets.reduce(0, +), bytesRead: s.bytes.reduce(0, +))
        }
    }

    func clear() {
        state.withLock { $0.meter.clear() }
    }
}
