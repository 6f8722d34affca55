import Core
import Records

// MARK: - Findings on one check-in

extension StepClassifier {
    /// Mandatory steps not seen that the capture could have shown; findings at `time`, else at the first
    /// connection's start. A check-in the capture may have joined after its beginning (`joinedMidway`) is
    /// not judged on steps that come before the first step it shows: they may have passed before the
    /// capture's first packet (with no step shown, on none).
    /// A check-in that `failed` (its connection set up, but no answer came: `checkAnswers`) is not judged on
    /// steps 3-6, as one whose connects all failed is not; nor is one whose packets the capture shows one way
    /// only or cut by the snap length, or a pull check-in whose connections lost bytes in gaps (the caller passes
    /// `failed` for those too).
    func checkMandatory(
        _ d: CheckInDraft, _ steps: [StepReport], at time: Timestamp? = nil, failed: Bool = false,
        _ add: (FindingCode, String, Timestamp?) -> Void
    ) {
        let present = Self.stepMask(steps)
        // Most check-ins show every mandatory step: the model's rules are then not walked.
        if let mask = mandatoryMask, present & mask == mask { return }
        let last = d.connections.indices.last.map { d.connections[$0].state }
        let firstStart = time ?? d.connections.indices.first.map { d.connections[$0].start }
        let firstShown = joinedMidway(d) ? (steps.lazy.map(\.step).min() ?? Int.max) : nil
        for rule in model.steps where rule.mandatory && present & Self.bit(rule.number) == 0 {
            let observable: Bool
            switch rule.number {
            case 1, 2: observable = d.showsOpening
            case 7: observable = d.showsClose && !(last?.contains(.openAtEnd) ?? true)
            default: observable = !failed && (firstShown.map { rule.number > $0 } ?? true)
            }
            guard observable else { continue }
            add(.stepMissing, "\(rule.id) (step \(rule.number)) not seen", firstStart)
        }
    }

    /// Sizes of steps 3-6 against the model. `wholeBurst` false: the capture may have missed the check-in's
    /// first bytes (`joinedMidway`), or missed bytes of its exchanges (a gap: the records whose
    /// framing it took are not counted either; or a TLS answer whose request was not captured), so only
    /// the upper bounds are judged, not the idle minimum. `stepsSeen` false: packets were cut by the snap length,
    /// or a pull check-in's client bytes lost in gaps, so requests whose payload was not captured may hide steps
    /// 4-6 (their answers then all land in step 3),
    /// and a check-in that shows step 3 alone is no evidence of an idle one: its size is not held to the idle range.
    /// Findings at `time` (a push burst's start), else at the first connection's start.
    /// `stepsApart` false: the steps of an HTTPS check-in are not told apart (records of logs that keep a
    /// connection's totals only): its one exchange holds every step's bytes and the handshake's, so no step is
    /// held to the log upload's cap.
    func checkSizes(
        _ d: CheckInDraft, _ steps: [StepReport], wholeBurst: Bool = true, stepsSeen: Bool = true,
        stepsApart: Bool = true, at time: Timestamp? = nil, _ add: (FindingCode, String, Timestamp?) -> Void
    ) {
        let t = time ?? d.connections.indices.first.map { d.connections[$0].start }
        var total: Int64 = 0
        for step in steps where (3...6).contains(step.step) {
            total = Saturating.add(total, Saturating.add(step.bytesUp, step.bytesDown))
        }
        let numbers = Self.stepMask(steps) & (Self.bit(3) | Self.bit(4) | Self.bit(5) | Self.bit(6))
        let s = model.sizes
        let refused = d.exchanges.contains { ($0.http?.status ?? 0) >= 400 }
        if numbers == Self.bit(3), !refused, stepsSeen,
           wholeBurst && total < s.idleMinBytes || total > s.idleMaxBytes {
            add(.idleSizeOutOfRange, "idle check-in carried \(formatBytes(total)) "
                + "(expected \(s.idleMinBytes)-\(s.idleMaxBytes))", t)
        }
        if total > s.fullMaxBytes {
            add(.heartbeatOversize,
                "check-in carried \(formatBytes(total)) (full heartbeat at most \(s.fullMaxBytes))", t)
        }
        let cap = Saturating.add(Saturating.multiply(s.logUploadMaxRecords, s.logRecordBytes), s.uploadOverheadBytes)
        if stepsApart, let upload = steps.first(where: { $0.step == 5 }), upload.bytesUp > cap {
            add(.uploadOverCap, "log upload of \(formatBytes(upload.bytesUp)) exceeds \(cap) "
                + "(\(s.logUploadMaxRecords) records of \(s.logRecordBytes) bytes + \(s.uploadOverheadBytes))",
                upload.start)
        }
    }

