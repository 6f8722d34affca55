import Capture
#if canImport(Glibc)
import Glibc
#endif

/// The options of a live capture, as given on the command line (`-i` and the ones that only go with it).
struct LiveSettings: Sendable {
    var durationSeconds: Double?
    var packetLimit: Int?
    var snapshotLength: Int?
    var promiscuous = true
    /// `--every`: a rolling report written to `-o FILE` this often while capturing (or following an input).
    var everySeconds: Double?
    /// `-w`: the file the captured packets are saved to as well.
    var savePath: String?
    /// The names of the options given that only a live capture takes, for the refusal without `-i`.
    var given: [String] = []

    /// The capture settings for `LiveSource`, stopped by `stop`.
    func capture(stop: LiveStopRequest) -> LiveCaptureSettings {
        var s = LiveCaptureSettings()
        s.stop = stop
        s.promiscuous = promiscuous
        if let snapshotLength { s.snapshotLength = snapshotLength }
        s.packetLimit = packetLimit
        s.durationNanoseconds = durationSeconds.map { Int64(($0 * 1e9).rounded()) }
        return s
    }
}

/// `-i IFACE` and the options that only a live capture takes, shared by analyze, audit, validate and flows.
enum LiveOptions {
    static let interface = OptionSpec(
        names: ["-i", "--interface"], valueName: "IFACE",
        help: "Capture from this network interface (as tcpdump -i) instead of reading files; the report is "
            + "written when the capture ends (--duration, --count, or Ctrl-C). Needs root or CAP_NET_RAW (some "
            + "systems also want CAP_NET_ADMIN).",
        onRepeat: "capture from one interface per run"
    ) { (o: inout Options, v: String) throws(UsageError) in
        guard !v.isEmpty else { throw UsageError("-i/--interface needs an interface name (`ip link` lists them)") }
        o.interface = v
    }

    static let duration = OptionSpec(
        names: ["--duration"], valueName: "TIME",
        help: "With -i: stop capturing after this long, e.g. 90, 30m, 2h, 1h30m (default: until Ctrl-C)."
    ) { (o: inout Options, v: String) throws(UsageError) in
        let seconds = try SimulateOptions.time(v, "--duration",
                                               range: ("above 0 and up to a year (366d)", 0...(366 * 86_400)))
        o.live.durationSeconds = seconds
        o.live.given.append("--duration")
    }

    static let count = OptionSpec(
        names: ["-c", "--count"], valueName: "N",
        help: "With -i: stop capturing after N packets (as tcpdump -c)."
    ) { (o: inout Options, v: String) throws(UsageError) in
        guard let n = decimalInteger(v), n >= 1 else {
            throw UsageError("--count takes a whole number of packets, 1 or more, got '\(v)'")
        }
        o.live.packetLimit = n
        o.live.given.append("--count")
    }

    static let snaplen = OptionSpec(
        names: ["-s", "--snaplen"], valueName: "BYTES",
        help: "With -i: keep this many bytes of each packet (default 262144, whole packets; as tcpdump -s)."
    ) { (o: inout Options, v: String) throws(UsageError) in
        guard let n = decimalInteger(v), n >= 68, n <= 262_144 else {
            throw UsageError("--snaplen takes a number of bytes from 68 to 262144, got '\(v)'")
        }
        o.live.snapshotLength = n
        o.live.given.append("--snaplen")
    }

    static let noPromiscuous = OptionSpec(
        names: ["-p", "--no-promiscuous"], valueName: nil,
        help: "With -i: do not put the interface in promiscuous mode (as tcpdump -p)."
    ) { (o: inout Options, _: String) throws(UsageError) in
        o.live.promiscuous = false
        o.live.given.append("--no-promiscuous")
    }

