import Records
import ZeekLogs

/// Zeek's logs, read as `--zeek` reads a folder of them.
enum ZeekTargets {
    /// Bytes handed out in pieces of a size chosen by the input, so that lines cross the pieces' edges.
    struct Bytes: ZeekByteSource {
        var bytes: ArraySlice<UInt8>
        var piece: Int

        mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let n = min(piece, buffer.count, bytes.count)
            for (i, b) in bytes.prefix(n).enumerated() { buffer[i] = b }
            bytes = bytes.dropFirst(n)
            return n
        }
    }

    /// Byte 0 sets the size of the pieces the logs are read in; the rest is conn.log, http.log and ssl.log
    /// apart by NUL bytes (a log missing from the end is not there). Every record must lie inside the logs'
    /// span with its end at or after its start, one per conn.log row neither skipped nor unused, and no log
    /// may count more rows skipped or unused than it read.
    static func logs(_ input: UnsafeRawBufferPointer) {
        guard let first = input.first else { return }
        let parts = Array(input.dropFirst()).split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        let names = ["conn.log", "http.log", "ssl.log"]
        let paths = ZeekConnections.Paths(conn: names[0], http: parts.count > 1 ? names[1] : nil,
                                          ssl: parts.count > 2 ? names[2] : nil)
        let piece = Int(first) * 37 + 1
        guard let reader = try? ZeekConnections(paths, open: { path in
            let i = names.firstIndex(of: path) ?? 0
            return Bytes(bytes: i < parts.count ? parts[i] : [], piece: piece)
        }) else { return }
        var records: [ConnectionRecord] = []
        guard let summary = try? reader.run({ records.append($0) }) else { return }
        precondition(records.count == summary.connections, "records and their count disagree")
        for r in records {
            precondition(r.end >= r.start, "a record ends before it starts")
            if let f = summary.first, let l = summary.last {
                precondition(f <= r.start && r.end <= l, "a record outside the logs' span")
            }
        }
        for log in summary.logs {
            precondition(log.rows >= 0 && log.skippedRows + log.unused + log.dropped + log.repeated <= log.rows,
                         "\(log.name): rows miscounted")
        }
        let conn = summary.logs[0]
        precondition(records.count == conn.rows - conn.skippedRows - conn.unused - conn.repeated,
                     "conn.log rows and records differ")
    }
}
