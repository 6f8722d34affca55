import Core

/// Makes the records one run keeps share equal values: one TLS summary box, one HTTP transaction box
/// and one string buffer for a value seen again, instead of a copy per record.
///
/// The records a fleet keeps repeat themselves: every check-in of a client (and most clients of a
/// manager) carries the same compacted TLS summary (versions, server name, cipher suite) and the same
/// few HTTP transactions (`/secars/secars.dll?…`, `200 OK`). Sharing them is safe because a TLS summary
/// box never changes once made and an HTTP transaction box changes in place only while one exchange
/// holds the sole reference (`Exchange.http`, `changeHTTP`); a table's reference is one more, so a
/// change to a shared value copies it first.
///
/// Each table has a fixed number of slots, found from a cheap key of the value (its numbers, and its
/// strings' lengths and first 64 bytes; not the normalising hash a `Set` of strings runs: this runs for
/// every kept record), and a value is shared only when the slot holds an equal one (compared in full, its
/// texts byte for byte). A value whose slot holds another takes the slot over. So a capture of unique
/// values cannot make the tables grow (they are at most `slots` entries each); its values are simply kept
/// unshared. Nothing is lost, and nothing is counted as wrong.
public struct RecordInterner: Sendable {
    /// Slots a table has (a power of 2).
    public let slots: Int
    private var tlsTable: [TLSSummaryBox?]
    private var httpTable: [HTTPTransactionBox?]
    private var stringTable: [String?]

    /// The default: 4,096 slots a table (100 KB of references at most; a fleet's check-ins carry far fewer
    /// distinct values).
    public static let defaultSlots = 4_096

    /// - Parameter slots: rounded up to a power of 2 (at least 1).
    public init(slots: Int = RecordInterner.defaultSlots) {
        var n = 1
        while n < slots, n < 1 << 24 { n <<= 1 }
        self.slots = n
        tlsTable = []
        httpTable = []
        stringTable = []
    }

    /// Values the tables hold: TLS summaries, HTTP transactions, strings.
    public var counts: (tls: Int, http: Int, strings: Int) {
        (tlsTable.count { $0 != nil }, httpTable.count { $0 != nil }, stringTable.count { $0 != nil })
    }

    /// Replaces the record's TLS summary and its exchanges' HTTP transactions by equal ones already
    /// kept, and keeps those not seen yet. The record's value is unchanged.
    public mutating func share(_ record: inout ConnectionRecord) {
        share(&record, tls: { _ in nil }, http: { _, _ in nil })
    }

    /// `share(_:)`, the TLS summary first replaced by what `tls` makes of it and each HTTP transaction by what
    /// `http` makes of it (nil: kept as it is; `http` is given the interner, for `shared(_:)`). Each is read in
    /// its box, and a changed value is looked up before it is boxed: a value kept before takes no box of its own,
    /// even for a moment.
    public mutating func share(
        _ record: inout ConnectionRecord, tls: (borrowing TLSSummary) -> TLSSummary?,
        http: (borrowing HTTPTransaction, inout RecordInterner) -> HTTPTransaction?
    ) {
        if let box = record.tlsStorage {
            if let changed = tls(box.value) {
                record.tlsStorage = keptTLS(changed)
            } else if let kept = sharedTLS(box) {
                record.tlsStorage = kept
            }
        }
        // Read first and written only when a box is replaced, so an array shared with the caller's copy
        // of the record is not copied for nothing.
        for i in record.exchanges.indices {
            guard let box = record.exchanges[i].httpStorage, let value = box.value else { continue }
            if let changed = http(value, &self) {
                Self.put(keptHTTP(changed), in: &record.exchanges, at: i)
            } else if let kept = sharedHTTP(box) {
                Self.put(kept, in: &record.exchanges, at: i)
            }
        }
    }

    /// Puts `box` in the exchange at `i`. Not inlined: written in the loop itself, the array was made unique
    /// (copied, as the caller holds the record too) before the loop, for every record, even one whose boxes
    /// all stayed.
    @inline(never)
    private static func put(_ box: HTTPTransactionBox, in exchanges: inout [Exchange], at i: Int) {
        exchanges[i].httpStorage = box
    }

