#if canImport(Glibc)
import Capture
import Core
import Glibc

/// Stops the process on SIGINT, SIGTERM or SIGHUP without leaving a cut-short output file behind.
///
/// A report (`-o`), a simulated capture, its `--split` files or its truth file stopped part-way
/// reads as a whole, shorter one. `install()` puts a handler in front of the three signals: it
/// removes the regular output files still being written (`Core.PartialFiles`; one reached through
/// a symbolic link is left, as for a failed write), then puts the default action back and raises
/// the signal again, so the process dies of it and a shell reports the usual status
/// (128 + signal: 130, 143, 129). Nothing is printed.
///
/// A signal ignored when the process started (`nohup`, a background job of a shell without job
/// control) stays ignored. The handler makes only async-signal-safe calls (`lstat`, `unlink`,
/// `sigaction`, `raise`, `pthread_sigmask`) and reads only lock-free atomics; every other signal is
/// blocked while it runs, so a second Ctrl-C cannot cut the clean-up short. The handler is installed
/// without `SA_RESTART`, and `errno` is kept across a request.
///
/// During a live capture (`-i`), the first of these signals ends the capture instead
/// (`LiveStopRequest.process`, one atomic store and a byte written to its pipe), and the run goes on to
/// write its report; a second one, or one after the capture ended, stops the process as above. So does the
/// first one while a followed input is read (standard input that is no regular file, a pipe, a FIFO, a
/// device: `FollowedInput` in Capture): every followed input still open ends there, its reads waiting on a
/// silent writer returning at once, and the report covers what was read (regular files named with them
/// are read to their end). Before a followed input's capture header has arrived, nothing is followed yet.
///
/// Not covered: a file opened in the instant before its writer registers it, and SIGKILL.
public enum Interruption {
    /// The signals handled.
    public static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Installs the handler once; a signal already ignored keeps being ignored.
    public static func install() {
        // Made now: the table's one-time initialiser must not run in the handler, nor the stop request's.
        PartialFiles.prepare()
        _ = LiveStopRequest.process.isRequested
        for signal in signals {
            var current = sigaction()
            guard sigaction(signal, nil, &current) == 0, !isIgnored(current) else { continue }
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in Interruption.handle(signal) }
            action.sa_flags = 0
            sigfillset(&action.sa_mask)
            _ = sigaction(signal, &action, nil)
        }
    }

    /// Whether `signal` is ignored in this process (as SIGINT is for a command started in the background by a
    /// shell without job control): it then stops nothing, a live capture included.
    public static func isIgnored(_ signal: Int32) -> Bool {
        var current = sigaction()
        return sigaction(signal, nil, &current) == 0 && isIgnored(current)
    }

    private static func isIgnored(_ action: sigaction) -> Bool {
        guard action.sa_flags & SA_SIGINFO == 0, let handler = action.__sigaction_handler.sa_handler else {
            return false
        }
        return unsafeBitCast(handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
    }

    private static func handle(_ signal: Int32) {
        if LiveStopRequest.process.wouldEndCapture {
            LiveStopRequest.process.request(signal: signal)
            return
        }
        _ = PartialFiles.removeAll()
        var fallback = sigaction()
        fallback.__sigaction_handler.sa_handler = SIG_DFL
        sigemptyset(&fallback.sa_mask)
        _ = sigaction(signal, &fallback, nil)
        // Pending on this thread while the handler blocks it; unblocked, it ends the process at once.
        _ = raise(signal)
        var only = sigset_t()
        sigemptyset(&only)
        sigaddset(&only, signal)
        _ = pthread_sigmask(SIG_UNBLOCK, &only, nil)
    }
}
#endif
