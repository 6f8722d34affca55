#if canImport(Glibc)
import Glibc
#endif

/// Writes a finished report to stdout or to `--output FILE`.
enum ReportWriter {
    /// Returns `ExitStatus.ok`, or throws a failure with exit status 4 when the file cannot be written.
    static func write(_ text: String, options: Options, output: inout Output) throws -> Int32 {
        guard let path = options.outputPath, path != "-" else {
            output.write(text)
            return ExitStatus.ok
        }
        guard let file = fopen(path, "wb") else {
            let why = String(cString: strerror(errno))
            throw CommandFailure(
                message: "sepbeat: \(path): cannot write the report: \(why)", status: ExitStatus.outputFailed)
        }
        let written = text.utf8.withContiguousStorageIfAvailable { fwrite($0.baseAddress, 1, $0.count, file) }
            ?? Array(text.utf8).withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        let closed = fclose(file)
        guard written == text.utf8.count, closed == 0 else {
            throw CommandFailure(
                message: "sepbeat: \(path): writing the report failed", status: ExitStatus.outputFailed)
        }
        return ExitStatus.ok
    }
}
