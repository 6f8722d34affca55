import Analysis
import Core
import Protocols
import Records

/// The `sepbeat flows` report of connections in hand: the rows of `FlowsWriter`, one per TCP connection in
/// id order (optionally with HTTP messages and TLS handshakes), then the number of connections and the
/// capture summary. `sepbeat flows` itself streams the same layout through a `FlowsWriter` while it reads;
/// this form serves tests and callers that have the connections already.
public struct FlowsReport {
    public var captures: [CaptureSummary]
    public var connections: [CompletedConnection]
    public var showHTTP: Bool
    public var showTLS: Bool

    /// `connections` in any order; they are listed in id order (sorted here only when they are not).
    public init(captures: [CaptureSummary], connections: [CompletedConnection], showHTTP: Bool, showTLS: Bool) {
        self.captures = captures
        self.connections = connections
        let ordered = zip(connections, connections.dropFirst()).allSatisfy { $0.record.id < $1.record.id }
        if !ordered { self.connections.sort { $0.record.id < $1.record.id } }
        self.showHTTP = showHTTP
        self.showTLS = showTLS
    }

    // MARK: - JSON

    /// The whole report as one value (tests and small captures; `writeJSON` gives its text in pieces, with
    /// the same members, `schema` and `connections` first).
    public func json() -> JSONValue {
        let rows = FlowRows(showHTTP: showHTTP, showTLS: showTLS)
        return .object([
            ("schema", .string(FlowsWriter.schema)),
            ("connections", .array(connections.map(rows.connectionJSON))),
            ("connectionsListedLate", .int(0)),
            ("captures", .array(captures.map(CaptureSummaryReport.json))),
        ])
    }

    /// Hands the report's JSON text to `sink` in pieces of about `chunkSize` bytes, in order, as
    /// `FlowsWriter` writes it: each connection's object is made and written alone.
    public func writeJSON(chunkSize: Int = 1 << 16, to sink: @escaping ([UInt8]) throws -> Void) throws {
        try write(.json, chunkSize: chunkSize, to: sink)
    }

    // MARK: - Text

    public func text() -> String {
        var bytes: [UInt8] = []
        // The sink cannot fail, so neither can the writer.
        try? write(.text, chunkSize: 1 << 16) { bytes += $0 }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Hands the text of `text()` to `sink` in pieces of about `chunkSize` bytes, in order. The table's
    /// columns are measured over every connection, as the report has them all.
    public func writeText(chunkSize: Int = 1 << 16, to sink: @escaping ([UInt8]) throws -> Void) throws {
        try write(.text, chunkSize: chunkSize, to: sink)
    }

    /// The connections are in id order already: each row goes out as it is added (no window), and the text
    /// table is measured over all of them.
    private func write(_ format: FlowsWriter.Format, chunkSize: Int, to sink: @escaping ([UInt8]) throws -> Void)
        throws {
        let writer = FlowsWriter(format: format, showHTTP: showHTTP, showTLS: showTLS, window: 0,
                                 measuredRows: .max, chunkSize: chunkSize, sink: sink)
        for c in connections { try writer.add(c) }
        try writer.finish(captures: captures)
    }
}

/// One connection's row of the `flows` report, in each format.
struct FlowRows {
    var showHTTP: Bool
    var showTLS: Bool

