import CLI
#if canImport(Glibc)
import Glibc

/// At most four C library heap arenas. glibc gives each new thread an arena of its own (up to 8 per
/// core); with one shared arena, every thread that misses its small-block cache waits on the same
/// lock, and the traffic thread, the critical path, slept on it thousands of times a run. Four cover
/// the busy threads of a usual run (traffic, reading, filing records, building check-ins; the report
/// writer takes the filing thread's arena once it ends): on the 1 GB benchmark fleet about 10 % faster
/// than one arena for about 3 % more peak memory, 2 % more on a day-long capture (memory freed in one
/// arena is reused only by the threads of that arena). More threads (`--jobs`) share the four.
/// Under an address-space limit (`ulimit -v`) the process keeps one arena: each further one reserves
/// 64 MiB of address space up front. `mallopt` is looked up at run time, as Swift's Glibc module does
/// not declare it; without it the C library's own limit applies.
private func capHeapArenas() {
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    let arenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
    var addressSpace = rlimit()
    let limited = getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &addressSpace) == 0
        && addressSpace.rlim_cur != rlim_t.max
    guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "mallopt") else { return }
    _ = unsafeBitCast(symbol, to: Mallopt.self)(arenaMax, limited ? 1 : 4)
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

capHeapArenas()
raiseOpenFileLimit()
OutOfMemory.install()
// Ctrl-C, SIGTERM or SIGHUP: the output files being written are removed before the process dies of it.
Interruption.install()
#endif

let status = SepbeatCommand.main(arguments: Array(CommandLine.arguments.dropFirst()), exitsAfterward: true)
exit(status)
