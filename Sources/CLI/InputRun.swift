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
            let key: String
            var info = stat()
            if stat(path, &info) == 0 {  // follows symbolic links
                key = "\(info.st_dev):\(info.st_ino)"
            } else {
                key = "path:" + path
            }
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

/// Lets the progress callback mutate the meter.
final class ProgressBox {
    var meter: Progress
    init(_ meter: Progress) { self.meter = meter }
}
