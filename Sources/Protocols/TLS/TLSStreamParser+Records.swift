import Core
import Records

// Record boundaries, handshake reassembly and resynchronisation for `TLSStreamParser`.
extension TLSStreamParser {
    // MARK: - Record header

    mutating func headerComplete(time: Timestamp, into events: inout [TLSEvent]) {
        if sslv2Mode {
            sslv2ModeHeader()
            return
        }
        let first = !sawRecord
        let h0 = header[0], h1 = header[1], h2 = header[2]
        let version = UInt16(h1) << 8 | UInt16(h2)
        let length = Int(header[3]) << 8 | Int(header[4])

        if first, !(20...24).contains(h0), header.withUnsafeBytes({ TLSStreamParser.sslv2Kind($0) }) != nil {
            beginFirstSSLv2Record(time: time, into: &events)
            return
        }
        guard (20...24).contains(h0), TLSVersion.framesRecord(type: h0, major: h1, minor: h2) else {
            unconfirmedVersion = nil
            if first && mayStartMidRecord {
                resyncFromWindow(time: time, into: &events)
                return
            }
            if first {
                stop(.notTLS)
                events.append(.notTLS(offset: streamOffset, time: time))
                return
            }
            events.append(.anomaly(.invalidRecordHeader(contentType: h0, version: version), time: time))
            resyncFromWindow(time: time, into: &events)
            return
        }
        guard length <= limits.maxRecordLength else {
            unconfirmedVersion = nil
            events.append(.anomaly(.oversizeRecord(length: length), time: time))
            if first && !mayStartMidRecord {
                stop(.oversizeRecord)
            } else {
                resyncFromWindow(time: time, into: &events)
            }
            return
        }
        // A valid header right after a record found by a scan confirms that record's framing.
        if let v = unconfirmedVersion {
            unconfirmedVersion = nil
            noteApplicationDataVersion(v, time: time, into: &events)
        }
        beginRecord(type: h0, version: version, length: length, framed: true, time: time, into: &events)
    }

    /// The usual record header, read where it lies in the chunk: a TLS header (type 20-24, a version that
    /// frames the type, a length within the limit) whole at `i`, at a record boundary (`header` empty), not in
    /// SSLv2 mode. Begins its record as `headerComplete` would after gathering the same five bytes into
    /// `header`, and returns true; false (nothing changed) for anything else, which takes the general path
    /// (gathered, then judged: SSLv2, a bad or oversize header, a scan). Most records of a stream start
    /// this way, and gathering the bytes one array append at a time, then emptying the array again, cost
    /// about a third of an application-data record's instructions.
    @inline(__always)
    mutating func beginRecordInPlace(_ chunk: UnsafeRawBufferPointer, at i: Int, time: Timestamp,
                                     into events: inout [TLSEvent]) -> Bool {
        guard !sslv2Mode, headerNeed == 5 else { return false }
        let h0 = chunk[i], h1 = chunk[i + 1], h2 = chunk[i + 2]
        guard (20...24).contains(h0), TLSVersion.framesRecord(type: h0, major: h1, minor: h2) else { return false }
        let length = Int(chunk[i + 3]) << 8 | Int(chunk[i + 4])
        guard length <= limits.maxRecordLength else { return false }
        if let v = unconfirmedVersion {
            unconfirmedVersion = nil
            noteApplicationDataVersion(v, time: time, into: &events)
        }
        beginRecord(type: h0, version: UInt16(h1) << 8 | UInt16(h2), length: length, framed: true, time: time,
                    into: &events)
        return true
    }

    /// `framed`: the header came right after a complete record (or at the stream start), not from a scan.
    mutating func beginRecord(type: UInt8, version: UInt16, length: Int, framed: Bool, time: Timestamp,
                              into events: inout [TLSEvent]) {
        sawRecord = true
        if firstRecordType == nil { firstRecordType = type }
        recordFramed = framed
        recordType = type
        recordVersion = version
        recordLength = length
        bodyLeft = length
        lastVersion = version
        recordBroken = false
        recordMissing = 0
        currentIsSSLv2 = false
        if !header.isEmpty { header.removeAll(keepingCapacity: true) }
        phase = .body
        if length == 0 { endRecord(time: time, into: &events) }
    }

