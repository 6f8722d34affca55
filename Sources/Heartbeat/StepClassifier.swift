import Core
import Records
#if canImport(Glibc)
import Glibc
#endif

/// The connections and exchanges that make up one check-in, before classification.
struct CheckInDraft: Sendable {
    /// Failed connects (refused or unanswered) that came first (consecutive records of the client's list).
    var attempts: ArraySlice<ConnectionRecord> = []
    /// Established (or mid-stream) connections, in start order (consecutive records of the client's list).
    var connections: ArraySlice<ConnectionRecord> = []
    /// The exchanges of this check-in, in start order (a push burst holds a subset of its connection's).
    var exchanges: [Exchange] = []
    var mode: SessionReport.Mode = .pull
    /// Steps 1-2 can be seen (the connection's SYN is in the capture and this is its first check-in).
    var showsOpening = false
    /// Step 7 can be seen (the connection closed, and this is its last check-in).
    var showsClose = false
    /// Index of this burst on a push connection (0 for the first, and for pull check-ins).
    var burst = 0
}

/// Assigns the seven steps to a check-in's connections and exchanges, and raises the
/// findings that one check-in shows on its own.
///
/// Plain HTTP is matched by method, path and order; TLS without decryption by exchange
/// order, direction and size (`ReferenceModel.TLSRules.uploadMinBytes`). Conditional steps
/// (4, 5, 6) that did not happen are absent; mandatory ones are reported missing only when
/// the capture could have shown them.
/// A class: it is handed to every check-in of a run, and copying its model per call cost more
/// than the rules themselves.
final class StepClassifier: Sendable {
    let model: ReferenceModel
    let directory: ManagerDirectory
    /// Last packet time of the capture: a connect unanswered less than the timeout before it is not judged.
    let captureEnd: Timestamp?
    /// What the rules read of the model's steps 1-7, by step number (index 0 unused), looked up once
    /// here rather than searched for per check-in.
    private let ids: [String]
    private let confidences: [(http: Double, tls: Double)?]
    private let methods: [[String]?]
    /// The model's mandatory step numbers, as bits (`bit(_:)`); nil when one has no bit (outside 1-63).
    let mandatoryMask: UInt64?

    init(model: ReferenceModel, directory: ManagerDirectory, captureEnd: Timestamp?) {
        self.model = model
        self.directory = directory
        self.captureEnd = captureEnd
        let rules = (0...7).map { n in n == 0 ? nil : model.step(n) }
        // The built-in spelling when the model's id equals it (validation requires that): a literal is
        // shared by every step of the report without reference counting, which threads writing the
        // report at once would otherwise contend on.
        ids = (0...7).map { n in
            let standard = ReferenceModel.stepIDs[max(0, min(6, n - 1))]
            guard let id = rules[n]?.id else { return standard }
            return id == standard ? standard : id
        }
        confidences = rules.map { r in r.map { ($0.httpConfidence, $0.tlsConfidence) } }
        methods = rules.map { $0?.httpMethods }
        let mandatory = model.steps.filter(\.mandatory).map(\.number)
        mandatoryMask = mandatory.allSatisfy { Self.bit($0) != 0 } ? mandatory.reduce(0) { $0 | Self.bit($1) } : nil
    }

    private enum Shape { case fetch, upload }

    /// Texts that the check-ins of one client repeat, made once and then shared. Kept by the caller (one
    /// per client), so the classifier itself stays immutable and shared by the threads.
    ///
    /// Step texts are written as bytes into `buffers` (kept from check-in to check-in). Step 2's (and step 1's)
    /// are made a `String` only when no earlier check-in of the client wrote the same bytes (`text(of:)`): most
    /// repeat an earlier one, and sharing them when they are made costs one hash, where making each and sharing
    /// it later cost an allocation, a UTF-8 check and a second hash.
    struct TextMemo {
        /// Step 1's evidence for a connection without failed connects before it, by server.
        var serverSelected: [Endpoint: String] = [:]
        /// A byte buffer per step number (0-7), reused for every check-in of the client.
        var buffers = [EvidenceText](repeating: EvidenceText(capacity: 0), count: 8)
        /// Steps 3-6 of the check-in being classified, by step number (`exchangeSteps`).
        var exchangeSteps = [StepReport?](repeating: nil, count: 8)
        /// Texts made so far, by the hash of their bytes; a text whose hash another has is simply made anew.
        private var texts: [Int: String] = [:]

        /// Step `n`'s buffer, emptied (its capacity kept); give it back with `text(of:returning:)`.
        mutating func takeBuffer(_ n: Int) -> EvidenceText {
            var b = EvidenceText(capacity: 0)
            swap(&b, &buffers[n])
            b.removeAll()
            return b
        }

