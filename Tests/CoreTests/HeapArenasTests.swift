import Core
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct HeapArenasTests {
    /// A data-size limit, even a very large one, means one arena: the arenas' memory counts against it. The
    /// limit is raised back to what it was (a soft limit may go back up to the hard one).
    @Test func aDataSizeLimitKeepsOneArena() throws {
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_DATA.rawValue)
        var saved = rlimit()
        try #require(getrlimit(resource, &saved) == 0)
        var asSpace = rlimit()
        try #require(getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &asSpace) == 0)
        // Only meaningful where neither limit is set already (as on CI and developer machines).
        guard saved.rlim_cur == rlim_t.max, asSpace.rlim_cur == rlim_t.max else { return }
        #expect(!HeapArenas.memoryIsLimited)
        #expect(HeapArenas.defaultCount == 4)
        var limited = saved
        limited.rlim_cur = 1 << 40
        try #require(setrlimit(resource, &limited) == 0)
        defer { _ = setrlimit(resource, &saved) }
        #expect(HeapArenas.memoryIsLimited)
        #expect(HeapArenas.defaultCount == 1)
        #endif
    }
}
