#if canImport(Glibc)
import Glibc
#endif

/// The device and inode of a regular file a command opened for writing, to remove that same file
/// (and nothing put at its path since) when what it wrote there is cut short.
public struct RegularFileIdentity: Hashable, Sendable {
    public let device: UInt64
    public let inode: UInt64

    /// Nil when `fd` is not a regular file (a device such as /dev/stdout, a FIFO, a terminal).
    public init?(_ fd: Int32) {
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }

    /// Removes `path` when it still names this file, checked without following a symbolic link (a
    /// file reached through a link is left). Returns whether it was removed.
    @discardableResult
    public func removeIfStill(at path: String) -> Bool {
        path.withCString { removeIfStill(atPath: $0) }
    }

    /// `removeIfStill(at:)` for a C path; async-signal-safe (`lstat` and `unlink` only).
    @discardableResult
    public func removeIfStill(atPath path: UnsafePointer<CChar>) -> Bool {
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, UInt64(st.st_dev) == device,
              UInt64(st.st_ino) == inode else { return false }
        return unlink(path) == 0
    }
}
