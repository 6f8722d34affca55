#if canImport(Glibc)
import Glibc
#endif
import Core

/// A file the simulator writes, opened THROUGH its path: a symbolic link is followed, a regular
/// file is truncated, a FIFO or character device is written to as it is. Nothing is ever
/// replaced by a new file (no temporary file and rename), and a directory is refused. A FIFO is
/// opened without waiting for a reader: one that no process reads is refused, not waited on forever.
///
/// Owns one file descriptor until `close()`; writes retry short writes and `EINTR`.
final class OutputFile {
    let path: String
    private var fd: Int32
    /// Set when `path` opened a regular file (not a FIFO or device): `discard()` removes that file,
    /// and nothing put at the path since.
    private var regular: RegularFileIdentity?
    /// The file's entry in `PartialFiles` while it is being written.
    private var registered: PartialFiles.Token?

    /// Opens `path` for writing (created with mode 0666 minus the umask when missing).
    /// - Throws: `SimulationError` (an output error) naming the path and the system's reason.
    init(path: String) throws(SimulationError) {
        self.path = path
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw SimulationError.output("\(path): cannot write: it is a directory")
        }
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFIFO {
            // O_NONBLOCK fails with ENXIO when no process has the FIFO open for reading; once open, the
            // writes block for the reader as a file's do.
            let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else {
                let why = errno == ENXIO ? "no process is reading this FIFO (start its reader first)" : Self.reason()
                throw SimulationError.output("\(path): cannot write: \(why)")
            }
            let flags = fcntl(fd, F_GETFL)
            guard flags >= 0, fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 else {
                let why = Self.reason()
                Glibc.close(fd)
                throw SimulationError.output("\(path): cannot write: \(why)")
            }
            self.fd = fd
            return
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw SimulationError.output("\(path): cannot write: \(Self.reason())") }
        self.fd = fd
        regular = RegularFileIdentity(fd)
        // Removed if the process must stop at once (out of memory, a signal) before the file is complete.
        registered = regular.flatMap { PartialFiles.register(path: path, identity: $0) }
    }

    /// Closes the file and removes it when it is the regular file this opened: what a failed run
    /// wrote is not left to be read as a whole capture. A FIFO or device is only closed. Returns
    /// whether the file was removed.
    @discardableResult
    func discard() -> Bool {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
        defer { PartialFiles.unregister(registered) }
        return regular?.removeIfStill(at: path) ?? false
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
        PartialFiles.unregister(registered)
    }

    /// Writes all of `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws(SimulationError) {
        guard var base = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = Glibc.write(fd, base, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw SimulationError.output("\(path): writing failed: \(Self.reason())")
            }
            left -= n
            base += n
        }
    }

    /// Closes the descriptor; a failure (a delayed write error) is reported.
    func close() throws(SimulationError) {
        guard fd >= 0 else { return }
        let result = Glibc.close(fd)
        fd = -1
        if result != 0 { throw SimulationError.output("\(path): closing failed: \(Self.reason())") }
    }

    private static func reason() -> String { String(cString: strerror(errno)) }
}
