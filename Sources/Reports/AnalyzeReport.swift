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
        for s in captures { out += CaptureSummaryReport.text(s) }
        out += "\n"
        let e = r.expectations
        out += "Expected interval \(trim(e.pullIntervalSeconds)) s (from \(e.intervalSource))"
        out += " ± \(trim(e.toleranceSeconds)) s; push \(trim(e.pushIntervalSeconds)) s\(AuditText.pushRulesText(e));"
        out += " accelerated 0-\(trim(e.acceleratedMaxSeconds)) s for at most \(trim(e.acceleratedRunMaxSeconds)) s\n"
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
        if r.counts.rejoinedConnections > 0 {
            out += ", \(r.counts.rejoinedConnections) rejoined (pieces of one connection split by the idle timeout"
                + " or a full connection table)"
        }
        if r.counts.droppedByLimits > 0 {
            out += ", \(r.counts.droppedByLimits) dropped by limits"
            if let drops = r.limitDrops { out += " (\(drops.text))" }
        }
        out += "\n"
        if let hint = Self.noManagerHint(r) { out += hint }
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

    /// When connections on management ports were seen but none went to a manager (so no client and no
    /// check-in is reported), why, and what to give: one paragraph, else nil.
    static func noManagerHint(_ r: HeartbeatReport) -> String? {
        let candidates = r.counts.otherServerConnections + r.counts.droppedByLimits
        guard r.counts.managerConnections == 0, candidates + r.counts.unlistedPortConnections > 0 else { return nil }
        let text: String
        if r.counts.unlistedPortConnections > 0 {
            // The addresses are right: the connections went to the managers, on ports no entry lists.
            let unlisted = r.counts.unlistedPortConnections
            text = "No connection went to a manager on a port the configuration lists: the "
                + "\(formatCount(unlisted, "connection")) to the managers' addresses went to "
                + unlistedPortsText(r.unlistedPorts) + ", which the model's ports and the --server entries do not "
                + "list, so they are not judged"
                + (candidates > 0 ? " (and \(formatCount(candidates, "connection")) on management ports go to other "
                    + "servers)" : "")
                + ". If they are check-ins, " + unlistedPortsRemedy(r.unlistedPorts)
        } else if r.managers.isEmpty {
            let interval = trim(r.expectations.pullIntervalSeconds)
            text = "No management server recognised among \(formatCount(candidates, "connection")) on management "
                + "ports: none goes to a server the model, --server or SyLink.xml names, none carries a secars.dll "
                + "request, and no TLS server is reached every \(interval) s (or at the push interval). Name the "
                + "server with --server ADDRESS, or give the clients' interval with --interval."
        } else {
            let named = r.managers.map(\.address).joined(separator: ", ")
            let go = candidates == 1 ? "goes" : "go"
            text = "No connection went to a manager: the \(formatCount(candidates, "connection")) on management "
                + "ports \(go) to other servers than \(named). Check the --server addresses (or the model's or "
                + "SyLink.xml's servers)."
        }
        return wrapped(text, width: 100)
    }

    /// At most this many ports, and this many servers, are named in the notes on unlisted ports: those with the
    /// most connections (a manager host may serve other things on hundreds of ports).
    static let unlistedNamedMax = 4

    /// `uses` in the order they are named: as given (address and port) when all of them are named, else the
    /// ones with the most connections first.
    static func busiestFirst(_ uses: [HeartbeatReport.UnlistedPortUse]) -> [HeartbeatReport.UnlistedPortUse] {
        guard uses.count > unlistedNamedMax else { return uses }
        return uses.enumerated().sorted {
            ($1.element.connections, $0.offset) < ($0.element.connections, $1.offset)
        }.map(\.element)
    }

    /// `port 8443 of 10.1.0.10 (37 connections) and 10.1.0.11 (36)`: the unlisted ports and servers, at most four
    /// of each named (with more, those with the most connections, then `and 12 more ports`, `and 5 more`), their
    /// connections counted.
    static func unlistedPortsText(_ uses: [HeartbeatReport.UnlistedPortUse]) -> String {
        var perPort: [UInt16: Int] = [:]
        for u in uses { perPort[u.server.port, default: 0] += u.connections }
        let allPorts = perPort.keys.sorted()
        let portWord = allPorts.count == 1 ? "port" : "ports"
        var portsText = allPorts.map(String.init).joined(separator: ", ")
        if allPorts.count > unlistedNamedMax {
            let busiest = allPorts.sorted { (perPort[$1] ?? 0, $0) < (perPort[$0] ?? 0, $1) }.prefix(unlistedNamedMax)
            portsText = busiest.map(String.init).joined(separator: ", ")
                + " and " + formatCount(allPorts.count - unlistedNamedMax, "more port")
        }
        var named = busiestFirst(uses).prefix(unlistedNamedMax).enumerated().map { i, u in
            let server = allPorts.count == 1 ? u.server.address.description : u.server.description
            return "\(server) (\(i == 0 ? formatCount(u.connections, "connection") : String(u.connections)))"
        }
        if uses.count > unlistedNamedMax { named.append("\(uses.count - unlistedNamedMax) more") }
        let servers = joinedList(named)
        if allPorts.count == 1 { return "\(portWord) \(portsText) of \(servers)" }
        return "\(portWord) \(portsText): \(servers)"
    }

    /// How to have check-ins on unlisted ports judged: each server with its port (the two with the most
    /// connections as the example), or the ports in the model.
    static func unlistedPortsRemedy(_ uses: [HeartbeatReport.UnlistedPortUse]) -> String {
        var ports: Set<UInt16> = []
        for u in uses { ports.insert(u.server.port) }
        let example = busiestFirst(uses).prefix(2).map { "--server \($0.server)" }.joined(separator: " ")
        return "give each manager with its port (\(example)\(uses.count > 2 ? " ..." : ""); a bare --server ADDRESS "
            + "takes the model's ports) or add \(ports.count == 1 ? "the port" : "the ports") to the model's "
            + "ports.https (ports.http for plain HTTP) in a --model file."
    }

    /// A note when connections went to configured managers on ports that neither the model nor the managers'
    /// entries list, while other connections did reach managers (with none, `noManagerHint` says it): they made
    /// no check-in, so their clients may be left out. Names the ports and servers, how many clients made such
    /// connections and how many of them have no check-in at all, and how to have them judged.
    static func unlistedPortsHint(_ r: HeartbeatReport) -> String? {
        guard r.counts.managerConnections > 0, !r.unlistedPorts.isEmpty else { return nil }
        var clients = Set<IPAddress>()
        for u in r.unlistedPorts { clients.formUnion(u.clients) }
        let judged = Set(r.clients.map(\.client))
        let leftOut = clients.subtracting(judged).count
        let none = leftOut == 0 ? "each with check-ins judged on listed ports too"
            : leftOut == clients.count ? "none of them with a check-in judged"
            : "\(leftOut) of them with no check-in judged"
        return wrapped("Note: \(formatCount(r.counts.unlistedPortConnections, "connection")) from "
            + "\(formatCount(clients.count, "client")) (\(none)) went to managers on "
            + unlistedPortsText(r.unlistedPorts) + ", which the model's ports and the --server entries do not list: "
            + "they are not judged. If they are check-ins, " + unlistedPortsRemedy(r.unlistedPorts), width: 100)
    }

    /// A note when clients reached servers over TLS at the heartbeat interval on ports that neither the model nor
    /// any entry lists (`HeartbeatReport.periodicOtherPorts` not `portListed`), wrapped for the text reports.
    static func periodicOtherPortsHint(_ r: HeartbeatReport) -> String? {
        periodicOtherPortsNote(r).map { wrapped($0, width: 100) }
    }

    /// The note of `periodicOtherPortsHint` on one line (the HTML report's): a manager whose HTTPS port was
    /// changed from the model's looks so, and its check-ins are not judged. Names at most four, most clients
    /// first, and how to have them judged; another service polled at the same period looks the same, so it
    /// says "if".
    static func periodicOtherPortsNote(_ r: HeartbeatReport) -> String? {
        let servers = r.periodicOtherPorts.filter { !$0.portListed }
        guard !servers.isEmpty else { return nil }
        let named = periodicServersText(servers)
        let ports = Set(servers.map(\.server.port))
        let example = servers.prefix(2).map { "--server \($0.server)" }.joined(separator: " ")
        // A server whose address is a manager already (by its secars requests on a listed port, say) is most
        // likely serving check-ins on the other port too: said, so the note does not read as a contradiction.
        var known: [String] = []
        for p in servers.prefix(unlistedNamedMax) where p.addressIsManager {
            let address = p.server.address.description
            if !known.contains(address) { known.append(address) }
        }
        let knownText = known.isEmpty ? ""
            : " (" + joinedList(known) + (known.count == 1 ? " is a manager" : " are managers") + " on listed ports)"
        return "Note: clients reach " + named + " over TLS at the heartbeat interval, on "
            + (ports.count == 1 ? "a port" : "ports") + " neither the model nor --server lists, so those connections "
            + "are not judged" + knownText + ". If they are check-ins, give "
            + (servers.count == 1 ? "the server" : "each server") + " with its port (\(example)"
            + (servers.count > 2 ? " ..." : "") + ") or add " + (ports.count == 1 ? "the port" : "the ports")
            + " to the model's ports.https in a --model file."
    }

    /// A note when managers are configured and clients reached other servers over TLS at the heartbeat interval
    /// on a listed port (`HeartbeatReport.periodicOtherPorts` with `portListed`), wrapped for the text reports.
    static func periodicListedPortsHint(_ r: HeartbeatReport) -> String? {
        periodicListedPortsNote(r).map { wrapped($0, width: 100) }
    }

    /// The note of `periodicListedPortsHint` on one line: with managers configured, periodicity makes no manager,
    /// so a manager left out of `--server` or SyLink.xml has its check-ins counted among the connections to other
    /// servers on management ports, not judged. Names at most four, most clients first; says "if", as for
    /// `periodicOtherPortsNote`.
    static func periodicListedPortsNote(_ r: HeartbeatReport) -> String? {
        let servers = r.periodicOtherPorts.filter(\.portListed)
        guard !servers.isEmpty else { return nil }
        let one = servers.count == 1
        let example = servers.prefix(2).map { "--server \($0.server)" }.joined(separator: " ")
        return "Note: clients reach " + periodicServersText(servers) + " over TLS at the heartbeat interval, on "
            + (Set(servers.map(\.server.port)).count == 1 ? "a management port" : "management ports") + ", but "
            + (one ? "it is not a configured manager" : "none is a configured manager")
            + ", so those connections are not judged. If " + (one ? "it is a manager, name it" : "they are managers, "
            + "name them") + " too (\(example)" + (servers.count > 2 ? " ..." : "") + ")."
    }

    /// `a:p (2 clients, 24 connections), b:p (1, 12) and 3 more`: at most `unlistedNamedMax` servers.
    static func periodicServersText(_ servers: [HeartbeatReport.PeriodicOtherPort]) -> String {
        var named = servers.prefix(unlistedNamedMax).enumerated().map { i, p in
            let counts = i == 0 ? formatCount(p.clients, "client") + ", " + formatCount(p.connections, "connection")
                : "\(p.clients), \(p.connections)"
            return "\(p.server) (\(counts))"
        }
        if servers.count > unlistedNamedMax { named.append("\(servers.count - unlistedNamedMax) more") }
        return joinedList(named)
    }

    /// `a`, `a and b`, `a, b and c`.
    static func joinedList(_ items: [String]) -> String {
        items.count > 1 ? items.dropLast().joined(separator: ", ") + " and " + (items.last ?? "") : items.joined()
    }

    /// A note when managers are configured and clients tried other servers on management ports at the
    /// expected interval, every connect refused or unanswered (`HeartbeatReport.unconfiguredDown`): with
    /// nothing configured each would be a manager down for the whole capture (`inferred-connects`); as it
    /// is, those failed check-ins are not judged. Names at most three, most clients first.
    static func unconfiguredDownHint(_ r: HeartbeatReport) -> String? {
        guard !r.unconfiguredDown.isEmpty else { return nil }
        let servers = r.unconfiguredDown.sorted { x, y in (-x.value, x.key) < (-y.value, y.key) }
        var named = servers.prefix(3).map { "\($0.key) (\(formatCount($0.value, "client")))" }
            .joined(separator: ", ")
        if servers.count > 3 { named += " and \(servers.count - 3) more" }
        let one = servers.count == 1
        let configured = one ? "it is not a configured manager" : "none is a configured manager"
        let remedy = one ? "it is a manager, name it" : "they are managers, name them"
        return wrapped("Note: clients tried \(named) on a management port at the expected interval, every "
            + "connect refused or unanswered; \(configured), so those failed check-ins are not judged. If "
            + "\(remedy) too (--server or --sylink).", width: 100)
    }

    /// How many times a client's check-ins must switch between two managers inferred from periodic TLS
    /// for `turnTakingHint` to name the pair: A B A B. Failing over and back is two switches.
    static let turnTakingMinSwitches = 3

    /// A note when two managers found only by periodic TLS (`inferred-tls`) took turns in the check-ins of
    /// the same clients (their check-ins to the two switched back and forth at least `turnTakingMinSwitches`
    /// times): a SEP client checks in with one manager at a time, so one of the two may be another agent on
    /// the clients polling an HTTPS server at the same interval. Two addresses whose clients asked for a
    /// common TLS server name are left out (one service on several addresses). Names at most three pairs,
    /// most clients first, each address with its server names. Cost: one pass over the check-ins.
    static func turnTakingHint(_ r: HeartbeatReport) -> String? {
        var names: [IPAddress: [String]] = [:]
        for m in r.managers where m.source == "inferred-tls" {
            if let a = IPAddress(m.address) { names[a] = m.serverNames }
        }
        let inferred = Set(names.keys)
        guard inferred.count >= 2 else { return nil }
        struct Pair: Hashable {
            var a: IPAddress
            var b: IPAddress
            init(_ x: IPAddress, _ y: IPAddress) { (a, b) = x < y ? (x, y) : (y, x) }
        }
        var last: [IPAddress: IPAddress] = [:]
        var switches: [IPAddress: [Pair: Int]] = [:]
        for i in r.sessions.indices where !r.sessions[i].failed && inferred.contains(r.sessions[i].server) {
            let (client, server) = (r.sessions[i].client, r.sessions[i].server)
            if let before = last[client], before != server {
                switches[client, default: [:]][Pair(before, server), default: 0] += 1
            }
            last[client] = server
        }
        var clients: [Pair: Int] = [:]
        for perPair in switches.values {
            for (pair, n) in perPair where n >= turnTakingMinSwitches {
                // Two addresses asked for the same server name are one service (DNS round robin, A and AAAA).
                let (x, y) = (names[pair.a] ?? [], names[pair.b] ?? [])
                if !x.isEmpty, !Set(x).isDisjoint(with: y) { continue }
                clients[pair, default: 0] += 1
            }
        }
        guard !clients.isEmpty else { return nil }
        let pairs = clients.sorted { x, y in (-x.value, x.key.a, x.key.b) < (-y.value, y.key.a, y.key.b) }
        // An address with the server names its clients asked for (capture text, made safe to print).
        func shown(_ a: IPAddress) -> String {
            let sni = names[a] ?? []
            return sni.isEmpty ? "\(a)" : "\(a) (SNI " + TextTable.sanitize(sni.joined(separator: ", ")) + ")"
        }
        var named = pairs.prefix(3).map {
            "\(shown($0.key.a)) and \(shown($0.key.b)): \(formatCount($0.value, "client"))"
        }.joined(separator: "; ")
        if pairs.count > 3 { named += "; and \(formatCount(pairs.count - 3, "more pair"))" }
        let one = pairs.count == 1 ? "one of them" : "one of each pair"
        return wrapped("Note: managers found only by periodic TLS took turns in the check-ins of the same "
            + "clients: \(named). A SEP client checks in with one manager at a time, so \(one) may be another "
            + "agent on the clients polling an HTTPS server at the same interval, its connections then judged as "
            + "check-ins. If so, name the managers with --server or --sylink: managers are then not inferred "
            + "from periodic TLS.", width: 100)
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

    private static func trim(_ d: Double) -> String {
        let r = (d * 1000).rounded() / 1000
        return r == r.rounded() && abs(r) < 1e15 ? String(Int64(r)) : String(r)
    }
}
