import Core
import Heartbeat

/// One planned check-in of a client (a pull check-in, or a burst on a push connection).
public struct PlannedCheckIn: Sendable {
    /// Start: the first SYN (pull) or the first application byte of the burst (push), ns since the epoch.
    public var time: Int64
    public var full: Bool
    /// Index of the manager that answers it.
    public var manager: Int
    /// A fault carried by this check-in (failover, HTTP errors, oversize upload).
    public var fault: FaultKind?
}

/// A policy change as one client takes it.
public struct PlannedIntervalChange: Sendable, Hashable {
    /// The planned check-in from which the new interval runs, ns since the epoch.
    public var time: Int64
    /// The new interval, seconds (the pull interval of a pull client, the push heartbeat of a push client).
    public var seconds: Double
}

/// A finding `sepbeat analyze` is expected to report for one client.
public struct ExpectedFinding: Sendable, Hashable {
    public var code: FindingCode
    /// When the finding is stamped: the check-in (or later check-in of a gap) it concerns.
    public var time: Int64
    /// The fault it comes from, nil for findings every such client gets (plaintext HTTP).
    public var fault: FaultKind?
}

/// One simulated client and everything it will do.
public struct ClientPlan: Sendable {
    public var index: Int
    /// IPv4 address as a number.
    public var address: UInt32
    public var transport: SimulatedTransport
    public var push: Bool
    /// Its usual manager.
    public var manager: Int
    /// Every handshake settles on TLS 1.0 (the old-tls fault).
    public var oldTLS: Bool
    public var checkIns: [PlannedCheckIn]
    public var expected: [ExpectedFinding]
    /// The policy changes the client takes (`--interval-change`), in time order: empty for a client that keeps
    /// its interval, or whose capture ends before any change.
    public var intervalChanges: [PlannedIntervalChange] = []
    /// From when the client checks in no more (the silent fault), ns since the epoch; nil for the others.
    public var silentFrom: Int64? = nil

    /// The faults it carries: those of its expected findings, and the silent fault even when analyze cannot see
    /// it (`FleetPlan.expectSilencesAnalyzeCanSee`), which leaves it no finding.
    var faults: Set<FaultKind> {
        var kinds = Set(expected.compactMap(\.fault))
        if silentFrom != nil { kinds.insert(.silent) }
        return kinds
    }
}

/// The whole fleet: managers, clients, check-ins and faults, decided before any packet is written.
///
/// Memory: about 32 bytes per check-in (10,000 clients for a day at 5 minutes is about 90 MB).
public struct FleetPlan: Sendable {
    public var configuration: SimulationConfiguration
    public var interval: Double
    public var pushInterval: Double
    /// Jitter in effect, seconds (`SimulationConfiguration.jitter(model:)`).
    public var jitter: Double
    /// Manager addresses (10.1.0.10, 10.1.0.11, ...).
    public var managers: [UInt32]
    public var httpPort: UInt16
    public var httpsPort: UInt16
    public var clients: [ClientPlan]
    /// The model's log-upload cap in bytes (records x record size + overhead).
    public var uploadCap: Int
    /// The TLS version of every handshake but the old-tls fault's: 1.2 (0x0303), or 1.3 (0x0304) when the
    /// model's `tls.minimumVersion` is 1.3, so that the check-ins meet the minimum they are judged by.
    public var tlsVersion: UInt16 = 0x0303
    /// The model's TLS minimum (`ReferenceModel.minimumTLSVersion`): the old-tls fault's finding code names it.
    public var minimumTLS: UInt16 = 0x0303
    /// The model's `http.secarsPath` and `http.userAgent`, as every plain-HTTP request and CONNECT carries them.
    var secarsPath: [UInt8] = []
    var userAgent: [UInt8] = []
    /// The byte ranges check-ins are drawn from, fitted to the model's sizes.
    let sizes: SimulatedSizes

