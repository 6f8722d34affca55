#if canImport(Glibc)
import Glibc

/// A soft resource limit of the process (`getrlimit`), or nil when there is none (`RLIM_INFINITY`) or it
/// cannot be read.
public func softResourceLimit(_ resource: __rlimit_resource) -> UInt64? {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(resource.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else {
        return nil
    }
    return UInt64(limit.rlim_cur)
}
#endif