    func connectionJSON(_ c: CompletedConnection) -> JSONValue {
        let r = c.record
        var members: [(String, JSONValue)] = [
            ("id", .integer(Int64(r.id))),
            ("client", .string(r.client.address.description)),
            ("clientPort", .int(Int(r.client.port))),
            ("server", .string(r.server.address.description)),
            ("serverPort", .int(Int(r.server.port))),
            ("vlan", .array(r.vlan.ids.map { .int(Int($0)) })),
            ("packetsUp", .int(r.packetsUp)),
            ("bytesUp", .integer(r.bytesUp)),
            ("packetsDown", .int(r.packetsDown)),
            ("bytesDown", .integer(r.bytesDown)),
            ("start", .time(r.start)),
            ("end", .time(r.end)),
            ("state", .string(r.state.words.joined(separator: " "))),
            ("handshake", .string(r.handshake.rawValue)),
            ("synCount", .int(r.synCount)),
            ("application", .string(r.application.rawValue)),
            ("anomalies", .object([("up", anomaliesJSON(r.anomaliesUp)), ("down", anomaliesJSON(r.anomaliesDown))])),
        ]
        // Only on a connection whose server's packets came under other tags than the client's, so that other
        // connections' members stay as they were.
        if let down = r.vlanDown {
            members.insert(("vlanDown", .array(down.ids.map { .int(Int($0)) })), at: 6)
        }
        // Only on a connection a direction of which moved to other tags partway, the same way.
        if r.vlanChanged {
            members.insert(("vlanChanged", .bool(true)), at: r.vlanDown == nil ? 6 : 7)
        }
        // Only on a connection through a proxy, so other connections' members stay as they were.
        if let t = r.tunnel {
            members.append(("tunnel", .object([
                ("kind", .string(t.kind.rawValue)),
                ("host", .string(t.host)),
                ("port", t.port.map { .int(Int($0)) } ?? .null),
                ("start", .time(t.start)),
                ("setUp", .array(t.setUp.map(exchangeJSON))),
            ])))
        }
        if showHTTP {
            members.append(("http", .array((c.details?.httpMessages ?? []).map { m in
                .object([
                    ("direction", .string(m.direction == .up ? "request" : "response")),
                    ("time", .time(m.time)),
                    ("method", .optional(m.method)),
                    ("target", .optional(m.target)),
                    ("status", m.status.map { .int($0) } ?? .null),
                    ("version", .string(m.version)),
                ])
            })))
        }
        if showTLS {
            members.append(("tls", r.tls.map(tlsJSON) ?? .null))
            members.append(("tlsHellos", .array((c.details?.tlsHellos ?? []).map { h in
                .object([
                    ("kind", .string(h.kind.rawValue)),
                    ("time", .time(h.time)),
                    ("serverName", .optional(h.serverName)),
                    ("version", .string(TLSSummary.versionName(h.version))),
                    ("cipherSuite", h.cipherSuite.map { .string(TLSVersion.hex4($0)) } ?? .null),
                ])
            })))
        }
        if showHTTP || showTLS {
            members.append(("exchanges", .array(r.exchanges.map(exchangeJSON))))
            if r.foldedExchanges > 0 { members.append(("foldedExchanges", .int(r.foldedExchanges))) }
            members.append(("protocolAnomalies", .array((c.details?.anomalies ?? []).map(JSONValue.string))))
        }
        return .object(members)
    }

    private func anomaliesJSON(_ a: StreamAnomalies) -> JSONValue {
        .object([
            ("gaps", .int(a.gaps)), ("gapBytes", .integer(a.gapBytes)),
            ("retransmissions", .int(a.retransmissions)), ("conflicts", .int(a.conflicts)),
            ("duplicates", .int(a.duplicates)), ("outOfOrder", .int(a.outOfOrder)),
            ("truncatedPackets", .int(a.truncatedPackets)), ("limitReached", .int(a.limitReached)),
        ])
    }

    /// `judgedBy` in the JSON: `serverHello`, `clientHello`, `recordLayer`, `recordLayerBelowOffer` or
    /// `recordLayerBelowChosen`.
    static func judgedByName(_ source: TLSJudgedVersion.Source) -> String {
        switch source {
        case .chosen: return "serverHello"
        case .offered: return "clientHello"
        case .recordLayer: return "recordLayer"
        case .recordLayerBelowOffer: return "recordLayerBelowOffer"
        case .recordLayerBelowChosen: return "recordLayerBelowChosen"
        }
    }

