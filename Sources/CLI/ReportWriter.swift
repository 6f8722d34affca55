#if canImport(Glibc)
import Glibc
#endif
import Core

/// Writes a report to stdout or to `--output FILE`.
enum ReportWriter {
    /// Returns `ExitStatus.ok`, or throws a failure with exit status 4 when the file cannot be written.
    static func write(_ text: String, command: String, options: Options, output: inout Output) throws -> Int32 {
        try stream(command: command, options: options, output: &output) { sink in try sink(Array(text.utf8)) }
    }

    /// Hands `body` a sink for the report's bytes, in order, and writes them as they come (through a
    /// 64 KiB buffer), so a large report is never held whole. Returns `ExitStatus.ok`, or throws a
    /// failure with exit status 4 when the file cannot be opened or written; errors `body` throws
    /// pass through. A report file left part-written (a failed write, or an error from `body`) is
    /// removed when it is a regular file, so no cut-short report stays behind to be read as whole;
    /// a device, FIFO or terminal is left alone. A FIFO is opened without waiting for a reader (`ReportFIFO`):
    /// one no process reads is refused with exit status 4. Messages start with `sepbeat COMMAND: FILE:`.
    static func stream(
        command: String, options: Options, output: inout Output,
        _ body: (_ sink: @escaping ([UInt8]) throws -> Void) throws -> Void
    ) throws -> Int32 {
        guard let path = options.outputPath, path != "-" else {
            if output.capture {
                var bytes: [UInt8] = []
                try body { bytes += $0 }
                output.write(String(decoding: bytes, as: UTF8.self))
                return ExitStatus.ok
            }
            let buffered = BufferedFile(fd: output.outputFD)
            defer { if let code = buffered.failure { output.noteOutputFailure(code) } }
            try body { buffered.append($0) }
            buffered.flush()
            return ExitStatus.ok
        }
        let fifo = try ReportFIFO.take(path)
            ?? (ReportFIFO.isFIFO(path) ? ReportFIFO.open(path, command: command) : nil)
        if let fd = fifo {
            // A FIFO: opened without waiting for a reader (see `ReportFIFO`), nothing to remove on failure.
            defer { close(fd) }
            let buffered = BufferedFile(fd: fd)
            try body { buffered.append($0) }
            buffered.flush()
            if let code = buffered.failure {
                throw CommandFailure(message: "sepbeat \(command): \(path): writing the report failed: "
                    + String(cString: strerror(code)), status: ExitStatus.outputFailed)
            }
            return ExitStatus.ok
        }
        guard let file = fopen(path, "wb") else {
            let why = String(cString: strerror(errno))
            throw CommandFailure(message: "sepbeat \(command): \(path): cannot write the report: \(why)",
                                 status: ExitStatus.outputFailed)
        }
        let opened = RegularFileIdentity(fileno(file))
        // Removed if the process must stop at once (out of memory, a signal) before the report is complete.
        let registered = opened.flatMap { PartialFiles.register(path: path, identity: $0) }
        defer { PartialFiles.unregister(registered) }
        let buffered = BufferedFile(file: file)
        do {
            try body { buffered.append($0) }
        } catch {
            fclose(file)
            opened?.removeIfStill(at: path)
            throw error
        }
        buffered.flush()
        // Where the writes got to: 0 when none was taken (a file of /proc that refuses every write, say).
        let reached = lseek(fileno(file), 0, SEEK_CUR)
        let closed = fclose(file)
        let closeError = closed == 0 ? nil : errno
        guard !buffered.failed, closed == 0 else {
            // The reason, as for standard output (e.g. "No space left on device"), when one is known.
            let reason = (buffered.failure ?? closeError).map { ": " + String(cString: strerror($0)) } ?? ""
            var removed = ""
            if let opened {
                // A regular file reached through a symbolic link is not removed: say what it holds.
                removed = opened.removeIfStill(at: path) ? " (the partial file was removed)"
                    : reached == 0 ? " (nothing was written to it)" : " (the file holds a cut-short report)"
            }
            throw CommandFailure(
                message: "sepbeat \(command): \(path): writing the report failed\(reason)\(removed)",
                status: ExitStatus.outputFailed)
        }
        return ExitStatus.ok
    }
}

