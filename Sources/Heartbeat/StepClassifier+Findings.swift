import Core
import Records

// MARK: - Findings on one check-in

extension StepClassifier {
    /// Mandatory steps not seen that the capture could have shown; findings at `time`, else at the first
    /// connection's start. A check-in the capture may have joined after its beginning (`joinedMidway`) is
    /// not judged on steps that come before the first step it shows: they may have passed before the
    /// capture's first packet (with no step shown, on none).
    func checkMandatory(
        _ d: CheckInDraft, _ steps: [StepReport], at time: Timestamp? = nil,
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
            default: observable = firstShown.map { rule.number > $0 } ?? true
            }
            guard observable else { continue }
            add(.stepMissing, "\(rule.id) (step \(rule.number)) not seen", firstStart)
        }
    }

    /// Sizes of steps 3-6 against the model. `wholeBurst` false: the capture may have missed the check-in's
    /// first bytes (`joinedMidway`), or missed bytes of its exchanges (a gap: the records whose
    /// framing it took are not counted either; or a TLS answer whose request was not captured), so only
    /// the upper bounds are judged, not the idle minimum.
    /// Findings at `time` (a push burst's start), else at the first connection's start.
    func checkSizes(
        _ d: CheckInDraft, _ steps: [StepReport], wholeBurst: Bool = true, at time: Timestamp? = nil,
        _ add: (FindingCode, String, Timestamp?) -> Void
    ) {
        let t = time ?? d.connections.indices.first.map { d.connections[$0].start }
        var total: Int64 = 0
        for step in steps where (3...6).contains(step.step) { total += step.bytesUp + step.bytesDown }
        let numbers = Self.stepMask(steps) & (Self.bit(3) | Self.bit(4) | Self.bit(5) | Self.bit(6))
        let s = model.sizes
        let refused = d.exchanges.contains { ($0.http?.status ?? 0) >= 400 }
        if numbers == Self.bit(3), !refused, wholeBurst && total < s.idleMinBytes || total > s.idleMaxBytes {
            add(.idleSizeOutOfRange, "idle check-in carried \(formatBytes(total)) "
                + "(expected \(s.idleMinBytes)-\(s.idleMaxBytes))", t)
        }
        if total > s.fullMaxBytes {
            add(.heartbeatOversize,
                "check-in carried \(formatBytes(total)) (full heartbeat at most \(s.fullMaxBytes))", t)
        }
        let cap = Saturating.add(Saturating.multiply(s.logUploadMaxRecords, s.logRecordBytes), s.uploadOverheadBytes)
        if let upload = steps.first(where: { $0.step == 5 }), upload.bytesUp > cap {
            add(.uploadOverCap, "log upload of \(formatBytes(upload.bytesUp)) exceeds \(cap) "
                + "(\(s.logUploadMaxRecords) records of \(s.logRecordBytes) bytes + \(s.uploadOverheadBytes))",
                upload.start)
        }
    }

    func checkHTTPStatus(_ exchanges: [Exchange], _ add: (FindingCode, String, Timestamp?) -> Void) {
        for e in exchanges {
            guard let h = e.http, let status = h.status, status >= 400 else { continue }
            var text = "\(h.method) request answered \(status)"
            if let reason = h.reason, !reason.isEmpty { text += " \(reason)" }
            if let meaning = model.http.statusMeanings[String(status)] { text += ": \(meaning)" }
            add(.httpError, text, e.responseStart ?? e.start)
        }
    }

    /// The check-in's connections, then its failed attempts.
    ///
    /// A push connection carries many check-ins: a gap goes on the burst whose exchange lost the bytes
    /// (counted as one gap per exchange that lost bytes), and the first burst keeps the gaps no exchange
    /// took (in the handshake, or between bursts) and the connection's memory limits and cut packets.
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
            gapBytes += a.gapBytes
            limits += a.limitReached
            truncated += a.truncatedPackets
        }
        /// Exchanges that lost bytes, and the bytes.
        func lost(_ exchanges: [Exchange]) -> (Int, Int64) {
            var n = 0
            var bytes: Int64 = 0
            for i in exchanges.indices where exchanges[i].missingBytes > 0 {
                n += 1
                bytes += exchanges[i].missingBytes
            }
            return (n, bytes)
        }
        var t = conns.indices.first.map { conns[$0].start } ?? attempts.indices.first.map { attempts[$0].start }
        if d.mode == .push && d.burst > 0 {
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
        if d.mode == .push, let f = conns.indices.first {
            // Later bursts report the gaps their exchanges took.
            let (all, allBytes) = lost(conns[f].exchanges)
            let (own, ownBytes) = lost(d.exchanges)
            gaps = max(0, gaps - (all - own))
            gapBytes = max(0, gapBytes - (allBytes - ownBytes))
            if gaps == 0 && gapBytes > 0 { gaps = 1 }
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
