import Analysis
import Heartbeat
import Reports

/// `sepbeat analyze`: check-ins, steps and findings against the reference model.
enum AnalyzeCommand {
    static func run(_ options: Options, _ output: inout Output) throws -> Int32 {
        try ReportCommand.run(.analyze, options, &output)
    }
}
