// The C library file calls the Capture module makes: `stat` for path checks and
// buffered `FILE *` streams for the own reader and the writers.

#if canImport(Glibc)
import Glibc
#endif

/// What `stat` says about a path.
enum PathKind {
    case missing
    case directory
    /// A regular file, whatever the size stat gives (0 for files of /proc and /sys that hold bytes).
    case regularFile
    /// A FIFO, character device or similar: readable as a stream, size unknown.
    case otherFile
    case failed(String)
}

enum FileCalls {
    static func kind(of path: String) -> PathKind {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            return code == ENOENT || code == ENOTDIR ? .missing : .failed(describe(errno: code))
        }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .regularFile
        default: return .otherFile
        }
    }

    static func describe(errno code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}

/// A `FILE *` opened for buffered reading or writing, closed on release.
final class CFile {
    private let file: UnsafeMutablePointer<FILE>
    /// The stream's buffer, when one was given; released after the stream is closed.
    private let buffer: StdioBuffer?

    /// Opens `path` with `fopen` `mode` (`"rb"`, `"wb"`) and a stdio buffer of `bufferBytes`
    /// (nil: the C library's own, 4 KiB); on failure returns the errno.
    static func open(_ path: String, mode: String, bufferBytes: Int? = nil) -> Result<CFile, OpenFailure> {
        guard let file = fopen(path, mode) else {
            return .failure(OpenFailure(errno: errno))
        }
        return .success(CFile(file: file, buffer: bufferBytes.flatMap { StdioBuffer(file, bytes: $0) }))
    }

    struct OpenFailure: Error {
        var errno: Int32
        var isPermissionDenied: Bool { errno == EACCES || errno == EPERM }
        var message: String { FileCalls.describe(errno: errno) }
    }

    /// Takes ownership of an open stream (closed on release) and of its buffer, if given
    /// (released after the stream is closed).
    convenience init(adopting file: UnsafeMutablePointer<FILE>, buffer: StdioBuffer? = nil) {
        self.init(file: file, buffer: buffer)
    }

    private init(file: UnsafeMutablePointer<FILE>, buffer: StdioBuffer?) {
        self.file = file
        self.buffer = buffer
    }

    deinit {
        fclose(file)
        buffer?.release()
    }

    /// Reads up to `count` bytes into `destination`; returns how many were read
    /// (fewer only at the end of the file or on an error, see `hadError`).
    func read(into destination: UnsafeMutableRawPointer, count: Int) -> Int {
        guard count > 0 else { return 0 }
        return fread(destination, 1, count, file)
    }

    /// Reads at least one byte (waiting for it), then those of the `count` the stream holds already: up to
    /// `count` bytes without waiting for all of them. 0 only at the end or on an error (see `hadError`).
    func readAvailable(into destination: UnsafeMutableRawPointer, count: Int) -> Int {
        guard count > 0, fread(destination, 1, 1, file) == 1 else { return 0 }
        var held = 0
        if let start = file.pointee._IO_read_ptr, let end = file.pointee._IO_read_end { held = end - start }
        let more = min(held, count - 1)
        return more > 0 ? 1 + fread(destination + 1, 1, more, file) : 1
    }

    /// Whether a read failed with an I/O error (as opposed to reaching the end).
    var hadError: Bool { ferror(file) != 0 }

    /// Whether the stream reads a regular file (standard input given one): it has an end, so it can be read
    /// to it. False for a pipe, a FIFO, a device, and a stream of no descriptor (a cookie stream).
    var readsRegularFile: Bool {
        let descriptor = fileno(file)
        var status = stat()
        return descriptor >= 0 && fstat(descriptor, &status) == 0 && status.st_mode & S_IFMT == S_IFREG
    }

    /// Moves the read position `count` bytes on without reading them (`fseeko`); false when the stream
    /// cannot seek. Past the end of the file it succeeds, and the next read finds the end.
    func seek(by count: Int) -> Bool {
        fseeko(file, off_t(count), SEEK_CUR) == 0
    }

    /// Writes all of `bytes`; returns false when the C library reports a short write.
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return true }
        return fwrite(base, 1, bytes.count, file) == bytes.count
    }

    /// Flushes buffered writes; returns false on failure.
    func flush() -> Bool { fflush(file) == 0 }

    /// The last errno, for messages after a failed call.
    var lastErrorMessage: String { FileCalls.describe(errno: errno) }
}

/// A buffer of a chosen size for a stdio stream, freed by its owner after the stream is closed.
///
/// glibc keeps the file system's block size (4 KiB) when `setvbuf` is given a size but no buffer,
/// so a larger buffer has to be supplied. Nil buffer (no memory, or `setvbuf` refused): the stream
/// keeps its own.
///
/// The buffer starts on a page boundary. The kernel copies a file's cached pages into it, and on
/// x86-64 that copy is several times slower when the destination is not aligned to a cache line
/// the way the source page is: a 1 GB capture took about 0.45 s of system time to read into a
/// `malloc`ed buffer (16 bytes past a 64-byte boundary) against about 0.11 s into an aligned one.
struct StdioBuffer {
    private let base: UnsafeMutableRawPointer

    /// The alignment of the buffer: a page, so that reads of whole pages land on whole pages.
    static let alignment = 4096

    /// Gives `file` (opened, not yet read or written) a buffer of `bytes`; nil when it could not.
    init?(_ file: UnsafeMutablePointer<FILE>, bytes: Int) {
        var allocated: UnsafeMutableRawPointer?
        guard posix_memalign(&allocated, StdioBuffer.alignment, bytes) == 0, let base = allocated else {
            return nil
        }
        guard setvbuf(file, base.assumingMemoryBound(to: CChar.self), _IOFBF, bytes) == 0 else {
            free(base)
            return nil
        }
        self.base = base
    }

    /// Frees the buffer; only after the stream that used it is closed.
    func release() {
        free(base)
    }
}
