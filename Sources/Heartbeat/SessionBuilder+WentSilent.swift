import Core
import Records

/// A client that stopped checking in before the capture ended while the rest of the fleet went on
/// (`went-silent`): the time from its last check-in to the capture's end held at least
/// `interval.silentMinIntervals` of its check-ins, none came, and other clients' check-ins were captured
/// across all of them.
public struct WentSilent: Hashable, Sendable {
    public var client: IPAddress
    /// Start of its last check-in (or failed attempt) on the capture's clock.
    public var lastCheckIn: Timestamp
    /// Check-ins its interval put between its last one and the capture's end, none seen: `floor((s - T) / I)`
    /// over the seconds `s` the capture covered there.
    public var intervals: Int
    /// The interval it was judged against (`ClientSummary.judgedIntervalSeconds`: its own median or the later
    /// level of a change when not the configured one), and its mode's tolerance, in seconds.
    public var intervalSeconds: Double
    public var toleranceSeconds: Double
    /// The seconds the capture covered from its last check-in to the capture's end (time between files, while
    /// the interface was down or in a capture stop left out).
    public var silentSeconds: Double
    /// The last check-in of another client seen at or before `lastCheckIn`: the fleet went on until then.
    public var othersUntil: Timestamp
    /// The capture's end: its last packet's time, or the latest check-in's start when that is later (a small
    /// step back of the sensor's clock, not detected, stamps the last packets before check-ins seen earlier).
    public var end: Timestamp

    /// The audit's reason and the validate check's example: `went silent after 2026-01-01T00:57:10.000Z (8
    /// intervals of 20 s)`.
    public var text: String {
        "went silent after \(lastCheckIn.rfc3339(fractionDigits: 3)) (\(counted(intervals, "interval")) of "
            + "\(formatSeconds(intervalSeconds)) s)"
    }
}

