import Core
import Records

/// Where a manager came from, in order of precedence.
public enum ManagerSource: String, Hashable, Sendable, Comparable {
    /// `--server HOST[:PORT]`.
    case option
    /// A `Server` of SyLink.xml.
    case sylink
    /// The `servers` list of the reference model.
    case model
    /// Plain-HTTP requests for the secars path were sent to it.
    case inferredHTTP = "inferred-http"
    /// TLS to a model HTTPS port, either on an address already known as a manager, or periodic
    /// at the expected interval from one client.
    case inferredTLS = "inferred-tls"
    /// A client's connects to it failed shortly before the client reached another manager on the
    /// same port (within `checkIn.attemptWindowSeconds`): the client tried it first.
    case inferredFailover = "inferred-failover"
    /// One client tried it on a management port again and again at the expected interval, and every
    /// attempt was refused or unanswered: a manager that was down for the whole capture.
    case inferredConnects = "inferred-connects"

    private var rank: Int {
        switch self {
        case .option: return 0
        case .sylink: return 1
        case .model: return 2
        case .inferredHTTP: return 3
        case .inferredTLS: return 4
        case .inferredFailover: return 5
        case .inferredConnects: return 6
        }
    }

    public static func < (a: ManagerSource, b: ManagerSource) -> Bool { a.rank < b.rank }

    public var isConfigured: Bool { rank <= 2 }
}

/// How a configured host name was tied to one address.
struct NameBinding: Hashable, Sendable {
    var address: IPAddress
    /// `tls-sni` or `http-host`.
    var how: String
}

/// A manager named before the capture is read (option, SyLink.xml or model).
struct ConfiguredManager: Hashable, Sendable {
    var host: String
    /// Set when `host` is address text.
    var literal: IPAddress?
    /// Ports it answers on; empty means any management port of the model.
    var ports: Set<UInt16>
    var priority: Int?
    var source: ManagerSource
}

/// Known managers, and the evidence that ties host names to addresses.
///
/// A host name in SyLink.xml or `--server` is tied to addresses only by what the capture
/// shows: an HTTP `Host` header or a TLS SNI equal to the name on a connection to that address.
/// A name may be tied to several addresses (an IPv4 and an IPv6 address, or DNS round robin): each
/// address a connection naming it went to stands for it. No DNS lookups are made.
struct ManagerDirectory: Sendable {
    private(set) var configured: [ConfiguredManager] = []
    /// Lower-cased host name -> the addresses it was tied to, in the order first seen, and how each was
    /// tied (`tls-sni`, `http-host`). At most `maxAddressesPerName` per name.
    private(set) var bindings: [String: [NameBinding]] = [:]
    /// The same, for lookups: lower-cased host name -> address -> how it was tied.
    private var boundAddresses: [String: [IPAddress: String]] = [:]
    /// Addresses kept per configured name: far more than a real manager's A and AAAA records or DNS round
    /// robin give, so a capture naming one manager on every address it holds does not make lookups slow.
    static let maxAddressesPerName = 64
    /// Lower-cased SNI name -> the address the first tunnel asking for it went to (a tunnel judged as one to
    /// its target, named by address or binding): ties a tunnel named only by its SNI (its `CONNECT` was not
    /// captured) to the server the client's other tunnels for that name reached.
    private(set) var tunnelNames: [String: IPAddress] = [:]
    let managementPorts: Set<UInt16>
    let httpsPorts: Set<UInt16>
    /// Every port a configured manager or the model names. Made once here: it is asked for every connection,
    /// and a union over a long server list per connection made a SyLink.xml of 40,000 servers cost
    /// 15 s on a 37 MB capture.
    let allPorts: Set<UInt16>
    /// The lower-cased host names of the configured managers given by name, made once for the same reason.
    private let configuredNames: Set<String>
    let secarsPath: String

    init(model: ReferenceModel, sylink: SyLinkFile?) {
        managementPorts = model.managementPorts
        httpsPorts = Set(model.ports.https)
        secarsPath = model.http.secarsPath.lowercased()
        for s in model.servers {
            let source: ManagerSource = s.origin == "option" ? .option : .model
            configured.append(ConfiguredManager(
                host: s.host, literal: IPAddress(s.host)?.unmappingIPv4, ports: s.port.map { [$0] } ?? [],
                priority: s.priority, source: source))
        }
        for s in sylink?.servers ?? [] {
            let ports = Set([s.httpPort, s.httpsPort].compactMap { $0 })
            configured.append(ConfiguredManager(
                host: s.address, literal: s.ipAddress, ports: ports.isEmpty ? [] : ports.union(httpsPorts),
                priority: s.priority, source: .sylink))
        }
        allPorts = configured.reduce(managementPorts) { $0.union($1.ports) }
        configuredNames = Set(configured.filter { $0.literal == nil }.map { $0.host.lowercased() })
    }

    var hasConfiguredManagers: Bool { !configured.isEmpty }

