import Core
import Records
import Testing
import ZeekLogs

/// Bytes of a log held in memory, handed out in small pieces so that lines cross the pieces' edges.
struct MemorySource: ZeekByteSource {
    var bytes: [UInt8]
    var at = 0
    var piece = 7

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(piece, buffer.count, bytes.count - at)
        for i in 0..<n { buffer[i] = bytes[at + i] }
        at += n
        return n
    }
}

/// Reads logs given as text by name (`conn.log`, `http.log`, `ssl.log`; a log left out is not there).
func readLogs(_ logs: [String: String]) throws -> (records: [ConnectionRecord], summary: ZeekConnections.Summary) {
    let paths = ZeekConnections.Paths(conn: "conn.log", http: logs["http.log"].map { _ in "http.log" },
                                      ssl: logs["ssl.log"].map { _ in "ssl.log" })
    let input = try ZeekConnections(paths) { path in MemorySource(bytes: Array((logs[path] ?? "").utf8)) }
    var records: [ConnectionRecord] = []
    let summary = try input.run { records.append($0) }
    return (records, summary)
}

/// A tab-separated log with Zeek's header lines, the fields and rows given (columns split by spaces in `rows`).
func tsvLog(_ path: String, fields: String, rows: [String], close: Bool = true) -> String {
    let names = fields.split(separator: " ")
    var out = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t\(path)\n"
    out += "#open\t2026-12-01-00-00-00\n#fields\t" + names.joined(separator: "\t") + "\n"
    out += "#types\t" + names.map { _ in "string" }.joined(separator: "\t") + "\n"
    for row in rows { out += row.split(separator: " ").joined(separator: "\t") + "\n" }
    if close { out += "#close\t2026-12-01-01-00-00\n" }
    return out
}

let connFields = "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes resp_bytes "
    + "conn_state history orig_pkts resp_pkts"
let httpFields = "ts uid id.orig_h id.orig_p id.resp_h id.resp_p trans_depth method host uri version user_agent "
    + "request_body_len response_body_len status_code status_msg"
let sslFields = "ts uid id.orig_h id.orig_p id.resp_h id.resp_p version cipher server_name established"

/// `s` seconds and `ms` milliseconds after the epoch, exactly.
func time(_ s: Int64, ms: Int64 = 0) -> Timestamp { Timestamp(seconds: s, nanoseconds: ms * 1_000_000) }
