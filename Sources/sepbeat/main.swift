import CLI
#if canImport(Glibc)
import Glibc

/// One C library heap arena for the whole process. glibc gives each new thread an arena of its
/// own (up to 8 per core), and memory freed in one arena is not reused by another: records filed
/// on the heartbeat thread, freed while check-ins are built on others, left a fifth of the peak
/// unused in a second arena in about one run in three (110 MB instead of 87 MB on a 1 GB fleet
/// capture). Each thread's small-block cache keeps most allocations off the shared lock. `mallopt`
/// is looked up at run time, as Swift's Glibc module does not declare it; without it nothing changes.
private func limitHeapArenas() {
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    let arenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
    guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "mallopt") else { return }
    _ = unsafeBitCast(symbol, to: Mallopt.self)(arenaMax, 1)
}

/// The soft open-file limit raised to the hard one (often 1,024 against 524,288): capture files that
/// overlap in time are read with all of them open at once. Nothing changes when the call fails.
private func raiseOpenFileLimit() {
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    var limit = rlimit()
    guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(resource, &limit)
}

limitHeapArenas()
raiseOpenFileLimit()
OutOfMemory.install()
// Ctrl-C, SIGTERM or SIGHUP: the output files being written are removed before the process dies of it.
Interruption.install()
#endif

let status = SepbeatCommand.main(arguments: Array(CommandLine.arguments.dropFirst()), exitsAfterward: true)
exit(status)
