import CLI
import Core
#if canImport(Glibc)
import Glibc

/// The soft open-file limit raised to the hard one (often 1,024 against 524,288): capture files that
/// overlap in time are read with all of them open at once. Nothing changes when the call fails.
private func raiseOpenFileLimit() {
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    var limit = rlimit()
    guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(resource, &limit)
}

// Before any thread starts (see `HeapArenas`); `--every` lowers it to one before its threads start.
HeapArenas.cap(HeapArenas.defaultCount)
raiseOpenFileLimit()
OutOfMemory.install()
// Ctrl-C, SIGTERM or SIGHUP: the output files being written are removed before the process dies of it.
Interruption.install()
#endif

let status = SepbeatCommand.main(arguments: Array(CommandLine.arguments.dropFirst()), exitsAfterward: true)
exit(status)