    /// Whether the check-in's last bytes may be missing because the capture ended: its last connection was
    /// still open then, and (on a push connection, which stays open between bursts) its last exchange ended
    /// within `push.burstGapSeconds` of the capture's last packet. Its size is then not held to the idle
    /// minimum (the answer may not have been captured yet).
    func cutByCaptureEnd(_ d: CheckInDraft) -> Bool {
        guard let l = d.connections.indices.last, d.connections[l].state.contains(.openAtEnd) else { return false }
        guard d.mode == .push else { return true }
        guard let end = captureEnd, let e = d.exchanges.indices.last else { return true }
        return end.seconds(since: d.exchanges[e].end) <= model.push.burstGapSeconds
    }

    /// Raises `tls-handshake-failed`, `no-answer` and `answer-cut-short` for the check-in's connections that
    /// closed within the capture with nothing lost (no gap, no memory limit, no packet cut by the snap length,
    /// either way, and no exchange missing bytes):
    ///
    /// - a TLS connection whose SYN was seen and that carried no application data at all: the handshake
    ///   failed (a fatal alert, named when it was sent in clear; no ServerHello; or nothing after it);
    /// - a connection set up and closed with no payload byte either way;
    /// - a connection whose last HTTP request got no byte of answer (and no server byte went unread), or a
    ///   TLS connection none of whose client bursts got one, the last one being more than a close_notify
    ///   (`closeRecordMaxBytes`; a TLS 1.3 close_notify after an answer is such a burst, so TLS is judged on
    ///   the whole connection, or the whole burst of a push connection);
    /// - an HTTP answer whose body the close cut short (fewer bytes than its Content-Length, or a chunked body
    ///   without its last chunk): the client did not get it. A body cut by the capture's end (the connection
    ///   still open) or missing bytes the capture lost is not judged here (`capture-gap` says so).
    ///
    /// A push connection is judged with its last burst, and only when it closed. Returns whether the
    /// check-in failed: a finding was raised and none of its exchanges got a whole answer.
    func checkAnswers(_ d: CheckInDraft, _ add: (FindingCode, String, Timestamp?) -> Void) -> Bool {
        let cs = d.connections
        if d.mode == .push && !d.showsClose { return false }
        var raised = false
        for i in cs.indices where !cs[i].state.contains(.openAtEnd) {
            let c = cs[i]
            // A failure retried at once on a later connection of the check-in that was answered: a warning.
            func raise(_ code: FindingCode, _ message: String, _ time: Timestamp?) {
                raiseUnlessRetried(d, after: i, code, message, time, add)
            }
            guard Self.nothingLost(c.anomaliesUp), Self.nothingLost(c.anomaliesDown) else { continue }
            let exchanges = d.mode == .push ? d.exchanges : c.exchanges
            guard !exchanges.contains(where: { $0.missingBytes > 0 }) else { continue }
            let closed = closeText(c.state)
            // An answer that began but whose body the close cut short (nothing lost: the capture saw it all).
            for (n, e) in exchanges.enumerated() where e.http?.responseCutShort == true {
                guard let h = e.http, let status = h.status, e.end <= c.closeTime ?? c.end else { continue }
                let what = "\(h.method) \(h.target.split(separator: "?").first ?? "") #\(n + 1): answer \(status) from "
                    + named(c.server) + " cut short"
                // The client closed or reset and the manager did neither: the client gave up on the answer (its own
                // timeout, say). Still no answer for the check-in, so the same error, but not the manager's doing.
                // With both sides' FIN or RST, which came first is not kept: the close cut it.
                let byClient = !c.state.isDisjoint(with: [.finFromClient, .rstFromClient])
                    && c.state.isDisjoint(with: [.finFromServer, .rstFromServer])
                raise(.answerCutShort, what + (byClient
                    ? " by the client: " + Self.cutShortBody(h) + " before the client ended the connection (\(closed))"
                    : ", " + Self.cutShortBody(h) + " before the connection closed (\(closed))"),
                      e.responseStart ?? e.start)
                raised = true
            }
            let payloadUp = Saturating.subtract(c.bytesUp, c.anomaliesUp.repeatedBytes)
            let payloadDown = Saturating.subtract(c.bytesDown, c.anomaliesDown.repeatedBytes)
            let at = c.synTime ?? c.start
            if c.exchanges.isEmpty && c.foldedExchanges == 0 && c.tunnel?.kind != .forward {
                guard c.handshake == .established else { continue }
                if payloadUp == 0 && payloadDown == 0 {
                    raise(.noAnswer, "connection to \(named(c.server)) set up and closed (\(closed)) with no byte "
                        + "either way", at)
                    raised = true
                } else if isTLS(cs, i) {
                    let through = c.tunnel?.proxy.map { " through proxy \($0)" } ?? ""
                    raise(.tlsHandshakeFailed, "TLS handshake with \(named(c.server))\(through) failed: "
                        + handshakeFailure(c) + "; then \(closed)", at)
                    raised = true
                } else if c.application == .http && payloadDown == 0 {
                    // A request head the close cut short (a reset in the middle of it) is no exchange, and nothing
                    // came back: the client got no answer, as for a whole request left unanswered.
                    raise(.noAnswer, "connection to \(named(c.server)) set up and closed (\(closed)) with "
                        + "\(payloadUp) bytes up that made no whole request, and no byte down", at)
                    raised = true
                }
                continue
            }
            // A request stamped after the connection closed (a packet stamped off its connection's clock) says
            // nothing about the order of request and answer.
            guard let last = exchanges.last, last.bytesDown == 0, last.end <= c.closeTime ?? c.end else { continue }
            let http = last.http
            if let http {
                // Server bytes no exchange took (a response the parser could not read), or a response with no
                // request before it (the directions' clocks apart, or a request lost), may be the answer.
                let taken = c.exchanges.reduce(Int64(0)) { Saturating.add($0, $1.bytesDown) }
                guard http.status == nil, payloadDown <= taken, !c.exchanges.contains(where: { $0.bytesUp == 0 })
                else { continue }
            } else if last.kind != .tls || last.bytesUp <= Self.closeRecordMaxBytes
                        || exchanges.contains(where: { $0.bytesDown > 0 }) {
                continue
            }
            let after = (c.closeTime ?? c.end).seconds(since: last.end)
            let what = http.map { "\($0.method) \($0.target.split(separator: "?").first ?? "")" } ?? "exchange"
            raise(.noAnswer, "\(what) #\(exchanges.count) (\(last.bytesUp) bytes up) got no answer from "
                + "\(named(c.server)) before the connection closed (\(closed), \(formatSeconds(max(0, after))) s "
                + "after the request)", last.start)
            raised = true
        }
        // An answer cut short is no answer: the client did not get it.
        return raised && !d.exchanges.contains { $0.bytesDown > 0 && $0.http?.responseCutShort != true }
    }

