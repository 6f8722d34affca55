import Foundation
import Records

/// One Zeek log read a row at a time, in either of Zeek's forms, told by its first line: tab-separated
/// with `#` header lines (`#separator`, `#fields` and the others), or JSON lines (one object per row).
///
/// The caller names the fields it wants; each row comes out as their values in that order, as text (nil
/// when unset or absent, empty for an empty set). Fields may stand in any order and others are ignored.
/// A log without one of the `required` fields, a tab-separated row before any `#fields`, and a first line of
/// neither form are errors (`ZeekLogError`); a row with the wrong number of columns or that is no JSON
/// object is counted as skipped (`rows`) and reading goes on.
final class ZeekLogReader {
    enum Form: String {
        case tsv
        case json
    }

    struct Row {
        var line: Int
        var values: [String?]
        /// The file ended before this row's line end: a log still being written may have cut it.
        var unterminated: Bool
    }

    let path: String
    private(set) var rows: LogFileRows
    private let fields: [String]
    private let required: [String]
    private var lines: LineSource
    private(set) var form: Form?
    // The tab-separated form's header, as the latest header lines set it.
    private var separator = "\t"
    private var setSeparator = ","
    private var emptyField = "(empty)"
    private var unsetField = "-"
    /// Per wanted field, its column; nil until `#fields` came.
    private var columns: [Int?]?
    private var columnCount = 0

    init(name: String, path: String, source: any ZeekByteSource, fields: [String], required: [String]) {
        self.path = path
        self.rows = LogFileRows(name: name, path: path)
        self.fields = fields
        self.required = required
        self.lines = LineSource(source)
    }

    /// The next data row, or nil at the end of the log.
    func next() throws -> Row? {
        while let line = try lines.next() {
            if line.text.isEmpty { continue }
            if form == nil {
                form = try Self.form(of: line, path: path)
                rows.form = form?.rawValue ?? ""
            }
            if line.text.hasPrefix("#") {
                // JSON logs have no header lines; a `#` line there is a comment.
                if form == .tsv { try header(line) }
                continue
            }
            rows.rows += 1
            if line.tooLong {
                reject(line.number, unterminated: line.unterminated,
                       "longer than \(LineSource.maximumLineBytes) bytes")
                continue
            }
            if let values = try values(line) {
                return Row(line: line.number, values: values, unterminated: line.unterminated)
            }
        }
        return nil
    }

    /// Counts `row` as skipped for `reason`, unless it is a last line the file ended inside (a log being
    /// written): that is noted apart, as no odd row.
    func reject(_ row: Row, _ reason: String) {
        reject(row.line, unterminated: row.unterminated, reason)
    }

    /// Counts a row read but not used (see `LogFileRows.unused`).
    func leaveOut() {
        rows.unused += 1
    }

    /// Counts rows let go while waiting for their connection (see `LogFileRows.dropped`).
    func noteDropped(_ n: Int) {
        rows.dropped += n
    }

    /// Counts a row whose connection was read before (see `LogFileRows.repeated`).
    func noteRepeated() {
        rows.repeated += 1
    }

    private func reject(_ line: Int, unterminated: Bool, _ reason: String) {
        if unterminated {
            // Not a row yet: the writer has more of it to come.
            rows.rows -= 1
            rows.cutLastLine = line
        } else {
            rows.skip(reason, line: line)
        }
    }

    private static func form(of line: LineSource.Line, path: String) throws -> Form {
        if line.text.hasPrefix("#") { return .tsv }
        let head = Array(line.text.utf8.prefix(3))
        if head.first == 0x1f || head.starts(with: Array("BZh".utf8)) || head.starts(with: [0xfd, 0x37]) {
            throw ZeekLogError(path: path, line: line.number,
                               "a compressed file, read as plain text here: decompress it first (gunzip -k)")
        }
        if line.text.drop(while: { $0 == " " || $0 == "\t" }).hasPrefix("{") { return .json }
        throw ZeekLogError(path: path, line: line.number,
                           "neither a Zeek log in tab-separated form (its first line starts with '#separator') "
                           + "nor in JSON lines (each line an object)")
    }

