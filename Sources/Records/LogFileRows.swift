/// What was read from one log of an input of records (a Zeek `conn.log`, `http.log` or `ssl.log`): how many
/// rows, and which were skipped and why. Reports show it where a capture's packet counts would be.
///
/// In `Records`, not beside the reader, so that `Analysis.CaptureSummary` (what the reports describe their
/// inputs with) can carry it without depending on the reader.
public struct LogFileRows: Hashable, Sendable {
    /// Rows of one kind that were left out, with the first line that gave that reason.
    public struct Skipped: Hashable, Sendable {
        public var reason: String
        public var rows: Int
        public var firstLine: Int

        public init(reason: String, rows: Int, firstLine: Int) {
            self.reason = reason
            self.rows = rows
            self.firstLine = firstLine
        }
    }

    /// The log's name (`conn.log`).
    public var name: String
    /// The file read, or nil when the log was not there (an input without `ssl.log`, say).
    public var path: String?
    /// `tsv` or `json`, or empty when nothing was read.
    public var form: String
    /// Data rows read (header and comment lines not counted), the skipped ones included, a cut last line not.
    public var rows = 0
    /// Rows left out as odd, by reason, in the order each reason first came.
    public var skipped: [Skipped] = []
    /// Rows that were read but not used: conn.log rows of other protocols than TCP, and http.log or ssl.log
    /// rows whose connection has no conn.log row.
    public var unused = 0
    /// http.log or ssl.log rows let go unjoined while waiting for their connection's conn.log row, past the
    /// rows a log may hold (`ZeekConnections.holdAtMost`).
    public var dropped = 0
    /// conn.log rows whose `uid` an earlier row had (a log appended twice): counted, not a second connection.
    public var repeated = 0
    /// The line number of a last line cut short (no line end, and not a whole row): a log still being
    /// written, not counted as skipped.
    public var cutLastLine: Int?

    public init(name: String, path: String?, form: String = "") {
        self.name = name
        self.path = path
        self.form = form
    }

    /// All the rows skipped as odd.
    public var skippedRows: Int { skipped.reduce(0) { $0 + $1.rows } }

    /// Counts a skipped row at `line` for `reason`.
    public mutating func skip(_ reason: String, line: Int) {
        if let i = skipped.firstIndex(where: { $0.reason == reason }) {
            skipped[i].rows += 1
        } else {
            skipped.append(Skipped(reason: reason, rows: 1, firstLine: line))
        }
    }
}