    static let every = OptionSpec(
        names: ["--every"], valueName: "TIME",
        help: "With -o FILE, and -i or a followed input (standard input that is not a regular file: a pipe, a FIFO, "
            + "a terminal; or a FIFO named as a capture): write the report so far to FILE this often while capturing "
            + "or following, e.g. 60, 5m (1 s to 366d; FILE is replaced whole each time, so a reader never sees half "
            + "a report)."
    ) { (o: inout Options, v: String) throws(UsageError) in
        let seconds = try SimulateOptions.time(v, "--every", range: ("from 1 s to a year (366d)", 1...(366 * 86_400)))
        o.live.everySeconds = seconds
        o.live.given.append("--every")
    }

    static let write = OptionSpec(
        names: ["-w", "--write"], valueName: "FILE",
        help: "With -i: also save the captured packets to FILE (pcap with nanosecond timestamps, as tcpdump -w; "
            + "FILE is replaced), to read again later or open in Wireshark.",
        onRepeat: "save the packets to one file"
    ) { (o: inout Options, v: String) throws(UsageError) in
        guard !v.isEmpty else { throw UsageError("-w/--write needs a file name") }
        guard !v.hasSuffix("/") else {
            throw UsageError("-w/--write needs a file name, got a folder ('\(v)' ends with /)")
        }
        o.live.savePath = v
        o.live.given.append("-w")
    }

    static let all = [interface, duration, count, snaplen, noPromiscuous, every, write]

    /// The options of `flows`, which writes its report at the end only (`--every` is for the reports of
    /// analyze, audit and validate).
    static let forFlows = [interface, duration, count, snaplen, noPromiscuous, write]

    /// Refuses, before a capture starts, an `-o FILE` whose folder is missing or not writable (or an existing
    /// FILE not writable): the report would be lost only when the capture ends (exit status 4, one line).
    /// With `--every` the folder must take new files even when FILE exists: each report is written to a new
    /// file beside FILE and renamed over it. The same for the `-w FILE` the packets are saved to.
    static func checkWritable(_ options: Options, command: String) throws {
        if let path = options.outputPath, path != "-",
           let code = writeProblem(path, replacedWhole: options.live.everySeconds != nil) {
            throw CommandFailure(message: "sepbeat \(command): \(path): cannot write the report: "
                + String(cString: strerror(code)) + " (checked before capturing)", status: ExitStatus.outputFailed)
        }
        // A FIFO is not opened here: a probe's close would end the data for a reader already waiting. Whether
        // one reads it is found when it is opened for the capture (`PcapFileWriter`), before capturing too.
        if let path = options.live.savePath, let code = writeProblem(path) {
            throw CommandFailure(message: "sepbeat \(command): \(path): cannot save the packets: "
                + String(cString: strerror(code)) + " (checked before capturing)", status: ExitStatus.outputFailed)
        }
    }

    /// The errno that writing `path` would meet, as far as it can be told without writing: an existing file
    /// not writable, or a new one's folder missing or not writable; nil when it looks writable. With
    /// `replacedWhole` (`ReportWriter.replace`), the folder of an existing file is looked at too.
    private static func writeProblem(_ path: String, replacedWhole: Bool = false) -> Int32? {
        var info = stat()
        if stat(path, &info) == 0 {
            if info.st_mode & S_IFMT == S_IFDIR { return EISDIR }
            guard access(path, W_OK) == 0 else { return errno }
            if !replacedWhole { return nil }
        }
        return access(ReportWriter.folder(of: path), W_OK | X_OK) == 0 ? nil : errno
    }