    /// Plans a fleet. Deterministic: the same configuration and model give the same plan.
    public static func make(_ c: SimulationConfiguration, model: ReferenceModel) throws(SimulationError) -> FleetPlan {
        try c.validate(model: model)
        if (c.faults[.accelerated] ?? 0) > 0, acceleratedGap(model) >= model.interval.acceleratedMaxSeconds {
            throw SimulationError("the accelerated fault needs a gap above the join gap of check-ins "
                + "(\(formatted(model.checkIn.joinGapSeconds)) s, closer connections are one check-in) and within "
                + "the accelerated range (up to \(formatted(model.interval.acceleratedMaxSeconds)) s at this "
                + "interval): use a longer --interval")
        }
        let interval = c.intervalSeconds ?? model.interval.seconds
        let uploadCap = Self.uploadCap(model.sizes)
        let httpPort = model.ports.http.first ?? 8014
        let secarsPath = try Self.headerValue(model.http.secarsPath, "http.secarsPath", path: true)
        let userAgent = try Self.headerValue(model.http.userAgent, "http.userAgent", path: false)
        let heads = HTTPHeadLengths(path: secarsPath, userAgent: userAgent, httpPort: httpPort, proxy: c.proxy != nil)
        var plan = FleetPlan(
            configuration: c, interval: interval, pushInterval: model.push.heartbeatSeconds,
            jitter: c.jitter(model: model),
            managers: (0..<c.managers).map { 0x0A01_000A + UInt32($0) },
            httpPort: httpPort, httpsPort: model.ports.https.first ?? 443,
            clients: [], uploadCap: uploadCap, secarsPath: secarsPath, userAgent: userAgent,
            sizes: try SimulatedSizes.make(model: model, uploadCap: uploadCap, heads: heads,
                                           oversizeFault: (c.faults[.oversizeUpload] ?? 0) > 0))
        plan.tlsVersion = model.minimumTLSVersion > 0x0303 ? 0x0304 : 0x0303
        plan.minimumTLS = model.minimumTLSVersion
        var fleetRandom = SimulationRandom(seed: c.seed, stream: 0xF1EE7)
        for i in 0..<c.clients {
            var r = SimulationRandom(seed: c.seed, stream: UInt64(i) + 1)
            let http = r.unit() < c.httpShare
            let push = !http && r.unit() < c.pushShare
            plan.clients.append(ClientPlan(
                index: i, address: 0x0A14_0000 + UInt32(i / 250) << 8 + UInt32(i % 250 + 1),
                transport: http ? .http : .https, push: push, manager: i % c.managers, oldTLS: false,
                checkIns: [], expected: []))
        }
        let assigned = try plan.assignFaults(&fleetRandom)
        for i in plan.clients.indices {
            plan.schedule(client: i, fault: assigned[i], model: model)
        }
        plan.expectSilencesAnalyzeCanSee(model: model)
        return plan
    }

    /// Keeps the silent fault's `went-silent` among a client's expected findings only when analyze's rule can
    /// name it: another client that checked in at or before its last check-in `L` checks in at least `N × I + T`
    /// after `L` (`N` = `interval.silentMinIntervals`, `I` the pull interval it runs at `L`, `T` the pull
    /// tolerance). The others' check-ins end up to one of their intervals before the capture's end, and a push
    /// client's heartbeat may be far longer than the pull interval (or its first check-in come after `L`), so
    /// in a short run or a fleet of few pull clients nobody may be seen going on across the silence. The client
    /// still stops (`silentFrom`); only the finding is not expected. The capture's end comes after every
    /// check-in, so the rule's other half (that much time from `L` to the end) holds whenever this one does.
    private mutating func expectSilencesAnalyzeCanSee(model: ReferenceModel) {
        let silent = clients.indices.filter { clients[$0].silentFrom != nil }
        guard !silent.isEmpty else { return }
        let spans = clients.map { c in c.checkIns.first.map { ($0.time, c.checkIns[c.checkIns.count - 1].time) } }
        let ns: (Double) -> Int64 = { Int64(($0 * 1e9).rounded()) }
        let tolerance = ns(model.intervalRules(forSeconds: interval).toleranceSeconds)
        let n = Int64(model.interval.silentMinIntervals)
        for i in silent {
            guard let last = spans[i]?.1 else { continue }
            let period = ns(clients[i].intervalChanges.last { $0.time <= last }?.seconds ?? interval)
            let reach = n * period + tolerance
            let seen = spans.indices.contains { j in
                guard j != i, let span = spans[j] else { return false }
                return span.0 <= last && span.1 - last >= reach
            }
            if !seen { clients[i].expected.removeAll { $0.code == .wentSilent } }
        }
    }

