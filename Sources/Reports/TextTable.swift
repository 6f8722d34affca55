/// A plain-text table with aligned columns, for reports people read.
///
/// Numbers are right-aligned, text left-aligned. Cell text from a capture is
/// passed through `TextTable.sanitize` so control characters cannot move the cursor
/// or forge lines in a terminal.
public struct TextTable {
    public enum Alignment: Sendable { case left, right }

    public var headers: [String]
    public var alignments: [Alignment]
    public private(set) var rows: [[String]] = []

    public init(_ columns: [(String, Alignment)]) {
        headers = columns.map(\.0)
        alignments = columns.map(\.1)
    }

    public mutating func append(_ row: [String]) {
        var r = row.map(TextTable.sanitize)
        while r.count < headers.count { r.append("") }
        rows.append(r)
    }

    /// Replaces control characters (C0, DEL, C1) and invisible format characters (`isHiddenFormat`: bidi
    /// controls, line and paragraph separators, tag characters) with `?` and keeps everything else.
    public static func sanitize(_ s: String) -> String {
        // Usual case, one pass over the bytes: no C0 or DEL byte, and none of the bytes that lead a C1 scalar
        // (0xC2) or a hidden format character (0xD8, 0xE2, 0xEF, 0xF3).
        guard containsByte(s, where: { $0 < 0x20 || $0 == 0x7f || $0 == 0xc2 || $0 == 0xd8 || $0 == 0xe2
            || $0 == 0xef || $0 == 0xf3 }) else { return s }
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            if u.value < 0x20 || (0x7f...0x9f).contains(u.value) || isHiddenFormat(u.value) {
                out.append("?")
            } else {
                out.append(u)
            }
        }
        return String(out)
    }

    /// The table as lines. `style` may wrap a cell's padded text (row index, column index, text),
    /// e.g. to colour it; it must not change the visible width.
    ///
    /// Cost: one pass to measure the columns and one to write the lines into a byte buffer; a cell's
    /// width is its byte count when it is ASCII, else its count of characters.
    public func render(indent: String = "", style: ((Int, Int, String) -> String)? = nil) -> String {
        var columns = TextColumns(headers: headers, alignments: alignments)
        for r in rows { columns.measure(r) }
        var out: [UInt8] = []
        columns.appendHead(indent: indent, to: &out)
        for (n, r) in rows.enumerated() {
            columns.appendRow(r, indent: indent, style: style.map { style in { i, c in style(n, i, c) } }, to: &out)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// How many characters `s` shows: its byte count when every byte is ASCII (no scan of characters).
    static func width(_ s: String) -> Int {
        containsByte(s, where: { $0 >= 0x80 }) ? s.count : s.utf8.count
    }

    /// Whether a UTF-8 byte of `s` matches, scanning its contiguous bytes.
    @inline(__always)
    /// Characters that change how the text around them shows without showing themselves, so a capture's string
    /// could reorder or split a report line on screen: the bidi marks, embeddings, overrides and isolates
    /// (U+061C, U+200E-F, U+202A-E, U+2066-9), zero-width characters (U+200B-D, U+2060-4, U+FEFF), the line
    /// and paragraph separators (U+2028-9), the other invisible format characters of U+2060-206F, the
    /// interlinear annotation characters (U+FFF9-B) and the tag characters (U+E0000-E007F).
    public static func isHiddenFormat(_ v: UInt32) -> Bool {
        switch v {
        case 0x061C, 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x206F, 0xFEFF, 0xFFF9...0xFFFB, 0xE0000...0xE007F:
            return true
        default:
            return false
        }
    }

    static func containsByte(_ s: String, where match: (UInt8) -> Bool) -> Bool {
        var text = s
        return text.withUTF8 { $0.contains(where: match) }
    }
}

/// The columns of a text table whose rows are written one at a time, so no row is held: `measure` every
/// row in a first pass, then `appendHead` and `appendRow` for each row in a second. The lines are those
/// `TextTable.render` gives for the same rows. Cells are passed through `TextTable.sanitize` in both passes.
struct TextColumns {
    let headers: [String]
    let alignments: [TextTable.Alignment]
    /// Widest cell of each column so far, headers included.
    private(set) var widths: [Int]

    init(headers: [String], alignments: [TextTable.Alignment]) {
        precondition(headers.count == alignments.count, "one alignment per column")
        self.headers = headers
        self.alignments = alignments
        widths = headers.map(TextTable.width)
    }

    init(_ columns: [(String, TextTable.Alignment)]) {
        self.init(headers: columns.map(\.0), alignments: columns.map(\.1))
    }

    /// Widens the columns to fit `row`'s cells; cells past the last column are ignored.
    mutating func measure(_ row: [String]) {
        for (i, c) in row.enumerated() where i < widths.count {
            widths[i] = max(widths[i], TextTable.width(TextTable.sanitize(c)))
        }
    }

    /// The header line and the line of dashes under it.
    func appendHead(indent: String, to out: inout [UInt8]) {
        appendLine(headers, indent: indent, style: nil, to: &out)
        out.append(contentsOf: indent.utf8)
        for (i, w) in widths.enumerated() {
            if i > 0 { out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2)) }
            out.append(contentsOf: repeatElement(UInt8(ascii: "-"), count: w))
        }
        out.append(10)
    }

    /// One row's line; a missing cell is empty. `style` may wrap a cell's text (column index, text)
    /// without changing its visible width.
    func appendRow(_ row: [String], indent: String, style: ((Int, String) -> String)? = nil,
                   to out: inout [UInt8]) {
        appendLine(row.map(TextTable.sanitize), indent: indent, style: style, to: &out)
    }

    private func appendLine(_ cells: [String], indent: String, style: ((Int, String) -> String)?,
                            to out: inout [UInt8]) {
        func spaces(_ n: Int) { out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: n)) }
        out.append(contentsOf: indent.utf8)
        for i in widths.indices {
            let c = i < cells.count ? cells[i] : ""
            if i > 0 { spaces(2) }
            let pad = widths[i] - TextTable.width(c)
            let styled = style?(i, c) ?? c
            switch alignments[i] {
            case .left:
                out.append(contentsOf: styled.utf8)
                if i != widths.count - 1 { spaces(pad) }
            case .right:
                spaces(pad)
                out.append(contentsOf: styled.utf8)
            }
        }
        out.append(10)
    }
}