    /// Refuses what does not go together: capture files with `-i`, or the live options without it; a `-w`
    /// FILE that is standard output or the report's `-o` file.
    static func check(_ options: Options, command: String, stdin: Int32 = 0) throws(UsageError) {
        if options.interface != nil {
            if let save = options.live.savePath {
                guard save != "-" else {
                    throw UsageError("sepbeat \(command): -w saves the packets to a file; standard output (-) is "
                        + "the report's: give a file name")
                }
                if let report = options.outputPath, report != "-", sameFile(save, report) {
                    throw UsageError("sepbeat \(command): -w \(save) is the -o report file too; give the packets "
                        + "and the report files of their own")
                }
                if options.outputPath == nil || options.outputPath == "-", isStandardOutput(save) {
                    throw UsageError("sepbeat \(command): -w \(save) is standard output, where the report goes; "
                        + "give the packets a file of their own (or the report one with -o)")
                }
                for case let (option, path?) in [("--model", options.modelPath), ("--sylink", options.sylinkPath)]
                where sameFile(save, path) {
                    throw UsageError("sepbeat \(command): -w \(save) is the \(option) file; saving the packets would "
                        + "overwrite it: give another file")
                }
            }
            guard options.captures.isEmpty else {
                throw UsageError("sepbeat \(command): -i captures from an interface; give no capture file with it "
                    + "(got '\(options.captures[0])')")
            }
            if options.live.everySeconds != nil { try checkEvery(options, command: command) }
        } else if let first = options.live.given.first(where: { $0 != "--every" }) {
            if first == "-w" {
                throw UsageError("sepbeat \(command): -w saves the packets of a live capture (-i); a capture file is "
                    + "already saved (tcpdump -r FILE -w OTHER copies one)")
            }
            throw UsageError("sepbeat \(command): \(first) goes with -i (a live capture); capture files are read "
                + "whole")
        } else if options.live.everySeconds != nil {
            // A followed input (standard input that is not a regular file, or a FIFO named as a capture) may go on
            // for ever, as a live capture does; regular files are read to their end, and their report comes then.
            guard options.captures.contains(where: { !isRegularCapture($0, stdin: stdin) }) else {
                throw UsageError("sepbeat \(command): --every goes with -i (a live capture) or a followed input "
                    + "(standard input that is not a regular file, or a FIFO named as a capture); capture files are "
                    + "read whole")
            }
            try checkEvery(options, command: command)
        }
    }

    /// Whether the capture `path` names a regular file (`-`: standard input, looked up on `stdin`): one read to
    /// its end, never followed. A path that cannot be looked up is not (its reader says why).
    static func isRegularCapture(_ path: String, stdin: Int32) -> Bool {
        captureFileType(path, stdin: stdin) == S_IFREG
    }

    /// The file type (`st_mode`'s `S_IFMT` bits) of the capture `path` names (`-`: standard input, looked up on
    /// `stdin`; symbolic links followed); nil when it cannot be looked up.
    static func captureFileType(_ path: String, stdin: Int32) -> mode_t? {
        var info = stat()
        guard (path == "-" ? fstat(stdin, &info) : stat(path, &info)) == 0 else { return nil }
        return info.st_mode & S_IFMT
    }

