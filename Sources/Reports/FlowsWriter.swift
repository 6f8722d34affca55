import Analysis
import Core

/// Writes the `sepbeat flows` report while the captures are read: a row per connection as connections end,
/// in id order, then the number of connections and the capture summary (known only at the end).
///
/// Connections end out of id order (a long one after many that began later), so a row waits in a reorder
/// window until every lower id has ended or was left out (`leftOut`: a copy of a connection captured twice).
/// When more than `window` rows wait, the lowest goes out and the lower ids still open are passed over: each
/// is written when it ends, after higher ids, and counted (`listedLate`, said after the rows). Memory: the
/// window's records and, for text, the first `measuredRows` rows (the table's columns are measured over
/// them before its head is written), whatever the number of connections.
///
/// Text: the table's head, each row with its detail lines (`--http`, `--tls`, a tunnel) under it, indented;
/// a later row wider than its column widens the column and is preceded by a blank line and the head again.
/// JSON (`sepbeat-flows/1`): `schema`, `connections`, `connectionsListedLate`, `captures`.
public final class FlowsWriter {
    public enum Format: Sendable {
        case text
        case json
    }

    public static let schema = "sepbeat-flows/1"
    /// Rows that may wait for a lower id: 16,384 (about 10 MB of records without `--http`/`--tls`).
    public static let defaultWindow = 16_384
    /// Rows the text table's columns are measured over before its head is written: 4,096.
    public static let defaultMeasuredRows = 4_096

    private let format: Format
    private let rows: FlowRows
    private let window: Int
    private let measuredRows: Int
    private let chunkSize: Int
    private let sink: ([UInt8]) throws -> Void
    private var out = TextBytes()
    /// Rows waiting for a lower id, by id; nil for an id left out.
    private var held = KeyedMinHeap<CompletedConnection?>()
    /// The lowest id not written, left out or passed over yet.
    private var next: UInt64 = 1
    /// Rows written so far.
    public private(set) var written = 0
    /// Rows written after a higher id (their id was passed over while they were open).
    public private(set) var listedLate = 0
    /// Text: rows before the table's head, while its columns are measured.
    private var measuring: [CompletedConnection] = []
    /// Text: the table, once its head is written.
    private var columns: TextColumns?
    /// JSON: the opening members are written.
    private var opened = false

    /// `sink` gets the report's bytes in order, in pieces of about `chunkSize` bytes.
    public init(format: Format, showHTTP: Bool, showTLS: Bool, window: Int = FlowsWriter.defaultWindow,
                measuredRows: Int = FlowsWriter.defaultMeasuredRows, chunkSize: Int = 1 << 16,
                sink: @escaping ([UInt8]) throws -> Void) {
        self.format = format
        self.rows = FlowRows(showHTTP: showHTTP, showTLS: showTLS)
        self.window = max(0, window)
        self.measuredRows = max(1, measuredRows)
        self.chunkSize = chunkSize
        self.sink = sink
        out.bytes.reserveCapacity(min(chunkSize, 1 << 20) + 4_096)
    }

    /// A connection that ended.
    public func add(_ c: CompletedConnection) throws {
        let id = c.record.id
        guard id >= next else {
            // Passed over while it was open: later ids are out already.
            listedLate += 1
            try write(c)
            return
        }
        held.push(Int64(truncatingIfNeeded: id), c)
        try release()
    }

    /// An id no connection will be added for (a copy of a connection captured twice).
    public func leftOut(id: UInt64) throws {
        guard id >= next else { return }
        held.push(Int64(truncatingIfNeeded: id), nil)
        try release()
    }

    /// Writes what is held, in id order, then the number of connections and `captures`' summaries, and
    /// hands the last bytes to the sink.
    public func finish(captures: [CaptureSummary]) throws {
        while let e = held.pop() {
            if let c = e.element { try write(c) }
        }
        switch format {
        case .text: try finishText(captures)
        case .json: try finishJSON(captures)
        }
        if !out.bytes.isEmpty { try sink(out.bytes) }
        out.bytes = []
    }

