#if canImport(Glibc)
import Glibc
#endif

/// Where a command writes: the report to stdout, messages to stderr.
///
/// Tests capture both by setting `capture` to true (or point `outputFD`/`errorFD` at their own
/// descriptors); the executable writes through to descriptors 1 and 2.
///
/// A failed write to the report's descriptor is remembered in `outputFailure` (its errno) and
/// turned into exit status 4 by `SepbeatCommand` when the command ends.
struct Output {
    var capture = false
    var standardOutput = ""
    var standardError = ""
    /// Where the report goes when not captured (standard output).
    var outputFD: Int32 = 1
    /// Where messages go when not captured (standard error).
    var errorFD: Int32 = 2
    /// The descriptor a capture named `-` (or /dev/stdin) is read from: standard input. Only its
    /// identity (device and inode) is looked at here, to find a file named twice.
    var inputFD: Int32 = 0
    /// True when the process exits once the command returns (see `SepbeatCommand.main`).
    var processExitsAfterward = false
    /// errno of the first failed write to `outputFD`; later report bytes are dropped.
    private(set) var outputFailure: Int32?

    mutating func write(_ s: String) {
        if capture {
            standardOutput += s
        } else if outputFailure == nil, !writeAll(outputFD, s) {
            outputFailure = errno
        }
    }

    /// Notes that a write to `outputFD` made elsewhere (a buffered report) failed with `code`.
    mutating func noteOutputFailure(_ code: Int32) {
        if outputFailure == nil { outputFailure = code }
    }

    mutating func error(_ s: String) {
        if capture {
            standardError += s
        } else {
            writeAll(errorFD, s)
        }
    }

    /// Keeps `value` until the process exits when it exits right after the command, so that a large
    /// report is not freed piece by piece just before the exit frees everything at once. Otherwise
    /// (tests, callers embedding the command) nothing happens and `value` is freed as usual.
    func keepUntilExit<T>(_ value: T) {
        guard processExitsAfterward else { return }
        _ = Unmanaged.passRetained(KeptUntilExit(value))
    }

    /// True when stderr is a terminal and progress may be drawn there.
    var stderrIsTerminal: Bool { !capture && errorFD == 2 && isatty(2) == 1 }

    /// True when the report goes to a terminal (for colour decisions).
    var stdoutIsTerminal: Bool { !capture && isatty(outputFD) == 1 }
}

/// A value deliberately never released (`Output.keepUntilExit`).
private final class KeptUntilExit<T> {
    let value: T
    init(_ value: T) { self.value = value }
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
