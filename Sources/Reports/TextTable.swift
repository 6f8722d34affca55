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

    /// Replaces control characters (C0, DEL, C1) with `?` and keeps everything else.
    public static func sanitize(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            if u.value < 0x20 || (0x7f...0x9f).contains(u.value) {
                out.append("?")
            } else {
                out.append(u)
            }
        }
        return String(out)
    }

    /// The table as lines. `style` may wrap a cell's padded text (row index, column index, text),
    /// e.g. to colour it; it must not change the visible width.
    public func render(indent: String = "", style: ((Int, Int, String) -> String)? = nil) -> String {
        var widths = headers.map(\.count)
        for r in rows {
            for (i, c) in r.enumerated() where i < widths.count {
                widths[i] = max(widths[i], c.count)
            }
        }
        func line(_ cells: [String], row: Int?) -> String {
            var parts: [String] = []
            for (i, c) in cells.enumerated() where i < widths.count {
                let pad = String(repeating: " ", count: widths[i] - c.count)
                let isLast = i == widths.count - 1
                let styled = row.flatMap { r in style?(r, i, c) } ?? c
                switch alignments[i] {
                case .left: parts.append(isLast ? styled : styled + pad)
                case .right: parts.append(pad + styled)
                }
            }
            return indent + parts.joined(separator: "  ")
        }
        var out = [line(headers, row: nil)]
        out.append(indent + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        out += rows.enumerated().map { line($0.element, row: $0.offset) }
        return out.joined(separator: "\n") + "\n"
    }
}

/// Human-readable byte counts: `512 B`, `4.2 KB`, `1.3 MB` (powers of 1000).
public func formatBytes(_ n: Int64) -> String {
    if n < 1000 { return "\(n) B" }
    let units = ["KB", "MB", "GB", "TB"]
    var v = Double(n) / 1000
    var u = 0
    while v >= 1000, u < units.count - 1 {
        v /= 1000
        u += 1
    }
    let rounded = (v * 10).rounded() / 10
    return "\(rounded) \(units[u])"
}