    /// The record as the heartbeat layer judges it. A connection through a proxy's `CONNECT` tunnel
    /// (`ConnectionRecord.tunnel`) is one to the tunnel's target: `server` becomes the target, and the
    /// proxy as captured moves to `tunnel.proxy`. Plain HTTP sent to a proxy in absolute form (kind
    /// `.forward`) is judged the same way, its request-targets read in origin form. An IPv4-mapped IPv6
    /// target (`[::ffff:10.1.0.11]:443`) is its IPv4 address, as `--server` reads one. The target's
    /// host is an address, or a host name already tied to an address (`bindings`, learned from
    /// connections filed before this one; else `tunnelNames`, the SNI of earlier tunnels); a target with
    /// no port, or a name not yet tied, leaves the
    /// record as captured (to the proxy). A `CONNECT` the proxy refused (kind `.refused`: no tunnel) is a
    /// refused connect to its target (`handshake` `.refused`), so a check-in made only of such connects
    /// is a failed one, as one whose SYNs were answered by RST.
    func judged(_ c: ConnectionRecord) -> ConnectionRecord {
        guard var tunnel = c.tunnel, tunnel.proxy == nil, let port = tunnel.port,
              let address = IPAddress(tunnel.host)?.unmappingIPv4
                ?? bindings[Self.nameKey(tunnel.host)]?.first?.address ?? tunnelNames[Self.nameKey(tunnel.host)]
        else { return c }
        var judged = c
        tunnel.proxy = c.server
        judged.server = Endpoint(address: address, port: port)
        judged.tunnel = tunnel
        if tunnel.kind == .refused { judged.handshake = .refused }
        if tunnel.kind == .forward {
            // Absolute-form targets read as the origin-form ones a direct connection carries.
            for i in judged.exchanges.indices {
                guard let target = judged.exchanges[i].http?.target, let origin = Self.originForm(target)
                else { continue }
                judged.exchanges[i].http?.target = origin
            }
        }
        return judged
    }

