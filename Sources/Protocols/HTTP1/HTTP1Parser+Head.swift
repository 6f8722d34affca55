#if canImport(Glibc)
import Glibc
#endif
import Core

extension HTTP1Parser {
    // MARK: - Heads

    /// The index of the first LF in `p[from..<before]`, or `before` when there is none. Found with `memchr`
    /// (a byte loop took about four instructions a byte of every head).
    static func lineFeed(in p: UnsafeRawBufferPointer, from: Int, before: Int) -> Int {
        guard from < before, let base = p.baseAddress, before <= p.count,
              let hit = memchr(base + from, 10, before - from) else { return before }
        return base.distance(to: UnsafeRawPointer(hit))
    }

    /// Collects head bytes until the blank line (or, for an HTTP/0.9 request, the first line).
    mutating func consumeHead(
        _ p: UnsafeRawBufferPointer, _ time: Timestamp, _ events: inout [HTTP1Event]
    ) -> Int {
        var j = 0
        while j < p.count {
            if startDecided, !buffer.isEmpty {
                // Inside a head whose start is decided, bytes other than LF only join the buffer
                // (below, one at a time): take them up to the next LF at once, within the size bound.
                let stop = j + min(p.count - j, max(0, limits.maxHeadBytes - buffer.count))
                let k = HTTP1Parser.lineFeed(in: p, from: j, before: stop)
                if k > j {
                    buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[j..<k]))
                    msg.last = time
                    j = k
                    continue
                }
            }
            let b = p[j]
            j += 1
            if buffer.isEmpty {
                if b == 13 || b == 10 {
                    leading += 1
                    continue
                }
                msg = Progress(start: time)
                startDecided = false
                lineStart = 0
                // Room for a usual head at once: grown from empty it took about five allocations.
                if buffer.capacity < HTTP1Parser.headBufferStart { buffer.reserveCapacity(HTTP1Parser.headBufferStart) }
            }
            buffer.append(b)
            msg.last = time
            if buffer.count > limits.maxHeadBytes, endsBlankLine(b) {
                // Over the limit by the blank line's last bytes only: the head is whole and completes below.
                anomaly(.headTooLarge, time, &events)
            } else if buffer.count > limits.maxHeadBytes {
                anomaly(.headTooLarge, time, &events)
                if startDecided, lineStart > 0 {
                    // The start line and the header lines read so far are kept; the rest of the head is
                    // counted up to its blank line, so the message still counts with its real size.
                    let partial = buffer.count - lineStart
                    msg.headOverflow = partial
                    let onlyCR = partial == 1 && b == 13
                    buffer.removeSubrange(lineStart...)
                    state = .longHead(newlines: b == 10 ? 1 : onlyCR ? 2 : 0)
                } else {
                    loseSync(atLineStart: b == 10, time, &events)
                }
                return j
            }
            if !startDecided {
                let verdict = buffer.withUnsafeBytes {
                    role == .request
                        ? HTTP1Parser.requestStart($0, knownMethodsOnly: false)
                        : HTTP1Parser.responseStart($0)
                }
                switch verdict {
                case .yes:
                    startDecided = true
                case .needMore:
                    break
                case .no:
                    if role == .response, expected.first?.http09 == true {
                        startSimpleResponse(time, &events)
                    } else {
                        anomaly(.invalidStartLine, time, &events)
                        loseSync(atLineStart: b == 10, time, &events)
                    }
                    return j
                }
            }
            guard b == 10 else { continue }
            let lineEnd = buffer.count - 1
            let contentEnd = lineEnd > lineStart && buffer[lineEnd - 1] == 13 ? lineEnd - 1 : lineEnd
            let done = lineStart == 0
                ? role == .request && HTTP1Parser.isVersionlessRequestLine(buffer[0..<contentEnd])
                : contentEnd == lineStart
            lineStart = buffer.count
            if done {
                completeHead(time, &events)
                return j
            }
        }
        return j
    }

    /// Whether `b`, just buffered, ends the head's blank line (so the head completes, even one or two bytes
    /// past the size limit).
    private func endsBlankLine(_ b: UInt8) -> Bool {
        let line = buffer.count - lineStart
        return b == 10 && lineStart > 0 && (line == 1 || (line == 2 && buffer[lineStart] == 13))
    }

    /// Counts the bytes of an over-long head up to its blank line (LF, optional CR, LF), then completes the
    /// head from the lines kept, its length including every byte counted.
    mutating func consumeLongHead(
        _ p: UnsafeRawBufferPointer, _ newlines: Int, _ time: Timestamp, _ events: inout [HTTP1Event]
    ) -> Int {
        var seen = newlines
        var j = 0
        while j < p.count {
            let b = p[j]
            j += 1
            if b == 10 {
                if seen > 0 {
                    msg.headOverflow += j
                    msg.last = time
                    // The kept lines end with the blank line a complete head has; it was counted above.
                    buffer.append(contentsOf: [13, 10])
                    msg.headOverflow -= 2
                    state = .head
                    completeHead(time, &events)
                    return j
                }
                seen = 1
            } else if b == 13, seen == 1 {
                seen = 2
            } else {
                seen = 0
            }
        }
        msg.headOverflow += p.count
        msg.last = time
        state = .longHead(newlines: seen)
        return p.count
    }

    /// Whether the line has exactly two parts (runs of bytes other than space and tab), as
    /// `HTTP1RequestLineParts(line).count == 2` says, without walking the target: the parts are two when
    /// everything between the first separator after the first part and the last one before the last part
    /// is separators. A usual request line is known to have more by the byte after the method's space.
    static func isVersionlessRequestLine(_ line: ArraySlice<UInt8>) -> Bool {
        line.withUnsafeBufferPointer { p in
            func isSeparator(_ b: UInt8) -> Bool { b == 32 || b == 9 }
            var lo = 0
            var hi = p.count
            while lo < hi, isSeparator(p[lo]) { lo += 1 }
            while hi > lo, isSeparator(p[hi - 1]) { hi -= 1 }
            // p[lo..<hi] starts and ends with a part byte (or is empty).
            var first = lo
            while first < hi, !isSeparator(p[first]) { first += 1 }
            guard first < hi else { return false }
            var last = hi - 1
            while !isSeparator(p[last]) { last -= 1 }
            // Separators at `first` and at `last`; two parts exactly when all between are separators.
            var i = first
            while i < last {
                i += 1
                if !isSeparator(p[i]) { return false }
            }
            return true
        }
    }

    private mutating func completeHead(_ time: Timestamp, _ events: inout [HTTP1Event]) {
        let headLength = leading + buffer.count + msg.headOverflow
        var parsed = HTTP1ParsedHead()
        guard HTTP1Parser.parseHead(buffer, role: role, limits: limits, keeping: keptHeaderNames, into: &parsed) else {
            anomaly(.invalidStartLine, time, &events)
            loseSync(atLineStart: true, time, &events)
            return
        }
        msg.headLength = headLength
        msg.last = time
        buffer.removeAll(keepingCapacity: true)
        leading = 0
        lineStart = 0

        let rule: HTTP1BodyRule
        if role == .request {
            let isConnect = asciiCaseInsensitiveEqual(parsed.first, "CONNECT")
            rule = parsed.isHTTP09 || isConnect ? .none : HTTP1Parser.bodyRule(&parsed, request: true)
            if isConnect || parsed.hasUpgrade { msg.then = .undecided }
            if isConnect {
                connectHeads &+= 1
                sinceConnect = []
            }
            for a in parsed.anomalies { anomaly(a, time, &events) }
            events.append(.requestHead(HTTP1RequestHead(
                method: parsed.first, target: parsed.second, version: parsed.third,
                headers: parsed.headers, headLength: headLength, start: msg.start)))
        } else {
            let status = parsed.status
            let interim = status >= 100 && status < 200 && status != 101
            let request = expected.first ?? Expectation(isHead: false, isConnect: false, http09: false)
            if !interim, !expected.isEmpty { expected.removeFirst() }
            if status == 101 || (request.isConnect && status >= 200 && status < 300) {
                rule = .none
                msg.then = .tunnel
            } else if interim || status == 204 || status == 304 || request.isHead {
                rule = .none
            } else {
                rule = HTTP1Parser.bodyRule(&parsed, request: false)
            }
            for a in parsed.anomalies { anomaly(a, time, &events) }
            events.append(.responseHead(HTTP1ResponseHead(
                version: parsed.first, status: status, reason: parsed.third,
                headers: parsed.headers, headLength: headLength, start: msg.start)))
        }
        startBody(rule, &events)
    }

    /// The snap length cut the head being read (see `skip`). When its start line was captured (whole; or a
    /// request line to within its target, a status line to past its version: `parseCutStartLine`), reports the
    /// head with no header known (`cutShort`) and goes out of sync with the message open (`cutMessageOpen`):
    /// with its headers, its framing is not known. Returns false, doing nothing, otherwise, and for a head
    /// that would or may switch protocols (a `CONNECT`, a 101, a 2xx or a code not known answering a `CONNECT`),
    /// whose next bytes may not be HTTP.
    mutating func keepCutHead(_ time: Timestamp, _ events: inout [HTTP1Event]) -> Bool {
        guard startDecided, !buffer.isEmpty else { return false }
        var parsed = HTTP1ParsedHead()
        guard HTTP1Parser.parseCutStartLine(buffer, role: role, into: &parsed) else { return false }
        let headLength = leading + buffer.count + msg.headOverflow
        if role == .request {
            guard !asciiCaseInsensitiveEqual(parsed.first, "CONNECT") else {
                // Said, as a tunnel and all it carried are lost with it (check-ins through a proxy).
                anomaly(.connectCut, time, &events)
                return false
            }
            for a in parsed.anomalies { anomaly(a, time, &events) }
            events.append(.requestHead(HTTP1RequestHead(
                method: parsed.first, target: parsed.second, version: parsed.third, headers: [],
                headLength: headLength, start: msg.start, cutShort: true)))
        } else {
            let status = parsed.status
            let interim = status >= 100 && status < 200 && status != 101
            let connect = expected.first?.isConnect ?? false
            // A code not known may be a CONNECT's 2xx as well.
            guard status != 101, !(connect && (parsed.statusCut || status >= 200 && status < 300)) else {
                return false
            }
            if !interim, !expected.isEmpty { expected.removeFirst() }
            for a in parsed.anomalies { anomaly(a, time, &events) }
            events.append(.responseHead(HTTP1ResponseHead(
                version: parsed.first, status: status, reason: parsed.third, headers: [],
                headLength: headLength, start: msg.start, cutShort: true, statusCut: parsed.statusCut)))
        }
        msg.headLength = headLength
        msg.last = time
        buffer.removeAll(keepingCapacity: true)
        leading = 0
        lineStart = 0
        state = .lostSync(atLineStart: true)
        cutMessageOpen = true
        return true
    }

    private mutating func startBody(_ rule: HTTP1BodyRule, _ events: inout [HTTP1Event]) {
        switch rule {
        case .none: endMessage(complete: true, &events)
        case .length(let n): state = .fixedBody(remaining: n)
        case .chunked: state = .chunkLine
        case .untilClose: state = .untilClose
        }
    }

    /// An HTTP/0.9 response: no status line, everything until close is body.
    private mutating func startSimpleResponse(_ time: Timestamp, _ events: inout [HTTP1Event]) {
        if !expected.isEmpty { expected.removeFirst() }
        events.append(.simpleResponse(start: msg.start))
        let already = Int64(leading + buffer.count)
        buffer.removeAll(keepingCapacity: true)
        leading = 0
        state = .untilClose
        addBody(already, missing: false, time, &events)
    }

    // MARK: - Finding a message start

    /// Out of sync: skips to the next line start, then tests whether a message begins there.
    mutating func consumeLostSync(
        _ p: UnsafeRawBufferPointer, _ atLineStart: Bool, _ time: Timestamp, _ events: inout [HTTP1Event]
    ) -> Int {
        if !atLineStart {
            guard let lf = p.firstIndex(of: 10) else {
                emitSkipped(Int64(p.count), missing: false, time, &events)
                return p.count
            }
            emitSkipped(Int64(lf + 1), missing: false, time, &events)
            state = .lostSync(atLineStart: true)
            return lf + 1
        }
        var j = 0
        while j < p.count {
            let b = p[j]
            j += 1
            if buffer.isEmpty { syncStart = time }
            buffer.append(b)
            let verdict = buffer.withUnsafeBytes {
                role == .request ? HTTP1Parser.requestStart($0, knownMethodsOnly: true) : HTTP1Parser.responseStart($0)
            }
            switch verdict {
            case .yes:
                // A message whose head was cut ends where the next one starts.
                if cutMessageOpen { endCutMessage(&events) }
                msg = Progress(start: syncStart)
                state = .head
                startDecided = true
                leading = 0
                lineStart = 0
                msg.last = time
                return j
            case .no:
                emitSkipped(Int64(buffer.count), missing: false, time, &events)
                buffer.removeAll(keepingCapacity: true)
                if b != 10 { state = .lostSync(atLineStart: false) }
                return j
            case .needMore:
                continue
            }
        }
        return j
    }

    /// After CONNECT or an Upgrade request: another request means HTTP goes on, anything else
    /// is tunnel data.
    mutating func consumeUndecided(
        _ p: UnsafeRawBufferPointer, _ time: Timestamp, _ events: inout [HTTP1Event]
    ) -> Int {
        var j = 0
        while j < p.count {
            if buffer.isEmpty { msg = Progress(start: time) }
            buffer.append(p[j])
            j += 1
            switch buffer.withUnsafeBytes({ HTTP1Parser.requestStart($0, knownMethodsOnly: true) }) {
            case .yes:
                state = .head
                startDecided = true
                leading = 0
                lineStart = 0
                msg.last = time
                return j
            case .no:
                startTunnel(withBuffered: true, time: time, into: &events)
                return j
            case .needMore:
                continue
            }
        }
        return j
    }
}
