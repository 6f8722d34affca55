#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file holding the fuzz input, for the parsers that read files.
///
/// Created in the temporary directory (`$TMPDIR`, else `/tmp`) and unlinked at once, so nothing is
/// left behind even when the process dies; the parser opens it as `/proc/self/fd/N` (on Linux) while
/// the descriptor is open, and the descriptor is closed when `body` returns.
enum TemporaryFile {
    static func with<R>(_ bytes: UnsafeRawBufferPointer, _ body: (String) -> R) -> R {
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(directory)/sepbeat-fuzz-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { t in t.baseAddress.map { mkstemp($0) } ?? -1 }
        precondition(fd >= 0, "cannot create a temporary file in \(directory)")
        defer { close(fd) }
        // The name mkstemp filled in: the template's bytes before its terminating NUL.
        let name = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #if os(Linux)
        unlink(name)
        let path = "/proc/self/fd/\(fd)"
        #else
        defer { unlink(name) }
        let path = name
        #endif

        var written = 0
        while written < bytes.count, let base = bytes.baseAddress {
            let n = write(fd, base + written, bytes.count - written)
            precondition(n > 0, "cannot write the temporary file")
            written += n
        }
        return body(path)
    }
}