        /// `buffer`'s text (shared with an equal one made before), and the buffer kept as step `n`'s.
        mutating func text(of buffer: EvidenceText, returning n: Int) -> String {
            let t = text(of: buffer)
            buffers[n] = buffer
            return t
        }

        /// The text of `buffer`'s bytes: the one made before for the same bytes (compared byte for byte, not
        /// by canonical equivalence), or a new one.
        mutating func text(of buffer: EvidenceText) -> String {
            buffer.bytes.withUnsafeBufferPointer { b in
                var hasher = Hasher()
                hasher.combine(bytes: UnsafeRawBufferPointer(b))
                let hash = hasher.finalize()
                if let known = texts[hash], Self.equal(known, b) { return known }
                let made = String(decoding: b, as: UTF8.self)
                texts[hash] = made
                return made
            }
        }

        /// `text` shared with an equal one made before (see `text(of:)`).
        mutating func shared(_ text: String) -> String {
            var copy = text
            return copy.withUTF8 { b in
                var hasher = Hasher()
                hasher.combine(bytes: UnsafeRawBufferPointer(b))
                let hash = hasher.finalize()
                if let known = texts[hash], Self.equal(known, b) { return known }
                texts[hash] = text
                return text
            }
        }

        private static func equal(_ text: String, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            var text = text
            return text.withUTF8 { t in
                guard t.count == bytes.count else { return false }
                guard let p = t.baseAddress, let q = bytes.baseAddress else { return true }  // both empty
                return memcmp(p, q, t.count) == 0
            }
        }
    }

