import Reports

/// `sepbeat audit`: per-client interval audit of a fleet, worst clients first.
enum AuditCommand {
    static func run(_ options: Options, _ output: inout Output) throws -> Int32 {
        try ReportCommand.run(.audit, options, &output)
    }
}

/// `sepbeat validate`: a pass/fail verdict on a deployment.
enum ValidateCommand {
    static func run(_ options: Options, _ output: inout Output) throws -> Int32 {
        try ReportCommand.run(.validate, options, &output)
    }
}