    private func tlsJSON(_ t: TLSSummary) -> JSONValue {
        let judged = t.judgedVersion
        var m: [(String, JSONValue)] = [
            ("clientVersion", t.clientVersion.map { .string(TLSSummary.versionName($0)) } ?? .null),
            ("negotiatedVersion", t.negotiatedVersion.map { .string(TLSSummary.versionName($0)) } ?? .null),
            // The hellos' version (the chosen one, else the offer).
            ("version", t.helloVersion.map { .string(TLSSummary.versionName($0)) } ?? .null),
            ("recordVersion", t.recordVersion.map { .string(TLSSummary.versionName($0)) } ?? .null),
            // What analyze judges by: the hellos' version unless the record layer gives a lower one.
            ("judgedVersion", judged.map { .string(TLSSummary.versionName($0.version)) } ?? .null),
            ("judgedBy", judged.map { .string(Self.judgedByName($0.source)) } ?? .null),
            ("serverName", .optional(t.serverName)),
            ("cipherSuite", t.cipherSuite.map { .string(TLSVersion.hex4($0)) } ?? .null),
            ("sslv2", .bool(t.sslv2)),
            ("alerts", .array(t.alerts.map { a in
                .object([("level", .int(Int(a.level))), ("description", .int(Int(a.description))),
                         ("direction", .string(a.direction == .up ? "up" : "down")), ("time", .time(a.time))])
            })),
        ]
        if let c = t.certificate {
            m.append(("certificate", .object([
                ("subject", .optional(c.subjectCommonName)),
                ("issuer", .optional(c.issuerCommonName)),
                ("selfSigned", .bool(c.selfSigned)),
                ("keyType", .optional(c.keyType)),
                ("keyBits", c.keyBits.map { .int($0) } ?? .null),
                ("signatureAlgorithm", .optional(c.signatureAlgorithm)),
                ("notBefore", .optionalTime(c.notBefore)),
                ("notAfter", .optionalTime(c.notAfter)),
            ])))
        }
        return .object(m)
    }

    private func exchangeJSON(_ e: Exchange) -> JSONValue {
        var m: [(String, JSONValue)] = [
            ("index", .int(e.index)), ("kind", .string(e.kind.rawValue)),
            ("start", .time(e.start)), ("end", .time(e.end)),
            ("responseStart", .optionalTime(e.responseStart)),
            ("bytesUp", .integer(e.bytesUp)), ("bytesDown", .integer(e.bytesDown)),
            ("missingBytes", .integer(e.missingBytes)),
        ]
        if e.kind == .tls {
            m.append(("recordsUp", .int(e.recordsUp)))
            m.append(("recordsDown", .int(e.recordsDown)))
        }
        if let h = e.http {
            m.append(("method", .string(h.method)))
            m.append(("target", .string(h.target)))
            m.append(("status", h.status.map { .int($0) } ?? .null))
            m.append(("host", .optional(h.host)))
            m.append(("userAgent", .optional(h.userAgent)))
            m.append(("requestBodyLength", .integer(h.requestBodyLength)))
            m.append(("responseBodyLength", h.responseBodyLength.map { .integer($0) } ?? .null))
            if h.responseCutShort {
                // Only on an answer whose stream ended inside its body (the anomaly `body_cut_short`).
                m.append(("responseCutShort", .bool(true)))
                m.append(("declaredResponseBodyLength", h.declaredResponseBodyLength.map { .integer($0) } ?? .null))
            }
            // Only on an answer whose status line the snap length cut before its code (`status` null).
            if h.responseStatusCut { m.append(("responseStatusCut", .bool(true))) }
        }
        return .object(m)
    }

    // MARK: - Text

    /// The table's columns.
    static let columns: [(String, TextTable.Alignment)] = [
        ("#", .right), ("client", .left), ("server", .left), ("vlan", .left), ("start", .left),
        ("seconds", .right), ("pkts up", .right), ("bytes up", .right), ("pkts down", .right),
        ("bytes down", .right), ("app", .left), ("state", .left),
    ]

    /// One connection's row of the table.
    static func cells(_ r: ConnectionRecord) -> [String] {
        [
            String(r.id), r.client.description, r.server.description, vlanText(r),
            r.start.rfc3339(fractionDigits: 6), secondsText(r.duration),
            String(r.packetsUp), String(r.bytesUp), String(r.packetsDown), String(r.bytesDown),
            appText(r), r.state.words.joined(separator: " "),
        ]
    }