    func classify(_ d: CheckInDraft, memo: inout TextMemo) -> SessionReport {
        // The draft's connections are read in place through their indices, not copied out (a copy of a
        // record costs a reference count on each of its parts, for every check-in).
        let cs = d.connections
        let first = cs.indices.first
        let last = cs.indices.last
        let lastAttempt = d.attempts.indices.last
        let client = first.map { cs[$0].client } ?? lastAttempt.map { d.attempts[$0].client }
            ?? Endpoint(address: IPAddress(ipv4: 0), port: 0)
        let server = last.map { cs[$0].server } ?? lastAttempt.map { d.attempts[$0].server } ?? client
        // Room made once for as many steps as there may be: steps 1, 2 and 7, and one of steps 3-6 per exchange
        // (most check-ins have that many). The report holds every check-in's list until it is written: one
        // grown step by step holds room for up to twice its steps, one made for all seven more still.
        var steps: [StepReport] = []
        var exchangeSlots = 0
        for i in d.exchanges.indices where d.exchanges[i].kind != .other && exchangeSlots < 4 { exchangeSlots += 1 }
        steps.reserveCapacity(3 + exchangeSlots)
        var findings: [Finding] = []
        func add(_ code: FindingCode, _ message: String, time: Timestamp?) {
            findings.append(Finding(code: code, severity: model.severity(of: code), message: message,
                                    client: client.address, server: server, time: time))
        }

        // Step 1: attempts and the SYN of the successful connection.
        let attempts = d.burst == 0 ? d.attempts : []
        let pending = attempts.indices.last.map { isPending(attempts[$0], followed: first != nil) } ?? false
        // Earlier connects of a check-in are judged (the client moved on), so only a lone connect can be pending.
        let pendingOnly = first == nil && attempts.count == 1 && pending
        // The bytes of the connects step 1 names: a CONNECT the proxy refused (407, 502...) carried its request
        // and answer; a connect with no answer carries none. They count in step 1 and in the check-in's bytes.
        let attemptsUp = attempts.reduce(Int64(0)) { $0 + $1.bytesUp }
        let attemptsDown = attempts.reduce(Int64(0)) { $0 + $1.bytesDown }
        if let f = first, d.showsOpening || !attempts.isEmpty {
            var step = selectServer(attempts: attempts, cs, f, memo: &memo)
            step.bytesUp = attemptsUp
            step.bytesDown = attemptsDown
            steps.append(step)
        } else if first == nil, let a = attempts.first, let z = attempts.last {
            steps.append(StepReport(step: 1, name: id(1), start: a.synTime ?? a.start, end: z.end,
                                    bytesUp: attemptsUp, bytesDown: attemptsDown, confidence: confidence(1, tls: false),
                                    evidence: memo.shared(attemptText(attempts, followed: false)
                                        + "; no connection set up" + (pending ? " before the capture ended" : ""))))
        }
        for i in attempts.indices {
            let a = attempts[i]
            let next = i + 1 < attempts.endIndex ? attempts[i + 1] : first.map { cs[$0] }
            judgeAttempt(a, next: next) { code, message, time in
                findings.append(Finding(code: code, severity: model.severity(of: code), message: message,
                                        client: client.address, server: a.server, time: time))
            }
        }
        if let f = first, let z = attempts.last, z.server.address != cs[f].server.address {
            var tried: [Endpoint] = []
            for a in attempts where !tried.contains(a.server) { tried.append(a.server) }
            add(.failover, "reached \(named(cs[f].server)) after \(counted(attempts.count, "failed connect")) to "
                + tried.map(named).joined(separator: ", "), time: attempts.first?.start)
        }

        // Step 2: TCP (and TLS) set-up.
        if let f = first, d.showsOpening, let syn = cs[f].synTime {
            let step = connectStep(cs, f, syn: syn, memo: &memo)
            steps.append(step)
            let took = step.end.seconds(since: syn)
            if took > model.connect.timeoutSeconds {
                add(.connectTimeout, "session to \(cs[f].server) set up after \(formatSeconds(took)) s "
                    + "(timeout \(formatSeconds(model.connect.timeoutSeconds)) s)", time: syn)
            }
        }

        // Steps 3-6: the exchanges, but for a TLS 1.3 alert before the close (step 7's).
        let alert = closingAlert(d)
        exchangeSteps(alert == nil ? d.exchanges : Array(d.exchanges.dropLast()), memo: &memo, into: &steps, add)
        let exchangesStart = d.exchanges.indices.first.map { d.exchanges[$0].start }
        let exchangesEnd = d.exchanges.indices.last.map { d.exchanges[$0].end }

        // Step 7: the close.
        if let l = last, d.showsClose, !cs[l].state.contains(.openAtEnd) {
            let from = alert?.start ?? exchangesEnd ?? cs[l].closeTime ?? cs[l].end
            let evidence = alert.map { closeText(cs[l].state, alert: $0) } ?? closeText(cs[l].state)
            steps.append(StepReport(step: 7, name: id(7), start: min(from, cs[l].end), end: cs[l].end,
                                    bytesUp: alert?.bytesUp ?? 0, bytesDown: alert?.bytesDown ?? 0,
                                    confidence: confidence(7, tls: cs[l].application == .tls), evidence: evidence))
        }
        if let l = last, d.mode == .push, d.showsClose, !cs[l].state.contains(.openAtEnd) {
            add(.pushConnectionDropped, "push connection to \(cs[l].server) closed (\(closeText(cs[l].state))) "
                + "after \(formatSeconds(cs[l].duration)) s", time: cs[l].closeTime ?? cs[l].end)
        }
        // Connections set up that carried no answer (a TLS handshake refused, a request reset): such a
        // check-in failed as one whose connects all failed did, although its TCP handshake succeeded.
        let unanswered = first != nil && checkAnswers(d, add)
        // Packets of one direction only (a capture of one leg of a TAP, asymmetric routing): what the other
        // direction would show (answers, their sizes, steps 3-6) is not judged; the report says so once
        // (`SessionBuilder`, the capture's finding on one direction).
        let oneSided = first != nil && (d.connections.allSatisfy { $0.packetsDown == 0 }
            || d.connections.allSatisfy { $0.packetsUp == 0 })
        // Packets cut by the snap length (a header-only capture): the payload that shows steps 3-6 was not
        // captured, so their absence says nothing (`capture-truncated` says the capture is cut).
        let cutBySnapLength = d.connections.contains {
            $0.anomaliesUp.truncatedPackets > 0 || $0.anomaliesDown.truncatedPackets > 0
        }
        if first != nil {
            // A later push burst, or a first one picked up midstream, starts at its first exchange: its
            // findings carry that time, not the connection's start (maybe hours before).
            let burstStart = d.burst > 0 || pickedUpMidstream(d) ? exchangesStart : nil
            checkMandatory(d, steps, at: burstStart, failed: unanswered || oneSided || cutBySnapLength, add)
            // Bytes lost in a gap, or a TLS answer with no request captured (a SEP client always speaks
            // first: its request was lost before its direction's first captured byte, so no gap says so).
            let lostBytes = d.exchanges.contains { $0.missingBytes > 0 || ($0.kind == .tls && $0.recordsUp == 0) }
            let whole = !joinedMidway(d) && !lostBytes && !unanswered && !oneSided && !cutByCaptureEnd(d)
            checkSizes(d, steps, wholeBurst: whole, at: burstStart, add)
        }
        checkHTTPStatus(d.exchanges, add)
        checkCapture(d, cs, attempts, add)

        let transport: SessionReport.Transport = (last.map { isTLS(cs, $0) }
            ?? directory.httpsPorts.contains(server.port)) ? .https : .http
        let firstStart = first.map { cs[$0].start }
        let lastEnd = last.map { cs[$0].end }
        // A push connection picked up midstream starts its first check-in at its first exchange, not at its
        // first packet (see `pickedUpMidstream`).
        let firstBurstStart = pickedUpMidstream(d) ? (exchangesStart ?? firstStart) : firstStart
        let start = d.burst == 0 ? (attempts.first?.start ?? firstBurstStart) : exchangesStart
        let endTime = d.showsClose ? lastEnd : (exchangesEnd ?? lastEnd)
        // The first connection, or else the last attempt (whatever the burst).
        let anchorStart = firstStart ?? lastAttempt.map { d.attempts[$0].start }
        let anchorEnd = first.map { cs[$0].end } ?? lastAttempt.map { d.attempts[$0].end }
        let pullBytes = d.mode == .pull
        var ids: [UInt64] = []
        ids.reserveCapacity(attempts.count + cs.count)
        for i in attempts.indices { ids.append(attempts[i].id) }
        for i in cs.indices { ids.append(cs[i].id) }
        return SessionReport(
            id: 0, client: client.address, clientPort: client.port,
            server: server.address, serverPort: server.port, transport: transport, mode: d.mode,
            start: start ?? anchorStart ?? .zero, end: endTime ?? anchorEnd ?? .zero,
            bytesUp: pullBytes ? cs.indices.reduce(attemptsUp) { $0 + cs[$1].bytesUp }
                : steps.reduce(0) { $0 + $1.bytesUp },
            bytesDown: pullBytes ? cs.indices.reduce(attemptsDown) { $0 + cs[$1].bytesDown }
                : steps.reduce(0) { $0 + $1.bytesDown },
            failed: first == nil && !pendingOnly || unanswered,
            pending: pendingOnly,
            attempts: attempts.map { a in
                AttemptReport(server: a.server.address.description, serverPort: a.server.port,
                              time: (a.synTime ?? a.start).rfc3339(),
                              outcome: a.tunnel?.kind == .refused ? "refused-by-proxy"
                                  : a.handshake == .refused ? "refused" : "unanswered", syns: a.synCount)
            },
            steps: Self.inStepOrder(steps), findings: findings,
            connections: ids)
    }