    /// `919 of 3600 body bytes (Content-Length) came`, or `the chunked body ended after 919 bytes without its
    /// last chunk`.
    static func cutShortBody(_ h: HTTPTransaction) -> String {
        let got = h.responseBodyLength ?? 0
        guard let declared = h.declaredResponseBodyLength else {
            return "its chunked body unfinished after \(got) bytes (no last chunk)"
        }
        return "\(got) of \(declared) body bytes (Content-Length) came"
    }

    /// A client burst of at most this many bytes is no request: a TLS 1.3 close_notify or other alert travels
    /// in a 24-byte application-data record (5 header, 2 alert, 1 type, 16 tag).
    static let closeRecordMaxBytes: Int64 = 64

    /// Nothing of the direction went uncaptured: no gap, no memory limit, no packet cut by the snap length.
    private static func nothingLost(_ a: StreamAnomalies) -> Bool {
        noneLostInGaps(a) && a.truncatedPackets == 0
    }

    /// No packet of the direction was lost by the capture and no data was skipped at a memory limit (bytes the
    /// snap length cut are not asked about: `cutBySnapLength` says those).
    static func noneLostInGaps(_ a: StreamAnomalies) -> Bool {
        a.gaps == 0 && a.gapBytes == 0 && a.limitReached == 0
    }

