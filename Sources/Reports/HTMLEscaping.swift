/// The one escaping function of the HTML report.
///
/// Every string that reaches the page — whether it came from a capture (a URL, an SNI, a
/// host name, a file name) or not — goes through `HTML.escape` before it is written into
/// element content or a quoted attribute value. It replaces `&`, `<`, `>`, `"` and `'` by
/// character references and control characters (C0 except tab/LF/CR, DEL, C1) and hidden format characters
/// (bidi controls, line separators, tag characters: `TextTable.isHiddenFormat`) by U+FFFD,
/// so `<script>` in a capture renders as the text `<script>`.
public enum HTML {
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(u)
            default:
                if u.value < 0x20 || (0x7f...0x9f).contains(u.value) || TextTable.isHiddenFormat(u.value) {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out
    }
}
