import Core
import Foundation
import Records

/// Zeek's conn.log, http.log and ssl.log read together into one `ConnectionRecord` per TCP row of conn.log,
/// its exchanges from the http.log rows and its `TLSSummary` from the ssl.log row of the same `uid`.
///
/// Zeek writes a connection's conn.log row when the connection ends, after its http.log and ssl.log rows.
/// So conn.log leads: before each of its rows, http.log and ssl.log are read on at least up to that
/// connection's end (and `lookAhead` more, for rows written a little out of order), and on past it while
/// fewer than `readAhead` rows wait (a row far ahead in time, or hourly blocks appended out of order, do not
/// stop the joins of the rows after them); their rows wait by uid until their connection's row comes. At most
/// `holdAtMost` rows of a log wait: past that the oldest is let go and counted as dropped, so rows whose
/// connection never comes cannot hold memory without bound. Rows still waiting at conn.log's end, and the rows
/// after, are counted as unused. A conn.log row whose uid came before (a log appended twice) is counted as
/// repeated and gives no second record.
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
        /// The span of the records on the logs' clock: `first` and `last` without the records set apart in
        /// `offClock`.
        public var clockFirst: Timestamp?
        public var clockLast: Timestamp?
        /// Records dated far from the rest (a row a decade away): a few starting more than a day from any other
        /// record, fewer than a quarter of the rest's, as a capture sets apart packets stamped off its clock.
        public var offClock: [OffClockStretch] = []
    }

    /// How far past a connection's end http.log and ssl.log are read before its conn.log row is joined.
    static let lookAhead: Int64 = 60_000_000_000
    /// Rows of a log that may wait before reading stops at a row past the current connection (about 400 bytes
    /// each): how far out of order a log's rows may come and still be joined.
    public static let readAhead = 20_000
    /// Rows of a log that may wait at most; past that the oldest is dropped.
    public static let holdAtMost = 50_000

    private let conn: ZeekLogReader
    private let http: ZeekLogReader?
    private let ssl: ZeekLogReader?
    private let readAhead: Int
    private var httpAhead: HTTPRow?
    private var sslAhead: SSLRow?
    private var waitingHTTP: WaitingRows<HTTPRow>
    private var waitingSSL: WaitingRows<SSLRow>
    /// The uids of conn.log's TCP rows read, hashed (8 bytes each, rather than the uid's text).
    private var seen: Set<UInt64> = []
    private var clock = ClockHours()
    private let httpName = "http.log"
    private let sslName = "ssl.log"

    /// Opens the logs (through `open`, a plain file by default); throws `ZeekLogError` for one that cannot be.
    /// `readAhead` and `holdAtMost` bound the rows of http.log and ssl.log waiting for their connection.
    public init(_ paths: Paths, readAhead: Int = ZeekConnections.readAhead,
                holdAtMost: Int = ZeekConnections.holdAtMost,
                open: (String) throws -> any ZeekByteSource = { try ZeekFileSource(path: $0) }) throws {
        self.readAhead = readAhead
        waitingHTTP = WaitingRows(limit: holdAtMost)
        waitingSSL = WaitingRows(limit: holdAtMost)
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
            guard seen.insert(Self.hash(c.uid)).inserted else {
                conn.noteRepeated()
                continue
            }
            let horizon = c.end.adding(nanoseconds: Self.lookAhead)
            try readHTTP(upTo: horizon)
            try readSSL(upTo: horizon)
            let record = c.record(id: id, http: waitingHTTP.take(c.uid), ssl: waitingSSL.take(c.uid).first,
                                  requestsKnown: http != nil)
            id += 1
            summary.connections += 1
            summary.first = min(summary.first ?? record.start, record.start)
            summary.last = max(summary.last ?? record.end, record.end)
            clock.note(start: record.start, end: record.end)
            try body(record)
        }
        // No row read from here on can be joined: each is counted, none kept.
        for _ in 0..<waitingHTTP.count { http?.leaveOut() }
        for _ in 0..<waitingSSL.count { ssl?.leaveOut() }
        waitingHTTP.removeAll()
        waitingSSL.removeAll()
        if let http {
            if httpAhead != nil { http.leaveOut() }
            while let row = try http.next() {
                if HTTPRow(row, reader: http) != nil { http.leaveOut() }
            }
        }
        if let ssl {
            if sslAhead != nil { ssl.leaveOut() }
            while let row = try ssl.next() {
                if SSLRow(row, reader: ssl) != nil { ssl.leaveOut() }
            }
        }
        httpAhead = nil
        sslAhead = nil
        (summary.clockFirst, summary.clockLast, summary.offClock) = clock.apart()
        summary.logs = [conn.rows, http?.rows ?? LogFileRows(name: httpName, path: nil),
                        ssl?.rows ?? LogFileRows(name: sslName, path: nil)]
        return summary
    }

    /// FNV-1a of a uid: the same for the same text in every run (Swift's `Hasher` is seeded per process).
    static func hash(_ uid: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in uid.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return h
    }

    // MARK: - Reading ahead

    /// Reads http.log on while its rows are at or before `horizon`, and past it while fewer than `readAhead`
    /// rows wait, filing them by uid.
    private func readHTTP(upTo horizon: Timestamp) throws {
        guard let http else { return }
        while true {
            if let ahead = httpAhead {
                if ahead.time > horizon, waitingHTTP.count >= readAhead { return }
                http.noteDropped(waitingHTTP.add(ahead, uid: ahead.uid))
                httpAhead = nil
            }
            guard let row = try http.next() else { return }
            httpAhead = HTTPRow(row, reader: http)
        }
    }

    /// Reads ssl.log on as `readHTTP` does http.log (a connection has one ssl.log row; a second keeps the first).
    private func readSSL(upTo horizon: Timestamp) throws {
        guard let ssl else { return }
        while true {
            if let ahead = sslAhead {
                if ahead.time > horizon, waitingSSL.count >= readAhead { return }
                if waitingSSL.contains(ahead.uid) {
                    ssl.leaveOut()
                } else {
                    ssl.noteDropped(waitingSSL.add(ahead, uid: ahead.uid))
                }
                sslAhead = nil
            }
            guard let row = try ssl.next() else { return }
            sslAhead = SSLRow(row, reader: ssl)
        }
    }
}