    /// Why the TLS handshake of `c`, which carried no application data, failed, as far as the clear-text records
    /// tell.
    private func handshakeFailure(_ c: ConnectionRecord) -> String {
        let tls = c.tls
        if let alert = tls?.alerts.first(where: { $0.level == 2 }) {
            return "fatal alert \(Self.alertName(alert.description)) (\(alert.description)) from the "
                + (alert.direction == .down ? "server" : "client")
        }
        guard let tls, tls.clientVersion != nil || tls.negotiatedVersion != nil else {
            // Bytes from the client beyond a tunnel's CONNECT made no whole ClientHello: it was cut short.
            let setUp = c.tunnel?.setUp.reduce(Int64(0)) { Saturating.add($0, $1.bytesUp) } ?? 0
            let sent = Saturating.subtract(Saturating.subtract(c.bytesUp, c.anomaliesUp.repeatedBytes), setUp)
            return sent > 0 ? "no whole ClientHello (the client's \(sent) bytes made none)" : "no ClientHello seen"
        }
        if tls.negotiatedVersion == nil { return "no ServerHello after the ClientHello" }
        return "no application data after the hellos"
    }

    /// The RFC 8446 / 5246 name of a TLS alert description, `alert` for one not listed.
    static func alertName(_ description: UInt8) -> String {
        switch description {
        case 0: return "close_notify"
        case 10: return "unexpected_message"
        case 20: return "bad_record_mac"
        case 22: return "record_overflow"
        case 40: return "handshake_failure"
        case 42: return "bad_certificate"
        case 43: return "unsupported_certificate"
        case 44: return "certificate_revoked"
        case 45: return "certificate_expired"
        case 46: return "certificate_unknown"
        case 47: return "illegal_parameter"
        case 48: return "unknown_ca"
        case 49: return "access_denied"
        case 50: return "decode_error"
        case 51: return "decrypt_error"
        case 70: return "protocol_version"
        case 71: return "insufficient_security"
        case 80: return "internal_error"
        case 86: return "inappropriate_fallback"
        case 90: return "user_canceled"
        case 109: return "missing_extension"
        case 110: return "unsupported_extension"
        case 112: return "unrecognized_name"
        case 116: return "certificate_required"
        case 120: return "no_application_protocol"
        default: return "alert"
        }
    }

    /// An answer with no request captured (no method: the request was lost to the capture, or the server sent
    /// it unasked, as a `408` before it closes an idle connection) is worded without the method. A `408` with no
    /// request that is the check-in's last exchange, after its requests were answered with nothing of them lost,
    /// is the server closing the idle connection (HTTP lets it say so before it closes), not a failed check-in:
    /// `unsolicited-timeout` (info), not `http-error`. Bytes lost before it (the request it answers may be among
    /// them) or a request after it (the connection was not closed) keep it an `http-error`.
    func checkHTTPStatus(_ exchanges: [Exchange], lostUpload: Bool = false,
                         _ add: (FindingCode, String, Timestamp?) -> Void) {
        var answered = false
        for (i, e) in exchanges.enumerated() {
            guard let h = e.http, let status = h.status else { continue }
            let unasked = h.method.isEmpty
            if !unasked { answered = true }
            let closing = answered && !lostUpload && i == exchanges.count - 1
                && exchanges.allSatisfy { $0.missingBytes == 0 }
            if status == 408, unasked, closing {
                add(.unsolicitedTimeout, "the server answered 408" + (h.reason.map { $0.isEmpty ? "" : " \($0)" } ?? "")
                    + " with no request, after the check-in's requests were answered: it closed the idle connection",
                    e.responseStart ?? e.start)
                continue
            }
            // A redirect answering a secars request is not the manager's answer: something between (a proxy, a
            // load balancer, a web server's rule) sent the client elsewhere, so the check-in did not reach it. Other
            // 3xx answers (a content download's 304) are normal.
            let redirected = (300..<400).contains(status) && status != 304 && !unasked && directory.isSecars(h)
            guard status >= 400 || redirected else { continue }
            var text = unasked ? "the server answered \(status)" : "\(h.method) request answered \(status)"
            if let reason = h.reason, !reason.isEmpty { text += " \(reason)" }
            if unasked { text += " with no request captured (lost to the capture, or sent unasked)" }
            if let meaning = model.http.statusMeanings[String(status)] {
                text += ": \(meaning)"
            } else if redirected {
                text += ": a redirect, not the manager's answer (a proxy, load balancer or web server rule between)"
            }
            add(.httpError, text, e.responseStart ?? e.start)
        }
    }

