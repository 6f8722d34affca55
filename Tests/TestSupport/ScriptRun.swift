import Foundation

/// One run of a program of the repository's `Scripts/` (or any command) for the tests of those scripts: its exit
/// status and what it wrote on stderr (stdout is dropped).
public struct ScriptRun {
    public let status: Int32
    public let stderr: String

    /// Runs `executable` with `arguments`; `environment` entries are added to (or replace) the test's own.
    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let process = Process(), errors = Pipe()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        // Read before waiting: a script writing more than a pipe holds would otherwise never end.
        stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        status = process.terminationStatus
    }
}
