#if canImport(Glibc)
import Glibc

/// Turns running out of an address-space limit (`ulimit -v`) into one line on stderr and exit
/// status 5, instead of a crash report.
///
/// When memory runs out, the Swift runtime prints "Fatal error: failed to allocate ..." and aborts;
/// the crash handler would then print a backtrace of a hundred lines and the process end on
/// SIGABRT (status 134). `install()` puts a SIGABRT handler in front: when the process is within
/// 64 MiB of its address-space limit, it writes one line saying so and exits with status 5 (the
/// runtime's own line stays above it). Any other abort (a broken internal invariant) goes on to
/// the handler that was there before, backtrace and all.
///
/// The handler reads only what `install()` prepared (the limit and the message) and makes only
/// async-signal-safe calls (`open`, `read`, `write`, `_exit`, `sigaction`).
public enum OutOfMemory {
    /// Installs the handler once, if the process has an address-space limit; otherwise does nothing.
    public static func install() {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return }  // RLIM_INFINITY
        let megabytes = UInt64(limit.rlim_cur) / 1_000_000
        let text = "sepbeat: out of memory: the address-space limit (ulimit -v) of \(megabytes) MB was reached; "
            + "raise it, or read fewer files at once\n"
        let bytes = Array(text.utf8)
        let message = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count)
        message.initialize(from: bytes, count: bytes.count)
        state = State(limitBytes: UInt64(limit.rlim_cur), message: message, messageLength: bytes.count,
                      pageSize: UInt64(max(sysconf(Int32(_SC_PAGESIZE)), 1)))

        var action = sigaction()
        action.__sigaction_handler.sa_sigaction = { signal, info, context in
            OutOfMemory.handleAbort(signal, info, context)
        }
        action.sa_flags = SA_SIGINFO
        sigemptyset(&action.sa_mask)
        var previous = sigaction()
        guard sigaction(SIGABRT, &action, &previous) == 0 else { return }
        state.previous = previous
    }

    /// Exit status for running out of memory.
    public static let exitStatus: Int32 = 5

    /// How close to the limit the address space must be for an abort to count as running out.
    static let marginBytes: UInt64 = 64 << 20

    /// What the handler reads: written once by `install()` before the handler is installed (which
    /// orders the writes before any read), never changed afterwards.
    private struct State {
        var limitBytes: UInt64 = 0
        var message: UnsafeMutablePointer<UInt8>?
        var messageLength = 0
        var pageSize: UInt64 = 4096
        var previous = sigaction()
    }

    nonisolated(unsafe) private static var state = State()

    private static func handleAbort(_ signal: Int32, _ info: UnsafeMutablePointer<siginfo_t>?,
                                    _ context: UnsafeMutableRawPointer?) {
        if let size = addressSpaceBytes(), size + marginBytes >= state.limitBytes, let message = state.message {
            _ = write(2, message, state.messageLength)
            _exit(exitStatus)
        }
        var previous = state.previous
        if previous.sa_flags & SA_SIGINFO != 0, let chained = previous.__sigaction_handler.sa_sigaction {
            chained(signal, info, context)
            return
        }
        // A plain handler or the default: put it back; `abort` raises the signal again when this returns.
        _ = sigaction(SIGABRT, &previous, nil)
    }

    /// The process's address space in bytes (the first field of /proc/self/statm, in pages).
    static func addressSpaceBytes() -> UInt64? {
        let fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &buffer) { raw -> UInt64? in
            guard let base = raw.baseAddress else { return nil }
            let n = read(fd, base, raw.count)
            guard n > 0 else { return nil }
            var pages: UInt64 = 0
            var digits = 0
            for i in 0..<n {
                let c = raw[i]
                guard c >= 0x30, c <= 0x39 else { break }
                pages = pages &* 10 &+ UInt64(c - 0x30)
                digits += 1
            }
            return digits > 0 ? pages &* state.pageSize : nil
        }
    }
}
#endif
