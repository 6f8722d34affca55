import Core
import Records

/// Incremental TLS record-layer parser for ONE direction of a reassembled TCP stream, without decryption.
///
/// Feed in-order bytes with `feed(_:time:into:)`, holes with `skip(gapBytes:time:into:)`, and call
/// `finish(time:into:)` once at the end. Chunks may split records, headers and handshake messages
/// anywhere; the chunk bytes are borrowed only for the call (what the parser keeps it copies).
///
/// What it does:
/// - frames records (content types 20-24, version 3.0-3.4, application data with any 3.x or 0xfeNN too,
///   as `TLSVersion.framesRecord` says; length <= `TLSLimits.maxRecordLength`);
/// - reassembles clear-text handshake messages across records and chunks (up to
///   `TLSLimits.maxHandshakeMessage`) and reports ClientHello, ServerHello (HelloRetryRequest
///   recognised) and the leaf of a TLS 1.2-or-earlier Certificate;
/// - reports clear-text alerts, ChangeCipherSpec, encrypted handshake/alert records, application data
///   and heartbeat record sizes;
/// - recognises SSLv2-format hellos in the first record of a stream;
/// - keeps the record-layer version of application-data records (`applicationDataVersion`), which
///   tells the version of a connection whose handshake was not captured.
///
/// Stream start: if the first bytes are neither a TLS record header nor an SSLv2 hello, the parser
/// emits `notTLS` and stops (all later bytes are counted in `ignoredBytes`), unless
/// `expectMidstreamStart()` was called: then it scans for a header as after a gap. A first record longer than
/// the limit stops it too (`oversizeRecord`).
///
/// Gaps: a gap that ends inside the current record keeps framing (the record's length says where the
/// next header is); a handshake message the gap hit is dropped, and clear-text handshake parsing in
/// this direction ends (`handshakeLostInGap`). Application data a gap cut is reported as `cutApplicationData`
/// in parts as its bytes come (the gap's bytes at once, stamped with the gap's time or the record's start,
/// the captured rest as it is read, up to the next header a scan finds), so each byte counts once, in the
/// exchange it was sent in; `skip` says whether it reported the gap's bytes so. A gap that runs past the
/// record's end loses framing (`framingLostInGap`): the parser then scans for a plausible record header
/// (known content type, the same version as the last record or a record-layer version 3.0-3.3, length
/// within the limit; a ClientHello record's 0x0301 must not stop a resync on 0x0303 data) and reports
/// `resynchronized` with the bytes skipped; a later bad header starts a new scan (so a false match costs
/// one bogus record). Scanning more than `TLSLimits.maxResyncScan` bytes without a match stops the parser
/// (`resyncFailed`). An invalid or oversize header after the first record is reported and also leads to a
/// scan.
///
/// Cost: O(1) work per byte outside handshakes; per-byte scanning only while resynchronising. Memory is
/// one handshake message (bounded by the limit) plus a few small buffers.
public struct TLSStreamParser: Sendable {
    public let limits: TLSLimits
    /// Set once the parser has stopped; later bytes are ignored.
    public internal(set) var stopReason: TLSStopReason?
    /// Stream bytes seen so far, gaps included.
    public internal(set) var streamOffset: Int64 = 0
    /// Bytes that arrived after a stop, or were skipped while resynchronising (gaps not included).
    public internal(set) var ignoredBytes: Int64 = 0
    /// Complete records framed (TLS and SSLv2 format).
    public internal(set) var recordCount = 0
    /// This direction sent ChangeCipherSpec: later handshake and alert records are encrypted.
    public internal(set) var encrypted = false
    /// The stream began with an SSLv2-format record.
    public internal(set) var startedWithSSLv2 = false
    /// The record-layer version of this direction's confirmed application-data records (see above): the
    /// lowest when they disagree; nil when none was framed. 0x0303 means TLS 1.2 or later. Versions outside
    /// 0x0300...0x0303 (e.g. 0x0304, which no TLS 1.3 stack writes there) are left out, as unknown, with an
    /// `implausibleRecordVersion` anomaly.
    public internal(set) var applicationDataVersion: UInt16?
    /// The first version outside 0x0300...0x0303 that this direction's confirmed application-data records
    /// carried (`implausibleRecordVersion`), nil when none did.
    public internal(set) var implausibleApplicationDataVersion: UInt16?
    /// Confirmed application-data records whose version differed from the one before them.
    public internal(set) var applicationDataVersionChanges = 0
    /// The content type of the first record framed (nil before one).
    public internal(set) var firstRecordType: UInt8?
    /// Set by `expectMidstreamStart()`: first bytes that are no record header are a record's tail.
    public internal(set) var mayStartMidRecord = false