    // MARK: - A push connection picked up midstream

    /// The first burst (check-in) of a push connection whose SYN the capture did not see: the capture
    /// joined the long-lived connection while it was open.
    ///
    /// Its first packet says nothing about when a check-in began: it may be a bare ACK or a keep-alive
    /// long before the next burst, or the tail of a burst whose beginning was not captured (the TLS
    /// parser resyncs on the next whole record, so that tail may carry no exchange at all). Such a check-in
    /// therefore starts at its first exchange, as every later burst does, and a tail without an exchange
    /// is no check-in: check-ins are made of exchanges, bursts are split on them, and the next burst is
    /// never merged into it. When the capture began inside a burst (`mayMissItsBeginning`), that burst is
    /// still a check-in of its own, started at its first captured exchange: the client did check in then,
    /// and the start is late by no more than how far into the burst the capture began (milliseconds for
    /// an idle burst, far below the interval's tolerance), so the interval audit judges its gap to the next
    /// check-in like any other.
    func pickedUpMidstream(_ d: CheckInDraft) -> Bool {
        guard d.mode == .push, d.burst == 0, let f = d.connections.indices.first else { return false }
        return d.connections[f].handshake == .midstream
    }

    /// A first burst picked up midstream (`pickedUpMidstream`) whose first exchange came within
    /// `push.burstGapSeconds` of the connection's first packet: the capture may have begun inside the
    /// burst, so its bytes may be only part of the check-in's (its size is not judged against the idle
    /// minimum).
    func mayMissItsBeginning(_ d: CheckInDraft) -> Bool {
        guard pickedUpMidstream(d), let f = d.connections.indices.first,
              let e = d.exchanges.indices.first else { return false }
        return d.exchanges[e].start.seconds(since: d.connections[f].start) <= model.push.burstGapSeconds
    }

    /// A check-in whose beginning the capture may not have seen: a first push burst that may have begun
    /// before the capture (`mayMissItsBeginning`), or a pull check-in whose first connection was picked up
    /// midstream (no SYN: its exchanges may have passed before the capture's first packet).
    func joinedMidway(_ d: CheckInDraft) -> Bool {
        if d.mode == .push { return mayMissItsBeginning(d) }
        guard d.burst == 0, let f = d.connections.indices.first else { return false }
        return d.connections[f].handshake == .midstream
    }

    // MARK: - Steps 1, 2, 7

    /// Step 1 for connection `i` of `cs` (read in place, not copied) after `attempts`.
    private func selectServer(
        attempts: ArraySlice<ConnectionRecord>, _ cs: ArraySlice<ConnectionRecord>, _ i: Int, memo: inout TextMemo
    ) -> StepReport {
        let syn = cs[i].synTime ?? cs[i].start
        let server = cs[i].server
        var evidence: String
        // Through a proxy's tunnel the SYN went to the proxy (not remembered per server: it depends on the proxy).
        let proxy = cs[i].tunnel?.proxy
        if attempts.isEmpty, proxy == nil, let known = memo.serverSelected[server] {
            evidence = known
        } else {
            evidence = proxy.map { "SYN to proxy \($0) for \(server)" } ?? "SYN to \(server)"
            if !attempts.isEmpty { evidence = attemptText(attempts, followed: true) + ", then " + evidence }
            if let m = directory.configuredMatch(server), let p = m.priority {
                evidence += " (priority \(p))"
            }
            evidence = memo.shared(evidence)
            if attempts.isEmpty, proxy == nil { memo.serverSelected[server] = evidence }
        }
        let start = attempts.first.map { $0.synTime ?? $0.start } ?? syn
        return StepReport(step: 1, name: id(1), start: start, end: syn, bytesUp: 0, bytesDown: 0,
                          confidence: confidence(1, tls: isTLS(cs, i)), evidence: evidence)
    }