    /// Records x record size + overhead; models allow each up to 2^40, so a product past 2^60 stands for "no
    /// cap within reach" rather than overflowing.
    private static func uploadCap(_ s: ReferenceModel.Sizes) -> Int {
        let (records, overflow) = s.logUploadMaxRecords.multipliedReportingOverflow(by: s.logRecordBytes)
        return Int(overflow ? 1 << 60 : min(records, 1 << 60) + s.uploadOverheadBytes)
    }

    /// The bytes of a model's secars path or user agent as a request carries them: printable ASCII only, and no
    /// space, `?` or `#` in the path (they would end it or start its query), so that analyze reads back the
    /// same value.
    private static func headerValue(_ text: String, _ field: String, path: Bool) throws(SimulationError) -> [UInt8] {
        let bytes = Array(text.utf8)
        let allowed = bytes.allSatisfy { b in
            path ? b > 0x20 && b < 0x7F && b != UInt8(ascii: "?") && b != UInt8(ascii: "#") : b >= 0x20 && b < 0x7F
        }
        guard allowed else {
            // Quoted with its control characters escaped, so that the message stays one line.
            throw SimulationError("the model's \(field) \(String(reflecting: text)) cannot be simulated: it must be "
                + "printable ASCII" + (path ? " without spaces, '?' or '#'" : ""))
        }
        return bytes
    }

    /// How long after its start the no-answer fault's request is sent (after the handshake, which takes
    /// milliseconds), so that the truth can give the time analyze stamps its finding with.
    static let noAnswerRequestDelay: Int64 = 1_000_000_000
    /// When the connect-timeout fault's SYN is sent again (1 s and 3 s after the first), and when the client moves
    /// on to its next connect (7 s after it), in nanoseconds since the check-in's start.
    static let unansweredSynRetries: [Int64] = [1_000_000_000, 3_000_000_000]
    static let connectTimeoutMoveOn: Int64 = 7_000_000_000
    /// How long after the burst it follows the push-connection-dropped fault's manager closes the connection:
    /// well after the burst's exchange (milliseconds) and before any next burst or keep-alive.
    static let pushDropDelay: Int64 = 5_000_000_000
    /// How long after its check-in's start a spoilt check-in's finding is stamped: when its request goes unanswered
    /// (no-answer) or its push connection is closed (push-connection-dropped); at the start for the others.
    static func failureDelay(_ fault: FaultKind) -> Int64 {
        switch fault {
        case .noAnswer: return noAnswerRequestDelay
        case .pushConnectionDropped: return pushDropDelay
        default: return 0
        }
    }

    /// Longest a failed check-in of the no-answer or tls-handshake-failed fault lasts, with room to spare.
    static let failedCheckInSeconds: Double = 2

    /// How long after a normal check-in the accelerated fault's extra one starts: half the accelerated
    /// range, but at least a second past the join gap, since connections closer than that are joined
    /// into one check-in and the fault would not show (at short intervals the range shrinks to a fifth).
    static func acceleratedGap(_ model: ReferenceModel) -> Double {
        max(model.interval.acceleratedMaxSeconds / 2, model.checkIn.joinGapSeconds + 1)
    }

