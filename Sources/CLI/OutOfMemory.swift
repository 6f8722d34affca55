#if canImport(Glibc)
import Core
import Glibc
import Synchronization

/// Turns running out of an address-space limit (`ulimit -v`) or a data-size limit (`ulimit -d`) into one
/// line on stderr and exit status 5, instead of a crash report.
///
/// When memory runs out, the Swift runtime prints "Fatal error: failed to allocate ..." and aborts
/// (SIGABRT), or, when it cannot allocate even that message, faults while printing it (SIGSEGV);
/// the crash handler would then print a backtrace of a hundred lines. `install()` puts a handler for
/// both signals in front. When the thread's last failure was a refused allocation (`ENOMEM`), or the
/// process is within 64 MiB of its limit (of address space, or of data), the first thread to get there
/// removes the output files left part-written (`Core.PartialFiles`), writes one line saying so and exits with
/// status 5 (the runtime's own line, if it got one out, stays above it); any other thread getting
/// there meanwhile waits for that exit. Every other abort or fault (a broken internal invariant)
/// goes on to the handler that was there before, backtrace and all.
///
/// The handler reads only what was prepared beforehand (the limit, the message, the files to remove)
/// and makes only async-signal-safe calls (`open`, `read`, `write`, `lstat`, `unlink`, `pause`, `_exit`,
/// `sigaction`) and lock-free atomic operations.
public enum OutOfMemory {
    /// Installs the handler once, if the process has an address-space limit or a data-size limit (the
    /// first when both are set); otherwise does nothing.
    public static func install() {
        // No limit (RLIM_INFINITY): nothing to run out of.
        let what: String
        if let bytes = softResourceLimit(RLIMIT_AS) {
            (state.limitBytes, state.usageField) = (bytes, 0)
            // In the unit `ulimit -v` takes (KiB), so the number reads as the limit that was set.
            what = "the address-space limit (ulimit -v \(bytes / 1024))"
        } else if let bytes = softResourceLimit(RLIMIT_DATA) {
            // The data segment and the private writable mappings, as the kernel counts against the limit.
            (state.limitBytes, state.usageField) = (bytes, 5)
            what = "the data-size limit (ulimit -d \(bytes / 1024))"
        } else {
            return
        }
        let line = "sepbeat: out of memory: \(what) was reached"
        // Each variant whole, so that it goes out in one write, not interleaved with other threads' lines.
        state.messages = [
            PermanentCText(line + "\n"),
            PermanentCText(line + " (what was written of the output was removed)\n"),
            PermanentCText(line + " (an output file reached through a symbolic link holds a cut-short copy)\n"),
        ]
        PartialFiles.prepare()
        // Made now: a global's first use runs its one-time initialiser, which a signal handler should not.
        _ = reporting.load(ordering: .relaxed)
        state.pageSize = UInt64(max(sysconf(Int32(_SC_PAGESIZE)), 1))
        for signal in [SIGABRT, SIGSEGV] {
            var action = sigaction()
            action.__sigaction_handler.sa_sigaction = { signal, info, context in
                OutOfMemory.handle(signal, info, context)
            }
            // On the thread's alternate stack when it has one (as the crash handler sets up), so a
            // stack overflow still reaches the crash handler behind this one.
            action.sa_flags = SA_SIGINFO | SA_ONSTACK
            sigemptyset(&action.sa_mask)
            var previous = sigaction()
            guard sigaction(signal, &action, &previous) == 0 else { continue }
            if signal == SIGABRT { state.previousAbort = previous } else { state.previousFault = previous }
        }
    }

    /// Exit status for running out of memory.
    public static let exitStatus: Int32 = 5

    /// How close to the limit the address space must be for an abort or a fault to count as running out.
    static let marginBytes: UInt64 = 64 << 20

    /// What the handler reads: written by `install()` before the handlers are installed (which orders
    /// the writes before any read), never changed afterwards.
    private struct State {
        var limitBytes: UInt64 = 0
        /// The field of /proc/self/statm that the limit bounds: 0, the whole address space; 5, the data.
        var usageField = 0
        /// The line as is, with the removal noted, with a kept cut-short file noted.
        var messages: [PermanentCText] = []
        var pageSize: UInt64 = 4096
        var previousAbort = sigaction()
        var previousFault = sigaction()
    }

    nonisolated(unsafe) private static var state = State()
    /// Set by the first thread that reports running out; the others wait for its exit.
    private static let reporting = Atomic<Bool>(false)

    private static func handle(_ signal: Int32, _ info: UnsafeMutablePointer<siginfo_t>?,
                               _ context: UnsafeMutableRawPointer?) {
        // The thread's last failure: an allocation refused (a large one can fail well inside the
        // margin), or, failing that sign, an address space (or data) close to the limit.
        let refused = errno == ENOMEM
        if refused || usedBytes(field: state.usageField).map({ $0 + marginBytes >= state.limitBytes }) == true,
           state.messages.count == 3 {
            guard !reporting.exchange(true, ordering: .sequentiallyConsistent) else {
                while true { pause() }
            }
            let files = PartialFiles.removeAll()
            let message = state.messages[files.kept > 0 ? 2 : files.removed > 0 ? 1 : 0]
            _ = write(2, message.bytes, message.count)
            _exit(exitStatus)
        }
        var previous = signal == SIGABRT ? state.previousAbort : state.previousFault
        if previous.sa_flags & SA_SIGINFO != 0, let chained = previous.__sigaction_handler.sa_sigaction {
            chained(signal, info, context)
            return
        }
        // A plain handler or the default: put it back. `abort` raises the signal again when this returns,
        // and a fault happens again when the instruction is retried.
        _ = sigaction(signal, &previous, nil)
    }

    /// Field `field` (from 0) of /proc/self/statm in bytes: its fields are counts of pages, separated by
    /// spaces (size, resident, shared, text, lib, data, dirty).
    static func usedBytes(field: Int) -> UInt64? {
        let fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // Seven numbers of up to 20 digits and their spaces fit.
        var buffer: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                     UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &buffer) { raw -> UInt64? in
            guard let base = raw.baseAddress else { return nil }
            let n = read(fd, base, raw.count)
            guard n > 0 else { return nil }
            var seen = 0
            var pages: UInt64 = 0
            var digits = 0
            for i in 0..<n {
                let c = raw[i]
                if c >= 0x30, c <= 0x39 {
                    if seen == field {
                        pages = pages &* 10 &+ UInt64(c - 0x30)
                        digits += 1
                    }
                } else if c == 0x20 {
                    if seen == field { break }
                    seen += 1
                } else {
                    break
                }
            }
            return digits > 0 ? pages &* state.pageSize : nil
        }
    }
}
#endif