    /// Step 2 for connection `i` of `cs` (read in place, not copied).
    private func connectStep(
        _ cs: ArraySlice<ConnectionRecord>, _ i: Int, syn: Timestamp, memo: inout TextMemo
    ) -> StepReport {
        let tls = isTLS(cs, i)
        let firstExchange = cs[i].exchanges.indices.first.map { cs[i].exchanges[$0].start }
        var evidence = memo.takeBuffer(2)
        evidence.add("TCP handshake")
        let tunnel = cs[i].tunnel  // read once: each read copies the tunnel out of its box
        if let proxy = tunnel?.proxy {
            evidence.add(" with proxy ")
            evidence.add(proxy.description)
        }
        if let synAck = cs[i].synAckTime {
            evidence.add(", SYN-ACK after ")
            formatRoundTrip(synAck.seconds(since: syn), into: &evidence)
        }
        if cs[i].synCount > 1 {
            evidence.add(", ")
            evidence.add(cs[i].synCount)
            evidence.add(" SYNs")
        }
        var up: Int64 = 0
        var down: Int64 = 0
        var end = cs[i].synAckTime ?? firstExchange ?? syn
        if let tunnel, tunnel.proxy != nil {
            // The CONNECT exchanges set the connection up: their bytes are this step's.
            for (n, e) in tunnel.setUp.enumerated() {
                evidence.add(n == 0 ? ", " : ", then ")
                evidence.add(e.http?.method ?? "request")
                evidence.add(" ")
                evidence.add(e.http?.target ?? "")
                evidence.add(" → ")
                evidence.add(e.http?.status.map(String.init) ?? "no reply")
                up += e.bytesUp
                down += e.bytesDown
                end = max(end, e.end)
            }
            if tunnel.kind == .forward { evidence.add(", requests in absolute form for the proxy to forward") }
        }
        if tls {
            // By index: the exchanges are read, not copied.
            // Each stream byte once: bytes on the wire less those repeated (retransmissions, duplicates).
            let streamUp = cs[i].bytesUp - cs[i].anomaliesUp.repeatedBytes
            let streamDown = cs[i].bytesDown - cs[i].anomaliesDown.repeatedBytes
            up = max(0, streamUp - cs[i].exchanges.indices.reduce(0) { $0 + cs[i].exchanges[$1].bytesUp })
            down = max(0, streamDown - cs[i].exchanges.indices.reduce(0) { $0 + cs[i].exchanges[$1].bytesDown })
            end = firstExchange ?? cs[i].closeTime ?? cs[i].end
            let summary = cs[i].tls  // read once: each read copies the summary out of its box
            evidence.add(", TLS ")
            if let judged = summary?.judgedVersion {
                let v = judged.version
                if let reason = judged.source.recordLayerReason {
                    // TLS 1.3 records carry 0x0303 too: the record layer tells "1.2 or later", no more.
                    if v >= 0x0303 { evidence.add("1.2 or later") } else { evidence.add(TLSSummary.versionName(v)) }
                    evidence.add(" from the record layer (")
                    evidence.add(reason)
                    evidence.add(")")
                } else {
                    evidence.add(TLSSummary.versionName(v))
                    evidence.add(" handshake")
                }
            } else {
                evidence.add("version unknown handshake")
            }
            if let sni = summary?.serverName, !sni.isEmpty {
                evidence.add(" (SNI ")
                evidence.add(sni)
                evidence.add(")")
            }
            evidence.add("; bytes outside application data")
        }
        return StepReport(step: 2, name: id(2), start: syn, end: max(end, syn), bytesUp: up, bytesDown: down,
                          confidence: confidence(2, tls: tls), evidence: memo.text(of: evidence, returning: 2))
    }

    func closeText(_ s: ConnectionState) -> String {
        var n = 0
        for (i, flag) in Self.closeFlags.enumerated() where s.contains(flag) { n |= 1 << i }
        return Self.closeTexts[n]
    }

    /// The FIN and RST flags `closeText` names, in the order it names them.
    private static let closeFlags: [ConnectionState] = [.finFromClient, .finFromServer, .rstFromClient, .rstFromServer]

