import Analysis
import Reports

/// `sepbeat flows`: the TCP connections of the captures, with a summary.
///
/// The rows are written while the captures are read (`FlowsWriter`: in id order through a reorder window),
/// the number of connections and the capture summary after them, so memory stays flat however many
/// connections there are.
enum FlowsCommand {
    static func run(_ options: Options, _ output: inout Output) throws -> Int32 {
        guard options.format == .text || options.format == .json else {
            throw UsageError("sepbeat flows: --format \(options.format.rawValue) is not available here (text or json)")
        }
        var configuration = options.analysisConfiguration()
        configuration.keepProtocolDetails = options.showHTTP || options.showTLS
        // Rows shown on the terminal as they come are the progress: no meter on the same screen.
        let toTerminal = (options.outputPath == nil || options.outputPath == "-") && output.stdoutIsTerminal
        let input = try InputRun.openCaptures(
            options: options, command: "flows", configuration: configuration, output: &output, progress: !toTerminal)
        var files: [CaptureSummary] = []
        let status = try ReportWriter.stream(command: "flows", options: options, output: &output) { sink in
            let writer = FlowsWriter(
                format: options.format == .json ? .json : .text, showHTTP: options.showHTTP,
                showTLS: options.showTLS, sink: sink)
            // The sinks of `ReportWriter` keep a failed write to themselves (reported when the report
            // ends) and throw nothing; should one throw, no row is written after it, and its error
            // ends the command once the captures are read.
            var failure: (any Error)?
            files = try input.read(
                onConnection: { c in
                    guard failure == nil else { return }
                    do { try writer.add(c) } catch { failure = error }
                },
                onLeftOut: { id in
                    guard failure == nil else { return }
                    do { try writer.leftOut(id: id) } catch { failure = error }
                })
            if let failure { throw failure }
            try writer.finish(captures: files)
        }
        InputRun.printWarnings(files, options: options, output: &output)
        // The packets a live capture was to save (-w) are an output too: a failed save is said in the warnings.
        if status == ExitStatus.ok, files.contains(where: { $0.saveFailed != nil }) { return ExitStatus.outputFailed }
        return status
    }
}
