import Core
import Records

// MARK: - Steps 3-6
//
// The steps a check-in's exchanges show (3-6), told apart by their shape (fetch or upload), and the text
// that describes each exchange.

extension StepClassifier {
    /// `http` is `e.http`, read once by the caller (each read copies the transaction out of its box).
    /// `method` is `http?.method.uppercased()`.
    private func shape(_ e: Exchange, http: HTTPTransaction?, method: String?) -> Shape {
        if let h = http, let m = method {
            return m == "POST" || m == "PUT" || h.requestBodyLength > 0 && m != "GET" ? .upload : .fetch
        }
        return e.bytesUp >= model.tls.uploadMinBytes && e.bytesUp > e.bytesDown ? .upload : .fetch
    }

    /// Steps 3-6 from `exchanges`, appended to `steps` by step number. Each step's evidence is written into its
    /// buffer of `memo` (the texts of its exchanges, `; ` between them) and made a text once, at the end. A
    /// step of one exchange with nothing more to say keeps only the words before its byte counts, shared with
    /// equal ones (`TextMemo.text(ofStep:prefix:)`): its counts are made when the text is read
    /// (`StepReport.evidenceIsMade`). Other texts are not shared.
    func exchangeSteps(
        _ exchanges: [Exchange], memo: inout TextMemo, into steps: inout [StepReport],
        _ add: (FindingCode, String, Timestamp?) -> Void
    ) {
        // Kept by the memo from check-in to check-in, so it is not made anew for each; every entry is nil
        // again when this returns.
        var byStep: [StepReport?] = []
        swap(&byStep, &memo.exchangeSteps)
        defer { swap(&byStep, &memo.exchangeSteps) }
        var highest = 2
        // Whether bytes of this check-in's exchanges so far went uncaptured.
        var gapSoFar = false
        for (position, e) in exchanges.enumerated() where e.kind != .other {
            let http = e.http  // read once: each read copies the transaction out of its box
            let method = http?.method.uppercased()
            gapSoFar = gapSoFar || e.missingBytes > 0
            // Only an answer was captured: over HTTP an answer with no request (the request lost, or none sent);
            // over TLS one with no client byte after bytes the capture lost (the request among them). The
            // exchange's shape (fetch or upload) is unknown: it stays in the step before it, at lower
            // confidence, and is no evidence of steps out of order.
            let requestLost = e.bytesUp == 0 && (method.map { $0.isEmpty } ?? gapSoFar)
            var step: Int
            // Told by its sizes with bytes of it not captured (a gap; a header-only capture, whose packets
            // lost their payload past the snap length): the sizes are what was captured, so its shape may be
            // wrong. Before the highest step so far it is no evidence of steps out of order and stays in that
            // step, as an answer with no request does.
            var shapeUnsure = false
            if requestLost {
                step = max(highest, 3)
            } else {
                switch shape(e, http: http, method: method) {
                case .fetch: step = highest < 3 ? 3 : 4
                case .upload: step = highest <= 4 ? 5 : 6
                }
                if step < highest, http == nil, e.missingBytes > 0 {
                    step = highest
                    shapeUnsure = true
                }
            }
            var conf = confidence(step, tls: e.kind == .tls)
            if requestLost || shapeUnsure, step != 3 { conf *= 0.5 }
            if byStep[step] == nil {
                memo.buffers[step].removeAll()
            } else {
                memo.buffers[step].add("; ")
            }
            let described = memo.buffers[step].count
            let counts = describe(e, http: http, position: position + 1, into: &memo.buffers[step])
            // Told by its words and byte counts alone: the step's only exchange so far, with nothing added.
            let plain = byStep[step] == nil && step >= highest && !requestLost && e.missingBytes == 0
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
            if requestLost { memo.buffers[step].add(", no request captured") }
            if e.missingBytes > 0 {
                memo.buffers[step].add(", ")
                memo.buffers[step].add(e.missingBytes)
                memo.buffers[step].add(" bytes not captured")
            }
            if var r = byStep[step] {
                // Two exchanges or more: the evidence is the buffer's whole text.
                r.evidence = ""
                r.start = min(r.start, e.start)
                r.end = max(r.end, e.end)
                r.bytesUp = Saturating.add(r.bytesUp, e.bytesUp)
                r.bytesDown = Saturating.add(r.bytesDown, e.bytesDown)
                r.confidence = min(r.confidence, rounded(conf))
                byStep[step] = r
            } else {
                var r = StepReport(step: step, start: e.start, end: e.end, bytesUp: e.bytesUp,
                                   bytesDown: e.bytesDown, confidence: rounded(conf), evidence: "")
                if plain {
                    r.setEvidence(head: "", tail: counts.tail, records: (e.recordsUp, e.recordsDown))
                    memo.countsStart[step] = counts.start
                }
                byStep[step] = r
            }
        }
        // Whole texts are not shared: they count the check-in's bytes, which few check-ins of a client repeat
        // (on a simulated day-long fleet capture, 1 in 200 steps 3 and almost no step 4-6).
        for n in byStep.indices {
            guard var r = byStep[n].take() else { continue }
            if r.evidenceIsMade {
                r.evidenceHead = memo.text(ofStep: n, prefix: memo.countsStart[n])
            } else {
                r.evidence = memo.buffers[n].text
            }
            steps.append(r)
        }
    }

    /// Appends the text of exchange `e`, the `position`th of its check-in, to `t`. `http` is `e.http`, read
    /// once by the caller. Answers where in `t` the words of the byte counts begin, and which they are.
    private func describe(
        _ e: Exchange, http: HTTPTransaction?, position: Int, into t: inout EvidenceText
    ) -> (start: Int, tail: StepReport.Tail) {
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
            } else if h.responseStatusCut {
                t.add(" → answer with its code cut")
            } else {
                t.add(" → no reply")
            }
            t.add(", request #")
            t.add(position)
            let start = t.count
            t.add(counts: .bytes, up: e.bytesUp, down: e.bytesDown)
            return (start, .bytes)
        }
        t.add("exchange #")
        t.add(position)
        t.add(": ")
        let start = t.count
        t.add(counts: .records, up: e.bytesUp, down: e.bytesDown, records: (e.recordsUp, e.recordsDown))
        return (start, .records)
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
}