    /// Writes the held rows whose turn has come: the lowest while it is `next`, and the lowest whatever its
    /// id while more than `window` wait.
    private func release() throws {
        while let key = held.minimumKey {
            let id = UInt64(truncatingIfNeeded: key)
            guard id == next || held.count > window, let e = held.pop() else { return }
            next = id + 1
            if let c = e.element { try write(c) }
        }
    }

    private func write(_ c: CompletedConnection) throws {
        written += 1
        switch format {
        case .json:
            if !opened { openJSON() }
            if written > 1 { out.bytes.append(UInt8(ascii: ",")) }
            JSONText.appendNewline(level: 2, to: &out.bytes)
            try PrettyJSONEncoder.append(rows.connectionJSON(c), level: 2, to: &out.bytes)
        case .text:
            guard columns != nil else {
                measuring.append(c)
                if measuring.count >= measuredRows { startTable() }
                return
            }
            appendRow(c)
        }
        try flush()
    }

    /// Hands the bytes on once a chunk is full.
    private func flush() throws {
        guard out.bytes.count > chunkSize else { return }
        try sink(out.bytes)
        out.bytes.removeAll(keepingCapacity: true)
    }

    // MARK: - Text

    /// The head, measured over the rows held back for it, and those rows.
    private func startTable() {
        var table = TextColumns(FlowRows.columns)
        for c in measuring { table.measure(FlowRows.cells(c.record)) }
        table.appendHead(indent: "", to: &out.bytes)
        columns = table
        let rowsHeld = measuring
        measuring = []
        for c in rowsHeld { appendRow(c) }
    }

    private func appendRow(_ c: CompletedConnection) {
        guard var table = columns else { return }
        let cells = FlowRows.cells(c.record)
        let before = table.widths
        table.measure(cells)
        // The last column is not padded: only a wider one before it moves the columns after it.
        if table.widths.dropLast() != before.dropLast() {
            out.bytes.append(10)
            table.appendHead(indent: "", to: &out.bytes)
        }
        table.appendRow(cells, indent: "", to: &out.bytes)
        columns = table
        for line in rows.detailLines(c) {
            out += line
            out.bytes.append(10)
        }
    }

    private func finishText(_ captures: [CaptureSummary]) throws {
        if columns == nil, !measuring.isEmpty { startTable() }
        if written > 0 { out.bytes.append(10) }
        out += "\(written) TCP connection" + (written == 1 ? "" : "s") + "\n"
        if listedLate > 0 {
            out += "\(listedLate) of them listed out of id order, when they ended: each was still open while more "
                + "than \(window) connections after it had ended\n"
        }
        for s in captures {
            out.bytes.append(10)
            out += CaptureSummaryReport.text(s)
            try flush()
        }
        if captures.count > 1 {
            out.bytes.append(10)
            out += CaptureSummaryReport.totalText(captures)
        }
    }

    // MARK: - JSON

    /// `{`, the schema, and the start of the connections' list.
    private func openJSON() {
        opened = true
        out.bytes.append(UInt8(ascii: "{"))
        member("schema")
        out += "\"" + Self.schema + "\","
        member("connections")
        out.bytes.append(UInt8(ascii: "["))
    }

    private func member(_ key: String) {
        JSONText.appendNewline(level: 1, to: &out.bytes)
        out.bytes += JSONText.memberHead(key)
    }

    private func finishJSON(_ captures: [CaptureSummary]) throws {
        if !opened { openJSON() }
        // An empty list as the encoder writes one: `[`, an empty line, `]`.
        if written == 0 { out.bytes.append(10) }
        JSONText.appendNewline(level: 1, to: &out.bytes)
        out.bytes.append(UInt8(ascii: "]"))
        out.bytes.append(UInt8(ascii: ","))
        member("connectionsListedLate")
        try PrettyJSONEncoder.append(JSONValue.int(listedLate), level: 1, to: &out.bytes)
        out.bytes.append(UInt8(ascii: ","))
        member("captures")
        try PrettyJSONEncoder.append(captures.map(CaptureSummaryReport.json), level: 1, to: &out.bytes)
        JSONText.append("\n}\n", to: &out.bytes)
    }
}
