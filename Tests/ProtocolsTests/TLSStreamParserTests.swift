import Core
import Protocols
import Records
import Testing
import TestSupport

@Suite struct TLSStreamParserTests {
    // MARK: - Hellos

    @Test func clientHelloReportsSNIVersionsALPNAndIgnoresGREASE() throws {
        let events = parseTLS([TLSBuild.modernClientHelloRecord()])
        #expect(events.count == 1)
        let hello = try #require(events.first?.clientHello)
        #expect(hello.legacyVersion == 0x0303)
        #expect(hello.supportedVersions == [0x0304, 0x0303])
        #expect(hello.highestVersion == 0x0304)
        #expect(hello.serverName == "sepm.example.test")
        #expect(hello.cipherSuites == [0x1a1a, 0x1301, 0x1302, 0xc02f])
        #expect(hello.extensionTypes == [0x2a2a, 0, 16, 43])
        #expect(hello.alpn == ["h2", "http/1.1"])
        #expect(!hello.isSSLv2)
    }

    @Test func clientHelloWithoutExtensionsUsesLegacyVersion() throws {
        // SSL 3.0-style hello: no extensions block at all.
        let record = TLSBuild.record(22, TLSBuild.handshake(1, TLSBuild.clientHelloBody(
            version: 0x0300, suites: [0x000a], extensions: [])), version: 0x0300)
        let hello = try #require(parseTLS([record]).first?.clientHello)
        #expect(hello.highestVersion == 0x0300)
        #expect(hello.supportedVersions == nil)
        #expect(hello.serverName == nil)
    }

    @Test func serverHelloTLS12UsesLegacyVersion() throws {
        let record = TLSBuild.record(22, TLSBuild.handshake(2, TLSBuild.serverHelloBody(suite: 0xc02f)))
        let hello = try #require(parseTLS([record]).first?.serverHello)
        #expect(hello.negotiatedVersion == 0x0303)
        #expect(hello.selectedVersion == nil)
        #expect(hello.cipherSuite == 0xc02f)
        #expect(hello.extensionTypes == [0xff01])
        #expect(!hello.isHelloRetryRequest)
    }

    @Test func serverHelloTLS13UsesSupportedVersions() throws {
        let body = TLSBuild.serverHelloBody(suite: 0x1301, selected: 0x0304)
        let record = TLSBuild.record(22, TLSBuild.handshake(2, body))
        let hello = try #require(parseTLS([record]).first?.serverHello)
        #expect(hello.legacyVersion == 0x0303)
        #expect(hello.negotiatedVersion == 0x0304)
        #expect(hello.extensionTypes == [0xff01, 43])
    }

    @Test func helloRetryRequestIsRecognised() throws {
        let body = TLSBuild.serverHelloBody(suite: 0x1302, selected: 0x0304, retry: true)
        let hello = try #require(parseTLS([TLSBuild.record(22, TLSBuild.handshake(2, body))]).first?.serverHello)
        #expect(hello.isHelloRetryRequest)
        #expect(hello.negotiatedVersion == 0x0304)
    }

    @Test func clientHelloSplitOverThreeSegmentsAtEveryPair() throws {
        let record = TLSBuild.modernClientHelloRecord()
        let whole = try #require(parseTLS([record]).first?.clientHello)
        var checked = 0
        for a in stride(from: 1, to: record.count - 1, by: 3) {
            for b in stride(from: a + 1, to: record.count, by: 5) {
                let events = parseTLS(splitBytes(record, at: [a, b]))
                #expect(events.count == 1)
                #expect(events.first?.clientHello == whole, "cuts at \(a), \(b)")
                checked += 1
            }
        }
        #expect(checked > 500)
    }