    /// The check-in's connections, then its failed attempts.
    ///
    /// A push connection carries many check-ins: a gap goes on the burst whose exchange lost the bytes
    /// (counted as one gap per exchange that lost bytes), and the first burst keeps the gaps no exchange
    /// took (in the handshake, or between bursts) and the connection's memory limits and cut packets. On one
    /// with packets cut by the snap length, the exchanges' missing bytes are mostly the cut ones, which are no
    /// gap (no packet was lost): its gaps all go on the first burst, with the cut packets.
    func checkCapture(
        _ d: CheckInDraft, _ conns: ArraySlice<ConnectionRecord>, _ attempts: ArraySlice<ConnectionRecord>,
        _ add: (FindingCode, String, Timestamp?) -> Void
    ) {
        var gaps = 0
        var gapBytes: Int64 = 0
        var limits = 0
        var truncated = 0
        func count(_ a: StreamAnomalies) {
            gaps += a.gaps
            gapBytes = Saturating.add(gapBytes, a.gapBytes)
            limits += a.limitReached
            truncated += a.truncatedPackets
        }
        /// Exchanges that lost bytes, and the bytes.
        func lost(_ exchanges: [Exchange]) -> (Int, Int64) {
            var n = 0
            var bytes: Int64 = 0
            for i in exchanges.indices where exchanges[i].missingBytes > 0 {
                n += 1
                bytes = Saturating.add(bytes, exchanges[i].missingBytes)
            }
            return (n, bytes)
        }
        var t = conns.indices.first.map { conns[$0].start } ?? attempts.indices.first.map { attempts[$0].start }
        let cut = conns.first?.cutBySnapLength ?? false
        if d.mode == .push && d.burst > 0 {
            guard !cut else { return }
            (gaps, gapBytes) = lost(d.exchanges)
            t = d.exchanges.first?.start ?? t
            if gaps > 0 {
                add(.captureGap, "\(counted(gaps, "gap")), \(gapBytes) bytes not captured; sizes and steps may be "
                    + "incomplete", t)
            }
            return
        }
        // By index: the records are read, not copied.
        for i in conns.indices {
            count(conns[i].anomaliesUp)
            count(conns[i].anomaliesDown)
        }
        for i in attempts.indices {
            count(attempts[i].anomaliesUp)
            count(attempts[i].anomaliesDown)
        }
        if d.mode == .push, !cut, let f = conns.indices.first {
            // Later bursts report the gaps their exchanges took.
            let (all, allBytes) = lost(conns[f].exchanges)
            let (own, ownBytes) = lost(d.exchanges)
            gaps = max(0, gaps - (all - own))
            gapBytes = max(0, Saturating.subtract(gapBytes, Saturating.subtract(allBytes, ownBytes)))
            if gaps == 0 && gapBytes > 0 { gaps = 1 }
            // An exchange counts once however many gaps it lost bytes in: gaps left with no byte were the other
            // bursts' (two segments of one answer lost), not this one's.
            if gapBytes == 0 { gaps = 0 }
        }
        if gaps > 0 || limits > 0 {
            var text = "\(counted(gaps, "gap")), \(gapBytes) bytes not captured"
            if limits > 0 { text += "; \(counted(limits, "memory limit hit")) skipped data" }
            add(.captureGap, text + "; sizes and steps may be incomplete", t)
        }
        if truncated > 0 {
            add(.captureTruncated, "\(counted(truncated, "packet")) cut by the snap length; sizes come from headers", t)
        }
    }
}
