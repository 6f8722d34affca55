import CLI
#if canImport(Glibc)
import Glibc

/// At most two C library heap arenas for the whole process. glibc gives each new thread an arena
/// of its own (up to 8 per core), and memory freed in one arena is not reused by another: with the
/// read-ahead thread and `--jobs` threads allocating, peak memory rose by about a fifth. Two arenas
/// keep the reading thread apart from the analysis (so neither waits on the other's heap lock) and
/// the peak where one thread's would be. `mallopt` is looked up at run time, as Swift's Glibc
/// module does not declare it; without it nothing changes.
private func limitHeapArenas() {
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    let arenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
    guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "mallopt") else { return }
    _ = unsafeBitCast(symbol, to: Mallopt.self)(arenaMax, 2)
}

limitHeapArenas()
#endif

let status = SepbeatCommand.main(arguments: Array(CommandLine.arguments.dropFirst()), exitsAfterward: true)
exit(status)
