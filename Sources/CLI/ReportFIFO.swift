#if canImport(Glibc)
import Glibc
#endif
import Core

/// An `-o FILE` that is a FIFO: opened for writing without waiting for a reader, as `-w` opens one.
///
/// A plain `fopen` of a FIFO no process reads blocks until one does, which may be never: the command would
/// hang with its report. So the FIFO is opened with `O_NONBLOCK` (which fails with `ENXIO` when no process
/// has it open for reading) and, once open, put back in blocking mode so the report's writes wait for the
/// reader as a file's do. A command that reads captures opens it before reading them (`openEarly`), so a
/// missing reader is said at once, not after the analysis; the report is then written to that descriptor
/// (`take`). It is opened once and kept: a probe opened and closed first would be the last writer's close to
/// a reader already waiting, which then reads the end of the data.
enum ReportFIFO {
    /// FIFOs opened before the captures were read, by path, until the report takes them.
    private static let opened = PosixMutex<[String: Int32]>([:])

    /// Whether `path` names a FIFO (symbolic links followed).
    static func isFIFO(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO
    }

    /// Opens the FIFO at `path` for writing, without waiting: a descriptor in blocking mode, or a failure with
    /// exit status 4 and one line (`no process is reading this FIFO (start its reader first)` when none is).
    static func open(_ path: String, command: String) throws -> Int32 {
        let fd = Glibc.open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            let why = code == ENXIO ? "no process is reading this FIFO (start its reader first)"
                : String(cString: strerror(code))
            throw CommandFailure(message: "sepbeat \(command): \(path): cannot write the report: \(why)",
                                 status: ExitStatus.outputFailed)
        }
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 else {
            let code = errno
            close(fd)
            throw CommandFailure(message: "sepbeat \(command): \(path): cannot write the report: "
                + String(cString: strerror(code)), status: ExitStatus.outputFailed)
        }
        return fd
    }

    /// When `-o` names a FIFO, opens it now, before the captures are read, and keeps it for the report
    /// (`take`); refuses a FIFO no process reads (exit status 4). A `--every` report replaces a regular
    /// file, so it never gets here with a FIFO.
    static func openEarly(_ options: Options, command: String) throws {
        guard let path = options.outputPath, path != "-", options.live.everySeconds == nil, isFIFO(path),
              !opened.withLock({ $0[path] != nil }) else { return }
        let fd = try open(path, command: command)
        opened.withLock { $0[path] = fd }
    }

    /// The descriptor `openEarly` opened for `path`, now the caller's to close; nil when there is none.
    static func take(_ path: String) -> Int32? {
        opened.withLock { $0.removeValue(forKey: path) }
    }

    /// Closes the descriptor opened early for `path` and never taken (the command failed before its report),
    /// so the reader sees the end of the data.
    static func discard(_ path: String) {
        if let fd = take(path) { close(fd) }
    }
}
