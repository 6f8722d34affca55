import Analysis
import Capture
import Core
#if canImport(Glibc)
import Glibc
#endif

/// Runs the captures named on the command line through the traffic layers, with
/// a progress meter on stderr and the readers' warnings printed at the end.
enum InputRun {
    static func run(
        options: Options, command: String, configuration: AnalysisConfiguration,
        output: inout Output, onConnection: @escaping (CompletedConnection) -> Void
    ) throws -> [CaptureSummary] {
        guard !options.captures.isEmpty else {
            throw UsageError("sepbeat \(command): no capture given (usage: sepbeat \(command) [options] CAPTURE...)")
        }
        try refuseOverwritingInput(options, command: command, stdin: output.inputFD)
        let paths = distinctFiles(options.captures, quiet: options.quiet, output: &output)
        let run = CaptureRun(paths: paths, filter: options.filter, configuration: configuration)
        var source: PacketSource
        do {
            source = try run.open()
        } catch {
            // A filter error is about the expression, not the file libpcap compiled it against.
            let text = error.isFilterError ? error.problem : error.message
            let status = error.isFilterError ? ExitStatus.usage : error.exitStatus
            throw CommandFailure(message: "sepbeat \(command): \(text)", status: status)
        }
        let progress = ProgressBox(Progress(enabled: !options.quiet && output.stderrIsTerminal, paths: paths))
        if progress.meter.enabled {
            source = ByteCountingSource(source, files: paths.count) { n, bytes in
                progress.meter.update(packets: n, bytesRead: bytes)
            }
        }
        let files: [CaptureSummary]
        do {
            files = try run.run(source, onConnection: onConnection)
        } catch {
            progress.meter.clear()
            throw CommandFailure(message: "sepbeat \(command): \(error.message)", status: error.exitStatus)
        }
        progress.meter.clear()
        if !options.quiet {
            for w in files.flatMap(\.warnings) { output.error("sepbeat: warning: \(w)\n") }
        }
        return files
    }
}

extension InputRun {
    /// `paths` without a file named twice (same device and inode, or the same text when a path cannot be
    /// looked up: the reader then reports it). Reading a file twice would double every count, so each
    /// later mention is dropped with a one-line warning on stderr (unless `quiet`). Cost: one stat per path.
    static func distinctFiles(_ paths: [String], quiet: Bool, output: inout Output) -> [String] {
        var seen: [String: String] = [:]
        var out: [String] = []
        for path in paths {
            let key = identity(path, stdin: output.inputFD) ?? "path:" + path
            if let first = seen[key] {
                if !quiet {
                    let same = first == path ? "" : " (the same file as \(first))"
                    output.error("sepbeat: warning: \(path) is given more than once\(same); it is read once\n")
                }
                continue
            }
            seen[key] = path
            out.append(path)
        }
        return out
    }
}

extension InputRun {
    /// Names by which a capture is read from standard input.
    static let standardInputNames: Set<String> = ["-", "/dev/stdin", "/proc/self/fd/0", "/dev/fd/0"]

    /// "device:inode" of the file `path` names (symbolic links followed; standard input's names are
    /// looked up on the descriptor `stdin`), or nil when it cannot be looked up.
    static func identity(_ path: String, stdin: Int32) -> String? {
        var info = stat()
        let found = standardInputNames.contains(path) ? fstat(stdin, &info) == 0 : stat(path, &info) == 0
        return found ? "\(info.st_dev):\(info.st_ino)" : nil
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
    }
}

/// Lets the progress callback mutate the meter.
final class ProgressBox {
    var meter: Progress
    init(_ meter: Progress) { self.meter = meter }
}
