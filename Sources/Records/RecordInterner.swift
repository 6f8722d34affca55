/// Makes the records one run keeps share equal values: one TLS summary box, one HTTP transaction box
/// and one string buffer for each value seen again, instead of a copy per record.
///
/// The records a fleet keeps repeat themselves: every check-in of a client (and most clients of a
/// manager) carries the same compacted TLS summary (versions, server name, cipher suite) and the same
/// few HTTP transactions (`/secars/secars.dll?…`, `200 OK`). Sharing them is safe because a TLS summary
/// box never changes once made and an HTTP transaction box changes in place only while one exchange
/// holds the sole reference (`Exchange.http`, `changeHTTP`); a table entry is such a reference, so any
/// later change to a shared value copies it first.
///
/// Each table stops taking new values at `capacity` entries, so a capture of unique values cannot make
/// the tables grow without bound: values past the cap are simply kept unshared (nothing is lost, and
/// nothing is counted as wrong). Values already in a table go on being shared.
public struct RecordInterner: Sendable {
    /// Entries each table (TLS summaries, HTTP transactions, strings) takes at most.
    public let capacity: Int
    private var tlsBoxes: Set<TLSSummaryBox> = []
    private var httpBoxes: Set<HTTPTransactionBox> = []
    private var strings: Set<String> = []

    /// The default cap: 8,192 entries a table (a few MB at most), far more distinct values than a
    /// fleet's check-ins carry.
    public static let defaultCapacity = 8_192

    public init(capacity: Int = RecordInterner.defaultCapacity) {
        self.capacity = max(0, capacity)
    }

    /// Entries in the tables: TLS summaries, HTTP transactions, strings.
    public var counts: (tls: Int, http: Int, strings: Int) { (tlsBoxes.count, httpBoxes.count, strings.count) }

    /// Replaces the record's TLS summary and its exchanges' HTTP transactions by equal ones already
    /// kept, and files those not seen yet (while there is room). The record's value is unchanged.
    public mutating func share(_ record: inout ConnectionRecord) {
        if let box = record.tlsStorage, let kept = sharedTLS(box), kept !== box {
            record.tlsStorage = kept
        }
        // Read first and written only when a box is replaced, so an array shared with the caller's copy
        // of the record is not copied for nothing.
        for i in record.exchanges.indices {
            guard let box = record.exchanges[i].httpStorage, let kept = sharedHTTP(box), kept !== box else { continue }
            record.exchanges[i].httpStorage = kept
        }
    }

    /// The kept box equal to `box`, or a new one (with shared strings) filed now; nil when the table is full
    /// and holds no equal value.
    private mutating func sharedTLS(_ box: TLSSummaryBox) -> TLSSummaryBox? {
        if let i = tlsBoxes.firstIndex(of: box) { return tlsBoxes[i] }
        guard tlsBoxes.count < capacity else { return nil }
        var value = box.value
        if let name = value.serverName { value.serverName = shared(name) }
        let made = TLSSummaryBox(value)
        tlsBoxes.insert(made)
        return made
    }

    private mutating func sharedHTTP(_ box: HTTPTransactionBox) -> HTTPTransactionBox? {
        if let i = httpBoxes.firstIndex(of: box) { return httpBoxes[i] }
        guard httpBoxes.count < capacity, var value = box.value else { return nil }
        value.method = shared(value.method)
        value.target = shared(value.target)
        value.version = shared(value.version)
        if let s = value.reason { value.reason = shared(s) }
        if let s = value.host { value.host = shared(s) }
        if let s = value.userAgent { value.userAgent = shared(s) }
        if let s = value.contentType { value.contentType = shared(s) }
        let made = HTTPTransactionBox(value)
        httpBoxes.insert(made)
        return made
    }

    /// The kept string equal to `s` (sharing its buffer), `s` filed now, or `s` itself when the table is
    /// full. Strings of up to 15 UTF-8 bytes are held inline, with no buffer to share, and are left as they are.
    mutating func shared(_ s: String) -> String {
        guard s.utf8.count > 15 else { return s }
        if let i = strings.firstIndex(of: s) { return strings[i] }
        guard strings.count < capacity else { return s }
        strings.insert(s)
        return s
    }
}
