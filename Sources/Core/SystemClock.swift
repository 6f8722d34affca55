#if canImport(Glibc)
import Glibc
#endif

/// The system's clocks, for live capture: the monotonic one for durations and periods (it never steps),
/// the real-time one for the time packets are stamped with.
public enum SystemClock {
    /// Nanoseconds on the monotonic clock (from an arbitrary start).
    public static func monotonicNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// The time now, as the kernel stamps captured packets.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(nanoseconds: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }
}
