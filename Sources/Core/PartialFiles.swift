#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Regular files being written that must not stay behind cut short when the process has to stop at
/// once (out of memory, or SIGINT, SIGTERM or SIGHUP: see the CLI's `OutOfMemory` and `Interruption`):
/// a writer registers each file it opens and lets go of it when the file is complete or already
/// removed; `removeAll()` removes whatever is left.
///
/// `removeAll()` is async-signal-safe: it reads a fixed table of atomic slots (up to `capacity` files
/// at once; more are not registered) and calls only `lstat` and `unlink`. A registered path is kept
/// as a C text, freed when the file is let go of, unless a `removeAll()` has begun (a signal handler may
/// be reading it then, and the process is about to end): so a run that writes a report every second
/// (`--every 1`) does not keep a path for each one.
public enum PartialFiles {
    /// A registered file, for `unregister`.
    public struct Token: Sendable {
        fileprivate let slot: Int
    }

    /// Sets the table up, so that the first `removeAll()` (from a signal handler) does not have to.
    public static func prepare() {
        _ = table
    }

    /// Most files registered at once.
    public static let capacity = 1024

    /// Registers `path`, which names `identity` (the file just opened); nil when the table is full.
    @discardableResult
    public static func register(path: String, identity: RegularFileIdentity) -> Token? {
        let entry = UnsafeMutablePointer<Entry>.allocate(capacity: 1)
        entry.initialize(to: Entry(path: PermanentCText(path), identity: identity))
        let address = Int(bitPattern: entry)
        for i in 0..<capacity where table.slots[i].compareExchange(
            expected: 0, desired: address, ordering: .sequentiallyConsistent).exchanged {
            return Token(slot: i)
        }
        return nil
    }

    /// The file of `token` is complete (or removed already): it is left where it is.
    public static func unregister(_ token: Token?) {
        guard let token else { return }
        let address = table.slots[token.slot].exchange(0, ordering: .sequentiallyConsistent)
        // Freed only if no `removeAll()` has begun. Both sides are sequentially consistent, and each writes
        // before it reads (here the slot, then the flag; there the flag, then the slots): either this load
        // sees the removal begun, and the entry stays for it, or the removal's loads see the slot empty.
        guard table.removing.pointee.load(ordering: .sequentiallyConsistent) == 0,
              let entry = UnsafeMutablePointer<Entry>(bitPattern: address) else { return }
        entry.pointee.path.bytes.deallocate()
        entry.deinitialize(count: 1)
        entry.deallocate()
    }

    /// Removes every registered file still at its path (not one reached through a symbolic link, nor
    /// anything put there since); returns how many were removed, and how many were kept because their
    /// path is a symbolic link (the file it leads to holds what was written). Async-signal-safe.
    public static func removeAll() -> (removed: Int, kept: Int) {
        // From now on no entry is freed (`unregister`): this may be a signal handler reading them.
        table.removing.pointee.store(1, ordering: .sequentiallyConsistent)
        var removed = 0
        var kept = 0
        for i in 0..<capacity {
            guard let entry = UnsafeMutablePointer<Entry>(
                bitPattern: table.slots[i].load(ordering: .sequentiallyConsistent)) else { continue }
            let e = entry.pointee
            var st = stat()
            if e.identity.removeIfStill(atPath: e.path.bytes) {
                removed += 1
            } else if lstat(e.path.bytes, &st) == 0, st.st_mode & S_IFMT == S_IFLNK {
                kept += 1
            }
        }
        return (removed, kept)
    }

    private struct Entry {
        let path: PermanentCText
        let identity: RegularFileIdentity
    }

    /// The slots: addresses of `Entry` values, 0 when free; and whether a `removeAll()` has begun (1, never
    /// cleared). Allocated once, never freed.
    private final class Table: @unchecked Sendable {
        // Safety: the slots and the flag are atomics at fixed addresses; the pointers never change.
        let slots: UnsafeMutablePointer<Atomic<Int>>
        let removing: UnsafeMutablePointer<Atomic<Int>>

        init() {
            slots = .allocate(capacity: PartialFiles.capacity)
            for i in 0..<PartialFiles.capacity { (slots + i).initialize(to: Atomic<Int>(0)) }
            removing = .allocate(capacity: 1)
            removing.initialize(to: Atomic<Int>(0))
        }
    }

    private static let table = Table()
}