extension ReportWriter {
    /// The folder a file path names its file in: `.` for a bare name, `/` for one at the root.
    static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The paths `replace` has written a report to in this run (a failed write after one leaves it there).
    private static let replacedPaths = PosixMutex<Set<String>>([])

    /// What a failed `replace` of `path` adds: a report this run wrote there before (a report so far) stays whole
    /// there, said so that it is not read as this one; nothing when this run wrote none there (a file of the
    /// user's), or it is gone.
    static func keptNote(_ path: String) -> String {
        var there = stat()
        guard replacedPaths.withLock({ $0.contains(path) }), stat(path, &there) == 0,
              there.st_mode & S_IFMT == S_IFREG else { return "" }
        return "; it still holds the report written before"
    }

    /// Writes the report to a new file beside `path` and renames it over `path`, so that a reader of
    /// `path` sees the previous report or this one, whole, never a part (the rolling report of a live
    /// capture, `--every`). The new file takes the mode, owner and group of the regular file it replaces (as
    /// far as this process may give them), or for a new one the mode a created file gets (0666 less the
    /// umask). Throws
    /// a failure with exit status 4 when it cannot be written or renamed; the new file is then removed.
    static func replace(
        command: String, path: String, _ body: (_ sink: ([UInt8]) throws -> Void) throws -> Void
    ) throws {
        var template = Array((folder(of: path) + "/.sepbeat-report-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.map { mkstemp($0) } ?? -1 }
        func failure(_ what: String, _ code: Int32) -> CommandFailure {
            CommandFailure(message: "sepbeat \(command): \(path): \(what): " + String(cString: strerror(code))
                               + keptNote(path), status: ExitStatus.outputFailed)
        }
        guard fd >= 0 else { throw failure("cannot write the report", errno) }
        let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var old = stat()
        if stat(path, &old) == 0, old.st_mode & S_IFMT == S_IFREG {
            // The report it replaces keeps its mode, owner and group (a report kept for one group stays so);
            // an owner or group this process may not give is left as it is.
            fchmod(fd, old.st_mode & 0o7777)
            _ = fchown(fd, old.st_uid, old.st_gid)
        } else {
            let mask = umask(0)
            umask(mask)
            fchmod(fd, 0o666 & ~mask)
        }
        let identity = RegularFileIdentity(fd)
        let registered = identity.flatMap { PartialFiles.register(path: temporary, identity: $0) }
        defer { PartialFiles.unregister(registered) }
        let buffered = BufferedFile(fd: fd)
        do {
            try body { buffered.append($0) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        buffered.flush()
        let closed = close(fd) == 0 ? nil : errno
        if let code = buffered.failure ?? closed {
            unlink(temporary)
            throw failure("writing the report failed", code)
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw failure("cannot replace the report", code)
        }
        replacedPaths.withLock { _ = $0.insert(path) }
    }
}

/// Bytes gathered into a 64 KiB buffer and written to a descriptor (of a `FILE` the caller opened and
/// closes, or standard output) when it fills; a piece of 64 KiB or more is written as it comes, after
/// what was gathered before it, without being copied. No stdio buffering: each write is a system call.
private final class BufferedFile {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private static let capacity = 1 << 16
    /// errno of the write that failed; later bytes are dropped.
    private(set) var failure: Int32?
    /// A write fell short; later bytes are dropped.
    var failed: Bool { failure != nil }

    /// Writes to `file`'s descriptor; nothing goes through `file`'s own buffer.
    convenience init(file: UnsafeMutablePointer<FILE>) {
        self.init(fd: fileno(file))
    }

    init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(Self.capacity)
    }

    func append(_ bytes: [UInt8]) {
        guard bytes.count < Self.capacity else {
            flush()
            bytes.withUnsafeBytes(write)
            return
        }
        buffer += bytes
        if buffer.count >= Self.capacity { flush() }
    }

    func flush() {
        buffer.withUnsafeBytes(write)
        buffer.removeAll(keepingCapacity: true)
    }

    private func write(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty, !failed else { return }
        if !writeAll(fd, bytes) { failure = errno }
    }
}
