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
    let methods: [[String]?]
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

    enum Shape { case fetch, upload }

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
        /// For each of those whose evidence is made when read (`StepReport.evidenceIsMade`): where in its
        /// buffer the byte counts begin.
        var countsStart = [Int](repeating: 0, count: 8)
        /// The last text `text(ofStep:prefix:)` made (or shared) for each step number.
        private var heads = [String](repeating: "", count: 8)
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
            buffer.bytes.withUnsafeBufferPointer { text(of: $0) }
        }

        /// The text of the first `count` bytes of step `n`'s buffer, shared as `text(of:)` shares it; one short
        /// enough to be kept inside the `String` itself (no storage of its own to share) is simply made. Compared
        /// first with the last one made so for the step, which it most often repeats (cheaper than a hash).
        mutating func text(ofStep n: Int, prefix count: Int) -> String {
            buffers[n].bytes.withUnsafeBufferPointer { b in
                let bytes = UnsafeBufferPointer(rebasing: b.prefix(count))
                if bytes.count <= Self.inlineBytes { return String(decoding: bytes, as: UTF8.self) }
                if Self.equal(heads[n], bytes) { return heads[n] }
                let made = text(of: bytes)
                heads[n] = made
                return made
            }
        }

        /// The most UTF-8 bytes a `String` holds without storage of its own, on 64-bit platforms.
        private static let inlineBytes = 15

        private mutating func text(of b: UnsafeBufferPointer<UInt8>) -> String {
            var hasher = Hasher()
            hasher.combine(bytes: UnsafeRawBufferPointer(b))
            let hash = hasher.finalize()
            if let known = texts[hash], Self.equal(known, b) { return known }
            let made = String(decoding: b, as: UTF8.self)
            texts[hash] = made
            return made
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
        let attemptsUp = attempts.reduce(Int64(0)) { Saturating.add($0, $1.bytesUp) }
        let attemptsDown = attempts.reduce(Int64(0)) { Saturating.add($0, $1.bytesDown) }
        if let f = first, d.showsOpening || !attempts.isEmpty {
            var step = selectServer(attempts: attempts, cs, f, memo: &memo)
            step.bytesUp = attemptsUp
            step.bytesDown = attemptsDown
            steps.append(step)
        } else if first == nil, let a = attempts.first, let z = attempts.last {
            steps.append(StepReport(step: 1, start: a.synTime ?? a.start, end: z.end,
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
            steps.append(StepReport(step: 7, start: min(from, cs[l].end), end: cs[l].end,
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
        let cutBySnapLength = d.connections.contains(where: \.cutBySnapLength)
        // Bytes a pull check-in's connections lost in gaps (or past a memory limit), which no exchange may hold:
        // an HTTP message whose start line a gap took is no message of the parser, so a request lost so shows no
        // step 3, and an answer lost so leaves its request unanswered, with its bytes in no step. Its steps 3-6
        // and its idle minimum are then not judged, as the check-in's `capture-gap` warning says. A push
        // connection's gaps may be other bursts': its exchanges' missing bytes say which are its own.
        let lostInGaps = d.mode == .pull && cs.indices.contains {
            !Self.noneLostInGaps(cs[$0].anomaliesUp) || !Self.noneLostInGaps(cs[$0].anomaliesDown)
        }
        // Records from a log that keeps each connection's totals only (Zeek's): an HTTPS check-in is one exchange
        // there, as is a plain-HTTP one when the requests were not logged (no http.log), so its steps 3-6 are not
        // told apart, and HTTP sizes leave out the heads (nor is any idle minimum judged). Upper bounds still
        // are: the totals are at least what the steps carried.
        let totalsOnly = d.connections.contains(where: \.totalsOnly)
        let stepsUnknown = totalsOnly && d.exchanges.contains { $0.kind != .http }
        if first != nil {
            // A later push burst, or a first one picked up midstream, starts at its first exchange: its
            // findings carry that time, not the connection's start (maybe hours before).
            let burstStart = d.burst > 0 || pickedUpMidstream(d) ? exchangesStart : nil
            checkMandatory(d, steps, at: burstStart,
                           failed: unanswered || oneSided || cutBySnapLength || lostInGaps || stepsUnknown, add)
            // Bytes lost in a gap, or a TLS answer with no request captured (a SEP client always speaks
            // first: its request was lost before its direction's first captured byte, so no gap says so).
            let lostBytes = lostInGaps
                || d.exchanges.contains { $0.missingBytes > 0 || ($0.kind == .tls && $0.recordsUp == 0) }
            let whole = !joinedMidway(d) && !lostBytes && !unanswered && !oneSided && !cutByCaptureEnd(d) && !totalsOnly
            // Client bytes lost so may be requests' heads: their bytes then count in an earlier step (HTTP), so
            // a check-in that shows step 3 alone is no evidence of an idle one, as with packets the snap length cut.
            let requestsLost = lostInGaps && cs.indices.contains { !Self.noneLostInGaps(cs[$0].anomaliesUp) }
            checkSizes(d, steps, wholeBurst: whole, stepsSeen: !cutBySnapLength && !requestsLost && !stepsUnknown,
                       stepsApart: !stepsUnknown, at: burstStart, add)
        }
        // Client bytes the capture lost or the snap length cut (a request among them may be what a request-less
        // answer answers).
        let lostUpload = d.connections.contains {
            $0.anomaliesUp.gaps > 0 || $0.anomaliesUp.gapBytes > 0 || $0.anomaliesUp.truncatedPackets > 0
        }
        checkHTTPStatus(d.exchanges, lostUpload: lostUpload, add)
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
            bytesUp: pullBytes ? cs.indices.reduce(attemptsUp) { Saturating.add($0, cs[$1].bytesUp) }
                : steps.reduce(0) { Saturating.add($0, $1.bytesUp) },
            bytesDown: pullBytes ? cs.indices.reduce(attemptsDown) { Saturating.add($0, cs[$1].bytesDown) }
                : steps.reduce(0) { Saturating.add($0, $1.bytesDown) },
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

    // MARK: - Helpers

    func id(_ step: Int) -> String {
        ids.indices.contains(step) ? ids[step] : ReferenceModel.stepIDs[max(0, min(6, step - 1))]
    }

    func confidence(_ step: Int, tls: Bool) -> Double {
        guard confidences.indices.contains(step), let c = confidences[step] else { return 0.5 }
        return tls ? c.tls : c.http
    }

    func rounded(_ v: Double) -> Double { (v * 100).rounded() / 100 }

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
