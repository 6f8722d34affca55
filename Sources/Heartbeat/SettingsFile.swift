import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a small settings file (a model file, SyLink.xml) whole, refusing one over a size limit
/// without reading it: a regular file by its size, anything else (a FIFO, a pipe such as
/// `<(command)`, a device) after at most the limit and one byte more.
enum SettingsFile {
    /// Why a file was not read, as words after the file name.
    enum Problem: Error, Equatable {
        case missing
        case directory
        case unreadable(String)
        /// Over the limit: its size when known, else nil (a stream longer than the limit).
        case tooLarge(Int64?)

        /// `what` names the kind of file in the limit's message, e.g. `model files`.
        func text(limit: Int, limitText: String, what: String) -> String {
            switch self {
            case .missing: return "cannot be read (missing or not a file)"
            case .directory: return "is a directory, not a file"
            case .unreadable(let why): return "cannot be read: \(why)"
            case .tooLarge(let size?):
                return "is \(size) bytes, over the \(limit)-byte (\(limitText)) limit for \(what)"
            case .tooLarge(nil):
                return "holds more than \(limit) bytes (\(limitText)), the limit for \(what)"
            }
        }
    }

    static func read(path: String, limit: Int) -> Result<Data, Problem> {
        /// The last call's failure, in words.
        func unreadable() -> Problem { .unreadable(String(cString: strerror(errno))) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(errno == ENOENT || errno == ENOTDIR ? .missing : unreadable()) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(unreadable()) }
        if info.st_mode & S_IFMT == S_IFDIR { return .failure(.directory) }
        if info.st_mode & S_IFMT == S_IFREG, info.st_size > limit { return .failure(.tooLarge(Int64(info.st_size))) }
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var count = 0
        while count < bytes.count {
            let n = bytes.withUnsafeMutableBytes { raw in
                raw.baseAddress.map { Glibc.read(fd, $0 + count, raw.count - count) } ?? 0
            }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { return .failure(unreadable()) }
            if n == 0 { break }
            count += n
        }
        guard count <= limit else { return .failure(.tooLarge(info.st_mode & S_IFMT == S_IFREG ? Int64(count) : nil)) }
        return .success(Data(bytes[..<count]))
    }
}