    /// Refuses an `--every` with no `-o FILE` it can replace whole (a regular file or a new one, with no
    /// other name).
    private static func checkEvery(_ options: Options, command: String) throws(UsageError) {
        guard let path = options.outputPath, path != "-" else {
            throw UsageError("sepbeat \(command): --every writes the report so far to the -o FILE it "
                + "replaces each time; give -o FILE")
        }
        var info = stat()
        if lstat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
            throw UsageError("sepbeat \(command): --every replaces -o FILE whole each time, so FILE must "
                + "be a regular file (or not exist yet), not a symbolic link, FIFO, device or directory: "
                + "\(path)")
        }
        if lstat(path, &info) == 0, info.st_nlink > 1 {
            let others = info.st_nlink - 1
            throw UsageError("sepbeat \(command): --every replaces -o FILE whole each time, so FILE's other "
                + (others == 1 ? "name (a hard link) would keep" : "\(others) names (hard links) would keep")
                + " the old report: \(path)")
        }
    }

    /// Whether `a` and `b` name one file, existing or to be created: the same path, the same existing file
    /// (a hard link, `./x`), or the same place for a new one (`./x` and `x`, an absolute path, a symbolic link
    /// to where it would be).
    static func sameFile(_ a: String, _ b: String) -> Bool {
        a == b || target(a) == target(b)
    }

    /// What writing `path` would write: an existing file by device and inode; a new one by its folder's device
    /// and inode and its name, after following symbolic links (a link to a missing file names where it would
    /// be), so a folder reached by two paths (`..`, a link, a bind mount) is one.
    static func target(_ path: String) -> String {
        var info = stat()
        if stat(path, &info) == 0 { return "file \(info.st_dev):\(info.st_ino)" }
        var current = path
        for _ in 0..<16 {
            guard lstat(current, &info) == 0, info.st_mode & S_IFMT == S_IFLNK else { break }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(current, &buffer, buffer.count - 1)
            guard n > 0 else { break }
            let link = String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = link.hasPrefix("/") ? link : ReportWriter.folder(of: current) + "/" + link
        }
        let name = current.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? current
        // The folder by device and inode: the same folder under two paths (a bind mount, a link) is one.
        guard stat(ReportWriter.folder(of: current), &info) == 0 else { return "new \(current)" }
        return "new \(info.st_dev):\(info.st_ino)/" + name
    }

    /// Whether `path` is the file standard output writes to (`/dev/stdout`, `/proc/self/fd/1`, or the file
    /// or terminal it was redirected to).
    static func isStandardOutput(_ path: String) -> Bool {
        var out = stat()
        var info = stat()
        return fstat(STDOUT_FILENO, &out) == 0 && stat(path, &info) == 0
            && out.st_dev == info.st_dev && out.st_ino == info.st_ino
    }

    /// A line naming the followed inputs (standard input or a named capture that is a pipe, FIFO or device: read
    /// until its writer closes it) when SIGINT is ignored, as in a command a script started in the background:
    /// Ctrl-C or `kill -INT` then does nothing, and the run seems stuck. A live capture says so in its own line.
    /// Nil otherwise, or with `--quiet`.
    static func followedInputNote(_ options: Options, command: String, stdin: Int32) -> String? {
        #if canImport(Glibc)
        guard options.interface == nil, !options.quiet, Interruption.isIgnored(SIGINT) else { return nil }
        let followed = options.captures.filter { path in
            captureFileType(path, stdin: stdin).map { $0 != S_IFREG && $0 != S_IFDIR } ?? false
        }
        guard let first = followed.first else { return nil }
        let ending = endingSignal().map {
            "\($0.ignored ?? ""), so \($0.name) ends it early (the report is then written)"
        } ?? "\(allEndingSignalsIgnored), so no signal ends it early"
        let named = (first == "-" ? "standard input" : first)
            + (followed.count > 1 ? " and \(followed.count - 1) more" : "")
        return "sepbeat \(command): \(named) is followed until its writer closes it; " + ending
        #else
        return nil
        #endif
    }

    /// The signal that ends a live capture or a followed input early, as its start line names it: `Ctrl-C`
    /// (SIGINT); where SIGINT was ignored when the process started (a script's background command), the first
    /// of SIGTERM and SIGHUP that was not, with what is ignored (`SIGINT is ignored here`); nil when all three
    /// are, so that no line names a signal that does nothing.
    static func endingSignal() -> (name: String, ignored: String?)? {
        #if canImport(Glibc)
        guard Interruption.isIgnored(SIGINT) else { return ("Ctrl-C", nil) }
        if !Interruption.isIgnored(SIGTERM) { return ("SIGTERM", "SIGINT is ignored here") }
        if !Interruption.isIgnored(SIGHUP) { return ("SIGHUP", "SIGINT and SIGTERM are ignored here") }
        return nil
        #else
        return ("Ctrl-C", nil)
        #endif
    }

    /// What the start line says when none of the three signals ends the run (`endingSignal()` nil).
    static let allEndingSignalsIgnored = "SIGINT, SIGTERM and SIGHUP are ignored here"
}
