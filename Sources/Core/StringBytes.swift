#if canImport(Glibc)
import Glibc
#endif

extension String {
    /// Whether the two strings hold the same UTF-8 bytes. `==` is canonical equivalence, under which `é` as one
    /// code point equals `e` with a combining accent, and marks in another order are equal; a capture's SNI,
    /// target or reason must be kept and reported with its own bytes. Compared with `memcmp` when both are
    /// stored contiguously (native strings), byte by byte otherwise.
    public func hasSameUTF8(as other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        let fast = utf8.withContiguousStorageIfAvailable { x in
            other.utf8.withContiguousStorageIfAvailable { y in
                guard let p = x.baseAddress, let q = y.baseAddress else { return true }  // both empty
                return memcmp(p, q, x.count) == 0
            }
        }
        if let fast, let equal = fast { return equal }
        return utf8.elementsEqual(other.utf8)
    }
}
