/// The exit statuses of `sepbeat`, documented in README.md ("Exit status").
public enum ExitStatus {
    /// Success: the run completed and (for analyze/validate) no error-severity finding.
    public static let ok: Int32 = 0
    /// The run completed and found an error-severity finding (analyze) or a failed check (validate).
    public static let findings: Int32 = 1
    /// The command line was wrong: unknown option, missing value, bad filter, bad model file.
    public static let usage: Int32 = 2
    /// An input could not be read: missing, a directory, unreadable, empty, not a capture.
    public static let unreadableInput: Int32 = 3
    /// Writing the output failed (e.g. disk full, closed pipe).
    public static let outputFailed: Int32 = 4
    /// The process ran out of memory under its address-space limit (`ulimit -v`), see `OutOfMemory`.
    public static let outOfMemory: Int32 = OutOfMemory.exitStatus
}

/// A command-line mistake, reported as one line and exit status 2.
public struct UsageError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