/// Human-readable byte counts in binary units: `512 B`, `39.5 KiB`, `1.3 MiB` (1 KiB = 1,024 bytes,
/// the convention of the reference model's sizes).
public func formatBytes(_ n: Int64) -> String {
    if n < 1024 { return "\(n) B" }
    let units = ["KiB", "MiB", "GiB", "TiB"]
    var v = Double(n) / 1024
    var u = 0
    while v >= 1024, u < units.count - 1 {
        v /= 1024
        u += 1
    }
    return "\(formatFixed(v, digits: 1)) \(units[u])"
}

/// `v` with exactly `digits` decimals (`0.010`, `10.017`, `-0.01`); `-` for NaN or infinity.
/// Fixed decimals keep a column's values comparable at a glance.
public func formatFixed(_ v: Double, digits: Int) -> String {
    guard v.isFinite else { return "-" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(v) * scale).rounded()
    guard scaled < 9e15 else { return String(v) }
    let n = Int64(scaled)
    let sign = v < 0 && n != 0 ? "-" : ""
    guard digits > 0 else { return sign + String(n) }
    let whole = n / Int64(scale)
    var frac = String(n % Int64(scale))
    while frac.count < digits { frac = "0" + frac }
    return sign + String(whole) + "." + frac
}

/// Seconds with three decimals, and for an hour or more a readable span beside them:
/// `0.003`, `10.017`, `516890.981 (5 d 23 h 34 min)`.
public func secondsText(_ s: Double) -> String {
    let text = formatFixed(s, digits: 3)
    return s.isFinite && s >= 3600 ? text + " (" + formatSeconds(s) + ")" : text
}

/// `1 client`, `2 clients`; `plural` for irregular words.
public func formatCount(_ n: Int, _ word: String, plural: String? = nil) -> String {
    "\(n) " + (n == 1 ? word : plural ?? word + "s")
}
