import Core
import Heartbeat

/// A fault the simulator can inject, and the finding `sepbeat analyze` should raise for it.
public enum FaultKind: String, CaseIterable, Codable, Sendable {
    /// One pull check-in left out: the gap spans two intervals.
    case missed
    /// One pull check-in half an interval late (later ones keep the new phase).
    case late
    /// An extra pull check-in half the accelerated range after a normal one.
    case accelerated
    /// The check-in's connect to the client's manager is refused; it reaches the other manager.
    case failover
    /// The manager answers the first request of a plain-HTTP check-in with 503.
    case http503 = "http-503"
    /// The manager answers the first request of a plain-HTTP check-in with 400.
    case http400 = "http-400"
    /// An HTTPS client whose every handshake settles on TLS 1.0.
    case oldTLS = "old-tls"
    /// A full check-in whose log upload is larger than the model's upload cap.
    case oversizeUpload = "oversize-upload"
    /// A pull client that stops checking in at a point of the capture's second half, while the others go on.
    case silent
    /// One pull check-in early: halfway between the accelerated range's end and the interval less its tolerance
    /// after the one before (later ones keep the new phase).
    case early
    /// A pull check-in's first connect is never answered (three SYNs); the client moves on to a new connect to
    /// the same manager, which is answered.
    case connectTimeout = "connect-timeout"
    /// A pull check-in's first request is sent, then the manager closes the connection with no byte of answer.
    case noAnswer = "no-answer"
    /// An HTTPS pull check-in's ClientHello is answered by a fatal handshake_failure alert, then the close.
    case tlsHandshakeFailed = "tls-handshake-failed"
    /// A push client's connection closed by the manager after one burst; the client opens a new one at the next.
    case pushConnectionDropped = "push-connection-dropped"

    /// Finding codes `analyze` raises for one instance of this fault, under a model whose TLS minimum is
    /// `minimumTLS` (its `minimumTLSVersion`, which the old-tls fault's code names).
    public func codes(minimumTLS: UInt16 = 0x0303) -> [FindingCode] {
        switch self {
        case .missed: return [.missedHeartbeat]
        case .late: return [.intervalLate]
        case .accelerated: return [.acceleratedHeartbeat]
        case .failover: return [.failover, .connectFailed]
        case .http503, .http400: return [.httpError]
        case .oldTLS: return [.tlsBelow(minimum: minimumTLS)]
        case .oversizeUpload: return [.uploadOverCap]
        case .silent: return [.wentSilent]
        case .early: return [.intervalEarly]
        case .connectTimeout: return [.connectTimeout]
        case .noAnswer: return [.noAnswer]
        case .tlsHandshakeFailed: return [.tlsHandshakeFailed]
        case .pushConnectionDropped: return [.pushConnectionDropped]
        }
    }
}

/// An explicit HTTP proxy of a simulated fleet: an IPv4 address and a port.
public struct SimulatedProxy: Hashable, Sendable {
    public var address: UInt32
    public var port: UInt16

    public init(address: UInt32, port: UInt16) {
        self.address = address
        self.port = port
    }
}

/// How one check-in travels.
public enum SimulatedTransport: String, Codable, Sendable {
    case http
    case https
}