    /// The client's packets' VLAN tags, and the server's after ` down ` when they differ (`100 down -`: the
    /// client's packets under VLAN 100, the server's untagged).
    private static func vlanText(_ r: ConnectionRecord) -> String {
        guard let down = r.vlanDown else { return r.vlan.description }
        return "\(r.vlan.description) down \(down.description)"
    }

    /// The application, and for a connection through a proxy the target: `tls via CONNECT host:443`, or
    /// `http via proxy for host:8014` for plain HTTP sent to the proxy in absolute form. A target without a
    /// usable port is shown in brackets as written (`[10.1.0.11]`, `[10.1.0.11:99999]`), so that it does
    /// not read like a good tunnel: the connection is judged as one to the proxy.
    private static func appText(_ r: ConnectionRecord) -> String {
        guard let t = r.tunnel else { return r.application.rawValue }
        let target = t.port == nil && !t.host.contains(":") ? "[\(t.host)]" : t.targetText
        switch t.kind {
        case .connect: return "\(r.application.rawValue) via CONNECT \(target)"
        case .forward: return "\(r.application.rawValue) via proxy for \(target)"
        case .refused:
            let status = t.setUp.last?.http?.status.map(String.init) ?? "-"
            return "\(r.application.rawValue), CONNECT \(target) refused (\(status))"
        }
    }

    /// `answer cut short: 919 of 3600 body bytes`, or `answer cut short: chunked body unfinished after 919 bytes`.
    static func cutShortText(_ h: HTTPTransaction) -> String {
        let got = h.responseBodyLength ?? 0
        guard let declared = h.declaredResponseBodyLength else {
            return "answer cut short: chunked body unfinished after \(got) bytes"
        }
        return "answer cut short: \(got) of \(declared) body bytes"
    }

