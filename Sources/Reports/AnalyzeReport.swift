import Analysis
import Core
import Foundation
import Heartbeat

/// The `sepbeat analyze` report: the heartbeat report plus the capture summaries it was built from.
public struct AnalyzeReport {
    public var heartbeat: HeartbeatReport
    public var captures: [CaptureSummary]

    public init(heartbeat: HeartbeatReport, captures: [CaptureSummary]) {
        self.heartbeat = heartbeat
        self.captures = captures
    }

    /// `sepbeat-report/1` JSON: the heartbeat report's members and `captures`, keys sorted.
    ///
    /// The same bytes as `HeartbeatReport.encoder()` would write (see `PrettyJSONEncoder`), and a newline.
    /// Built whole in memory; `writeJSON(to:)` gives the same bytes in pieces.
    public func json() throws -> String {
        var bytes: [UInt8] = []
        try writeJSON { bytes += $0 }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Hands the text of `json()` to `sink` in pieces of more than `chunkSize` bytes (but the last), in
    /// order; a piece may run past it by one top-level member's text or one block of check-ins (about 1.5
    /// chunks). Memory beyond the report: one piece, and the check-in blocks rendered ahead (32 blocks).
    ///
    /// Check-ins, their steps and attempts, and findings are written by `ReportJSON` (no `Encodable`
    /// pass); the other members by `PrettyJSONEncoder`. Both give the bytes `HeartbeatReport.encoder()` would.
    public func writeJSON(chunkSize: Int = 1 << 16, to sink: ([UInt8]) throws -> Void) throws {
        let r = heartbeat
        var out: [UInt8] = []
        out.reserveCapacity(chunkSize + chunkSize / 2)
        func flush(over limit: Int) throws {
            guard out.count > limit else { return }
            try sink(out)
            out.removeAll(keepingCapacity: true)
        }
        // Members in UTF-8 key order, as the encoder sorts them.
        let members: [(String, (inout [UInt8]) throws -> Void)] = [
            ("captures", { try PrettyJSONEncoder.append(captures.map(CaptureSummaryReport.json), level: 1, to: &$0) }),
            ("clients", { try PrettyJSONEncoder.append(r.clients, level: 1, to: &$0) }),
            ("counts", { try PrettyJSONEncoder.append(r.counts, level: 1, to: &$0) }),
            ("expectations", { try PrettyJSONEncoder.append(r.expectations, level: 1, to: &$0) }),
            ("findings", { ReportJSON.append(r.findings, level: 1, to: &$0) }),
            ("managers", { try PrettyJSONEncoder.append(r.managers, level: 1, to: &$0) }),
        ] + (r.periodicOtherPorts.isEmpty ? [] : [
            ("periodicOtherServers", { try PrettyJSONEncoder.append(r.periodicOtherPorts, level: 1, to: &$0) }),
        ]) + [
            ("schema", { try PrettyJSONEncoder.append(r.schema, level: 1, to: &$0) }),
            ("sessions", {  // the array's start: its check-ins follow from `CheckInRenderer`
                $0.append(UInt8(ascii: "["))
                if r.sessions.isEmpty { $0.append(10) }
            }),
            ("summary", { try PrettyJSONEncoder.append(r.summary, level: 1, to: &$0) }),
        ]
        func writeMember(_ i: Int) throws {
            let (key, encode) = members[i]
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONText.appendNewline(level: 1, to: &out)
            out += JSONText.memberHead(key)
            try encode(&out)
            try flush(over: chunkSize)
        }
        let sessionsAt = members.firstIndex { $0.0 == "sessions" } ?? members.count - 1
        out.append(UInt8(ascii: "{"))
        // Check-ins as `ReportJSON.appendArray` would write them, in blocks rendered ahead on two threads
        // (`CheckInRenderer`), the first ones while the members before them are written. A block larger
        // than a piece is handed on as rendered when nothing waits before it (no copy).
        try r.sessions.withUnsafeBufferPointer { sessions in
            try CheckInRenderer.render(
                sessions, blockBytes: chunkSize + chunkSize / 2, mostPerBlock: Self.sessionBlock, slots: 32,
                first: { for i in 0...sessionsAt { try writeMember(i) } }
            ) { block in
                if block.error == nil, out.isEmpty, block.bytes.count > chunkSize {
                    try sink(block.bytes)
                    return
                }
                // On an error, the check-ins before the one that failed.
                out += block.bytes[..<(block.error == nil ? block.bytes.count : block.ends.last ?? 0)]
                try flush(over: chunkSize)
            }
        }
        JSONText.appendNewline(level: 1, to: &out)
        out.append(UInt8(ascii: "]"))
        for i in (sessionsAt + 1)..<members.count { try writeMember(i) }
        JSONText.append("\n}\n", to: &out)
        try flush(over: 0)
    }

    /// Most check-ins rendered per block: large enough that handing a block over is paid rarely;
    /// fewer when check-ins are large (see `CheckInRenderer`).
    static let sessionBlock = 64

    // MARK: - Text

    /// A report for people: captures, managers, then per client its check-ins, intervals and steps,
    /// then findings by severity and the verdict.
    public func text(palette: Palette = .none) -> String {
        String(decoding: textBytes(palette: palette), as: UTF8.self)
    }

    /// The text of `text(palette:)` as UTF-8 bytes, held whole (no `String` of the whole report);
    /// `writeText(palette:chunkSize:to:)` gives the same bytes in pieces.
    public func textBytes(palette: Palette = .none) -> [UInt8] {
        TextBytes.gather { out, flush in appendText(palette: palette, to: &out, flush: flush) }
    }

    /// Hands the text of `text(palette:)` to `sink` in pieces of about `chunkSize` bytes (one piece may run
    /// past it by one block of clients' tables or check-ins' steps), in order. Memory beyond the report:
    /// one piece, and the blocks rendered ahead (16 of about 64 KiB).
    ///
    /// Clients' tables and check-ins' steps are rendered in blocks on two threads (`BlockRenderer`);
    /// check-ins are read in place, not copied.
    public func writeText(palette: Palette = .none, chunkSize: Int = 1 << 16,
                          to sink: ([UInt8]) throws -> Void) throws {
        try TextBytes.stream(chunkSize: chunkSize, to: sink) { out, flush in
            try appendText(palette: palette, to: &out, flush: flush)
        }
    }

    /// Appends the report to `out`, calling `flush` after every line of the long sections.
    func appendText(palette: Palette, to out: inout TextBytes, flush: TextBytes.Flush) rethrows {
        let r = heartbeat
        out += CaptureSummaryReport.text(captures)
        out += "\n"
        out += AuditText.expectationsLine(r.expectations) + "\n"
        out += "Connections: \(r.counts.connections) read: \(r.counts.managerConnections) to managers, "
        if r.counts.proxyLegConnections > 0 {
            out += "\(r.counts.proxyLegConnections) from proxies (their own legs of tunnelled check-ins), "
        }
        out += "\(r.counts.otherServerConnections) to other servers on management ports, "
        if r.counts.unlistedPortConnections > 0 {
            out += "\(r.counts.unlistedPortConnections) to managers on ports the configuration does not list, "
        }
        out += "\(r.counts.ignoredConnections) on other ports"
        if r.counts.joinSplits > 0 {
            out += ", \(r.counts.joinSplits) not joined to the check-in just before (it would have lasted longer "
                + "than checkIn.joinMaxSeconds)"
        }
        if r.counts.emptyPieces > 0 {
            out += ", \(formatCount(r.counts.emptyPieces, "piece")) with no SYN and no payload "
                + "(a lone RST or ACK, keep-alives: no check-in)"
        }
        if r.counts.contentDownloads > 0 {
            out += ", \(formatCount(r.counts.contentDownloads, "content download"))"
                + " (HTTP with no secars request: no check-in)"
        }
        if r.counts.serverPushes > 0 {
            out += ", \(formatCount(r.counts.serverPushes, "server push", plural: "server pushes"))"
                + " (push bursts with no client byte: no check-in)"
        }
        if r.counts.uncapturedBursts > 0 {
            out += ", \(formatCount(r.counts.uncapturedBursts, "push burst")) of lost bytes alone"
                + " (nothing captured, sent at an unknown time: no check-in)"
        }
        if r.counts.rejoinedConnections > 0 {
            out += ", \(r.counts.rejoinedConnections) rejoined (pieces of one connection split by the idle timeout"
                + " or a full connection table)"
        }
        if r.counts.droppedByLimits > 0 {
            out += ", \(r.counts.droppedByLimits) dropped by limits"
            if let drops = r.limitDrops { out += " (\(drops.text))" }
        }
        out += "\n"
        if let hint = Self.noManagerHint(r, snapCut: captures.contains { $0.truncated > 0 }) { out += hint }
        if let hint = Self.turnTakingHint(r) { out += hint }
        if let hint = Self.unconfiguredDownHint(r) { out += hint }
        if let hint = Self.unlistedPortsHint(r) { out += hint }
        if let hint = Self.periodicOtherPortsHint(r) { out += hint }
        if let hint = Self.periodicListedPortsHint(r) { out += hint }
        if !r.managers.isEmpty {
            out += "\nManagers\n"
            var t = TextTable([("manager", .left), ("source", .left), ("priority", .right), ("ports", .left),
                               ("check-ins", .right), ("name", .left)])
            for m in r.managers {
                var name = m.hostName ?? ""
                if let res = m.resolution, !res.isEmpty { name += name.isEmpty ? res : " (\(res))" }
                t.append([m.address, m.source, m.priority.map(String.init) ?? "-",
                          m.ports.map(String.init).joined(separator: ","), String(m.sessions), name])
            }
            out += t.render()
            out += Self.managerLegend(r.managers)
        }
        try flush(&out)
        // Grouped once (a loop over every session per client is quadratic in clients), by position: no
        // check-in is copied.
        var byClient: [IPAddress: [Int]] = [:]
        for (i, s) in r.sessions.enumerated() { byClient[s.client, default: []].append(i) }
        try r.sessions.withUnsafeBufferPointer { sessions in  // check-ins read in place, not copied
            // Clients' tables, then every check-in's steps, rendered in blocks on two threads
            // (`BlockRenderer`); the blocks come back in order.
            let clients = r.clients
            let rows = byClient
            let shared = sessions.baseAddress.map(SharedPointer.init)
            let blockBytes = Self.textBlockBytes
            try BlockRenderer.render(count: clients.count, blockBytes: blockBytes, items: { range, bytes, ends in
                var text = TextBytes(bytes: bytes)
                bytes = []
                for c in range {
                    Self.appendClient(clients[c], checkIns: rows[clients[c].client] ?? [], of: shared, to: &text)
                    ends.append(text.bytes.count)
                }
                bytes = text.bytes
            }) { block in try Self.hand(block, to: &out, flush: flush) }
            guard let shared, !sessions.isEmpty else { return }  // no check-in: no heading over nothing
            out += "\nSteps of each check-in (confidence: how sure the step's name is, 0-1, from how well the"
            out += " traffic matches the model's rule for that step)\n"
            try BlockRenderer.render(count: sessions.count, blockBytes: blockBytes, items: { range, bytes, ends in
                var text = TextBytes(bytes: bytes)
                bytes = []
                for n in range {
                    Self.appendSteps(of: shared.pointer[n], to: &text)
                    ends.append(text.bytes.count)
                }
                bytes = text.bytes
            }) { block in try Self.hand(block, to: &out, flush: flush) }
        }
        out += "\nFindings: \(r.summary.errors) error, \(r.summary.warnings) warning, \(r.summary.infos) info\n"
        try r.forEachFindingBySeverity { f in
            let word = palette.paint(f.severity.rawValue, Palette.colour(for: f.severity))
            var line = "  \(word)" + String(repeating: " ", count: max(1, 8 - f.severity.rawValue.count))
            line += f.code.rawValue
            if let c = f.client { line += " \(c)" }
            if let t = f.time { line += " \(t.rfc3339(fractionDigits: 3))" }
            line += ": " + TextTable.sanitize(f.message)
            out += line + "\n"
            try flush(&out)
        }
        let verdict = palette.paint(r.summary.verdict, Palette.colour(verdict: r.summary.verdict))
        let counts = formatCount(r.summary.clients, "client") + ", "
            + Self.checkIns(r.summary.checkIns, failed: r.summary.failed, pending: r.summary.pending ?? 0)
        if r.summary.verdict == "n/a" {
            // Nothing was judged: a bare "0 clients, 0 check-ins" would read as a pass.
            let why = r.summary.sessions == 0 ? "no check-ins recognised" : "no check-in set up: " + counts
            out += "\nVerdict: \(verdict) (\(why))\n"
        } else if r.summary.verdict == "fail", r.summary.errors == 0 {
            // Failed on warnings alone (--fail-on warning).
            out += "\nVerdict: \(verdict) (\(counts); warnings fail the verdict)\n"
        } else {
            out += "\nVerdict: \(verdict) (\(counts))\n"
        }
    }

    /// `text` broken at spaces into lines of at most `width` characters (a longer word stands alone).
    static func wrapped(_ text: String, width: Int) -> String {
        var out = ""
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, line.count + 1 + word.count > width {
                out += line + "\n"
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        return line.isEmpty ? out : out + line + "\n"
    }

    /// Appends `block`'s items to `out` one by one, calling `flush` after each (so a piece holds no more
    /// than the chunk size and one item: a client's table, or a check-in's steps).
    private static func hand(_ block: BlockRenderer.Block, to out: inout TextBytes, flush: TextBytes.Flush) throws {
        var start = 0
        for end in block.ends {
            out.bytes += block.bytes[start..<end]
            start = end
            try flush(&out)
        }
    }

    /// Bytes of text rendered per block ahead of the writer (`BlockRenderer`).
    private static let textBlockBytes = 1 << 16

    /// `Client …:` with its counts and intervals, then the table of its check-ins (`checkIns`: their
    /// positions in `sessions`). The rows are made once and held for the client only (measured, then written).
    private static func appendClient(_ client: ClientSummary, checkIns: [Int],
                                     of sessions: SharedPointer<SessionReport>?, to out: inout TextBytes) {
        out += "\nClient \(client.client): "
            + Self.checkIns(client.checkIns, failed: client.failed, pending: client.pending)
        if let iv = client.intervalSeconds {
            out += ", interval median \(formatFixed(iv.median, digits: 3)) s"
            out += " (min \(formatFixed(iv.min, digits: 3)), max \(formatFixed(iv.max, digits: 3)),"
            out += " p95 \(formatFixed(iv.p95, digits: 3)))"
        }
        out += ", missed \(client.missed), accelerated \(client.accelerated)\n"
        var t = TextColumns(Self.checkInColumns)
        let rows = sessions.map { s in checkIns.map { checkInRow(s.pointer[$0]) } } ?? []
        for row in rows { t.measure(row) }
        t.appendHead(indent: "  ", to: &out.bytes)
        for row in rows { t.appendRow(row, indent: "  ", to: &out.bytes) }
    }

    private static let checkInColumns: [(String, TextTable.Alignment)] = [
        ("#", .right), ("start", .left), ("server", .left), ("transport", .left), ("mode", .left),
        ("seconds", .right), ("bytes up", .right), ("bytes down", .right), ("steps", .left), ("findings", .left),
    ]

    /// The cells of a check-in's row in its client's table.
    private static func checkInRow(_ s: SessionReport) -> [String] {
        let server = s.server.isIPv6 ? "[\(s.server)]:\(s.serverPort)" : "\(s.server):\(s.serverPort)"
        let steps = s.failed ? "failed" : s.steps.map { String($0.step) }.joined(separator: " ")
        return [String(s.id), s.start.rfc3339(fractionDigits: 3), server, s.transport.rawValue,
                s.mode.rawValue, secondsText(s.end.seconds(since: s.start)), String(s.bytesUp),
                String(s.bytesDown), steps, s.findings.map(\.code.rawValue).joined(separator: ",")]
    }

    /// `  #id client start`, then a line per attempt and per step, written piece by piece (no line is
    /// built as a `String` first).
    private static func appendSteps(of s: SessionReport, to out: inout TextBytes) {
        out += "  #"
        out.append(s.id)
        out += " "
        out += s.client.description
        out += " "
        s.start.appendRFC3339(to: &out.bytes, fractionDigits: 3)
        out += "\n"
        for a in s.attempts {
            out += "     attempt \(a.server):\(a.serverPort) \(a.outcome) (\(a.syns) SYN)\n"
        }
        for st in s.steps {
            out += "     "
            out.append(st.step)
            out += " "
            out += st.name
            out.spaces(max(1, 14 - TextTable.width(st.name)))  // padded to 14, at least one space
            out += " up "
            out.append(st.bytesUp)
            out += " B, down "
            out.append(st.bytesDown)
            out += " B, confidence "
            out += formatFixed(st.confidence, digits: 2)
            out += ": "
            out += TextTable.sanitize(st.evidence)
            out += "\n"
        }
    }

    /// One line per `source` and name-resolution value in `managers`, saying what it means.
    static func managerLegend(_ managers: [ManagerReport]) -> String {
        let sources: [(String, String)] = [
            ("option", "given with --server"), ("sylink", "a Server entry of SyLink.xml"),
            ("model", "the servers list of the reference model"),
            ("inferred-http", "seen: plain-HTTP requests for the secars.dll path were sent to it"),
            ("inferred-tls", "seen: periodic TLS to an HTTPS port, or TLS to an address already known as a manager"),
            ("inferred-failover", "seen: connects to it failed just before the client reached another manager"),
            ("inferred-connects", "seen: a client tried it at the expected interval, every connect refused or "
                + "unanswered"),
        ]
        let names: [(String, String)] = [
            ("literal", "configured as an address, no name to resolve"),
            ("tls-sni", "the configured name was tied to this address by a TLS SNI"),
            ("http-host", "the configured name was tied to this address by an HTTP Host header"),
        ]
        let usedSources = Set(managers.map(\.source))
        let usedNames = Set(managers.compactMap(\.resolution))
        var out = ""
        for (value, meaning) in sources where usedSources.contains(value) {
            out += "  source \(value): \(meaning)\n"
        }
        for (value, meaning) in names where usedNames.contains(value) {
            out += "  name \(value): \(meaning)\n"
        }
        return out
    }

    /// `3 check-ins`, or `0 check-ins, 1 failed (connect, TLS handshake or answer failed)`: a check-in whose
    /// connects all failed, or whose connection carried no whole answer (`tls-handshake-failed`, `no-answer`,
    /// `answer-cut-short`), is counted as failed, never as a check-in.
    /// Connects still unanswered when the capture ended (not yet judged) follow as `pending`.
    static func checkIns(_ n: Int, failed: Int, pending: Int = 0) -> String {
        var text = "\(n) check-in" + (n == 1 ? "" : "s")
        if failed > 0 { text += ", \(failed) failed (connect, TLS handshake or answer failed)" }
        if pending > 0 { text += ", \(pending) pending (unanswered when the capture ended)" }
        return text
    }

    private func trim(_ d: Double) -> String { Self.trim(d) }

    /// `d` rounded to three decimals, a whole number written without `.0` (the notes and the text tables).
    static func trim(_ d: Double) -> String {
        let r = (d * 1000).rounded() / 1000
        return r == r.rounded() && abs(r) < 1e15 ? String(Int64(r)) : String(r)
    }
}