    // MARK: - Tab-separated form

    private func header(_ line: LineSource.Line) throws {
        let text = line.text
        if text.hasPrefix("#separator") {
            // The one header line written with a space, whatever the separator.
            let value = text.dropFirst("#separator".count).drop { $0 == " " }
            let separator = Self.unescape(String(value))
            guard !separator.isEmpty else {
                throw ZeekLogError(path: path, line: line.number, "#separator names no separator")
            }
            self.separator = separator
            return
        }
        let parts = text.components(separatedBy: separator)
        guard let key = parts.first else { return }
        let values = Array(parts.dropFirst())
        switch key {
        case "#set_separator": setSeparator = values.first.map(Self.unescape) ?? setSeparator
        case "#empty_field": emptyField = values.first ?? emptyField
        case "#unset_field": unsetField = values.first ?? unsetField
        case "#fields": try fieldsHeader(values, line: line.number)
        default: break
        }
    }

    private func fieldsHeader(_ names: [String], line: Int) throws {
        var index: [String: Int] = [:]
        for (i, name) in names.enumerated() where index[name] == nil { index[name] = i }
        let missing = required.filter { index[$0] == nil }
        guard missing.isEmpty else {
            throw ZeekLogError(path: path, line: line, "#fields lacks " + missing.joined(separator: ", ")
                + " (is this a \(rows.name)?)")
        }
        columns = fields.map { index[$0] }
        columnCount = names.count
    }

    private func values(_ line: LineSource.Line) throws -> [String?]? {
        switch form {
        case .json:
            let members: [String: String?]
            do {
                members = try JSONLine.members(line.text)
            } catch {
                reject(line.number, unterminated: line.unterminated, error.reason)
                return nil
            }
            for name in required where (members[name] ?? nil) == nil {
                reject(line.number, unterminated: line.unterminated, "no \(name)")
                return nil
            }
            return fields.map { members[$0] ?? nil }
        case .tsv, nil:
            guard let columns else {
                throw ZeekLogError(path: path, line: line.number, "a row before the #fields header line")
            }
            let parts = Self.columns(line.text, separator)
            guard parts.count == columnCount else {
                reject(line.number, unterminated: line.unterminated,
                       "\(parts.count) columns where #fields names \(columnCount)")
                return nil
            }
            return columns.map { column in
                guard let column else { return nil }
                let value = parts[column]
                if value == unsetField { return nil }
                if value == emptyField { return "" }
                // A backslash is rare: the escapes are looked for only then.
                let text = value.utf8.contains(UInt8(ascii: "\\")) ? Self.unescape(String(value)) : String(value)
                // Sets are read as text with commas between their elements, as the JSON form gives them.
                return setSeparator == "," ? text : text.replacingOccurrences(of: setSeparator, with: ",")
            }
        }
    }

    /// The columns of a tab-separated row: split on the bytes when the separator is one byte (a tab, almost
    /// always), which is several times faster than Foundation's search.
    static func columns(_ text: String, _ separator: String) -> [Substring] {
        guard separator.utf8.count == 1, let byte = separator.utf8.first else {
            return text.components(separatedBy: separator).map { Substring($0) }
        }
        return text.utf8.split(separator: byte, omittingEmptySubsequences: false).map { Substring($0) }
    }

    /// Zeek's `\xHH` escapes turned back into their bytes (a byte that is no UTF-8 becomes U+FFFD).
    static func unescape(_ text: String) -> String {
        guard text.contains("\\x") else { return text }
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count, bytes[i + 1] == UInt8(ascii: "x"),
               let v = UInt8(String(decoding: bytes[i + 2...i + 3], as: UTF8.self), radix: 16) {
                out.append(v)
                i += 4
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
