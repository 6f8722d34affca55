import Analysis
import Capture
import Core

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
        let run = CaptureRun(paths: options.captures, filter: options.filter, configuration: configuration)
        var source: PacketSource
        do {
            source = try run.open()
        } catch {
            let status = error.isFilterError ? ExitStatus.usage : error.exitStatus
            throw CommandFailure(message: "sepbeat \(command): \(error.message)", status: status)
        }
        let progress = ProgressBox(Progress(enabled: !options.quiet && output.stderrIsTerminal, paths: options.captures))
        if progress.meter.enabled {
            source = ByteCountingSource(source, files: options.captures.count) { n, bytes in
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

/// Lets the progress callback mutate the meter.
final class ProgressBox {
    var meter: Progress
    init(_ meter: Progress) { self.meter = meter }
}