/// What `Simulator` generates: fleet shape, timing, mix and faults.
///
/// Defaults give a small healthy fleet: 20 clients for two hours, 10 s of jitter (less when the
/// model's tolerance is below 20 s), 10 % full check-ins, 30 % plain HTTP, 10 % push clients, two managers.
///
/// Size limit: the whole plan is built before any packet is written (about 60 bytes of memory per
/// check-in while writing), so a run is refused up front when it would hold more than
/// `maxCheckIns` check-ins (`estimatedCheckIns(model:)`).
public struct SimulationConfiguration: Sendable {
    public var clients = 20
    public var durationSeconds: Double = 7_200
    /// Pull interval; nil takes the model's `interval.seconds`.
    public var intervalSeconds: Double?
    /// Each gap is the interval plus a uniform draw in ±jitter; at most half the model's tolerance
    /// (a missed check-in leaves a gap of two jittered intervals, up to 2 × jitter off). nil takes
    /// `defaultJitterSeconds(model:)`.
    public var jitterSeconds: Double?
    /// Share (0-1) of check-ins that are full (index, download URLs, log and sensor uploads).
    public var fullShare = 0.1
    /// Share (0-1) of clients in plain HTTP; the rest use HTTPS.
    public var httpShare = 0.3
    /// Share (0-1) of HTTPS clients in push mode (one long-lived connection, periodic exchanges).
    public var pushShare = 0.1
    /// Number of instances of each fault, each on a different client.
    public var faults: [FaultKind: Int] = [:]
    public var format: SimulationFileFormat = .pcap
    public var seed: UInt64 = 1
    /// Time of the capture's start (default 2024-01-15T08:00:00Z).
    public var start = Timestamp(nanoseconds: 1_705_305_600_000_000_000)
    /// Number of management servers (1-250); clients are spread over them in turn.
    public var managers = 2
    /// Number of files: clients are spread over them by index (client i to file i mod n).
    public var files = 1
    /// An explicit HTTP proxy every client goes through: each connection goes to it; an HTTPS one opens a
    /// tunnel to the manager with `CONNECT` (answered 200) before the check-in, a plain-HTTP one sends its
    /// requests in absolute form (`GET http://manager:port/...`); nil (the default) for none.
    public var proxy: SimulatedProxy?
    /// The changes of the heartbeat policy during the capture (`--interval-change`, given once per change), in time
    /// order; empty for none.
    public var intervalChanges: [SimulatedIntervalChange] = []

    /// Most check-ins one run may plan: 5,000,000 (about 300 MB of memory and, at about 18 KB of
    /// capture per check-in, some 90 GB of capture).
    public static let maxCheckIns = 5_000_000

    /// Shortest pull interval the simulator takes: `ReferenceModel.minIntervalSeconds` (10 s).
    public static var minIntervalSeconds: Double { ReferenceModel.minIntervalSeconds }

    public init() {}

    /// The jitter when none is given: 10 s, or half the model's tolerance when that is less.
    public static func defaultJitterSeconds(model: ReferenceModel) -> Double {
        min(10, model.interval.toleranceSeconds / 2)
    }

    /// The longest pull interval a client of the fleet runs: the interval's, or a policy change's when longer.
    func longestPeriod(model: ReferenceModel) -> Double {
        intervalChanges.reduce(intervalSeconds ?? model.interval.seconds) { max($0, $1.seconds) }
    }

    /// The jitter in effect: `jitterSeconds`, or the default for `model`.
    public func jitter(model: ReferenceModel) -> Double {
        jitterSeconds ?? Self.defaultJitterSeconds(model: model)
    }

    /// An upper bound on the check-ins a run plans, from the options alone (nothing is allocated):
    /// clients × ceil(duration / the shortest interval a client may run: pull, or push when the
    /// fleet may hold push clients).
    public func estimatedCheckIns(model: ReferenceModel) -> Double {
        var shortest = intervalSeconds ?? model.interval.seconds
        if pushShare > 0, httpShare < 1 { shortest = min(shortest, model.push.heartbeatSeconds) }
        for change in intervalChanges { shortest = min(shortest, change.seconds) }
        guard shortest > 0 else { return .infinity }
        return Double(clients) * (durationSeconds / shortest).rounded(.up)
    }

    /// `a client` or `a manager` when `address` is one of the simulated fleet's, else nil. A proxy
    /// there would make that host's connections the proxy's: analyze would take a client's check-ins for a
    /// proxy's legs. Clients are 10.20.0.1 on (250 a /24, `FleetPlan.make`), managers 10.1.0.10 on.
    func proxyClash(_ address: UInt32) -> String? {
        let firstManager: UInt32 = 0x0A01_000A
        if address >= firstManager, address - firstManager < UInt32(max(0, managers)) {
            return "a manager"
        }
        let base: UInt32 = 0x0A14_0000
        guard address > base else { return nil }
        let offset = address - base
        let block = Int(offset >> 8), last = Int(offset & 0xff)
        guard (1...250).contains(last) else { return nil }
        let index = block * 250 + last - 1
        return index < clients ? "a client" : nil
    }

    static func dotted(_ v: UInt32) -> String {
        "\(v >> 24).\(v >> 16 & 0xff).\(v >> 8 & 0xff).\(v & 0xff)"
    }

    /// The longest `--duration`: 31 days.
    public static let maxDurationSeconds: Double = 31 * 86_400