    enum Phase: Sendable {
        case header
        case body
        case resync
        case stopped
    }

    var phase: Phase = .header
    /// Header bytes gathered so far (also the sliding window while resynchronising).
    var header: [UInt8] = []
    var headerNeed = 5
    var recordStart = Timestamp.zero
    var recordType: UInt8 = 0
    var recordVersion: UInt16 = 0
    var recordLength = 0
    var bodyLeft = 0
    /// Body bytes kept for alerts and SSLv2 hellos (bounded by the record length limit).
    var recordBody: [UInt8] = []
    var recordBroken = false
    var currentIsSSLv2 = false
    /// The stream is in SSLv2 format after an SSL 2.0 hello: records are framed and ignored.
    var sslv2Mode = false
    var lastVersion: UInt16?
    var handshake: [UInt8] = []
    var handshakeSkip = 0
    var handshakeAbandoned = false
    /// While resynchronising: when each byte of the window in `header` came, so a record found by the scan
    /// starts when its header's first byte came, not when the scan began (minutes earlier on a quiet
    /// connection, which joined the record to an earlier exchange).
    var windowTimes: [Timestamp] = []
    var resyncSkipped: Int64 = 0
    var resyncScanned: Int64 = 0
    var sawRecord = false
    /// The current record began right after a complete record (or at the stream start), not by a scan.
    var recordFramed = false
    /// The version of an application-data record found by a scan, until the next header confirms it.
    var unconfirmedVersion: UInt16?
    /// The version of the last confirmed application-data record.
    var lastApplicationDataVersion: UInt16?
    /// Gap bytes inside the current record (framing kept); reported at once, so not counted at its end.
    var recordMissing: Int64 = 0
    /// The scan after a gap that cut application data: the bytes it skips belong to the cut data.
    var dataRun = false
    /// Bytes of such a scan not yet reported (`flushDataRun`), and when they came: a byte the scan skips
    /// counts at the time it came, not at the time the scan moved past it (maybe the next burst's).
    var runScanned: Int64 = 0
    var runTime = Timestamp.zero

    /// - Parameter midstream: the capture joined the connection after it started; begin by scanning for
    ///   a record header instead of expecting one at offset 0.
    public init(limits: TLSLimits = TLSLimits(), midstream: Bool = false) {
        self.limits = limits
        header.reserveCapacity(5)
        if midstream { phase = .resync }
    }

    /// The other direction began with application data, so the capture joined the connection after its
    /// start: if this direction's first bytes are no record header they are a record's tail, and the
    /// parser scans for the next header (`resynchronized`) instead of stopping with `notTLS`.
    public mutating func expectMidstreamStart() {
        mayStartMidRecord = true
    }

    /// True while a record or handshake message is partly received.
    public var hasPendingBytes: Bool {
        (phase == .header && !header.isEmpty) || phase == .body || !handshake.isEmpty || handshakeSkip > 0
    }

    // MARK: - Input

