import Core
import Heartbeat

/// The notes of the text reports (`analyze`, and `audit` and `validate`, which call them): one paragraph each,
/// under the summary, on why a report may not say what the user expects (no manager found, check-ins on ports
/// nothing lists, servers polled at the heartbeat interval, configured managers down, inferred managers taking
/// turns), with the remedy. Each is nil when it does not apply.
extension AnalyzeReport {
    /// Where the check-ins in `untied` proxy connections whose target is tied to no address are, for the audit's
    /// note on them: in no client's row, or, those filed to a proxy taken for a manager (plain-HTTP secars requests
    /// in absolute form make it one), in their clients' rows as check-ins to the proxy.
    static func untiedTunnelRows(_ r: HeartbeatReport, of untied: Int) -> String {
        let toManagers = min(r.counts.untiedTunnelsToManagers, untied)
        if toManagers == 0 {
            return "check-ins in them are in no client's row, and the verdict does not cover those clients"
        }
        let asProxy = "are in their clients' rows as check-ins to the proxy, not to their target"
        if toManagers == untied {
            return "they went to a proxy taken for a manager, so check-ins in them \(asProxy), and the verdict judges "
                + "them as such"
        }
        return "\(toManagers) of them went to a proxy taken for a manager, so check-ins in them \(asProxy); "
            + "check-ins in the others are in no client's row, and the verdict does not cover those clients"
    }

    /// When connections on management ports were seen but none went to a manager (so no client and no
    /// check-in is reported), why, and what to give: one paragraph, else nil. `snapCut`: the capture holds packets
    /// cut by the snap length, whose request targets may end before the secars path could be read. Connections to
    /// a proxy whose `CONNECT` the snap length cut (`cutTunnels`) are a reason of their own, on any port.
    static func noManagerHint(_ r: HeartbeatReport, snapCut: Bool = false) -> String? {
        let candidates = r.counts.otherServerConnections + r.counts.droppedByLimits
        let cutTunnels = r.counts.cutTunnels
        guard r.counts.managerConnections == 0, candidates + r.counts.unlistedPortConnections + cutTunnels > 0 else {
            return nil
        }
        // Through a proxy, what the cut loses is the tunnel itself, not a request's path.
        let cutConnects = "\(formatCount(cutTunnels, "connection")) to a proxy had "
            + (cutTunnels == 1 ? "its" : "their") + " CONNECT cut by the snap length, so neither the tunnels' targets "
            + "nor the check-ins in them could be read"
        let text: String
        if cutTunnels > 0, candidates + r.counts.unlistedPortConnections == 0 {
            text = "No connection went to a manager: the \(cutConnects). Capture whole packets (tcpdump -s 0), or "
                + "at least the proxy's CONNECT requests and answers whole."
        } else if r.counts.unlistedPortConnections > 0 {
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
                + "request" + (snapCut ? " that could be read (the snap length cut this capture's packets: "
                    + (cutTunnels > 0 ? cutConnects : "a request's target may end before its path") + ")" : "")
                + ", and no TLS server is reached every \(interval) s (or at the push interval). Name the "
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
}