    private mutating func beginFirstSSLv2Record(time: Timestamp, into events: inout [TLSEvent]) {
        let length = Int(header[0] & 0x7f) << 8 | Int(header[1])
        sawRecord = true
        startedWithSSLv2 = true
        currentIsSSLv2 = true
        recordType = header[2]
        recordLength = length
        headerNeed = 2
        recordBody.removeAll(keepingCapacity: true)
        recordBody.append(contentsOf: header[2..<5])
        bodyLeft = length - 3  // sslv2Kind checked length >= 9
        recordBroken = false
        header.removeAll(keepingCapacity: true)
        phase = .body
        if bodyLeft == 0 { endRecord(time: time, into: &events) }
    }

    /// SSL 2.0 records after the hellos: a 2-byte header (high bit set) or a 3-byte one with padding.
    private mutating func sslv2ModeHeader() {
        if header.count == 2 && header[0] & 0x80 == 0 {
            headerNeed = 3
            return
        }
        let mask: UInt8 = header[0] & 0x80 != 0 ? 0x7f : 0x3f
        recordLength = Int(header[0] & mask) << 8 | Int(header[1])
        bodyLeft = recordLength
        recordType = 0
        currentIsSSLv2 = true
        recordBroken = false
        header.removeAll(keepingCapacity: true)
        phase = .body
        if bodyLeft == 0 {
            recordCount += 1
            resetForHeader()
        }
    }

    // MARK: - Record body

    mutating func consumeBody(_ bytes: UnsafeRawBufferPointer, time: Timestamp, into events: inout [TLSEvent]) {
        guard !recordBroken else { return }
        if currentIsSSLv2 {
            if !sslv2Mode { recordBody.append(contentsOf: bytes) }
            return
        }
        switch recordType {
        case TLSContentType.alert.rawValue where !encrypted:
            recordBody.append(contentsOf: bytes)
        case TLSContentType.handshake.rawValue:
            if encrypted {
                // Kept to spot a clear second ClientHello after a TLS 1.3 compatibility ChangeCipherSpec.
                recordBody.append(contentsOf: bytes)
            } else if !handshakeAbandoned {
                appendHandshake(bytes, time: time, into: &events)
            }
        default:
            break
        }
    }

    mutating func endRecord(time: Timestamp, into events: inout [TLSEvent]) {
        recordCount += 1
        if currentIsSSLv2 {
            if !sslv2Mode && !recordBroken { endSSLv2Hello(time: time, into: &events) }
            resetForHeader()
            return
        }
        let full = recordLength + 5
        switch recordType {
        case TLSContentType.changeCipherSpec.rawValue:
            encrypted = true
            events.append(.changeCipherSpec(time: time))
        case TLSContentType.alert.rawValue:
            endAlert(full: full, time: time, into: &events)
        case TLSContentType.handshake.rawValue where encrypted:
            if !recordBroken, looksLikeClearClientHello(recordBody) {
                recordBody.withUnsafeBytes { appendHandshake($0, time: time, into: &events) }
            } else {
                events.append(.encryptedHandshake(recordLength: full, time: time))
            }
        case TLSContentType.applicationData.rawValue:
            if recordMissing > 0 {
                // The gap's bytes were reported when it came (`skip`): what was captured of the record.
                events.append(.cutApplicationData(captured: Int64(full) - recordMissing, missing: 0, newRecord: false,
                                                  start: recordStart, end: time))
            } else {
                events.append(.applicationData(recordLength: full, start: recordStart, end: time))
            }
            if recordFramed {
                if recordVersion != lastApplicationDataVersion {
                    noteApplicationDataVersion(recordVersion, time: time, into: &events)
                }
            } else {
                unconfirmedVersion = recordVersion
            }
        case TLSContentType.heartbeat.rawValue:
            events.append(.heartbeat(recordLength: full, time: time))
        default:
            break
        }
        resetForHeader()
    }

