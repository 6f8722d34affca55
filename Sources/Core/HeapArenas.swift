#if canImport(Glibc)
import Glibc
#endif

/// How many C library heap arenas the process keeps.
///
/// glibc gives each new thread an arena of its own (up to 8 per core). With one shared arena, every
/// thread that misses its small-block cache waits on the same lock, and the traffic thread, the critical
/// path of a run, slept on it thousands of times; with four (one per busy thread of a usual run: traffic,
/// reading, filing records, building check-ins) it does not. But memory freed in one arena is reused only
/// by the threads of that arena, so more arenas hold more memory: about 3 % at the peak on the 1 GB
/// benchmark fleet, 7-11 % on a fleet of push clients, and 22-25 % when reports so far are built again
/// and again on new threads (`--every`), whose memory is then left spread over the arenas.
///
/// The count is read when a second thread first allocates, so `cap` must come before any thread starts.
public enum HeapArenas {
    /// Four, or one under a limit of address space (`ulimit -v`: each further arena reserves 64 MiB of it
    /// up front) or of data size (`ulimit -d`: the arenas' memory counts against it).
    public static var defaultCount: Int32 { memoryIsLimited ? 1 : 4 }

    /// Whether the process runs under a limit of address space or of data size.
    public static var memoryIsLimited: Bool {
        #if canImport(Glibc)
        return softResourceLimit(RLIMIT_AS) != nil || softResourceLimit(RLIMIT_DATA) != nil
        #else
        return false
        #endif
    }

    /// Caps the arenas at `count`. `mallopt` is looked up at run time, as Swift's Glibc module does not
    /// declare it; without it the C library's own limit applies.
    public static func cap(_ count: Int32) {
        #if canImport(Glibc)
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let arenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: Mallopt.self)(arenaMax, max(1, count))
        #endif
    }
}