    /// The lines under a connection's row (`--http`, `--tls`, a tunnel), each indented by four spaces and
    /// cleaned of control characters; none for a plain connection.
    func detailLines(_ c: CompletedConnection) -> [String] {
        let r = c.record
        var lines: [String] = []
        if showHTTP, let messages = c.details?.httpMessages, !messages.isEmpty {
            for m in messages {
                if let method = m.method {
                    lines.append("  \(m.time.rfc3339(fractionDigits: 6))  > \(method) \(m.target ?? "") \(m.version)")
                } else {
                    let status = m.status.map(String.init) ?? "-"
                    lines.append("  \(m.time.rfc3339(fractionDigits: 6))  < \(m.version) \(status)")
                }
            }
        }
        if let t = r.tunnel {
            switch t.kind {
            case .connect, .forward:
                let what = t.kind == .forward ? "forwarded to" : "tunnel to"
                lines.append("  \(what) \(t.targetText) from \(t.start.rfc3339(fractionDigits: 6))")
            case .refused:
                lines.append("  no tunnel to \(t.targetText): CONNECT refused at \(t.start.rfc3339(fractionDigits: 6))")
            }
            for e in t.setUp {
                var l = "  set-up \(e.start.rfc3339(fractionDigits: 6)) up \(e.bytesUp) B down \(e.bytesDown) B"
                if let h = e.http { l += " \(h.method) \(h.target) -> \(h.status.map(String.init) ?? "no response")" }
                lines.append(l)
            }
        }
        if showTLS, let t = r.tls {
            var l = "  TLS client offers \(t.clientVersion.map(TLSSummary.versionName) ?? "-")"
            let judged = t.judgedVersion
            if let chosen = t.negotiatedVersion {
                l += ", server chose \(TLSSummary.versionName(chosen))"
            } else if let offered = t.clientVersion, judged?.source == .offered {
                // As analyze judges it (tls-below-1.2, or the code of the model's minimum): by the offer when no
                // ServerHello answered.
                l += ", server chose - (no ServerHello: judged by the offered \(TLSSummary.versionName(offered)))"
            } else {
                l += ", server chose -"
            }
            l += ", record layer \(t.recordVersion.map(TLSSummary.versionName) ?? "-")"
            if let judged, t.helloVersion != nil, let why = judged.source.recordLayerReason {
                // The record layer below the hellos' version judges the connection.
                l += " (judged by the record layer's \(TLSSummary.versionName(judged.version)): \(why))"
            }
            if let cs = t.cipherSuite { l += ", cipher " + CipherSuiteNames.describe(cs) }
            if let sni = t.serverName { l += ", SNI \(sni)" }
            lines.append(l)
            if let cert = t.certificate {
                var cl = "  certificate CN=\(cert.subjectCommonName ?? "-") issuer CN=\(cert.issuerCommonName ?? "-")"
                if cert.selfSigned { cl += " (self-signed)" }
                if let k = cert.keyType { cl += ", \(k)" + (cert.keyBits.map { " \($0)" } ?? "") }
                if let s = cert.signatureAlgorithm { cl += ", \(s)" }
                if let nb = cert.notBefore, let na = cert.notAfter {
                    cl += ", valid \(nb.rfc3339(fractionDigits: 0)) to \(na.rfc3339(fractionDigits: 0))"
                }
                lines.append(cl)
            }
            for a in t.alerts {
                let from = a.direction == .up ? "client" : "server"
                lines.append("  alert level \(a.level) description \(a.description) from \(from)")
            }
        }
        // As in JSON, the exchanges are among the details `--http` and `--tls` ask for.
        if showHTTP || showTLS, !r.exchanges.isEmpty {
            for e in r.exchanges {
                // Numbered from 1 as everywhere else in text; JSON keeps the 0-based `index`.
                var l = "  exchange \(e.index + 1) \(e.kind.rawValue) \(e.start.rfc3339(fractionDigits: 6))"
                l += " up \(e.bytesUp) B down \(e.bytesDown) B"
                if let h = e.http {
                    let answer = h.responseStatusCut ? "code cut" : "no response"
                    l += " \(h.method) \(h.target) -> \(h.status.map(String.init) ?? answer)"
                    if h.responseCutShort { l += " (\(Self.cutShortText(h)))" }
                }
                if e.missingBytes > 0 { l += " (missing \(e.missingBytes) B)" }
                lines.append(l)
            }
            if r.foldedExchanges > 0 {
                lines.append("  \(r.foldedExchanges) more exchanges folded into the ones before them (bytes and times "
                    + "counted there; memory bound of the HTTP parser)")
            }
        }
        for a in c.details?.anomalies ?? [] { lines.append("  anomaly: \(a)") }
        return lines.map { "  " + TextTable.sanitize($0) }
    }
}

/// Names of common TLS cipher suites (IANA TLS Cipher Suites registry), so a reader need not look up
/// the hex: every TLS 1.3 suite, the TLS 1.2 ECDHE and RSA AES-GCM, AES-CBC and ChaCha20 suites, and
/// a few legacy ones a manager may still negotiate. Others are shown as hex alone.
public enum CipherSuiteNames {
    static let names: [UInt16: String] = [
        0x1301: "TLS_AES_128_GCM_SHA256",
        0x1302: "TLS_AES_256_GCM_SHA384",
        0x1303: "TLS_CHACHA20_POLY1305_SHA256",
        0x1304: "TLS_AES_128_CCM_SHA256",
        0x1305: "TLS_AES_128_CCM_8_SHA256",
        0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        0xCCAA: "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        0xC023: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        0xC024: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        0xC027: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        0xC028: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        0x009C: "TLS_RSA_WITH_AES_128_GCM_SHA256",
        0x009D: "TLS_RSA_WITH_AES_256_GCM_SHA384",
        0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA",
        0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
        0x003C: "TLS_RSA_WITH_AES_128_CBC_SHA256",
        0x003D: "TLS_RSA_WITH_AES_256_CBC_SHA256",
        0x009E: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        0x009F: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        0x0033: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
        0x0039: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
        0x000A: "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        0x0005: "TLS_RSA_WITH_RC4_128_SHA",
        0x0004: "TLS_RSA_WITH_RC4_128_MD5",
    ]

    /// The IANA name of `suite`, or nil for a suite not in the table.
    public static func name(_ suite: UInt16) -> String? { names[suite] }

    /// `0xc030 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384`, or the hex alone for an unlisted suite.
    public static func describe(_ suite: UInt16) -> String {
        let hex = TLSVersion.hex4(suite)
        return name(suite).map { hex + " " + $0 } ?? hex
    }
}