    private func looksLikeClearClientHello(_ b: [UInt8]) -> Bool {
        guard b.count >= 6, b[0] == 1, b[4] == 3 else { return false }
        let length = Int(b[1]) << 16 | Int(b[2]) << 8 | Int(b[3])
        return length == b.count - 4
    }

    private mutating func endAlert(full: Int, time: Timestamp, into events: inout [TLSEvent]) {
        if encrypted || recordBroken {
            events.append(.encryptedAlert(recordLength: full, time: time))
            return
        }
        let n = recordBody.count
        guard n >= 2 else {
            events.append(.anomaly(.malformedAlert(length: n), time: time))
            return
        }
        var plausible = n % 2 == 0
        var i = 0
        while plausible && i < n {
            plausible = recordBody[i] == 1 || recordBody[i] == 2
            i += 2
        }
        guard plausible else {
            // Not level/description pairs: most likely an alert encrypted under keys we did not see start.
            events.append(.encryptedAlert(recordLength: full, time: time))
            return
        }
        i = 0
        while i + 1 < n {
            events.append(.alert(level: recordBody[i], description: recordBody[i + 1], time: time))
            i += 2
        }
    }

    private mutating func endSSLv2Hello(time: Timestamp, into events: inout [TLSEvent]) {
        let parsed: TLSEvent? = recordBody.withUnsafeBytes { body in
            if recordType == 1, let hello = TLSHelloParsing.sslv2ClientHello(body) {
                return .sslv2ClientHello(hello, time: time)
            }
            if recordType == 4, let hello = TLSHelloParsing.sslv2ServerHello(body) {
                return .sslv2ServerHello(hello, time: time)
            }
            return nil
        }
        guard let event = parsed else {
            events.append(.anomaly(.malformedSSLv2(messageType: recordType), time: time))
            return
        }
        events.append(event)
        switch event {
        case .sslv2ClientHello(let hello, _) where hello.legacyVersion == TLSVersion.ssl2:
            sslv2Mode = true
        case .sslv2ServerHello:
            sslv2Mode = true
        default:
            break
        }
    }

    /// Takes the record-layer version of a confirmed application-data record. A version outside
    /// 0x0300...0x0303 is no record-layer version any TLS stack writes (TLS 1.3 records carry 0x0303):
    /// it is reported once per run of such records (`implausibleRecordVersion`) and gives no version.
    mutating func noteApplicationDataVersion(_ version: UInt16, time: Timestamp, into events: inout [TLSEvent]) {
        if let last = lastApplicationDataVersion, last != version {
            applicationDataVersionChanges += 1
            events.append(.anomaly(.recordVersionChanged(from: last, to: version), time: time))
        }
        lastApplicationDataVersion = version
        guard TLSVersion.isRecordLayerVersion(version) else {
            if implausibleApplicationDataVersion == nil { implausibleApplicationDataVersion = version }
            events.append(.anomaly(.implausibleRecordVersion(version), time: time))
            return
        }
        if applicationDataVersion.map({ version < $0 }) ?? true { applicationDataVersion = version }
    }

    mutating func resetForHeader() {
        phase = .header
        headerNeed = sslv2Mode ? 2 : 5
        // Tested first: emptying an empty array still costs a generic call (most records keep no body).
        if !header.isEmpty { header.removeAll(keepingCapacity: true) }
        if !recordBody.isEmpty { recordBody.removeAll(keepingCapacity: true) }
        currentIsSSLv2 = false
        recordBroken = false
        recordMissing = 0
    }

    mutating func stop(_ reason: TLSStopReason) {
        stopReason = reason
        phase = .stopped
        ignoredBytes += Int64(header.count)
        header.removeAll()
        recordBody.removeAll()
        handshake.removeAll()
        handshakeSkip = 0
    }
}