    /// Checks the values against each other and the model; the message names the option.
    public func validate(model: ReferenceModel) throws(SimulationError) {
        let interval = intervalSeconds ?? model.interval.seconds
        guard clients >= 1, clients <= 1_000_000 else { throw SimulationError("--clients must be 1-1000000") }
        guard durationSeconds > 0, durationSeconds <= Self.maxDurationSeconds else {
            throw SimulationError("--duration must be above 0 and at most 31 days")
        }
        let least = Self.minIntervalSeconds
        // The range every interval source has (`ReferenceModel.maxIntervalSeconds`: one week), as `--help` says.
        let longest = ReferenceModel.maxIntervalSeconds
        guard interval >= least, interval <= longest else {
            throw SimulationError("--interval must be \(Int(least))-\(Int(longest)) s")
        }
        let jitter = jitter(model: model)
        let most = model.interval.toleranceSeconds / 2
        guard jitter >= 0, jitter <= most else {
            throw SimulationError("--jitter must be 0 to half the model's tolerance (\(most) s of "
                + "\(model.interval.toleranceSeconds) s), or a missed check-in could be judged late")
        }
        for (name, v) in [("--full-share", fullShare), ("--http-share", httpShare), ("--push-share", pushShare)] {
            guard v >= 0, v <= 1 else { throw SimulationError("\(name) must be between 0 and 1") }
        }
        guard managers >= 1, managers <= 250 else { throw SimulationError("--managers must be 1-250") }
        guard files >= 1, files <= min(256, clients) else {
            throw SimulationError("--split must be 1-\(min(256, clients)) (at most one file per client, at most 256)")
        }
        if (faults[.failover] ?? 0) > 0, managers < 2 {
            throw SimulationError("the failover fault needs --managers 2 or more")
        }
        // Its handshakes settle on TLS 1.0, no finding under a minimum of 1.0: the truth file would name a
        // `tls-below-1.0` that analyze rightly never reports.
        if (faults[.oldTLS] ?? 0) > 0, model.minimumTLSVersion <= 0x0301 {
            throw SimulationError("the old-tls fault makes TLS 1.0 check-ins, which the model's tls.minimumVersion "
                + "1.0 allows: give a model whose minimum is 1.1 or later")
        }
        for kind in [FaultKind.failover, .connectTimeout] where (faults[kind] ?? 0) > 0 && proxy != nil {
            throw SimulationError("the \(kind.rawValue) fault cannot be simulated through --proxy (the connects go "
                + "to the proxy)")
        }
        // A failure the client retries within the retry window on a new connection that is answered is no failed
        // check-in (`retried-and-answered`): the next check-in must start later than that.
        for kind in [FaultKind.noAnswer, .tlsHandshakeFailed] where (faults[kind] ?? 0) > 0 {
            let shortest = intervalChanges.reduce(interval) { min($0, $1.seconds) }
            let window = model.checkIn.retryWindowSeconds
            guard shortest - jitter > window + FleetPlan.failedCheckInSeconds else {
                throw SimulationError("the \(kind.rawValue) fault needs pull intervals less the jitter longer than "
                    + "checkIn.retryWindowSeconds (\(FleetPlan.formatted(window)) s) plus "
                    + "\(Int(FleetPlan.failedCheckInSeconds)) s: the next check-in would be a retry of the failed one; "
                    + "use a longer --interval or less --jitter")
            }
        }
        // A change to half or a third of the interval reads as missed check-ins at the new level (analyze takes no
        // level change to or from two or three times the other), so no early gap's judgement is known before it.
        if (faults[.early] ?? 0) > 0 {
            for change in intervalChanges where change.seconds < interval {
                let tolerance = model.intervalRules(forSeconds: change.seconds).toleranceSeconds
                for k in 2...3 where abs(interval - Double(k) * change.seconds) <= Double(k) * tolerance {
                    throw SimulationError("the early fault cannot be judged with --interval-change to "
                        + "\(FleetPlan.formatted(change.seconds)) s, 1/\(k) of the \(FleetPlan.formatted(interval)) s "
                        + "interval: analyze reads such a change as missed check-ins, not as a new level")
                }
            }
        }
        if let proxy, let clash = proxyClash(proxy.address) {
            let address = Self.dotted(proxy.address)
            throw SimulationError("--proxy \(address):\(proxy.port): \(address) is the address of \(clash) of the "
                + "simulated fleet: give the proxy an address of its own")
        }
        try validateIntervalChanges(model: model, jitter: jitter)
        if faults.values.contains(where: { $0 < 0 }) { throw SimulationError("fault counts must be 0 or more") }
        if let silent = faults[.silent], silent > 0 {
            // Someone must go on checking in for a client to be seen going silent.
            guard silent < clients else {
                throw SimulationError("the silent fault needs a client that goes on checking in: use more --clients "
                    + "than silent ones")
            }
            let need = 2 * (5 + Double(model.interval.silentMinIntervals + 2) * longestPeriod(model: model))
            guard durationSeconds >= need else {
                throw SimulationError("the silent fault needs --duration of at least \(Int(need.rounded(.up))) s: its "
                    + "client goes silent in the second half, at least interval.silentMinIntervals + 2 intervals "
                    + "before the end")
            }
        }
        let estimate = estimatedCheckIns(model: model)
        guard estimate <= Double(Self.maxCheckIns) else {
            // Whole seconds as typed (`1d` is 86400 s, not 86400.0 s).
            let seconds = durationSeconds == durationSeconds.rounded() && abs(durationSeconds) < 1e15
                ? String(Int64(durationSeconds)) : String(durationSeconds)
            throw SimulationError("--clients \(clients) over --duration \(seconds) s would plan about "
                + "\(Int(min(estimate, 1e18))) check-ins, more than the limit of \(Self.maxCheckIns): use fewer "
                + "--clients or a shorter --duration")
        }
    }
}