    /// `closeText` for each combination of `closeFlags` (bit i set for flag i), made once: the texts
    /// of all check-ins then share 16 strings.
    private static let closeTexts: [String] = (0..<16).map { n in
        let names = ["FIN from client", "FIN from server", "RST from client", "RST from server"]
        let parts = names.indices.filter { n & (1 << $0) != 0 }.map { names[$0] }
        return parts.isEmpty ? "connection ended" : parts.joined(separator: ", ")
    }

    /// `followed`: a connection was set up after the last attempt.
    private func attemptText(_ attempts: ArraySlice<ConnectionRecord>, followed: Bool) -> String {
        var failed: [String] = []
        var pending: String?
        for i in attempts.indices {
            let a = attempts[i]
            if a.handshake == .refused {
                failed.append("\(named(a.server)) refused" + proxyRefusal(a))
            } else if isPending(a, followed: i + 1 < attempts.endIndex || followed), let end = captureEnd {
                let syn = a.synTime ?? a.start
                pending = "connect to \(named(a.server)) unanswered when the capture ended "
                    + "(\(counted(a.synCount, "SYN")), "
                    + "\(formatSeconds(end.seconds(since: syn))) s after the first; not judged before the "
                    + "\(formatSeconds(model.connect.timeoutSeconds)) s timeout)"
            } else {
                failed.append("\(named(a.server)) unanswered")
            }
        }
        let text = failed.isEmpty ? "" : "\(counted(failed.count, "failed connect")): " + failed.joined(separator: ", ")
        guard let pending else { return text }
        return text.isEmpty ? pending : text + ", then " + pending
    }

    /// For a connect a proxy refused (a `CONNECT` answered with another status than 2xx): ` by proxy
    /// 10.5.5.5:8080 (CONNECT → 407 Proxy Authentication Required)`; empty for another connect.
    private func proxyRefusal(_ a: ConnectionRecord) -> String {
        guard let tunnel = a.tunnel, tunnel.kind == .refused, let proxy = tunnel.proxy else { return "" }
        let http = tunnel.setUp.last?.http
        var answer = http?.status.map(String.init) ?? "-"
        if let reason = http?.reason, !reason.isEmpty { answer += " " + reason }
        return " by proxy \(proxy) (CONNECT → \(answer))"
    }

    /// A manager endpoint with its configured priority, when one is known.
    func named(_ server: Endpoint) -> String {
        guard let p = directory.configuredMatch(server)?.priority else { return server.description }
        return "\(server) (priority \(p))"
    }

    /// An unanswered connect that is the last of its check-in (not `followed` by another connect) and whose
    /// first SYN came no more than the connect timeout before the capture's end: it may still have been
    /// answered, so it is not judged ("unanswered when the capture ended").
    private func isPending(_ a: ConnectionRecord, followed: Bool) -> Bool {
        guard a.handshake == .unanswered, !followed, let end = captureEnd else { return false }
        return end.nanoseconds(since: a.synTime ?? a.start) <= Nanos.from(seconds: model.connect.timeoutSeconds)
    }

    /// Raises `connect-failed` for a refused connect and `connect-timeout` for an unanswered one.
    ///
    /// An unanswered connect is judged when the client moved on to `next` (another connect of the same
    /// check-in: its own timeout ran out), or when the capture went on for longer than the model's connect
    /// timeout after the first SYN. Nearer the capture's end the SYN may still have been answered
    /// (`isPending`), and nothing is raised.
    private func judgeAttempt(
        _ a: ConnectionRecord, next: ConnectionRecord?, _ add: (FindingCode, String, Timestamp?) -> Void
    ) {
        let syn = a.synTime ?? a.start
        if a.handshake == .refused, let tunnel = a.tunnel, tunnel.kind == .refused {
            // A proxy asking for credentials, then a new connection with them to the same target: its
            // authentication, not a failure (shown in step 1).
            if let next, next.server == a.server, tunnel.setUp.last?.http?.status == 407 { return }
            add(.connectFailed, "connect to \(named(a.server)) refused\(proxyRefusal(a)): no tunnel", syn)
            return
        }
        if a.handshake == .refused {
            add(.connectFailed, "connect to \(named(a.server)) refused (SYN answered by RST)", syn)
            return
        }
        if let next {
            let movedOn = next.synTime ?? next.start
            add(.connectTimeout, "connect to \(named(a.server)) unanswered for "
                + "\(formatSeconds(movedOn.seconds(since: syn))) s (\(counted(a.synCount, "SYN"))) until the client "
                + "moved on to \(next.server)", syn)
            return
        }
        if isPending(a, followed: false) { return }
        add(.connectTimeout, "connect to \(named(a.server)) unanswered (\(counted(a.synCount, "SYN"))); the client "
            + "gives up after \(formatSeconds(model.connect.timeoutSeconds)) s", syn)
    }

