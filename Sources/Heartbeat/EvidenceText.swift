import Core

/// Builds a step's evidence text in one byte buffer: a check-in's texts are made for every step of
/// every check-in, and string interpolation there cost more than the rules themselves.
///
/// Integers are written as `String(n)` writes them (`DecimalText`); the result is the same text
/// interpolation gives.
struct EvidenceText {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 96) { bytes.reserveCapacity(capacity) }

    mutating func add(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func add(_ s: String) {
        // Read in place (copying through the UTF-8 view cost twice as much).
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    mutating func add<S: Collection<UInt8>>(utf8 s: S) {
        bytes.append(contentsOf: s)
    }

    /// Decimal digits, with a leading `-` for negative values.
    mutating func add(_ n: Int64) { DecimalText.append(n, to: &bytes) }

    mutating func add(_ n: Int) { add(Int64(n)) }

    /// A non-negative `n` with leading zeros to at least `width` digits.
    mutating func add(_ n: Int64, width: Int) {
        var shown = 1
        var m = n.magnitude / 10
        while m > 0 {
            shown += 1
            m /= 10
        }
        if n >= 0, shown < width { bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - shown)) }
        add(n)
    }

    /// The words of an exchange's byte counts (`StepReport.appendCounts`).
    mutating func add(counts tail: StepReport.Tail, up: Int64, down: Int64, records: (up: Int, down: Int) = (0, 0)) {
        StepReport.appendCounts(tail, up: up, down: down, records: records, to: &bytes)
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Bytes written so far.
    var count: Int { bytes.count }

    /// The text of the bytes from `offset` on.
    func text(from offset: Int) -> String { String(decoding: bytes[offset...], as: UTF8.self) }

    /// Empties the buffer, keeping its capacity.
    mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }
}