    /// Parses the next in-order bytes of this direction. `chunk` is borrowed for the call only.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, time: Timestamp, into events: inout [TLSEvent]) {
        var i = 0
        while i < chunk.count {
            switch phase {
            case .stopped:
                ignoredBytes += Int64(chunk.count - i)
                i = chunk.count
            case .header:
                if header.isEmpty {
                    recordStart = time
                    if chunk.count - i >= 5, beginRecordInPlace(chunk, at: i, time: time, into: &events) {
                        i += 5
                        continue
                    }
                }
                let take = min(headerNeed - header.count, chunk.count - i)
                header.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[i..<(i + take)]))
                i += take
                if header.count == headerNeed { headerComplete(time: time, into: &events) }
            case .body:
                let take = min(bodyLeft, chunk.count - i)
                consumeBody(UnsafeRawBufferPointer(rebasing: chunk[i..<(i + take)]), time: time, into: &events)
                bodyLeft -= take
                i += take
                if bodyLeft == 0 { endRecord(time: time, into: &events) }
            case .resync:
                header.append(chunk[i])
                windowTimes.append(time)
                i += 1
                resyncStep(time: time, into: &events)
            }
        }
        streamOffset += Int64(chunk.count)
        if dataRun { trimDataRunWindow(time: time, into: &events) }
        if runScanned > 0 { flushDataRun(into: &events) }
    }

    /// Accounts for `gapBytes` stream bytes that were never captured. Returns true when the gap cut
    /// application data and `events` report its bytes (`cutApplicationData`); false when the caller is left
    /// to place them (a handshake, a stream not framed, a stopped parser).
    @discardableResult
    public mutating func skip(gapBytes: Int, time: Timestamp, into events: inout [TLSEvent]) -> Bool {
        guard gapBytes > 0 else { return false }
        defer { streamOffset += Int64(gapBytes) }
        let missing = Int64(gapBytes)
        switch phase {
        case .stopped:
            return false
        case .resync:
            // The window's bytes are dropped with the scan: cut data's when the scan follows a gap that cut some.
            if dataRun { scannedPast(Int64(header.count), came: windowTimes.first ?? time, into: &events) }
            header.removeAll(keepingCapacity: true)
            windowTimes.removeAll(keepingCapacity: true)
            resyncSkipped += missing
            guard dataRun else { return false }
            flushDataRun(into: &events)
            events.append(.cutApplicationData(captured: 0, missing: missing, newRecord: false, start: time, end: time))
            return true
        case .body where gapBytes <= bodyLeft:
            if recordType == TLSContentType.handshake.rawValue && !encrypted && !currentIsSSLv2 {
                loseHandshake(time: time, into: &events)
            }
            let data = recordType == TLSContentType.applicationData.rawValue && !currentIsSSLv2
            if data {
                events.append(.cutApplicationData(captured: 0, missing: missing, newRecord: recordMissing == 0,
                                                  start: recordStart, end: time))
            }
            recordMissing += missing
            recordBroken = true
            bodyLeft -= gapBytes
            if bodyLeft == 0 { endRecord(time: time, into: &events) }
            return data
        case .header, .body:
            if !handshake.isEmpty || handshakeSkip > 0
                || (phase == .body && recordType == TLSContentType.handshake.rawValue && !encrypted) {
                loseHandshake(time: time, into: &events)
            }
            // What the gap cut: the record under way, or (between records) what this direction sends once
            // encrypted. The bytes of it already read count with the gap.
            var data = encrypted || lastApplicationDataVersion != nil
            var captured: Int64 = 0
            var start = time
            if phase == .body {
                data = recordType == TLSContentType.applicationData.rawValue && !currentIsSSLv2
                captured = Int64(headerNeed + recordLength - bodyLeft) - recordMissing
                start = recordStart
            } else if let type = header.first {
                data = type == TLSContentType.applicationData.rawValue && !sslv2Mode
                captured = Int64(header.count)
                start = recordStart
            }
            let newRecord = phase != .body || recordMissing == 0
            events.append(.anomaly(.framingLostInGap(bytes: missing), time: time))
            startResync()
            resyncSkipped += missing
            guard data, phase == .resync else { return false }
            dataRun = true
            events.append(.cutApplicationData(captured: max(0, captured), missing: missing, newRecord: newRecord,
                                              start: start, end: time))
            return true
        }
    }

    /// Reports the bytes a scan after a gap that cut application data skipped since the last report.
    mutating func flushDataRun(into events: inout [TLSEvent]) {
        guard runScanned > 0 else { return }
        events.append(.cutApplicationData(captured: runScanned, missing: 0, newRecord: false, start: runTime,
                                          end: runTime))
        runScanned = 0
    }

    /// Notes `count` bytes that came at `came` and that a scan after a gap that cut application data
    /// skipped; bytes that came at another time than those pending are reported apart.
    mutating func scannedPast(_ count: Int64, came: Timestamp, into events: inout [TLSEvent]) {
        guard count > 0 else { return }
        if runScanned > 0 && came != runTime { flushDataRun(into: &events) }
        runTime = came
        runScanned += count
    }

    /// Ends the stream: reports a record or handshake message left incomplete.
    public mutating func finish(time: Timestamp, into events: inout [TLSEvent]) {
        var pending = 0
        switch phase {
        case .header: pending = header.count
        case .body: pending = recordLength - bodyLeft + headerNeed
        case .resync, .stopped: pending = 0
        }
        if phase != .body { pending += handshake.count }  // in .body the record count includes it
        if pending > 0 || handshakeSkip > 0 {
            events.append(.anomaly(.truncatedAtEnd(pendingBytes: pending), time: time))
        }
        if phase == .resync {
            ignoredBytes += Int64(header.count)
            if dataRun { scannedPast(Int64(header.count), came: windowTimes.first ?? time, into: &events) }
            flushDataRun(into: &events)
            dataRun = false
        }
        // A record found by a scan that ends exactly where the stream does is taken as framed.
        if phase == .header, header.isEmpty, let v = unconfirmedVersion {
            noteApplicationDataVersion(v, time: time, into: &events)
        }
        unconfirmedVersion = nil
        header.removeAll()
        handshake.removeAll()
        handshakeSkip = 0
        phase = .stopped
    }

    // MARK: - Recognition

    /// True when `prefix` (the first bytes of a stream) starts like a TLS record or an SSLv2 hello.
    ///
    /// Needs at least 3 bytes; checks as many of the first 5 (TLS: type 20-24, version 3.0-3.4, length within
    /// the default limit; SSLv2: CLIENT-HELLO or SERVER-HELLO with a plausible version). Only the narrow range
    /// makes a connection TLS: a binary protocol whose messages look like `17 03 10 <len>` must not become
    /// TLS. Once it is TLS, its records frame with the wider range
    /// (`TLSVersion.framesRecord`), with the implausible-version anomaly.
    public static func looksLikeTLS(_ prefix: UnsafeRawBufferPointer) -> Bool {
        guard prefix.count >= 3 else { return false }
        let b0 = prefix[0], b1 = prefix[1], b2 = prefix[2]
        if (20...24).contains(b0) {
            guard b1 == 3, b2 <= 4 else { return false }
            guard prefix.count >= 5 else { return true }
            let length = Int(prefix[3]) << 8 | Int(prefix[4])
            return length <= TLSLimits().maxRecordLength
        }
        return sslv2Kind(prefix) != nil
    }

    /// 1 for an SSLv2 CLIENT-HELLO, 4 for a SERVER-HELLO, when `prefix` starts like one.
    static func sslv2Kind(_ p: UnsafeRawBufferPointer) -> UInt8? {
        guard p.count >= 3, p[0] & 0x80 != 0 else { return nil }
        let length = Int(p[0] & 0x7f) << 8 | Int(p[1])
        switch p[2] {
        case 1:
            // CLIENT-HELLO: version 0x0002 or 3.x follows; fixed part is 9 bytes.
            guard length >= 9 else { return nil }
            if p.count >= 5 {
                guard (p[3] == 0 && p[4] == 2) || (p[3] == 3 && p[4] <= 4) else { return nil }
            }
            return 1
        case 4:
            // SERVER-HELLO: session-id-hit (0/1), certificate type, version 0x0002; fixed part 11 bytes.
            guard length >= 11 else { return nil }
            if p.count >= 4, p[3] > 1 { return nil }
            return 4
        default:
            return nil
        }
    }
}
