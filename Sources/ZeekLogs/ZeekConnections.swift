import Core
import Foundation
import Records

/// Zeek's conn.log, http.log and ssl.log read together into one `ConnectionRecord` per TCP row of conn.log,
/// its exchanges from the http.log rows and its `TLSSummary` from the ssl.log row of the same `uid`.
///
/// Zeek writes a connection's conn.log row when the connection ends, after its http.log and ssl.log rows.
/// So conn.log leads: before each of its rows, http.log and ssl.log are read on up to that connection's end
/// (and `lookAhead` more, for rows written a little out of order), and their rows wait by uid until their
/// connection's row comes. Memory follows the connections open at once, not the logs' length. Rows whose
/// connection never comes are counted as unused.
public final class ZeekConnections {
    /// The logs of a folder: conn.log, and http.log and ssl.log when there.
    public struct Paths: Sendable {
        public var conn: String
        public var http: String?
        public var ssl: String?

        public init(conn: String, http: String? = nil, ssl: String? = nil) {
            self.conn = conn
            self.http = http
            self.ssl = ssl
        }

        /// The logs in `directory`; throws when it holds no conn.log. Each log may be compressed as Zeek's
        /// rotation leaves it (`conn.log.gz`, or `.xz`, `.bz2`): read through a decompressing `ZeekByteSource`
        /// (the command line's), as a plain file one is refused by its first bytes.
        public init(directory: String) throws {
            let files = FileManager.default
            var isDirectory: ObjCBool = false
            guard files.fileExists(atPath: directory, isDirectory: &isDirectory) else {
                throw ZeekLogError(path: directory, "no such folder")
            }
            guard isDirectory.boolValue else {
                throw ZeekLogError(path: directory, "not a folder (--zeek names the folder holding conn.log)")
            }
            func log(_ name: String) -> String? {
                ["", ".gz", ".xz", ".bz2"].lazy.map { (directory as NSString).appendingPathComponent(name + $0) }
                    .first { files.fileExists(atPath: $0) }
            }
            guard let conn = log("conn.log") else { throw ZeekLogError(path: directory, "holds no conn.log") }
            self.init(conn: conn, http: log("http.log"), ssl: log("ssl.log"))
        }
    }

    /// What reading the logs gave, for the reports.
    public struct Summary: Hashable, Sendable {
        /// conn.log, http.log and ssl.log, in that order (a log not given has no path).
        public var logs: [LogFileRows]
        /// The earliest start and latest end of the records given out.
        public var first: Timestamp?
        public var last: Timestamp?
        public var connections = 0
    }

    /// How far past a connection's end http.log and ssl.log are read before its conn.log row is joined.
    static let lookAhead: Int64 = 60_000_000_000

    private let conn: ZeekLogReader
    private let http: ZeekLogReader?
    private let ssl: ZeekLogReader?
    private var httpAhead: HTTPRow?
    private var sslAhead: SSLRow?
    private var waitingHTTP: [String: [HTTPRow]] = [:]
    private var waitingSSL: [String: SSLRow] = [:]
    private let httpName = "http.log"
    private let sslName = "ssl.log"

    /// Opens the logs (through `open`, a plain file by default); throws `ZeekLogError` for one that cannot be.
    public init(_ paths: Paths, open: (String) throws -> any ZeekByteSource = { try ZeekFileSource(path: $0) }) throws {
        conn = ZeekLogReader(name: "conn.log", path: paths.conn, source: try open(paths.conn),
                             fields: ConnField.names, required: ConnField.required)
        http = try paths.http.map {
            ZeekLogReader(name: "http.log", path: $0, source: try open($0), fields: HTTPField.names,
                          required: HTTPField.required)
        }
        ssl = try paths.ssl.map {
            ZeekLogReader(name: "ssl.log", path: $0, source: try open($0), fields: SSLField.names,
                          required: SSLField.required)
        }
    }

    /// Hands out each TCP connection of conn.log, in its order, as a record; then reads the rest of http.log
    /// and ssl.log to count their rows. Throws `ZeekLogError` for a log that cannot be read.
    public func run(_ body: (ConnectionRecord) throws -> Void) throws -> Summary {
        var summary = Summary(logs: [])
        var id: UInt64 = 0
        while let row = try conn.next() {
            guard let c = ConnRow(row, reader: conn) else { continue }
            guard c.proto == nil || c.proto == "tcp" else {
                conn.leaveOut()
                continue
            }
            let horizon = c.end.adding(nanoseconds: Self.lookAhead)
            try readHTTP(upTo: horizon)
            try readSSL(upTo: horizon)
            let record = c.record(id: id, http: waitingHTTP.removeValue(forKey: c.uid) ?? [],
                                  ssl: waitingSSL.removeValue(forKey: c.uid))
            id += 1
            summary.connections += 1
            summary.first = min(summary.first ?? record.start, record.start)
            summary.last = max(summary.last ?? record.end, record.end)
            try body(record)
        }
        try readHTTP(upTo: nil)
        try readSSL(upTo: nil)
        let unjoinedHTTP = waitingHTTP.values.reduce(0) { $0 + $1.count }
        for _ in 0..<unjoinedHTTP { http?.leaveOut() }
        for _ in waitingSSL { ssl?.leaveOut() }
        waitingHTTP = [:]
        waitingSSL = [:]
        summary.logs = [conn.rows, http?.rows ?? LogFileRows(name: httpName, path: nil),
                        ssl?.rows ?? LogFileRows(name: sslName, path: nil)]
        return summary
    }

    // MARK: - Reading ahead

    /// Reads http.log on while its rows are at or before `horizon` (all of it for nil), filing them by uid.
    private func readHTTP(upTo horizon: Timestamp?) throws {
        while true {
            if let ahead = httpAhead {
                if let horizon, ahead.time > horizon { return }
                waitingHTTP[ahead.uid, default: []].append(ahead)
                httpAhead = nil
            }
            guard let http, let row = try http.next() else { return }
            httpAhead = HTTPRow(row, reader: http)
        }
    }

    /// Reads ssl.log on as `readHTTP` does http.log (a connection has one ssl.log row; a second keeps the first).
    private func readSSL(upTo horizon: Timestamp?) throws {
        while true {
            if let ahead = sslAhead {
                if let horizon, ahead.time > horizon { return }
                if waitingSSL[ahead.uid] == nil { waitingSSL[ahead.uid] = ahead } else { ssl?.leaveOut() }
                sslAhead = nil
            }
            guard let ssl, let row = try ssl.next() else { return }
            sslAhead = SSLRow(row, reader: ssl)
        }
    }
}