    @Test func twoHandshakeMessagesInOneRecordAndOneMessageInTwoRecords() throws {
        let serverHello = TLSBuild.handshake(2, TLSBuild.serverHelloBody(suite: 0x009c))
        let certificate = TLSBuild.handshake(11, TLSBuild.certificateBody([X509Fixtures.ecP256SelfSigned]))
        let done = TLSBuild.handshake(14, [])
        let flight = serverHello + certificate + done
        // Three records cutting through the Certificate message.
        let cut1 = serverHello.count + 10, cut2 = serverHello.count + 200
        let stream = TLSBuild.record(22, Array(flight[..<cut1])) + TLSBuild.record(22, Array(flight[cut1..<cut2]))
            + TLSBuild.record(22, Array(flight[cut2...]))
        let events = parseTLS([stream])
        #expect(events.count == 2)
        #expect(events.first?.serverHello?.cipherSuite == 0x009c)
        guard case .certificate(let summary, let chain, _)? = events.last else {
            Issue.record("no certificate event: \(events)")
            return
        }
        #expect(chain == 1)
        #expect(summary?.subjectCommonName == "ec256.sepbeat.test")
    }

    @Test func certificateSpreadOverSeveralRecordsFedByteByByte() throws {
        let message = TLSBuild.handshake(11, TLSBuild.certificateBody(
            [X509Fixtures.rsa2048SelfSigned, X509Fixtures.ecP384Authority]))
        var stream: [UInt8] = []
        var i = 0
        while i < message.count {
            let end = min(i + 300, message.count)
            stream += TLSBuild.record(22, Array(message[i..<end]))
            i = end
        }
        #expect(stream.count > message.count + 15)  // at least four records
        let events = parseTLS(stream.map { [$0] })
        #expect(events.count == 1)
        guard case .certificate(let summary, let chain, let time)? = events.first else {
            Issue.record("no certificate event: \(events)")
            return
        }
        #expect(chain == 2)
        #expect(summary?.subjectCommonName == "rsa.sepbeat.test")
        #expect(summary?.keyBits == 2048)
        #expect(time == Timestamp(nanoseconds: Int64(stream.count)))  // the chunk holding the last byte
    }

    // MARK: - Other record types

