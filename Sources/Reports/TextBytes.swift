import Core
import Heartbeat

/// Report text gathered as UTF-8 bytes: `out += text` appends the bytes of `text`.
///
/// The text writers of the reports append to one of these and call their `flush` argument between rows;
/// `stream` passes a flush that hands the bytes on in chunks, `gather` one that keeps them all.
struct TextBytes {
    var bytes: [UInt8] = []

    /// What a writer calls between rows: it may hand `bytes` on and empty them.
    typealias Flush = (inout TextBytes) throws -> Void

    static func += (out: inout TextBytes, text: String) {
        var text = text
        text.withUTF8 { out.bytes.append(contentsOf: $0) }  // also a short string, held inline
    }

    /// `n` in decimal.
    mutating func append(_ n: Int) {
        DecimalText.append(Int64(n), to: &bytes)
    }

    /// `n` in decimal.
    mutating func append(_ n: Int64) {
        DecimalText.append(n, to: &bytes)
    }

    mutating func spaces(_ count: Int) {
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: count))
    }

    /// Runs `write` with a flush that hands the bytes gathered to `sink` once more than `chunkSize` are
    /// held, then hands on the rest. Memory: one chunk, plus what `write` appends between two flushes.
    static func stream(chunkSize: Int = 1 << 16, to sink: ([UInt8]) throws -> Void,
                       _ write: (inout TextBytes, Flush) throws -> Void) throws {
        var out = TextBytes()
        out.bytes.reserveCapacity(chunkSize + chunkSize / 2)
        // `sink` is only called while `write` runs, never kept.
        try withoutActuallyEscaping(sink) { sink in
            try write(&out) { o in
                guard o.bytes.count > chunkSize else { return }
                try sink(o.bytes)
                o.bytes.removeAll(keepingCapacity: true)
            }
        }
        if !out.bytes.isEmpty { try sink(out.bytes) }
    }

    /// Every byte `write` appends, held whole (for tests and small reports).
    static func gather(_ write: (inout TextBytes, (inout TextBytes) -> Void) -> Void) -> [UInt8] {
        var out = TextBytes()
        write(&out) { _ in }
        return out.bytes
    }
}

extension HeartbeatReport {
    /// The findings in the order of `findingsBySeverity` (most severe first, then in report order),
    /// read in place: one pass over the findings per severity, no sorted copy.
    func forEachFindingBySeverity(_ body: (Finding) throws -> Void) rethrows {
        for severity in Severity.allCases.sorted(by: >) {
            for f in findings where f.severity == severity { try body(f) }
        }
    }
}
