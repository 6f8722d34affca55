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
        // Usual case, one pass over the bytes: no C0 or DEL byte, and no 0xC2, which leads every C1 scalar.
        guard s.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f || $0 == 0xc2 }) else { return s }
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