    static func formatted(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int64(seconds)) : String(seconds)
    }

    /// Picks a distinct eligible client for every fault instance.
    private mutating func assignFaults(_ r: inout SimulationRandom) throws(SimulationError) -> [FaultKind?] {
        var assigned = [FaultKind?](repeating: nil, count: clients.count)
        var order = Array(clients.indices)
        order.shuffle(using: &r)
        let minimumCheckIns = 6
        for kind in FaultKind.allCases {
            // A push client's check-ins are its bursts, one per push interval.
            let period = kind == .pushConnectionDropped ? pushInterval : interval
            let expectedCheckIns = Int(configuration.durationSeconds / period)
            for _ in 0..<(configuration.faults[kind] ?? 0) {
                let pick = order.firstIndex { i in
                    guard assigned[i] == nil else { return false }
                    let c = clients[i]
                    switch kind {
                    case .http503, .http400: return c.transport == .http && expectedCheckIns >= minimumCheckIns
                    case .oldTLS: return c.transport == .https
                    case .missed, .late, .accelerated, .failover, .oversizeUpload, .silent, .early, .connectTimeout,
                         .noAnswer:
                        return !c.push && expectedCheckIns >= minimumCheckIns
                    case .tlsHandshakeFailed:
                        return c.transport == .https && !c.push && expectedCheckIns >= minimumCheckIns
                    case .pushConnectionDropped: return c.push && expectedCheckIns >= minimumCheckIns
                    }
                }
                guard let pick else {
                    // When the duration is what rules every client out, more clients would not help.
                    if kind != .oldTLS, expectedCheckIns < minimumCheckIns {
                        let need = Double(minimumCheckIns) * period
                        let longest = SimulationConfiguration.maxDurationSeconds
                        // No duration can help an interval that long: name the interval instead.
                        let needed = "\(minimumCheckIns) intervals (\(Self.formatted(need)) s)"
                        let remedy = need <= longest ? "--duration must be at least " + needed
                            : needed + " are longer than the longest --duration (31 days): use an --interval of "
                                + "at most \(Self.formatted((longest / Double(minimumCheckIns)).rounded(.down))) s"
                        throw SimulationError("the \(kind.rawValue) fault needs a client with at least "
                            + "\(minimumCheckIns) check-ins: " + remedy)
                    }
                    throw SimulationError("not enough suitable clients for the \(kind.rawValue) faults: use more "
                        + "--clients, or adjust --http-share/--push-share")
                }
                assigned[order[pick]] = kind
                order.remove(at: pick)
            }
        }
        return assigned
    }

    /// Lays out one client's check-ins (and its fault) over the capture.
    private mutating func schedule(client i: Int, fault: FaultKind?, model: ReferenceModel) {
        var r = SimulationRandom(seed: configuration.seed, stream: UInt64(i) &+ 0x5EED_0000_0000)
        let c = configuration
        var me = clients[i]
        let ns: (Double) -> Int64 = { Int64(($0 * 1e9).rounded()) }
        let begin = c.start.nanoseconds
        // Leave room for the last check-in to finish inside the capture.
        let last = begin + ns(max(1, c.durationSeconds - 5))
        var period = ns(me.push ? pushInterval : interval)
        // A push client's gaps are judged with a tolerance derived from the push interval (30 s ± 3 s at a 30 s
        // push heartbeat): its jitter stays within half of it, as the pull clients' within half the pull's.
        let pushTolerance = model.intervalRules(forSeconds: pushInterval).toleranceSeconds
        var jitter = ns(me.push ? min(self.jitter, pushTolerance / 2) : self.jitter)
        var t = begin + ns(1) + Int64(r.unit() * Double(max(1, period - ns(1))))
        var times: [Int64] = []
        // Policy changes: the client takes each new interval at its first check-in past the change, with its
        // jitter kept within half the new interval's tolerance. `validate` keeps the changes far enough apart that
        // a check-in takes one at most.
        var changes = c.intervalChanges.filter { $0.changes(client: i, of: c.clients) }[...]
        // Each change taken: the position of its first check-in in `times`, and its interval.
        var taken: [(index: Int, seconds: Double)] = []
        while t <= last {
            times.append(t)
            if let new = changes.first, t >= begin + ns(new.atSeconds) {
                taken.append((times.count - 1, new.seconds))
                period = ns(new.seconds)
                jitter = min(jitter, ns(model.intervalRules(forSeconds: new.seconds).toleranceSeconds / 2))
                changes.removeFirst()
            }
            t += period + r.jitter(jitter)
        }
        me.oldTLS = fault == .oldTLS
        if fault == .silent {
            // From a point of the second half that leaves the model's silent intervals and two more before the
            // end (the others' last check-ins come up to an interval before it), so that analyze must name it.
            let latest = last - ns(Double(model.interval.silentMinIntervals + 2) * c.longestPeriod(model: model))
            let earliest = begin + ns(c.durationSeconds / 2)
            let from = earliest + Int64(r.unit() * Double(max(0, latest - earliest)))
            me.silentFrom = from
            times.removeAll { $0 >= from }
            if let at = times.last { me.expected.append(ExpectedFinding(code: .wentSilent, time: at, fault: fault)) }
        }
        // The fault's position: away from both ends, so each gap it shapes lies between seen check-ins.
        var k = times.count >= 6 ? r.int(2...(times.count - 4)) : -1
        // An early gap after a policy change would be judged against a level analyze may not see (a change to
        // twice or half the interval reads as missed check-ins, not a change): it goes before the change.
        // So does an accelerated one: half the accelerated range of the run's interval, it would be an early gap
        // against a shorter changed level (30 s at 60 s), judged against that stretch's own rules.
        if fault == .early || fault == .accelerated, let changed = taken.first?.index, changed >= 3 {
            k = min(k, changed - 1)
        }
        var checkIns: [PlannedCheckIn] = []
        var shift: Int64 = 0
        for (n, base) in times.enumerated() {
            var time = base + shift
            if let change = taken.first(where: { $0.index == n }) {
                me.intervalChanges.append(PlannedIntervalChange(time: time, seconds: change.seconds))
            }
            var item = PlannedCheckIn(time: time, full: r.unit() < c.fullShare, manager: me.manager, fault: nil)
            guard n == k, let fault else {
                if time <= last { checkIns.append(item) }
                continue
            }
            switch fault {
            case .missed:
                let next = n + 1 < times.count ? times[n + 1] + shift : time + period
                me.expected.append(ExpectedFinding(code: .missedHeartbeat, time: next, fault: fault))
                continue
            case .late:
                // Half the interval the gap before it runs: after a change and its revert, `period` is the last one.
                shift = ns(taken.last { n - 1 >= $0.index }?.seconds ?? interval) / 2
                time += shift
                item.time = time
                me.expected.append(ExpectedFinding(code: .intervalLate, time: time, fault: fault))
            case .accelerated:
                checkIns.append(item)
                let extra = time + ns(Self.acceleratedGap(model))
                shift += extra - time
                item = PlannedCheckIn(time: extra, full: false, manager: me.manager, fault: nil)
                me.expected.append(ExpectedFinding(code: .acceleratedHeartbeat, time: extra, fault: fault))
            case .failover:
                item.manager = (me.manager + 1) % managers.count
                item.fault = fault
                item.full = false
                me.expected.append(ExpectedFinding(code: .failover, time: time, fault: fault))
                me.expected.append(ExpectedFinding(code: .connectFailed, time: time, fault: fault))
            case .http503, .http400, .connectTimeout, .noAnswer, .tlsHandshakeFailed, .pushConnectionDropped:
                // The check-in the fault spoils, never a full one (a push client's never are), with the finding
                // analyze names it by, stamped when the failure shows.
                item.fault = fault
                item.full = false
                for code in fault.codes() {
                    me.expected.append(ExpectedFinding(code: code, time: time + Self.failureDelay(fault), fault: fault))
                }
            case .oversizeUpload:
                item.fault = fault
                item.full = true
                me.expected.append(ExpectedFinding(code: .uploadOverCap, time: time, fault: fault))
            case .early:
                // Halfway between the accelerated range and the interval less its tolerance (`A < d < I - T`), at
                // the interval the gap before it runs.
                let previous = checkIns.last?.time ?? time
                let seconds = taken.last { n - 1 >= $0.index }?.seconds ?? interval
                let rules = model.intervalRules(forSeconds: seconds)
                time = previous + ns((rules.acceleratedMaxSeconds + seconds - rules.toleranceSeconds) / 2)
                shift = time - base
                item.time = time
                me.expected.append(ExpectedFinding(code: .intervalEarly, time: time, fault: fault))
            case .oldTLS, .silent:
                break
            }
            if item.time <= last { checkIns.append(item) }
        }
        if me.push {
            for j in checkIns.indices { checkIns[j].full = false }
        }
        me.checkIns = checkIns
        // Findings every such client gets once per manager, stamped with its first check-in there.
        var seenManagers: Set<Int> = []
        for ci in checkIns where seenManagers.insert(ci.manager).inserted {
            if me.transport == .http {
                me.expected.append(ExpectedFinding(code: .plaintextHTTP, time: ci.time, fault: nil))
            }
            if me.oldTLS {
                me.expected.append(ExpectedFinding(code: .tlsBelow(minimum: minimumTLS), time: ci.time,
                                                   fault: .oldTLS))
            }
        }
        me.expected.sort { ($0.time, $0.code.rawValue) < ($1.time, $1.code.rawValue) }
        clients[i] = me
    }
}
