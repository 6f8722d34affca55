/// Comma-separated values as RFC 4180 describes them, safe to open in a spreadsheet.
///
/// A cell holding a comma, quote, CR or LF is quoted with quotes doubled. A cell that starts
/// with `=`, `+`, `-`, `@`, tab or CR (which spreadsheets run as a formula) gets a leading `'`,
/// unless it is a plain number. Lines end with CRLF, as RFC 4180 says.
public enum CSV {
    public static func cell(_ s: String) -> String {
        var text = s
        if let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first), Double(text) == nil {
            text = "'" + text
        }
        let needsQuotes = text.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard needsQuotes else { return text }
        return "\"" + text.replacingAll("\"", with: "\"\"") + "\""
    }

    public static func line(_ cells: [String]) -> String {
        cells.map(cell).joined(separator: ",") + "\r\n"
    }

    /// A header line and one line per row.
    public static func document(header: [String], rows: [[String]]) -> String {
        line(header) + rows.map(line).joined()
    }
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation).
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for ch in self {
            if ch == target { out += replacement } else { out.append(ch) }
        }
        return out
    }
}
