import Core
import Foundation
import Records

/// Writes connection records as Zeek would have logged them (conn.log, http.log, ssl.log), in either of Zeek's
/// forms, keeping only what Zeek keeps: a test-only stand-in for Zeek, which is not installed here.
struct ZeekLogWriter {
    enum Form {
        case tsv
        case json
    }

    static let connFields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
                             "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "missed_bytes",
                             "history", "orig_pkts", "resp_pkts"]
    static let httpFields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "trans_depth", "method",
                             "host", "uri", "version", "user_agent", "request_body_len", "response_body_len",
                             "status_code", "status_msg", "tags"]
    static let sslFields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "version", "cipher",
                            "server_name", "established"]

    var form: Form
    private(set) var conn: [[String?]] = []
    private(set) var http: [[String?]] = []
    private(set) var ssl: [[String?]] = []

    init(form: Form) {
        self.form = form
    }

    /// Adds a record's rows; conn.log rows are kept in the order of the connections' ends, as Zeek writes them.
    mutating func add(_ r: ConnectionRecord) {
        let uid = "C\(r.id)"
        let ids = [r.client.address.description, String(r.client.port), r.server.address.description,
                   String(r.server.port)]
        let service: String? = r.application == .http ? "http" : r.application == .tls ? "ssl" : nil
        let state = r.handshake == .refused ? "REJ" : r.handshake == .unanswered ? "S0" : "SF"
        var history = ""
        if r.state.contains(.syn) { history += "S" }
        if r.state.contains(.synAck) { history += "h" }
        if r.bytesUp > 0 { history += "D" }
        if r.bytesDown > 0 { history += "d" }
        if r.state.contains(.finFromClient) { history += "F" }
        if r.state.contains(.finFromServer) { history += "f" }
        if r.state.contains(.rstFromClient) { history += "R" }
        if r.state.contains(.rstFromServer) { history += "r" }
        conn.append([Self.time(r.start), uid] + ids + ["tcp", service, Self.seconds(r.end.nanoseconds(since: r.start)),
                     String(r.bytesUp), String(r.bytesDown), state, nil, "0", history, String(r.packetsUp),
                     String(r.packetsDown)])
        var depth = 0
        for e in r.exchanges {
            guard let t = e.http else { continue }
            depth += 1
            http.append([Self.time(e.start), uid] + ids + [String(depth), t.method, t.host, t.target,
                         t.version.hasPrefix("HTTP/") ? String(t.version.dropFirst(5)) : nil, t.userAgent,
                         String(t.requestBodyLength), t.status == nil ? nil : String(t.responseBodyLength ?? 0),
                         t.status.map(String.init), t.reason, ""])
        }
        if let tls = r.tls {
            let version = tls.negotiatedVersion.flatMap(Self.versionName)
            ssl.append([Self.time(r.start), uid] + ids + [version, nil, tls.serverName,
                        tls.negotiatedVersion == nil ? "F" : "T"])
        }
    }

    /// Writes conn.log, http.log and ssl.log into `folder`.
    func write(to folder: String) throws {
        try text("conn", Self.connFields, conn).write(toFile: folder + "/conn.log", atomically: false, encoding: .utf8)
        try text("http", Self.httpFields, http).write(toFile: folder + "/http.log", atomically: false, encoding: .utf8)
        try text("ssl", Self.sslFields, ssl).write(toFile: folder + "/ssl.log", atomically: false, encoding: .utf8)
    }

    func text(_ path: String, _ fields: [String], _ rows: [[String?]]) -> String {
        switch form {
        case .tsv:
            var out = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t\(path)\n"
            out += "#open\t2026-12-01-00-00-00\n#fields\t" + fields.joined(separator: "\t") + "\n"
            out += "#types\t" + fields.map { _ in "string" }.joined(separator: "\t") + "\n"
            for row in rows {
                out += row.map { $0.map { $0.isEmpty ? "(empty)" : $0 } ?? "-" }.joined(separator: "\t") + "\n"
            }
            return out + "#close\t2026-12-01-01-00-00\n"
        case .json:
            // Counts and times as JSON numbers, the rest as strings; unset fields left out, as Zeek does.
            let numeric: Set<String> = ["ts", "id.orig_p", "id.resp_p", "duration", "orig_bytes", "resp_bytes",
                                        "missed_bytes", "orig_pkts", "resp_pkts", "trans_depth", "request_body_len",
                                        "response_body_len", "status_code"]
            return rows.map { row in
                let members = zip(fields, row).compactMap { name, value -> String? in
                    guard let value else { return nil }
                    if name == "tags" { return "\"tags\":[]" }
                    if name == "established" { return "\"established\":\(value == "T")" }
                    return "\"\(name)\":" + (numeric.contains(name) ? value : Self.quoted(value))
                }
                return "{" + members.joined(separator: ",") + "}\n"
            }.joined()
        }
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    static func time(_ t: Timestamp) -> String { seconds(t.nanoseconds) }

    /// Seconds with six decimals, as Zeek writes times and intervals.
    static func seconds(_ ns: Int64) -> String {
        let micros = (ns + 500) / 1_000
        let fraction = String(micros % 1_000_000)
        return "\(micros / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }

    static func versionName(_ v: UInt16) -> String? {
        switch v {
        case 0x0300: return "SSLv3"
        case 0x0301: return "TLSv10"
        case 0x0302: return "TLSv11"
        case 0x0303: return "TLSv12"
        case 0x0304: return "TLSv13"
        default: return nil
        }
    }
}