    @Test func clearAlertsAndEncryptedAlerts() {
        let events = parseTLS([
            TLSBuild.record(21, [2, 40]),  // handshake_failure
            TLSBuild.record(20, [1]),
            TLSBuild.record(21, [UInt8](repeating: 0x5a, count: 26)),
        ])
        #expect(events == [
            .alert(level: 2, description: 40, time: Timestamp(nanoseconds: 1)),
            .changeCipherSpec(time: Timestamp(nanoseconds: 2)),
            .encryptedAlert(recordLength: 31, time: Timestamp(nanoseconds: 3)),
        ])
    }

    @Test func applicationDataHeartbeatAndEncryptedHandshakeSizes() {
        let events = parseTLS([
            TLSBuild.record(20, [1]),
            TLSBuild.record(22, [UInt8](repeating: 0x77, count: 40)),  // Finished, encrypted
            Array(TLSBuild.record(23, [UInt8](repeating: 1, count: 100)).prefix(50)),
            Array(TLSBuild.record(23, [UInt8](repeating: 1, count: 100)).dropFirst(50)),
            TLSBuild.record(24, [1, 0, 3, 9, 9, 9]),
        ])
        #expect(events == [
            .changeCipherSpec(time: Timestamp(nanoseconds: 1)),
            .encryptedHandshake(recordLength: 45, time: Timestamp(nanoseconds: 2)),
            .applicationData(recordLength: 105, start: Timestamp(nanoseconds: 3), end: Timestamp(nanoseconds: 4)),
            .heartbeat(recordLength: 11, time: Timestamp(nanoseconds: 5)),
        ])
    }

    @Test func clearClientHelloAfterCompatibilityChangeCipherSpec() throws {
        // TLS 1.3 HelloRetryRequest flow: the client sends CCS, then its second ClientHello in the clear.
        let events = parseTLS([TLSBuild.record(20, [1]), TLSBuild.modernClientHelloRecord(host: "second.test")])
        #expect(events.count == 2)
        #expect(events.last?.clientHello?.serverName == "second.test")
    }

    // MARK: - SSLv2 and non-TLS

    @Test func sslv2ClientHelloOfferingTLS10() throws {
        var body: [UInt8] = [1, 0x03, 0x01] + TLSBuild.u16(9) + TLSBuild.u16(0) + TLSBuild.u16(16)
        body += [0x01, 0x00, 0x80, 0x00, 0x00, 0x35, 0x00, 0x00, 0x2f]  // SSL_CK_RC4_128, two TLS suites
        body += [UInt8](repeating: 0xab, count: 16)
        let record = [0x80 | UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
        #expect(record.withUnsafeBytes { TLSStreamParser.looksLikeTLS($0) })

        var parser = TLSStreamParser()
        var events: [TLSEvent] = []
        record.withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
        let hello = try #require(events.first?.clientHello)
        #expect(events.count == 1)
        #expect(hello.isSSLv2)
        #expect(hello.legacyVersion == 0x0301)
        #expect(hello.highestVersion == 0x0301)
        #expect(hello.cipherSuites == [0x0035, 0x002f])
        #expect(parser.startedWithSSLv2)

        // The server answers in TLS format; the client's next record is TLS too.
        let next = TLSBuild.record(22, TLSBuild.handshake(16, [0, 2, 1, 2]), version: 0x0301)
        next.withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
        #expect(events.count == 1)
        #expect(parser.stopReason == nil)
    }

    @Test func sslv2ServerHelloHasVersion2AndNoCipher() throws {
        var body: [UInt8] = [4, 0, 1, 0x00, 0x02] + TLSBuild.u16(4) + TLSBuild.u16(3) + TLSBuild.u16(16)
        body += [0xde, 0xad, 0xbe, 0xef] + [0x01, 0x00, 0x80] + [UInt8](repeating: 7, count: 16)
        let record = [0x80 | UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
        #expect(record.withUnsafeBytes { TLSStreamParser.looksLikeTLS($0) })
        let events = parseTLS([record, [0x80, 0x03, 1, 2, 3]])  // then one SSLv2-format record
        let hello = try #require(events.first?.serverHello)
        #expect(events.count == 1)
        #expect(hello.isSSLv2)
        #expect(hello.negotiatedVersion == 0x0002)
        #expect(hello.cipherSuite == nil)
    }

    @Test func nonTLSBytesStopTheParser() {
        let text = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        #expect(!text.withUnsafeBytes { TLSStreamParser.looksLikeTLS($0) })
        var parser = TLSStreamParser()
        var events: [TLSEvent] = []
        text.withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
        text.withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
        #expect(events == [.notTLS(offset: 0, time: .zero)])
        #expect(parser.stopReason == .notTLS)
        #expect(parser.ignoredBytes == Int64(text.count * 2))
    }

    @Test func looksLikeTLSNeedsThreeBytesAndChecksLength() {
        func check(_ b: [UInt8]) -> Bool { b.withUnsafeBytes { TLSStreamParser.looksLikeTLS($0) } }
        #expect(!check([22, 3]))
        #expect(check([22, 3, 1]))
        #expect(check([23, 3, 3, 0x48, 0x00]))  // 18432: the limit
        #expect(!check([23, 3, 3, 0x48, 0x01]))
        #expect(!check([25, 3, 3, 0, 5]))
        #expect(!check([22, 2, 0, 0, 5]))
        #expect(!check([0x16, 0x03, 0x05, 0, 5]))
    }

    // MARK: - Limits

    @Test func recordAtLengthLimitIsAcceptedAndOneMoreIsNot() {
        let limit = TLSLimits().maxRecordLength
        let atLimit = parseTLS([TLSBuild.record(23, [UInt8](repeating: 0, count: limit))])
        #expect(atLimit == [.applicationData(recordLength: limit + 5, start: Timestamp(nanoseconds: 1),
                                             end: Timestamp(nanoseconds: 1))])

        var parser = TLSStreamParser()
        var events: [TLSEvent] = []
        TLSBuild.record(23, [UInt8](repeating: 0, count: limit + 1)).withUnsafeBytes {
            parser.feed($0, time: .zero, into: &events)
        }
        #expect(events.first?.anomaly == .oversizeRecord(length: limit + 1))
        #expect(parser.stopReason == .oversizeRecord)
    }

    @Test func oversizeRecordAfterTheFirstLeadsToResync() {
        let good = TLSBuild.record(23, [1, 2, 3])
        let bad: [UInt8] = [23, 3, 3, 0xff, 0xff, 9, 9, 9]
        let events = parseTLS([good, bad, good])
        #expect(events.compactMap(\.anomaly) == [.oversizeRecord(length: 0xffff), .resynchronized(skippedBytes: 8)])
        #expect(events.filter { if case .applicationData = $0 { return true } else { return false } }.count == 2)
    }

    @Test func handshakeMessageOverLimitIsSkippedAndParsingGoesOn() throws {
        var limits = TLSLimits()
        limits.maxHandshakeMessage = 100
        let big = TLSBuild.handshake(11, [UInt8](repeating: 0, count: 101))
        let serverHello = TLSBuild.handshake(2, TLSBuild.serverHelloBody(suite: 0x002f))
        #expect(serverHello.count - 4 <= 100)
        let events = parseTLS([TLSBuild.record(22, big + serverHello)], limits: limits)
        #expect(events.first?.anomaly == .handshakeMessageTooLarge(type: 11, length: 101))
        #expect(events.last?.serverHello?.cipherSuite == 0x002f)
    }

    // MARK: - Truncation and malformed messages

    @Test func truncatedHandshakeIsReportedAtFinish() {
        let record = TLSBuild.modernClientHelloRecord()
        let events = parseTLS([Array(record.prefix(60))])
        #expect(events == [.anomaly(.truncatedAtEnd(pendingBytes: 60), time: Timestamp(nanoseconds: 1000))])
    }

    @Test func malformedClientHelloIsAnAnomaly() {
        // Cipher suite list of odd length.
        var body = TLSBuild.clientHelloBody(suites: [0x002f], extensions: [])
        body[2 + 32 + 1 + 32 + 1] = 3
        let events = parseTLS([TLSBuild.record(22, TLSBuild.handshake(1, body))])
        #expect(events.compactMap(\.anomaly) == [.malformedHandshake(type: 1)])
    }

    // MARK: - Gaps

    @Test func gapInsideARecordKeepsFraming() {
        var parser = TLSStreamParser()
        var events: [TLSEvent] = []
        let record = TLSBuild.record(23, [UInt8](repeating: 1, count: 1000))
        Array(record.prefix(100)).withUnsafeBytes { parser.feed($0, time: Timestamp(nanoseconds: 1), into: &events) }
        #expect(parser.skip(gapBytes: 800, time: Timestamp(nanoseconds: 2), into: &events))
        (Array(record.suffix(105)) + TLSBuild.record(23, [5])).withUnsafeBytes {
            parser.feed($0, time: Timestamp(nanoseconds: 3), into: &events)
        }
        // The gap at once, in the record (its start); at its end the 205 bytes captured of it; nothing twice.
        #expect(events == [
            .cutApplicationData(captured: 0, missing: 800, newRecord: true, start: Timestamp(nanoseconds: 1),
                                end: Timestamp(nanoseconds: 2)),
            .cutApplicationData(captured: 205, missing: 0, newRecord: false, start: Timestamp(nanoseconds: 1),
                                end: Timestamp(nanoseconds: 3)),
            .applicationData(recordLength: 6, start: Timestamp(nanoseconds: 3), end: Timestamp(nanoseconds: 3)),
        ])
        #expect(parser.streamOffset == Int64(record.count + 6))
    }

    /// A gap that loses a data record's framing: the record's captured head and the gap count at once, the
    /// bytes the scan then skips count when they came (the record's tail, ending a chunk, before the next
    /// chunk shows no header began there), and the next header is framed again.
    @Test func gapLosingFramingReportsEveryByteOfTheCutDataOnce() {
        var parser = TLSStreamParser()
        var events: [TLSEvent] = []
        let first = TLSBuild.record(23, [UInt8](repeating: 1, count: 1000))
        let t = (1...4).map { Timestamp(nanoseconds: $0) }
        Array(first.prefix(300)).withUnsafeBytes { parser.feed($0, time: t[0], into: &events) }
        #expect(parser.skip(gapBytes: 1000, time: t[1], into: &events))
        Array(first.suffix(5)).withUnsafeBytes { parser.feed($0, time: t[1], into: &events) }
        TLSBuild.record(23, [5]).withUnsafeBytes { parser.feed($0, time: t[2], into: &events) }
        #expect(events.filter { if case .anomaly = $0 { false } else { true } } == [
            .cutApplicationData(captured: 300, missing: 1000, newRecord: true, start: t[0], end: t[1]),
            .cutApplicationData(captured: 5, missing: 0, newRecord: false, start: t[1], end: t[1]),
            .applicationData(recordLength: 6, start: t[2], end: t[2]),
        ])
        // A gap in a clear handshake is left to the caller.
        var other = TLSStreamParser()
        var none: [TLSEvent] = []
        Array(TLSBuild.record(22, [UInt8](repeating: 0, count: 50)).prefix(20)).withUnsafeBytes {
            other.feed($0, time: t[0], into: &none)
        }
        #expect(!other.skip(gapBytes: 10, time: t[1], into: &none))
        #expect(!none.contains { if case .cutApplicationData = $0 { true } else { false } })
    }

    @Test func gapAcrossRecordsResynchronisesOnTheNextHeader() {
        var parser = TLSStreamParser()
        var events: [TLSEvent] = []
        let record = TLSBuild.record(23, [UInt8](repeating: 0xee, count: 200))
        (record + Array(record.prefix(50))).withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
        parser.skip(gapBytes: 300, time: .zero, into: &events)  // rest of record 2 and start of record 3
        let tail = Array(record.suffix(55)) + record + record
        tail.withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
        #expect(events.compactMap(\.anomaly) == [
            .framingLostInGap(bytes: 300), .resynchronized(skippedBytes: 355),
        ])
        let data = events.filter { if case .applicationData = $0 { return true } else { return false } }
        #expect(data.count == 3)
        #expect(parser.stopReason == nil)
    }

    @Test func gapInAHandshakeDropsTheMessage() {
        var parser = TLSStreamParser()
        var events: [TLSEvent] = []
        let record = TLSBuild.modernClientHelloRecord()
        Array(record.prefix(20)).withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
        parser.skip(gapBytes: 10, time: .zero, into: &events)
        Array(record.dropFirst(30)).withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
        TLSBuild.record(21, [1, 0]).withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
        #expect(events == [.anomaly(.handshakeLostInGap, time: .zero), .alert(level: 1, description: 0, time: .zero)])
    }

    @Test func resyncGivesUpAfterTheScanLimit() {
        var limits = TLSLimits()
        limits.maxResyncScan = 1000
        var parser = TLSStreamParser(limits: limits)
        var events: [TLSEvent] = []
        TLSBuild.record(23, [1]).withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
        parser.skip(gapBytes: 10, time: .zero, into: &events)
        [UInt8](repeating: 0x41, count: 2000).withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
        #expect(parser.stopReason == .resyncFailed)
        #expect(parser.ignoredBytes == 2000)
    }

    @Test func midstreamParserFindsTheFirstHeader() {
        var parser = TLSStreamParser(midstream: true)
        var events: [TLSEvent] = []
        let bytes = [UInt8](repeating: 0x99, count: 37) + TLSBuild.record(23, [1, 2, 3, 4])
        bytes.withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
        #expect(events == [
            .anomaly(.resynchronized(skippedBytes: 37), time: .zero),
            .applicationData(recordLength: 9, start: .zero, end: .zero),
        ])
    }
}

@Suite struct TLSDraftServerHelloTests {
    @Test func draftServerHelloWithoutSessionIDAndCompression() throws {
        // TLS 1.3 draft 18 layout: version 0x7f12, random, cipher suite, extensions.
        let body: [UInt8] = TLSBuild.u16(0x7f12) + [UInt8](repeating: 5, count: 32) + TLSBuild.u16(0x1301)
            + TLSBuild.u16(4) + TLSBuild.extensionBlock(0x0028, [])
        let hello = try #require(parseTLS([TLSBuild.record(22, TLSBuild.handshake(2, body))]).first?.serverHello)
        #expect(hello.negotiatedVersion == 0x7f12)
        #expect(hello.cipherSuite == 0x1301)
        #expect(hello.extensionTypes == [0x0028])
    }
}
