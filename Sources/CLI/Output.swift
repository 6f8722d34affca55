#if canImport(Glibc)
import Glibc
#endif

/// Where a command writes: the report to stdout, messages to stderr.
///
/// Tests capture both by setting `capture` to true; the executable writes through
/// to the file descriptors.
struct Output {
    var capture = false
    var standardOutput = ""
    var standardError = ""

    mutating func write(_ s: String) {
        if capture {
            standardOutput += s
        } else {
            writeAll(1, s)
        }
    }

    mutating func error(_ s: String) {
        if capture {
            standardError += s
        } else {
            writeAll(2, s)
        }
    }

    /// True when stderr is a terminal and progress may be drawn there.
    var stderrIsTerminal: Bool { !capture && isatty(2) == 1 }

    /// True when the report goes to a terminal (for colour decisions).
    var stdoutIsTerminal: Bool { !capture && isatty(1) == 1 }
}

/// Writes all of `s` to `fd`, retrying short writes; returns false when the descriptor failed.
@discardableResult
func writeAll(_ fd: Int32, _ s: String) -> Bool {
    Array(s.utf8).withUnsafeBytes { writeAll(fd, $0) }
}

/// Writes all of `bytes` to `fd`, retrying short writes; returns false when the descriptor failed.
@discardableResult
func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    guard let base = bytes.baseAddress else { return true }
    var offset = 0
    while offset < bytes.count {
        let n = Glibc.write(fd, base + offset, bytes.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            return false
        }
        offset += n
    }
    return true
}
