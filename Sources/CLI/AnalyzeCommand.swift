import Analysis
import Heartbeat
import Reports

/// `sepbeat analyze`: check-ins, steps and findings against the reference model.
enum AnalyzeCommand {
    static func run(_ options: Options, _ output: inout Output) throws -> Int32 {
        let model = try HeartbeatSetup.model(options)
        let sylink = try HeartbeatSetup.sylink(options)
        let builder = BuilderBox(SessionBuilder(model: model, sylink: sylink))
        let files = try InputRun.run(
            options: options, command: "analyze", configuration: AnalysisConfiguration(), output: &output
        ) { builder.value.ingest($0.record) }
        let merged = CaptureSummary.merged(files)
        if let first = merged.first, let last = merged.last {
            builder.value.noteCaptureSpan(first: first, last: last)
        }
        for file in files {
            for w in file.truncationOffsets { builder.value.noteCaptureTruncated(file: file.path, offset: w) }
        }
        let heartbeat = builder.value.finish()
        let report = AnalyzeReport(heartbeat: heartbeat, captures: files)
        let text: String
        switch options.format {
        case .text: text = report.text()
        case .json: text = try report.json()
        }
        _ = try ReportWriter.write(text, options: options, output: &output)
        return heartbeat.exitStatus
    }
}

/// Lets the connection callback feed a value-type builder.
final class BuilderBox {
    var value: SessionBuilder
    init(_ value: SessionBuilder) { self.value = value }
}
