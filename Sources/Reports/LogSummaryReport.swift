import Analysis
import Core
import Records

/// Text and JSON for an input of Zeek logs (`CaptureSummary.logs`), where a capture's summary would be: the
/// rows each log gave and skipped, the span of the connections, and, once, what the logs cannot tell.
public enum LogSummaryReport {
    /// What Zeek's logs do not carry, and so what is not judged (docs/architecture.md, "Zeek logs").
    public static let notInLogs = "Zeek's logs keep no times within a connection, no stream losses and no TLS "
        + "record-layer version: steps 3-6 of HTTPS check-ins and the sizes per step are not judged (the "
        + "connections' totals are), there are no loss findings, and TLS versions come from ssl.log's version"
    /// Said after `notInLogs` when the folder has no http.log.
    public static let noHTTPLog = "without http.log the requests of plain-HTTP check-ins are unknown: their steps "
        + "3-6 are not judged either"

    /// What is not judged for an input of these logs: `notInLogs`, and `noHTTPLog` when http.log is not there.
    public static func notJudged(_ logs: [LogFileRows]) -> String {
        let noHTTP = logs.contains { $0.name == "http.log" && $0.path == nil }
        return notInLogs + (noHTTP ? "; " + noHTTPLog : "")
    }

    public static func text(_ s: CaptureSummary, logs: [LogFileRows]) -> String {
        let connections = logs.first.map { $0.rows - $0.skippedRows - $0.unused - $0.repeated } ?? 0
        var out = "\(TextTable.sanitize(s.path)): Zeek logs, \(formatCount(connections, "TCP connection"))"
        if let f = s.first, let l = s.last {
            out += ", \(f.rfc3339(fractionDigits: 6)) to \(l.rfc3339(fractionDigits: 6))"
            out += " (\(formatSeconds(s.duration)))"
        }
        out += "\n"
        for log in logs {
            out += "  " + log.name + ": " + (log.path == nil ? "not there" : rowsText(log)) + "\n"
        }
        return out + "  not judged: " + notJudged(logs) + "\n"
    }

    /// `tsv, 12 rows, 2 unused, 1 skipped (4 columns where #fields names 15: 1, first at line 10)`.
    static func rowsText(_ log: LogFileRows) -> String {
        var parts = [(log.form.isEmpty ? "" : log.form + ", ") + formatCount(log.rows, "row")]
        if log.unused > 0 { parts.append("\(log.unused) unused (\(unusedWhy(log)))") }
        if log.repeated > 0 { parts.append("\(log.repeated) repeated (a uid read before: a log given twice?)") }
        if log.dropped > 0 {
            parts.append("\(log.dropped) dropped (left waiting for a conn.log row past the rows a log may hold)")
        }
        if !log.skipped.isEmpty {
            let reasons = log.skipped.map { "\($0.reason): \($0.rows), first at line \($0.firstLine)" }
            parts.append("\(log.skippedRows) skipped (" + reasons.joined(separator: "; ") + ")")
        }
        if let cut = log.cutLastLine { parts.append("last line \(cut) cut short (a log being written), not read") }
        return TextTable.sanitize(parts.joined(separator: ", "))
    }

    static func unusedWhy(_ log: LogFileRows) -> String {
        log.name == "conn.log" ? "not TCP" : log.name == "ssl.log" ? "no conn.log row, or a second ssl.log row"
            : "no conn.log row"
    }

    public static func json(_ s: CaptureSummary, logs: [LogFileRows]) -> JSONValue {
        .object([
            ("path", .string(s.path)),
            ("format", .string("zeek")),
            ("start", .optionalTime(s.first)),
            ("end", .optionalTime(s.last)),
            ("durationSeconds", .number(s.duration)),
            ("logs", .array(logs.map { log in
                var members: [(String, JSONValue)] = [
                    ("name", .string(log.name)),
                    ("path", log.path.map { .string($0) } ?? .null),
                    ("form", .string(log.form)),
                    ("rows", .int(log.rows)),
                    ("unused", .int(log.unused)),
                    ("skippedRows", .int(log.skippedRows)),
                    ("skipped", .array(log.skipped.map { k in
                        .object([("reason", .string(k.reason)), ("rows", .int(k.rows)),
                                 ("firstLine", .int(k.firstLine))])
                    })),
                ]
                if let cut = log.cutLastLine { members.append(("cutLastLine", .int(cut))) }
                if log.repeated > 0 { members.append(("repeated", .int(log.repeated))) }
                if log.dropped > 0 { members.append(("dropped", .int(log.dropped))) }
                return .object(members)
            })),
            ("notJudged", .string(notJudged(logs))),
        ])
    }
}
