/// Builds bytes from hex text; spaces, newlines and `#` comments to end of line are ignored.
///
///     bytes("45 00 00 28  # IPv4, IHL 5, total length 40")
public func bytes(_ hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var nibble: UInt8? = nil
    var inComment = false
    for c in hex.utf8 {
        if inComment {
            if c == 10 { inComment = false }
            continue
        }
        if c == 35 { inComment = true; continue }
        let v: UInt8
        switch c {
        case 48...57: v = c - 48
        case 97...102: v = c - 87
        case 65...70: v = c - 55
        default: continue
        }
        if let hi = nibble {
            out.append(hi << 4 | v)
            nibble = nil
        } else {
            nibble = v
        }
    }
    precondition(nibble == nil, "odd number of hex digits in fixture")
    return out
}

/// Hex dump of bytes, 16 per line, for failure messages.
public func hexDump(_ data: [UInt8]) -> String {
    var lines: [String] = []
    var i = 0
    while i < data.count {
        let row = data[i..<min(i + 16, data.count)]
        let hex = row.map { b -> String in
            let s = String(b, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined(separator: " ")
        lines.append(String(i, radix: 16) + ": " + hex)
        i += 16
    }
    return lines.joined(separator: "\n")
}