    // MARK: - Steps 3-6

    /// `http` is `e.http`, read once by the caller (each read copies the transaction out of its box).
    /// `method` is `http?.method.uppercased()`.
    private func shape(_ e: Exchange, http: HTTPTransaction?, method: String?) -> Shape {
        if let h = http, let m = method {
            return m == "POST" || m == "PUT" || h.requestBodyLength > 0 && m != "GET" ? .upload : .fetch
        }
        return e.bytesUp >= model.tls.uploadMinBytes && e.bytesUp > e.bytesDown ? .upload : .fetch
    }

    /// Steps 3-6 from `exchanges`, appended to `steps` by step number. Each step's evidence is written into its
    /// buffer of `memo` (the texts of its exchanges, `; ` between them) and made a text once, at the end.
    /// Step 2 and step 1 texts are shared (`TextMemo.text(of:)`); these are not.
    private func exchangeSteps(
        _ exchanges: [Exchange], memo: inout TextMemo, into steps: inout [StepReport],
        _ add: (FindingCode, String, Timestamp?) -> Void
    ) {
        // Kept by the memo from check-in to check-in, so it is not made anew for each; every entry is nil
        // again when this returns.
        var byStep: [StepReport?] = []
        swap(&byStep, &memo.exchangeSteps)
        defer { swap(&byStep, &memo.exchangeSteps) }
        var highest = 2
        for (position, e) in exchanges.enumerated() where e.kind != .other {
            let http = e.http  // read once: each read copies the transaction out of its box
            let method = http?.method.uppercased()
            let s = shape(e, http: http, method: method)
            var step: Int
            switch s {
            case .fetch: step = highest < 3 ? 3 : 4
            case .upload: step = highest <= 4 ? 5 : 6
            }
            var conf = confidence(step, tls: e.kind == .tls)
            if byStep[step] == nil {
                memo.buffers[step].removeAll()
            } else {
                memo.buffers[step].add("; ")
            }
            let described = memo.buffers[step].count
            describe(e, http: http, position: position + 1, into: &memo.buffers[step])
            if let h = http, let method {
                let allowed = methods.indices.contains(step) ? methods[step] : nil
                if !(allowed?.contains(method) ?? false) { conf *= 0.6 }
                if !directory.isSecars(h) { conf *= 0.8 }
            }
            if step < highest {
                let evidence = memo.buffers[step].text(from: described)
                add(.stepOutOfOrder, "\(id(step)) (\(evidence)) after \(id(highest))", e.start)
                conf *= 0.5
                memo.buffers[step].add(", out of order")
            }
            highest = max(highest, step)
            if e.missingBytes > 0 {
                memo.buffers[step].add(", ")
                memo.buffers[step].add(e.missingBytes)
                memo.buffers[step].add(" bytes not captured")
            }
            if var r = byStep[step] {
                r.start = min(r.start, e.start)
                r.end = max(r.end, e.end)
                r.bytesUp += e.bytesUp
                r.bytesDown += e.bytesDown
                r.confidence = min(r.confidence, rounded(conf))
                byStep[step] = r
            } else {
                byStep[step] = StepReport(step: step, name: id(step), start: e.start, end: e.end, bytesUp: e.bytesUp,
                                          bytesDown: e.bytesDown, confidence: rounded(conf), evidence: "")
            }
        }
        // These texts are not shared: they count the check-in's bytes, which few check-ins of a client repeat
        // (on a simulated day-long fleet capture, 1 in 200 steps 3 and almost no step 4-6).
        for n in byStep.indices {
            guard var r = byStep[n].take() else { continue }
            r.evidence = memo.buffers[n].text
            steps.append(r)
        }
    }

    /// Appends the text of exchange `e`, the `position`th of its check-in, to `t`. `http` is `e.http`, read
    /// once by the caller.
    private func describe(_ e: Exchange, http: HTTPTransaction?, position: Int, into t: inout EvidenceText) {
        if let h = http {
            t.add(h.method)
            t.add(" ")
            // The first non-empty piece between `?`s (the whole target when there is none), then `?…`.
            // By bytes when every `?` stands alone as a character (ASCII on both sides; kept targets
            // end in `?…`); by characters otherwise (a `?` may carry a combining mark).
            let byBytes = h.target.utf8.withContiguousStorageIfAvailable { target in
                guard Self.questionMarksStandAlone(target) else { return false }
                let (path, marked) = Self.firstPiece(target)
                t.add(utf8: UnsafeBufferPointer(rebasing: target[path]))
                if marked { t.add("?…") }
                return true
            } ?? false
            if !byBytes {
                let target = h.target.utf8
                if Self.questionMarksStandAlone(target) {
                    let path = target.split(separator: UInt8(ascii: "?"), maxSplits: 1).first ?? target[...]
                    t.add(utf8: path)
                    if target.contains(UInt8(ascii: "?")) { t.add("?…") }
                } else {
                    let mark: Character = "?"
                    t.add(h.target.split(separator: mark, maxSplits: 1).first.map(String.init) ?? h.target)
                    if h.target.contains(mark) { t.add("?…") }
                }
            }
            if let status = h.status {
                t.add(" → ")
                t.add(status)
                // Its stream ended inside the body (closed, or the capture's end): not the whole answer.
                if h.responseCutShort { t.add(" (cut short)") }
            } else {
                t.add(" → no reply")
            }
            t.add(", request #")
            t.add(position)
            t.add(", ")
            t.add(e.bytesUp)
            t.add(" bytes up, ")
            t.add(e.bytesDown)
            t.add(" down")
            return
        }
        t.add("exchange #")
        t.add(position)
        t.add(": ")
        t.add(e.bytesUp)
        t.add(" bytes up in ")
        t.add(e.recordsUp, "record")
        t.add(", ")
        t.add(e.bytesDown)
        t.add(" down in ")
        t.add(e.recordsDown, "record")
    }