extension SimulationConfiguration {
    /// Checks each `--interval-change` alone, then the changes against each other: in time order, each one after
    /// every changing client has taken the one before. A client takes a change at its first check-in at or past
    /// its time, up to the longest interval running then (and the jitter) later, so a change sooner than that
    /// after the one before could reach a client before the earlier one had: which of the two it runs would depend
    /// on its phase, not on the order given.
    func validateIntervalChanges(model: ReferenceModel, jitter: Double) throws(SimulationError) {
        let least = Self.minIntervalSeconds
        let longest = ReferenceModel.maxIntervalSeconds
        for change in intervalChanges {
            guard change.seconds >= least, change.seconds <= longest else {
                throw SimulationError("--interval-change must give an interval of \(Int(least))-\(Int(longest)) s")
            }
            guard change.atSeconds < durationSeconds else {
                throw SimulationError("--interval-change must come before the capture's end (--duration)")
            }
            guard change.share > 0, change.share <= 1 else {
                throw SimulationError("--interval-change takes a share of the clients above 0 and at most 1")
            }
        }
        // Before the first change a client runs the pull interval, or the push heartbeat when the fleet may hold
        // push clients; before a later one, that or any earlier change's interval.
        var running = intervalSeconds ?? model.interval.seconds
        if pushShare > 0, httpShare < 1 { running = max(running, model.push.heartbeatSeconds) }
        for (earlier, later) in zip(intervalChanges, intervalChanges.dropFirst()) {
            running = max(running, earlier.seconds)
            let sooner = FleetPlan.formatted(earlier.atSeconds)
            guard later.atSeconds > earlier.atSeconds else {
                throw SimulationError("--interval-change at \(FleetPlan.formatted(later.atSeconds)) s comes after the "
                    + "one at \(sooner) s in the options but not later in time: give the changes in time order")
            }
            let reach = running + jitter
            guard later.atSeconds - earlier.atSeconds > reach else {
                throw SimulationError("--interval-change at \(FleetPlan.formatted(later.atSeconds)) s overlaps the "
                    + "one at \(sooner) s: a client takes a change up to \(FleetPlan.formatted(reach)) s (the longest "
                    + "interval running then and the jitter) after its time, so the next must come later than that")
            }
        }
    }
}

/// A heartbeat policy change (`--interval-change AT:SECONDS[:SHARE]`): from `atSeconds` after the capture's
/// start, each changing client takes the interval `seconds` at its next check-in (a pull client as its pull
/// interval, a push client as its push heartbeat), as SEP clients take a new policy. The first `share` of the
/// clients (by index, at least one) change; the others keep their interval.
public struct SimulatedIntervalChange: Hashable, Sendable {
    public var atSeconds: Double
    public var seconds: Double
    public var share: Double

    public init(atSeconds: Double, seconds: Double, share: Double = 1) {
        self.atSeconds = atSeconds
        self.seconds = seconds
        self.share = share
    }

    /// Whether client `index` of `clients` changes.
    func changes(client index: Int, of clients: Int) -> Bool {
        index < max(1, Int((share * Double(clients)).rounded()))
    }
}
