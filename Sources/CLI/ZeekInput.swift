import Analysis
import Capture
import Foundation
import Records
import ZeekLogs

/// `--zeek DIR`: analyze, audit and validate read the records of Zeek's logs in a folder (conn.log, and
/// http.log and ssl.log when there) instead of packets, and describe the input by the rows each log gave.
enum ZeekInput {
    /// Reads the logs, handing each connection's record to `onRecord`, and returns the one summary the
    /// reports describe the input with. A log that cannot be read is exit status 3, named with its line.
    static func run(directory: String, options: Options, command: String, output: inout Output,
                    onRecord: (ConnectionRecord) -> Void) throws -> [CaptureSummary] {
        try refuseCaptureOptions(options, command: command)
        let summary: ZeekConnections.Summary
        do {
            let paths = try ZeekConnections.Paths(directory: directory)
            try refuseOverwritingLogs(paths, options: options, command: command, stdin: output.inputFD)
            let input = try ZeekConnections(paths, open: open)
            summary = try input.run(onRecord)
        } catch let error as ZeekLogError {
            throw CommandFailure(message: "sepbeat \(command): \(error)", status: ExitStatus.unreadableInput)
        }
        var file = CaptureSummary(path: directory)
        file.format = "zeek"
        file.first = summary.first
        file.last = summary.last
        // Records dated far from the rest are no edge of the logs' span (see `ZeekConnections.Summary.offClock`).
        file.timelineStart = summary.clockFirst ?? summary.first
        file.timelineEnd = summary.clockLast ?? summary.last
        file.offClock = summary.offClock
        file.logs = summary.logs
        if !options.quiet {
            for log in summary.logs where log.skippedRows > 0 {
                output.error(SepbeatCommand.oneLine("sepbeat \(command): warning: \(log.path ?? log.name): "
                    + "\(log.skippedRows) of \(log.rows) rows skipped as odd (the report's summary lists why)"))
            }
        }
        return [file]
    }

    /// A log, read decompressed when its first bytes are those of gzip, xz or bzip2 (logs compressed as Zeek
    /// rotates them), through the decompressor of compressed captures.
    static func open(_ path: String) throws -> any ZeekByteSource {
        let magic = FileHandle(forReadingAtPath: path).flatMap { try? $0.read(upToCount: 6) }.map { Array($0) } ?? []
        guard let compression = CaptureCompression(magic: magic) else { return try ZeekFileSource(path: path) }
        do {
            return DecompressedLog(file: try DecompressedFile.open(path: path, compression: compression), path: path)
        } catch {
            throw ZeekLogError(path: path, "cannot be opened (\(error.message))")
        }
    }

    /// A compressed log's decompressed bytes; data cut short or corrupt is an error naming the log.
    struct DecompressedLog: ZeekByteSource {
        let file: DecompressedFile
        let path: String

        mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let n = file.read(into: buffer)
            if n == 0, let problem = file.problem { throw ZeekLogError(path: path, problem) }
            return n
        }
    }

    /// An `-o` naming one of the logs read (or, as for captures, the model or SyLink.xml file, an existing capture,
    /// compressed file or Zeek log) is refused before any log is read: the report would replace it.
    static func refuseOverwritingLogs(_ paths: ZeekConnections.Paths, options: Options, command: String,
                                      stdin: Int32) throws {
        if let out = options.outputPath, out != "-", let target = InputRun.identity(out, stdin: stdin) {
            for log in [paths.conn, paths.http, paths.ssl].compactMap(\.self)
            where InputRun.identity(log, stdin: stdin) == target {
                throw UsageError("sepbeat \(command): -o \(out) is one of the Zeek logs read (\(log)); the report "
                    + "would overwrite it: give another output file")
            }
        }
        try InputRun.refuseOverwritingInput(options, command: command, stdin: stdin)
    }

    /// Options about packets mean nothing for logs: refused, rather than silently ignored.
    static func refuseCaptureOptions(_ options: Options, command: String) throws {
        var given: [String] = []
        if !options.captures.isEmpty { given.append("capture files") }
        if options.interface != nil { given.append("-i") }
        if options.filter != nil { given.append("-f/--filter") }
        given += options.live.given
        guard given.isEmpty else {
            throw UsageError("sepbeat \(command): --zeek reads logs, not packets: give it without "
                + given.joined(separator: ", "))
        }
    }
}