    /// Where in `target` its first non-empty piece between `?`s lies (the whole target when there is none), and
    /// whether it has a `?` at all: what splitting it on `?` once, leaving out empty pieces, gives first.
    static func firstPiece(_ target: UnsafeBufferPointer<UInt8>) -> (path: Range<Int>, marked: Bool) {
        let mark = UInt8(ascii: "?")
        var start = 0
        var marked = false
        while start < target.count, target[start] == mark {
            start += 1
            marked = true
        }
        guard start < target.count else { return (0..<target.count, marked) }
        var end = start
        while end < target.count, target[end] != mark { end += 1 }
        return (start..<end, marked || end < target.count)
    }

    // MARK: - Helpers

    private func id(_ step: Int) -> String {
        ids.indices.contains(step) ? ids[step] : ReferenceModel.stepIDs[max(0, min(6, step - 1))]
    }

    private func confidence(_ step: Int, tls: Bool) -> Double {
        guard confidences.indices.contains(step), let c = confidences[step] else { return 0.5 }
        return tls ? c.tls : c.http
    }

    private func rounded(_ v: Double) -> Double { (v * 100).rounded() / 100 }

    /// Whether every `?` in `text` is a character of its own: ASCII before it (no prepended
    /// character), and after it ASCII or `…` (the ellipsis kept targets end with; no combining
    /// mark). Splitting and searching the bytes for `?` then give what splitting the characters
    /// gives.
    static func questionMarksStandAlone(_ text: String.UTF8View) -> Bool {
        let ellipsis: [UInt8] = [0xE2, 0x80, 0xA6]
        var previous: UInt8 = 0
        var i = text.startIndex
        while i != text.endIndex {
            let b = text[i]
            if b == UInt8(ascii: "?") {
                if previous >= 0x80 { return false }
                let next = text.index(after: i)
                if next != text.endIndex, text[next] >= 0x80,
                   !text[next...].starts(with: ellipsis) { return false }
            }
            previous = b
            i = text.index(after: i)
        }
        return true
    }

    /// `questionMarksStandAlone` on bytes read in place.
    static func questionMarksStandAlone(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        var previous: UInt8 = 0
        for i in text.indices {
            let b = text[i]
            if b == UInt8(ascii: "?") {
                if previous >= 0x80 { return false }
                // After it: ASCII, or the ellipsis E2 80 A6.
                if i + 1 < text.count, text[i + 1] >= 0x80 {
                    guard i + 3 < text.count, text[i + 1] == 0xE2, text[i + 2] == 0x80, text[i + 3] == 0xA6 else {
                        return false
                    }
                }
            }
            previous = b
        }
        return true
    }

    /// `steps` sorted by step number; most come in order already and are kept as they are, not copied.
    private static func inStepOrder(_ steps: [StepReport]) -> [StepReport] {
        var steps = steps
        for i in steps.indices.dropFirst() where steps[i - 1].step > steps[i].step {
            steps.sort { $0.step < $1.step }
            break
        }
        return steps
    }

    /// Bit `n` of a set of step numbers (0 outside 1-63).
    static func bit(_ n: Int) -> UInt64 { (1...63).contains(n) ? 1 << UInt64(n) : 0 }

    /// The step numbers present, as bits.
    static func stepMask(_ steps: [StepReport]) -> UInt64 {
        steps.reduce(0) { $0 | bit($1.step) }
    }

    /// Whether connection `i` of `cs` (read in place, not copied) carries TLS.
    func isTLS(_ cs: ArraySlice<ConnectionRecord>, _ i: Int) -> Bool {
        switch cs[i].application {
        case .tls: return true
        case .http: return false
        case .other, .none: return cs[i].tls != nil || directory.httpsPorts.contains(cs[i].server.port)
        }
    }
}