extension SessionBuilder {
    /// The clients that went silent, in address order, each with the index in `sessions` of its last check-in.
    ///
    /// A client went silent when, from its last check-in `L` (failed attempts count: its timer still fired) to
    /// the capture's end, the capture covered at least `N × I + T` (`N` = `interval.silentMinIntervals`, `I` the
    /// interval it was judged against, `T` its mode's tolerance), and another client seen on both sides went on:
    /// it checked in at or before `L` and at least that far after `L`. Time the capture did not cover (between
    /// files, the interface down, a clock jump) and the capture stops `stopPauses` found are left out of both, so
    /// a gap or stop never makes a client silent. A fleet that stops checking in all at once has nobody checking
    /// in after it, and clients stamped by two clocks an hour apart (an interface ahead) have nobody on both
    /// sides: no client is named. Clients with a check-in stamped in an off-clock stretch, or whose connections
    /// the per-client limit dropped, are left out: their end is not known.
    ///
    /// A client whose last check-in is on a connection still open at the capture's end (`openAtEnd`, connection
    /// ids) holds a long-lived connection: it is judged by the push heartbeat, whatever its check-ins were classed.
    /// A push connection shorter than `push.minOpenSeconds` when the capture ends carries pull check-ins, and
    /// judging its silence by a shorter pull interval would name a client that is only waiting for its next push
    /// heartbeat.
    ///
    /// `sessions` in start order. O(s + c log c).
    func wentSilent(_ sessions: [SessionReport], _ clients: [ClientSummary], stops: [CaptureSilence],
                    openAtEnd: Set<UInt64>, end: Timestamp) -> [(silent: WentSilent, index: Int)] {
        guard clients.count >= 2 else { return [] }
        // Each client's first and last check-in (the last's index) and its count of push check-ins; those with a
        // check-in off the capture's clock apart.
        var first: [IPAddress: Timestamp] = [:]
        var last: [IPAddress: Int] = [:]
        var push: [IPAddress: Int] = [:]
        var offClockClients: Set<IPAddress> = []
        for i in sessions.indices {
            let client = sessions[i].client
            if sessions[i].mode == .push { push[client, default: 0] += 1 }
            if offClock.contains(where: { $0.holds(sessions[i].start) }) {
                offClockClients.insert(client)
            } else {
                if first[client] == nil { first[client] = sessions[i].start }
                last[client] = i
            }
        }
        for c in offClockClients { last[c] = nil }
        // Clients by first check-in, with the two latest last check-ins (of different clients) among those up to
        // each one: the others seen by `L` end at the one not the client's own.
        let spans = last.compactMap { client, i -> (client: IPAddress, first: Timestamp, last: Timestamp)? in
            first[client].map { (client, $0, sessions[i].start) }
        }.sorted { $0.first < $1.first }
        var latest: [(best: (client: IPAddress, last: Timestamp), second: Timestamp?)] = []
        for s in spans {
            guard var top = latest.last else {
                latest.append(((s.client, s.last), nil))
                continue
            }
            if s.last > top.best.last {
                top = ((s.client, s.last), top.best.last)
            } else if top.second.map({ s.last > $0 }) ?? true {
                top.second = s.last
            }
            latest.append(top)
        }
        // The latest last check-in of another client whose first came at or before `at`.
        func others(than client: IPAddress, seenBy at: Timestamp) -> Timestamp? {
            var lo = 0
            var hi = spans.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if spans[mid].first <= at { lo = mid + 1 } else { hi = mid }
            }
            guard lo > 0 else { return nil }
            let top = latest[lo - 1]
            return top.best.client == client ? top.second : top.best.last
        }
        // Never before a check-in seen: the text's "others checked in until" stays at or before its end.
        let shownEnd = latest.last.map { max(end, $0.best.last) } ?? end
        let gaps = silences.filter(\.uncovered) + stops
        // Time the capture covered from `from` to `to`, in nanoseconds.
        func covered(_ from: Timestamp, _ to: Timestamp) -> Int64 {
            let out = gaps.reduce(Int64(0)) { $0 + $1.overlap(from: from, to: to) }
            return max(0, to.nanoseconds(since: from) - out)
        }
        let n = Int64(model.interval.silentMinIntervals)
        var out: [(silent: WentSilent, index: Int)] = []
        for c in clients {
            guard let index = last[c.client], droppedOverConnectionsByClient[c.client] == nil else { continue }
            let from = sessions[index].start
            guard let others = others(than: c.client, seenBy: from) else { continue }
            let mainMode: SessionReport.Mode = (push[c.client] ?? 0) * 2 > c.sessions ? .push : .pull
            var stillOpen = false
            sessions[index].withConnections { ids in stillOpen = ids.contains(where: openAtEnd.contains) }
            let mode = stillOpen ? .push : mainMode
            // Its summary judged its main mode: a pull client found on a long-lived connection at the end is
            // judged by the configured push heartbeat instead.
            let judgedSeconds = mode == mainMode ? c.judgedIntervalSeconds : pushInterval
            let interval = max(1, Nanos.from(seconds: judgedSeconds))
            let tolerance = Nanos.from(seconds: mode == .push ? pushRules.toleranceSeconds
                : model.interval.toleranceSeconds)
            let reach = Saturating.add(Saturating.multiply(n, interval), tolerance)
            let silent = covered(from, shownEnd)
            guard silent >= reach, covered(from, others) >= reach else { continue }
            let owed = min(Int64(Int32.max), Saturating.subtract(silent, tolerance) / interval)
            let w = WentSilent(client: c.client, lastCheckIn: from, intervals: Int(owed),
                               intervalSeconds: judgedSeconds, toleranceSeconds: Double(tolerance) / 1e9,
                               silentSeconds: Double(silent) / 1e9, othersUntil: others, end: shownEnd)
            out.append((w, index))
        }
        return out.sorted { $0.silent.client < $1.silent.client }
    }

    /// The `went-silent` warning of `w`, at its last check-in (`session`): `last check-in at T1, then none for
    /// 2 min 50 s to the capture's end at T2: 8 intervals of 20 s ± 2 s with no check-in, while other clients
    /// checked in until T3: ...`.
    func wentSilentFinding(_ w: WentSilent, session: Int) -> Finding {
        let code = FindingCode.wentSilent
        let text = "last check-in at \(w.lastCheckIn.rfc3339(fractionDigits: 3)), then none for "
            + "\(formatSpan(nanoseconds: Nanos.from(seconds: w.silentSeconds))) to the capture's end at "
            + "\(w.end.rfc3339(fractionDigits: 3)): \(counted(w.intervals, "interval")) of "
            + "\(formatSeconds(w.intervalSeconds)) s ± \(formatSeconds(w.toleranceSeconds)) s with no check-in, "
            + "while other clients checked in until \(w.othersUntil.rfc3339(fractionDigits: 3)): it stopped checking "
            + "in (switched off, or cut off from its managers)"
        return Finding(code: code, severity: model.severity(of: code), message: text, client: w.client,
                       time: w.lastCheckIn, session: session)
    }
}