    /// The origin form (`/path?query`) of an `http://` absolute-form request-target; nil for another.
    static func originForm(_ target: String) -> String? {
        guard target.utf8.count > 7, target.prefix(7).lowercased() == "http://" else { return nil }
        let rest = target.dropFirst(7)
        guard let i = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) else { return "/" }
        let after = rest[i...]
        return after.hasPrefix("/") ? String(after) : "/" + after
    }

    /// Learns host-name bindings from a connection's SNI and Host headers. A tunnelled connection
    /// teaches them only once judged as one to its target (`judged(_:)`): they name the target, not
    /// the proxy.
    mutating func observe(_ c: ConnectionRecord) {
        if c.hasTunnel {
            if c.tunnel?.proxy == nil { return }
            if let sni = c.tls?.serverName, tunnelNames[Self.nameKey(sni)] == nil {
                tunnelNames[Self.nameKey(sni)] = c.server.address
            }
        }
        // Only a configured name is bound: with none (no `--server` or SyLink.xml name), no name of any
        // record is read (this runs for every record a capture gives).
        guard !configuredNames.isEmpty else { return }
        if let sni = c.tls?.serverName { bind(sni, to: c.server.address, how: "tls-sni") }
        for i in c.exchanges.indices {
            guard let host = c.exchanges[i].http?.host else { continue }
            bind(Self.stripPort(host), to: c.server.address, how: "http-host")
        }
    }

    /// Whether `name` is a configured manager's host name (not address text).
    func isConfiguredName(_ name: String) -> Bool { configuredNames.contains(Self.nameKey(name)) }

    /// Ties `name` to `address` when it is a configured name not yet tied there (and not tied to too many).
    private mutating func bind(_ name: String, to address: IPAddress, how: String) {
        let key = Self.nameKey(name)
        guard boundAddresses[key]?[address] == nil, (bindings[key]?.count ?? 0) < Self.maxAddressesPerName,
              configuredNames.contains(key)
        else { return }
        bindings[key, default: []].append(NameBinding(address: address, how: how))
        boundAddresses[key, default: [:]][address] = how
    }

    /// The addresses a configured manager stands for: its literal address, or every address the capture tied
    /// its name to (in the order first seen); empty when none is known.
    func addresses(of m: ConfiguredManager) -> [IPAddress] {
        if let literal = m.literal { return [literal] }
        return bindings[m.host.lowercased()]?.map(\.address) ?? []
    }

    /// Whether the configured manager stands for `address`.
    func isAt(_ m: ConfiguredManager, _ address: IPAddress) -> Bool {
        if let literal = m.literal { return literal == address }
        return boundAddresses[m.host.lowercased()]?[address] != nil
    }

    /// How the configured name `name` was tied to `address` (`tls-sni`, `http-host`), if it was.
    func binding(of name: String, at address: IPAddress) -> String? {
        boundAddresses[name.lowercased()]?[address]
    }

    /// The best configured manager at this endpoint (port must match when the entry names ports).
    func configuredMatch(_ server: Endpoint) -> ConfiguredManager? {
        configured.filter { m in
            isAt(m, server.address)
                && (m.ports.isEmpty ? managementPorts.contains(server.port) : m.ports.contains(server.port))
        }.min { ($0.source, $0.priority ?? Int.max) < ($1.source, $1.priority ?? Int.max) }
    }

    /// Could this connection be management traffic? Cheap test made at ingest.
    func isCandidate(_ c: ConnectionRecord) -> Bool {
        if allPorts.contains(c.server.port) { return true }
        if hasSecarsRequest(c) { return true }
        return configured.contains { isAt($0, c.server.address) }
    }

    /// Whether the connection carries a secars request that makes its server a manager (`inferred-http`).
    /// On a connection not tied to a proxy's target, requests after a `CONNECT` do not count: the server
    /// is a proxy, and a request pipelined after a `CONNECT` it refused was meant for the tunnel's target
    /// (it reaches the proxy only because no tunnel opened), so it would make the proxy a manager.
    func hasSecarsRequest(_ c: ConnectionRecord) -> Bool {
        for i in c.exchanges.indices {
            guard let h = c.exchanges[i].http else { continue }
            if h.method.utf8.count == 7, !c.hasTunnel || c.tunnel?.proxy == nil, h.method.uppercased() == "CONNECT" {
                return false
            }
            if isSecars(h) { return true }
        }
        return false
    }

    func isSecars(_ h: HTTPTransaction?) -> Bool {
        guard let target = h?.target.utf8 else { return false }
        // Most targets are ASCII and stored contiguously: compared as bytes in place (the generic
        // comparison below cost thousands of instructions a target, once per exchange when check-ins are built).
        let inPlace: Bool?? = target.withContiguousStorageIfAvailable { t in
            secarsPath.utf8.withContiguousStorageIfAvailable { s in Self.isSecarsASCII(t, s) } ?? nil
        }
        if let answer = inPlace.flatMap({ $0 }) { return answer }
        // The path (before any `?`), compared without regard to ASCII case and without copying it;
        // a path with other characters takes Unicode lower-casing (a Kelvin sign lower-cases to `k`).
        let path = target.prefix { $0 != UInt8(ascii: "?") }
        if path.contains(where: { $0 >= 0x80 }) {
            let folded = String(decoding: path, as: UTF8.self).lowercased()
            return folded == secarsPath || folded.hasSuffix(secarsPath) && folded.hasPrefix("http")
        }
        func equalFolded<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { x, y in
                let lx = x >= 0x41 && x <= 0x5A ? x | 0x20 : x
                return lx == y
            }
        }
        let secars = secarsPath.utf8
        if equalFolded(path, secars) { return true }
        return path.count >= secars.count && equalFolded(path.suffix(secars.count), secars)
            && path.count >= 4 && equalFolded(path.prefix(4), "http".utf8)
    }

    /// Whether `h`'s target is one the snap length cut (`…` at its end, as `HTTP1Parser.keepCutHead` keeps it) where
    /// it may have gone on to the secars path: what was captured, ASCII case folded, begins that path, or is not a
    /// path at all (an absolute form, whose path was not reached). `isSecars` cannot say no to such a target.
    func mayBeCutSecars(_ h: HTTPTransaction) -> Bool {
        guard h.target.hasSuffix("…") else { return false }
        let captured = String(h.target.dropLast()).lowercased()
        return !captured.hasPrefix("/") || secarsPath.hasPrefix(captured)
    }

    /// `isSecars` on the bytes of a target and of the lower-cased secars path; nil when the target's path (before
    /// any `?`) has a byte outside ASCII, which takes Unicode lower-casing instead.
    static func isSecarsASCII(_ target: UnsafeBufferPointer<UInt8>, _ secars: UnsafeBufferPointer<UInt8>) -> Bool? {
        var length = 0
        while length < target.count, target[length] != UInt8(ascii: "?") {
            if target[length] >= 0x80 { return nil }
            length += 1
        }
        // `count` bytes of the path from `from`, ASCII upper case folded to lower, against `expected`.
        func equalFolded(from: Int, _ expected: UnsafeBufferPointer<UInt8>, count: Int) -> Bool {
            for i in 0..<count {
                let b = target[from + i]
                if (b >= 0x41 && b <= 0x5A ? b | 0x20 : b) != expected[i] { return false }
            }
            return true
        }
        if length == secars.count { return equalFolded(from: 0, secars, count: length) }
        guard length > secars.count, length >= 4, equalFolded(from: length - secars.count, secars, count: secars.count)
        else { return false }
        let scheme: StaticString = "http"
        return scheme.withUTF8Buffer { equalFolded(from: 0, $0, count: 4) }
    }

    /// A host name as a key of `bindings`: lower case, without the one trailing dot of its fully qualified form
    /// (`sepm.example.test.` in an SNI or Host header names `sepm.example.test`, as a configured name's dot is
    /// dropped when it is read).
    static func nameKey(_ name: String) -> String {
        var key = name.lowercased()
        if key.utf8.count > 1, key.hasSuffix(".") { key.removeLast() }
        return key
    }

    static func stripPort(_ host: String) -> String {
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            return String(host[host.index(after: host.startIndex)..<close])
        }
        if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            return String(host[..<colon])
        }
        return host
    }
}