    /// The string equal to `s` kept before (sharing its buffer); otherwise `s`, now kept. Strings of up to
    /// 15 UTF-8 bytes are held inline, with no buffer to share, and are returned as they are.
    public mutating func shared(_ s: String) -> String {
        let length = s.utf8.count
        guard length > 15 else { return s }
        if stringTable.isEmpty { stringTable = Array(repeating: nil, count: slots) }
        let slot = index(Self.mix(0, s))
        if let kept = stringTable[slot], Self.sameBytes(kept, s) { return kept }
        stringTable[slot] = s
        return s
    }

    /// `shared(String(head) + tail)`, the joined string made only when no equal one is kept (a kept one is
    /// found from the two parts' bytes).
    public mutating func shared(_ head: Substring, _ tail: String) -> String {
        var head = head
        var tail = tail
        let length = head.utf8.count + tail.utf8.count
        guard length > 15 else { return String(head) + tail }
        if stringTable.isEmpty { stringTable = Array(repeating: nil, count: slots) }
        let found: (slot: Int, kept: String?) = head.withUTF8 { h in
            tail.withUTF8 { t in
                let slot = index(Self.mix(0, h, t))
                guard let kept = stringTable[slot], Self.sameBytes(kept, h, t) else { return (slot, nil) }
                return (slot, kept)
            }
        }
        if let kept = found.kept { return kept }
        let joined = String(head) + tail
        stringTable[found.slot] = joined
        return joined
    }

    /// The slot of a key: its low bits, after a final mix.
    private func index(_ key: UInt64) -> Int {
        var k = key ^ (key >> 31)
        k = k &* 0xBF58_476D_1CE4_E5B9
        k ^= k >> 29
        return Int(truncatingIfNeeded: k) & (slots - 1)
    }

    private static func mix(_ key: UInt64, _ value: Int64) -> UInt64 {
        (key ^ UInt64(bitPattern: value)) &* 0x9E37_79B9_7F4A_7C15
    }

