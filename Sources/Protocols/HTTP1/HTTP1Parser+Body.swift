import Core

extension HTTP1Parser {
    // MARK: - Content-Length bodies

    mutating func consumeFixed(
        _ p: UnsafeRawBufferPointer, _ remaining: Int64, _ time: Timestamp, _ events: inout [HTTP1Event]
    ) -> Int {
        let n = min(Int64(p.count), remaining)
        addBody(n, missing: false, time, &events)
        if remaining - n > 0 {
            state = .fixedBody(remaining: remaining - n)
        } else {
            endMessage(complete: true, &events)
        }
        return Int(n)
    }

    // MARK: - Chunked bodies

    /// Collects a chunk-size line (`hex [; extensions] CRLF`) and starts the chunk it announces.
    mutating func consumeChunkLine(
        _ p: UnsafeRawBufferPointer, _ time: Timestamp, _ events: inout [HTTP1Event]
    ) -> Int {
        let lf = p.firstIndex(of: 10)
        let take = lf.map { $0 + 1 } ?? p.count
        msg.wire += Int64(take)
        msg.last = time
        if take > limits.maxChunkLineBytes - buffer.count {
            abandonMessage(.chunkLineTooLong, atLineStart: lf != nil, time, &events)
            return take
        }
        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[0..<take]))
        guard lf != nil else { return take }

        guard let size = HTTP1Parser.chunkSize(buffer) else {
            abandonMessage(.invalidChunkSize, atLineStart: true, time, &events)
            return take
        }
        buffer.removeAll(keepingCapacity: true)
        if size == 0 {
            lineStart = 0
            trailerLines = 0
            state = .trailers
        } else {
            state = .chunkData(remaining: size)
        }
        return take
    }

    mutating func consumeChunkData(
        _ p: UnsafeRawBufferPointer, _ remaining: Int64, _ time: Timestamp, _ events: inout [HTTP1Event]
    ) -> Int {
        let n = min(Int64(p.count), remaining)
        addBody(n, missing: false, time, &events)
        state = remaining - n > 0 ? .chunkData(remaining: remaining - n) : .chunkDataEnd(sawCR: false)
        return Int(n)
    }

    /// Expects the CRLF (or bare LF) after chunk data; anything else is read as the next size line.
    mutating func consumeChunkDataEnd(
        _ p: UnsafeRawBufferPointer, _ sawCR: Bool, _ time: Timestamp, _ events: inout [HTTP1Event]
    ) -> Int {
        guard let b = p.first else { return 0 }
        if b == 13, !sawCR {
            msg.wire += 1
            msg.last = time
            state = .chunkDataEnd(sawCR: true)
            return 1
        }
        if b == 10 {
            msg.wire += 1
            msg.last = time
            state = .chunkLine
            return 1
        }
        anomaly(.missingChunkTerminator, time, &events)
        state = .chunkLine
        return 0
    }

    /// Collects trailer lines up to the blank line that ends the message.
    mutating func consumeTrailers(_ p: UnsafeRawBufferPointer, _ time: Timestamp, _ events: inout [HTTP1Event]) -> Int {
        var j = 0
        while j < p.count {
            let b = p[j]
            j += 1
            buffer.append(b)
            msg.wire += 1
            msg.last = time
            if buffer.count > limits.maxHeadBytes {
                abandonMessage(.headTooLarge, atLineStart: b == 10, time, &events)
                return j
            }
            guard b == 10 else { continue }
            let lineEnd = buffer.count - 1
            let contentEnd = lineEnd > lineStart && buffer[lineEnd - 1] == 13 ? lineEnd - 1 : lineEnd
            if contentEnd == lineStart {
                if trailerLines > limits.maxHeaderCount { anomaly(.tooManyHeaders, time, &events) }
                endMessage(complete: true, &events)
                return j
            }
            trailerLines += 1
            lineStart = buffer.count
        }
        return j
    }

    /// Ends the current message as incomplete after framing broke, then resynchronises.
    /// The buffered framing bytes were already counted in the message's wire length.
    private mutating func abandonMessage(
        _ a: HTTP1Anomaly, atLineStart: Bool, _ time: Timestamp, _ events: inout [HTTP1Event]
    ) {
        anomaly(a, time, &events)
        msg.then = .head
        endMessage(complete: false, &events)
        state = .lostSync(atLineStart: atLineStart)
    }

    /// Reads `hex-digits [whitespace] [; extensions] [CR] LF`; nil when malformed or over 60 bits.
    static func chunkSize(_ line: [UInt8]) -> Int64? {
        var value: Int64 = 0
        var digits = 0
        var i = 0
        while i < line.count {
            let b = line[i]
            let d: Int64
            switch b {
            case 48...57: d = Int64(b - 48)
            case 97...102: d = Int64(b - 87)
            case 65...70: d = Int64(b - 55)
            default: d = -1
            }
            guard d >= 0 else { break }
            guard digits < 15 else { return nil }
            value = value << 4 | d
            digits += 1
            i += 1
        }
        guard digits > 0 else { return nil }
        while i < line.count, line[i] == 32 || line[i] == 9 { i += 1 }
        guard i < line.count else { return nil }
        switch line[i] {
        case 59, 10: return value
        case 13: return i + 1 < line.count && line[i + 1] == 10 ? value : nil
        default: return nil
        }
    }
}
