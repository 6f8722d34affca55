import Analysis
import Reports

/// `sepbeat flows`: the TCP connections of the captures, with a summary.
enum FlowsCommand {
    static func run(_ options: Options, _ output: inout Output) throws -> Int32 {
        guard options.format == .text || options.format == .json else {
            throw UsageError("sepbeat flows: --format \(options.format.rawValue) is not available here (text or json)")
        }
        var configuration = AnalysisConfiguration()
        configuration.keepProtocolDetails = options.showHTTP || options.showTLS
        var connections: [CompletedConnection] = []
        let files = try InputRun.run(
            options: options, command: "flows", configuration: configuration, output: &output
        ) { connections.append($0) }
        // Sorted here, in place: the report then holds the only copy of the records.
        connections.sort { $0.record.id < $1.record.id }
        let report = FlowsReport(
            captures: files, connections: connections, showHTTP: options.showHTTP, showTLS: options.showTLS
        )
        connections = []
        return try ReportWriter.stream(command: "flows", options: options, output: &output) { sink in
            switch options.format {
            case .text: try report.writeText(to: sink)
            case .json, .jsonl, .csv, .html: try report.writeJSON(to: sink)
            }
        }
    }
}
