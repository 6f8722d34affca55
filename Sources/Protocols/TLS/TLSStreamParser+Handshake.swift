import Core
import Records

// Handshake message reassembly and resynchronisation for `TLSStreamParser`.
extension TLSStreamParser {
    // MARK: - Handshake messages

    /// Adds clear-text handshake bytes; completes and reports messages as they fill.
    ///
    /// A message header whose length exceeds `limits.maxHandshakeMessage` is reported and its body
    /// skipped without buffering.
    mutating func appendHandshake(_ bytes: UnsafeRawBufferPointer, time: Timestamp, into events: inout [TLSEvent]) {
        var i = 0
        while i < bytes.count {
            if handshakeSkip > 0 {
                let k = min(handshakeSkip, bytes.count - i)
                handshakeSkip -= k
                i += k
                continue
            }
            if handshake.isEmpty, bytes.count - i >= 4 {
                // A whole message within these bytes is read where it lies, without buffering.
                let length = Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
                if length <= limits.maxHandshakeMessage, bytes.count - i - 4 >= length {
                    let end = i + 4 + length
                    handshakeMessage(UnsafeRawBufferPointer(rebasing: bytes[i..<end]), time: time, into: &events)
                    i = end
                    continue
                }
            }
            if handshake.count < 4 {
                let k = min(4 - handshake.count, bytes.count - i)
                handshake.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + k)]))
                i += k
                if handshake.count < 4 { break }
                let length = pendingMessageLength
                if length > limits.maxHandshakeMessage {
                    events.append(.anomaly(.handshakeMessageTooLarge(type: handshake[0], length: length), time: time))
                    handshakeSkip = length
                    handshake.removeAll(keepingCapacity: true)
                    continue
                }
            }
            let need = 4 + pendingMessageLength - handshake.count
            let k = min(need, bytes.count - i)
            handshake.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + k)]))
            i += k
            if k == need {
                handshake.withUnsafeBytes { handshakeMessage($0, time: time, into: &events) }
                handshake.removeAll(keepingCapacity: true)
            }
        }
        // A message with an empty body completes as soon as its header does.
        if handshake.count == 4 && pendingMessageLength == 0 {
            handshake.withUnsafeBytes { handshakeMessage($0, time: time, into: &events) }
            handshake.removeAll(keepingCapacity: true)
        }
    }

    private var pendingMessageLength: Int {
        Int(handshake[1]) << 16 | Int(handshake[2]) << 8 | Int(handshake[3])
    }

    /// Reports one whole handshake message: its 4-byte header and body, borrowed for the call.
    private func handshakeMessage(_ message: UnsafeRawBufferPointer, time: Timestamp, into events: inout [TLSEvent]) {
        guard message.count >= 4,
              let event = Self.handshakeEvent(type: message[0], body: UnsafeRawBufferPointer(rebasing: message[4...]),
                                              time: time)
        else { return }
        events.append(event)
        if case .certificate(let summary, let count, _) = event, summary == nil, count > 0 {
            events.append(.anomaly(.malformedCertificate, time: time))
        }
    }

    /// The event for one handshake message of interest (ClientHello, ServerHello, Certificate), or nil.
    private static func handshakeEvent(type: UInt8, body: UnsafeRawBufferPointer, time: Timestamp) -> TLSEvent? {
        switch type {
        case 1:
            return TLSHelloParsing.clientHello(body).map { .clientHello($0, time: time) }
                ?? .anomaly(.malformedHandshake(type: type), time: time)
        case 2:
            return TLSHelloParsing.serverHello(body).map { .serverHello($0, time: time) }
                ?? .anomaly(.malformedHandshake(type: type), time: time)
        case 11:
            guard let list = TLSHelloParsing.certificateList(body) else {
                return .anomaly(.malformedHandshake(type: type), time: time)
            }
            let summary = list.leaf.flatMap { X509.summary(der: $0) }
            return .certificate(summary, chainLength: list.count, time: time)
        default:
            return nil
        }
    }

    /// Drops a handshake message a gap cut into and stops clear-text handshake parsing in this direction.
    mutating func loseHandshake(time: Timestamp, into events: inout [TLSEvent]) {
        events.append(.anomaly(.handshakeLostInGap, time: time))
        handshake.removeAll()
        handshakeSkip = 0
        handshakeAbandoned = true
    }

    // MARK: - Resynchronisation

    mutating func startResync() {
        if sslv2Mode {
            stop(.resyncFailed)
            return
        }
        phase = .resync
        header.removeAll(keepingCapacity: true)
        windowTimes.removeAll(keepingCapacity: true)
        recordBody.removeAll(keepingCapacity: true)
        currentIsSSLv2 = false
        recordBroken = false
        headerNeed = 5
        resyncSkipped = 0
        resyncScanned = 0
        dataRun = false
        runScanned = 0
        recordMissing = 0
        // Framing was lost: a record found by the last scan is neither confirmed nor refuted.
        unconfirmedVersion = nil
    }

    /// After a bad header: scan on from the header's second byte.
    mutating func resyncFromWindow(time: Timestamp, into events: inout [TLSEvent]) {
        let window = header
        startResync()
        guard phase == .resync else { return }
        ignoredBytes += 1
        resyncSkipped += 1
        for b in window.dropFirst() {
            header.append(b)
            windowTimes.append(recordStart)
            resyncStep(time: time, into: &events)
            guard phase == .resync else { return }
        }
    }

    /// Checks the 5-byte window; accepts it as a record header or slides on by one byte.
    mutating func resyncStep(time: Timestamp, into events: inout [TLSEvent]) {
        guard header.count == 5 else { return }
        let type = header[0]
        let version = UInt16(header[1]) << 8 | UInt16(header[2])
        let length = Int(header[3]) << 8 | Int(header[4])
        // The last record's version, or any record-layer version 3.0-3.3: the last record may be a
        // ClientHello (often 0x0301) whose successors, up to the data records, were lost in a gap. Before
        // any record (a midstream start), what frames a record at a stream's start.
        let versionOK = lastVersion.map { $0 == version || (header[1] == 3 && header[2] <= 3) }
            ?? TLSVersion.framesRecord(type: type, major: header[1], minor: header[2])
        if (20...23).contains(type), versionOK, length > 0, length <= limits.maxRecordLength {
            recordStart = windowTimes.count == 5 ? windowTimes[0] : time
            windowTimes.removeAll(keepingCapacity: true)
            if dataRun {
                flushDataRun(into: &events)
                dataRun = false
            }
            if resyncSkipped > 0 {
                events.append(.anomaly(.resynchronized(skippedBytes: resyncSkipped), time: time))
            }
            beginRecord(type: type, version: version, length: length, framed: false, time: time, into: &events)
            return
        }
        slideWindow(time: time, into: &events)
    }

    /// Drops the window's first byte: the scan moves past it.
    private mutating func slideWindow(time: Timestamp, into events: inout [TLSEvent]) {
        header.removeFirst()
        let came = windowTimes.isEmpty ? time : windowTimes.removeFirst()
        ignoredBytes += 1
        resyncSkipped += 1
        resyncScanned += 1
        if dataRun { scannedPast(1, came: came, into: &events) }
        if resyncScanned > limits.maxResyncScan {
            flushDataRun(into: &events)
            dataRun = false
            stop(.resyncFailed)
        }
    }

    /// At the end of a chunk, while scanning after a gap that cut application data: moves past the window's
    /// bytes that cannot begin a record header, so the cut data's last bytes count when they came, not
    /// when the next chunk (maybe the next burst) shows that no header began there.
    mutating func trimDataRunWindow(time: Timestamp, into events: inout [TLSEvent]) {
        while phase == .resync, !header.isEmpty, !header.withUnsafeBytes({ mayBeginHeader($0) }) {
            slideWindow(time: time, into: &events)
        }
    }

    /// Whether the `resyncStep` checks pass on the bytes there are of a header.
    private func mayBeginHeader(_ h: UnsafeRawBufferPointer) -> Bool {
        guard (20...23).contains(h[0]) else { return false }
        guard h.count >= 3 else { return h.count < 2 || h[1] == 3 || lastVersion.map { $0 >> 8 == h[1] } ?? true }
        let version = UInt16(h[1]) << 8 | UInt16(h[2])
        let versionOK = lastVersion.map { $0 == version || (h[1] == 3 && h[2] <= 3) }
            ?? TLSVersion.framesRecord(type: h[0], major: h[1], minor: h[2])
        guard versionOK else { return false }
        return h.count < 4 || Int(h[3]) << 8 <= limits.maxRecordLength
    }
}
