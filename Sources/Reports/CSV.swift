/// Comma-separated values as RFC 4180 describes them, safe to open in a spreadsheet.
///
/// A cell holding a comma, quote, CR or LF is quoted with quotes doubled. A cell that starts
/// with `=`, `+`, `-`, `@`, tab or CR (which spreadsheets run as a formula) gets a leading `'`,
/// unless it is a plain number. Lines end with CRLF, as RFC 4180 says.
public enum CSV {
    public static func cell(_ s: String) -> String {
        var out: [UInt8] = []
        appendCell(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the text of `cell(s)` to `out`. Cost: one pass over the UTF-8 bytes for a cell that needs
    /// neither a `'` nor quotes (the usual case); the rare other one is built as a `String` first.
    public static func appendCell(_ s: String, to out: inout [UInt8]) {
        var text = s
        var plain = false
        text.withUTF8 { bytes in
            // Every character that asks for quotes or a `'` starts with one of these ASCII bytes.
            if let first = bytes.first, formulaStarts.contains(first) { return }
            // Quotes, and the bytes that start a control or hidden format character (see `shown`).
            guard !bytes.contains(where: { $0 == 0x2c || $0 == 0x22 || $0 < 0x20 || $0 == 0x7f || $0 == 0xc2
                || $0 == 0xd8 || $0 == 0xe2 || $0 == 0xef || $0 == 0xf3 }) else { return }
            out.append(contentsOf: bytes)
            plain = true
        }
        if !plain { out.append(contentsOf: slowCell(s).utf8) }
    }

    /// `=`, `+`, `-`, `@`, tab, CR.
    private static let formulaStarts: [UInt8] = [0x3d, 0x2b, 0x2d, 0x40, 0x09, 0x0d]

    /// `s` with control characters other than tab and line breaks (ESC, DEL, C1) and hidden format characters
    /// (bidirectional overrides, zero-width ones) shown as `?`, as the text report shows them: a CSV file is
    /// read in terminals and pagers too, where they would drive the terminal or reorder what is shown.
    static func shown(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            let v = u.value
            let control = (v < 0x20 && v != 0x09 && v != 0x0a && v != 0x0d) || (0x7f...0x9f).contains(v)
            out.append(control || TextTable.isHiddenFormat(v) ? "?" : u)
        }
        return String(out)
    }

    private static func slowCell(_ s: String) -> String {
        var text = shown(s)
        if let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first), Double(text) == nil {
            text = "'" + text
        }
        let needsQuotes = text.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard needsQuotes else { return text }
        return "\"" + text.replacingAll("\"", with: "\"\"") + "\""
    }

    public static func line(_ cells: [String]) -> String {
        var out: [UInt8] = []
        appendLine(cells, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the text of `line(cells)` to `out`.
    public static func appendLine(_ cells: [String], to out: inout [UInt8]) {
        for (i, c) in cells.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            appendCell(c, to: &out)
        }
        JSONText.append("\r\n", to: &out)
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