    /// `key` mixed with the length and up to the first 64 UTF-8 bytes of `s` (FNV-1a: a few instructions a
    /// byte, against the normalising hash a `Set` of strings would run).
    private static func mix(_ key: UInt64, _ s: String) -> UInt64 {
        let bytes = s.utf8
        var k = mix(key, Int64(bytes.count))
        if let done = bytes.withContiguousStorageIfAvailable({ buffer -> UInt64 in
            var h = k
            for b in buffer.prefix(64) { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            return h
        }) {
            k = done
        } else {
            for b in bytes.prefix(64) { k = (k ^ UInt64(b)) &* 0x100_0000_01b3 }
        }
        return k
    }

    /// `mix(key, joined)` for the string `joined` of the bytes `head` then `tail`, without joining them.
    private static func mix(
        _ key: UInt64, _ head: UnsafeBufferPointer<UInt8>, _ tail: UnsafeBufferPointer<UInt8>
    ) -> UInt64 {
        var k = mix(key, Int64(head.count + tail.count))
        for b in head.prefix(64) { k = (k ^ UInt64(b)) &* 0x100_0000_01b3 }
        for b in tail.prefix(max(0, 64 - head.count)) { k = (k ^ UInt64(b)) &* 0x100_0000_01b3 }
        return k
    }

    /// Whether `s` holds the bytes `head` then `tail`.
    private static func sameBytes(
        _ s: String, _ head: UnsafeBufferPointer<UInt8>, _ tail: UnsafeBufferPointer<UInt8>
    ) -> Bool {
        let bytes = s.utf8
        guard bytes.count == head.count + tail.count else { return false }
        let same = bytes.withContiguousStorageIfAvailable { b in
            b[..<head.count].elementsEqual(head) && b[head.count...].elementsEqual(tail)
        }
        return same ?? (bytes.starts(with: head) && bytes.dropFirst(head.count).elementsEqual(tail))
    }

    /// The kept box equal to `box` when there is another; nil when `box` is kept now or its value is new.
    private mutating func sharedTLS(_ box: TLSSummaryBox) -> TLSSummaryBox? {
        guard let slot = tlsSlot(box.value) else { return nil }
        if let kept = tlsTable[slot] {
            if kept === box { return nil }
            if kept.value == box.value, Self.sameBytes(kept.value, box.value) { return kept }
        }
        tlsTable[slot] = box
        return nil
    }

    /// The kept box holding a value equal to `v`; otherwise a new one, now kept (when `v` may be shared).
    private mutating func keptTLS(_ v: consuming TLSSummary) -> TLSSummaryBox {
        guard let slot = tlsSlot(v) else { return TLSSummaryBox(v) }
        if let kept = tlsTable[slot], kept.value == v, Self.sameBytes(kept.value, v) { return kept }
        let box = TLSSummaryBox(v)
        tlsTable[slot] = box
        return box
    }

    /// The table slot of a TLS summary; nil for one that is not shared (it has a certificate).
    private mutating func tlsSlot(_ v: borrowing TLSSummary) -> Int? {
        if tlsTable.isEmpty { tlsTable = Array(repeating: nil, count: slots) }
        guard v.certificate == nil else { return nil }
        var key = Self.mix(0, Int64(v.negotiatedVersion ?? 0) << 16 | Int64(v.clientVersion ?? 0))
        key = Self.mix(key, Int64(v.cipherSuite ?? 0) << 16 | Int64(v.recordVersion ?? 0))
        key = Self.mix(key, Int64(v.alerts.count))
        if let name = v.serverName { key = Self.mix(key, name) }
        return index(key)
    }

    private mutating func sharedHTTP(_ box: HTTPTransactionBox) -> HTTPTransactionBox? {
        guard let v = box.value else { return nil }
        let slot = httpSlot(v)
        if let kept = httpTable[slot] {
            if kept === box { return nil }
            if let k = kept.value, k == v, Self.sameBytes(k, v) { return kept }
        }
        httpTable[slot] = box
        return nil
    }

    /// The kept box holding a transaction equal to `v`; otherwise a new one, now kept.
    private mutating func keptHTTP(_ v: consuming HTTPTransaction) -> HTTPTransactionBox {
        let slot = httpSlot(v)
        if let kept = httpTable[slot], let k = kept.value, k == v, Self.sameBytes(k, v) { return kept }
        let box = HTTPTransactionBox(v)
        httpTable[slot] = box
        return box
    }

    private mutating func httpSlot(_ v: borrowing HTTPTransaction) -> Int {
        if httpTable.isEmpty { httpTable = Array(repeating: nil, count: slots) }
        var key = Self.mix(0, v.requestBodyLength)
        key = Self.mix(key, v.responseBodyLength ?? -1)
        key = Self.mix(key, Int64(v.status ?? -1) << 8 | Int64(v.method.utf8.count))
        key = Self.mix(key, v.target)
        return index(key)
    }

    // Equal values are shared only when their texts are equal byte for byte too (`String.hasSameUTF8(as:)`:
    // `==` is canonical equivalence, and a capture's SNI, target or reason is reported with its own bytes).

    static func sameBytes(_ a: String, _ b: String) -> Bool { a.hasSameUTF8(as: b) }

    static func sameBytes(_ a: String?, _ b: String?) -> Bool {
        switch (a, b) {
        case let (x?, y?): return sameBytes(x, y)
        case (nil, nil): return true
        default: return false
        }
    }

    /// The text `==` compares by canonical equivalence, compared by bytes (summaries with a certificate, whose
    /// names are texts too, are not shared: the kept records carry none).
    static func sameBytes(_ a: TLSSummary, _ b: TLSSummary) -> Bool {
        sameBytes(a.serverName, b.serverName)
    }

    static func sameBytes(_ a: HTTPTransaction, _ b: HTTPTransaction) -> Bool {
        sameBytes(a.method, b.method) && sameBytes(a.target, b.target) && sameBytes(a.version, b.version)
            && sameBytes(a.host, b.host) && sameBytes(a.userAgent, b.userAgent) && sameBytes(a.reason, b.reason)
            && sameBytes(a.contentType, b.contentType)
    }
}
