import Core
import Records

/// The summaries of the last few certificates read, by their DER bytes, shared by every parser
/// in the process (all threads), so a certificate that repeats across connections is read once.
///
/// A summary depends on the certificate's bytes alone, so a hit returns exactly what reading
/// them again would. Entries are found by a 64-bit hash of the bytes and confirmed by comparing
/// all of them with the kept copy. Memory stays under `capacity` x `maxBytes` (512 KiB): larger
/// certificates are read every time, and a new entry replaces the oldest once the memo is full.
struct CertificateMemo: ~Copyable {
    struct Entry {
        var hash: UInt64
        var der: [UInt8]
        var summary: CertificateSummary?
    }

    static let capacity = 32
    static let maxBytes = 16 << 10

    private var entries: [Entry] = []
    /// Index of the entry the next insertion replaces once the memo is full.
    private var oldest = 0

    private static let shared = PosixMutex(CertificateMemo())

    /// The summary of `der`: the kept one when these bytes were seen lately, else `parse(der)`,
    /// kept for next time.
    static func summary(
        der: UnsafeRawBufferPointer, parse: (UnsafeRawBufferPointer) -> CertificateSummary?
    ) -> CertificateSummary? {
        guard der.count <= maxBytes else { return parse(der) }
        let hash = fingerprint(der)
        let kept: CertificateSummary?? = shared.withLock { $0.find(hash, der) }
        if let kept { return kept }
        let summary = parse(der)
        let entry = Entry(hash: hash, der: Array(der), summary: summary)
        shared.withLock { $0.insert(entry) }
        return summary
    }

    private func find(_ hash: UInt64, _ der: UnsafeRawBufferPointer) -> CertificateSummary?? {
        for entry in entries where entry.hash == hash && entry.der.count == der.count {
            if entry.der.withUnsafeBytes({ CertificateMemo.same($0, der) }) { return .some(entry.summary) }
        }
        return nil
    }

    private mutating func insert(_ entry: Entry) {
        // Another thread may have read the same certificate meanwhile: keep one copy.
        let known = entries.contains { kept in
            kept.hash == entry.hash
                && kept.der.withUnsafeBytes { a in entry.der.withUnsafeBytes { b in CertificateMemo.same(a, b) } }
        }
        if known { return }
        if entries.count < CertificateMemo.capacity {
            entries.append(entry)
        } else {
            entries[oldest] = entry
            oldest = (oldest + 1) % CertificateMemo.capacity
        }
    }

    /// Whether `a` and `b` hold the same bytes, compared eight at a time.
    static func same(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        var i = 0
        while i + 8 <= a.count {
            guard a.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                == b.loadUnaligned(fromByteOffset: i, as: UInt64.self) else { return false }
            i += 8
        }
        while i < a.count {
            guard a[i] == b[i] else { return false }
            i += 1
        }
        return true
    }

    /// A 64-bit hash of `bytes`, eight at a time (FNV-style multiply and xor; not cryptographic:
    /// every hit is confirmed byte by byte).
    static func fingerprint(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let prime: UInt64 = 0x0000_0100_0000_01b3
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(bytes.count)
        var i = 0
        while i + 8 <= bytes.count {
            h = (h ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* prime
            h ^= h >> 29
            i += 8
        }
        while i < bytes.count {
            h = (h ^ UInt64(bytes[i])) &* prime
            i += 1
        }
        return h
    }
}
