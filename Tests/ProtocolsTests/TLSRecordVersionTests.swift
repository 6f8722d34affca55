import Core
import Protocols
import Records
import Testing
import TestSupport

/// The record-layer version of application-data records: what tells the TLS version of a connection
/// whose handshake was not captured.
@Suite struct TLSRecordVersionTests {
    /// Feeds `chunks` to a fresh parser (midstream or not), finishes it, and returns it with its events.
    private func run(_ chunks: [[UInt8]], midstream: Bool) -> (TLSStreamParser, [TLSEvent]) {
        var parser = TLSStreamParser(midstream: midstream)
        var events: [TLSEvent] = []
        for (i, chunk) in chunks.enumerated() {
            chunk.withUnsafeBytes { parser.feed($0, time: Timestamp(nanoseconds: Int64(i + 1)), into: &events) }
        }
        parser.finish(time: Timestamp(nanoseconds: 1000), into: &events)
        return (parser, events)
    }

    private func data(_ length: Int, version: UInt16) -> [UInt8] {
        TLSBuild.record(23, [UInt8](repeating: 0x5a, count: length), version: version)
    }

    private func versionChanges(_ events: [TLSEvent]) -> [TLSAnomaly] {
        events.compactMap { event in
            if case .anomaly(let a, _) = event, case .recordVersionChanged = a { return a }
            return nil
        }
    }

    @Test func midstreamStartOnATLS10ApplicationDataRecord() {
        // The capture joined after the handshake, at a record boundary, as in a trimmed capture.
        let (parser, events) = run([data(64, version: 0x0301), data(32, version: 0x0301)], midstream: true)
        #expect(parser.applicationDataVersion == 0x0301)
        #expect(parser.applicationDataVersionChanges == 0)
        #expect(versionChanges(events).isEmpty)
    }

    @Test func midstreamStartInsideARecordScansToTheNextHeader() {
        // The first 37 bytes are the tail of a record whose header was not captured.
        let tail = [UInt8](repeating: 0x99, count: 37)
        let (parser, _) = run([tail + data(40, version: 0x0302), data(8, version: 0x0302)], midstream: true)
        #expect(parser.applicationDataVersion == 0x0302)
    }

    @Test func oneRecordFoundByAScanCountsWhenTheStreamEndsAtItsEnd() {
        let (parser, _) = run([[UInt8](repeating: 0x99, count: 11) + data(20, version: 0x0301)], midstream: true)
        #expect(parser.applicationDataVersion == 0x0301)
    }

    @Test func aRecordFoundByAScanWhoseNextHeaderIsInvalidGivesNoVersion() {
        // What looks like a header in ciphertext, followed by bytes that are no header: a false match.
        let fake: [UInt8] = [23, 3, 0, 0, 4, 1, 2, 3, 4]
        let noHeader = [UInt8](repeating: 0xee, count: 30)
        let (parser, _) = run([fake + noHeader], midstream: true)
        #expect(parser.applicationDataVersion == nil)
    }

    @Test func aRecordFoundByAScanThatTheStreamCutsGivesNoVersion() {
        let record = data(100, version: 0x0301)
        let (parser, _) = run([[UInt8](repeating: 0x99, count: 5) + Array(record.prefix(60))], midstream: true)
        #expect(parser.applicationDataVersion == nil)
    }

    @Test func tls12StreamFromTheStartReports0x0303() {
        let hello = TLSBuild.record(22, TLSBuild.handshake(2, TLSBuild.serverHelloBody(suite: 0xc02f)))
        let (parser, events) = run([hello, TLSBuild.record(20, [1]), data(30, version: 0x0303),
                                    data(300, version: 0x0303)], midstream: false)
        #expect(parser.applicationDataVersion == 0x0303)
        #expect(versionChanges(events).isEmpty)
    }

    @Test func handshakeRecordVersionsDoNotCount() {
        // A ClientHello record may say 0x0301 whatever the version; only application data counts.
        let (parser, _) = run([TLSBuild.modernClientHelloRecord(), data(30, version: 0x0303)], midstream: false)
        #expect(parser.applicationDataVersion == 0x0303)
        let (noData, _) = run([TLSBuild.modernClientHelloRecord()], midstream: false)
        #expect(noData.applicationDataVersion == nil)
    }

    @Test func disagreeingVersionsInOneDirectionAreCountedAndTheLowestKept() {
        let (parser, events) = run([data(10, version: 0x0303), data(10, version: 0x0301), data(10, version: 0x0301),
                                    data(10, version: 0x0303)], midstream: false)
        #expect(parser.applicationDataVersion == 0x0301)
        #expect(parser.applicationDataVersionChanges == 2)
        #expect(versionChanges(events) == [.recordVersionChanged(from: 0x0303, to: 0x0301),
                                           .recordVersionChanged(from: 0x0301, to: 0x0303)])
        #expect(TLSAnomaly.recordVersionChanged(from: 0x0303, to: 0x0301).name == "tls_record_version_changed")
    }

    @Test func recordsSplitAcrossChunksKeepTheirVersion() {
        let stream = data(50, version: 0x0302) + data(50, version: 0x0302)
        for cut in [1, 3, 5, 54, 56, 60] {
            let (parser, _) = run(splitBytes(stream, at: [cut]), midstream: true)
            #expect(parser.applicationDataVersion == 0x0302, "cut at \(cut)")
        }
    }

    @Test func conversationSummaryTakesTheLowerDirection() {
        var conversation = TLSConversation(midstream: true)
        var exchanges: [Exchange] = []
        let time = Timestamp(nanoseconds: 5)
        (data(40, version: 0x0303) + data(4, version: 0x0303)).withUnsafeBytes {
            conversation.feed($0, direction: .up, time: time, into: &exchanges)
        }
        (data(400, version: 0x0301) + data(4, version: 0x0301)).withUnsafeBytes {
            conversation.feed($0, direction: .down, time: time, into: &exchanges)
        }
        conversation.finish(time: time, into: &exchanges)
        #expect(conversation.summary.recordVersion == 0x0301)
        #expect(conversation.summary.implausibleRecordVersionUp == nil)
        #expect(conversation.summary.implausibleRecordVersionDown == nil)
        #expect(conversation.summary.helloVersion == nil)
        #expect(conversation.client.applicationDataVersion == 0x0303)
    }

    private func implausible(_ events: [TLSEvent]) -> [TLSAnomaly] {
        events.compactMap { event in
            if case .anomaly(let a, _) = event, case .implausibleRecordVersion = a { return a }
            return nil
        }
    }

    @Test func applicationDataRecordsOf0x0304GiveNoVersionAndOneAnomaly() {
        // TLS 1.3 writes 0x0303 in its records: a record layer claiming 0x0304 is no evidence of 1.3.
        let (parser, events) = run([data(64, version: 0x0304), data(32, version: 0x0304), data(8, version: 0x0304)],
                                   midstream: true)
        #expect(parser.applicationDataVersion == nil)
        #expect(implausible(events) == [.implausibleRecordVersion(0x0304)])
        #expect(TLSAnomaly.implausibleRecordVersion(0x0304).name == "tls_implausible_record_version")

        // From the start of a stream too, and beside real 0x0303 records, which still count.
        let records = [data(10, version: 0x0303), data(10, version: 0x0304), data(10, version: 0x0303)]
        let (mixed, mixedEvents) = run(records, midstream: false)
        #expect(mixed.applicationDataVersion == 0x0303)
        #expect(implausible(mixedEvents) == [.implausibleRecordVersion(0x0304)])
        #expect(versionChanges(mixedEvents).count == 2)
    }

    /// 0x0304 and 0x0305, 0x03ff, 0xfefd are alike: application-data records so framed are TLS whose version is
    /// unknown, with the anomaly; none of them makes the stream "not TLS".
    @Test(arguments: [UInt16(0x0305), 0x03ff, 0xfefd, 0xfe00])
    func applicationDataRecordsOfOtherImplausibleVersionsAreStillFramed(_ version: UInt16) {
        for midstream in [true, false] {
            let (parser, events) = run([data(64, version: version), data(32, version: version),
                                        data(8, version: version)], midstream: midstream)
            #expect(parser.stopReason == nil, "\(midstream)")
            #expect(parser.recordCount == 3 || midstream && parser.recordCount >= 2, "\(parser.recordCount)")
            #expect(parser.applicationDataVersion == nil)
            #expect(implausible(events) == [.implausibleRecordVersion(version)])
        }
        // Framed once the stream is TLS, but a first record with such a version does not make it TLS.
        let first = data(64, version: version)
        #expect(!first.withUnsafeBytes { TLSStreamParser.looksLikeTLS($0) })
    }

    /// Only 3.0-3.4 makes a stream TLS: a binary protocol on 443 whose messages look like `17 03 10 <len>`,
    /// `17 03 ff`, `17 fe 01` is not taken as TLS; 0x0303 and 0x0304 are.
    @Test func onlyTheNarrowRangeMakesAStreamTLS() {
        for (version, tls) in [(UInt16(0x0310), false), (0x03ff, false), (0xfe01, false), (0x0303, true),
                               (0x0304, true), (0x0300, true)] {
            let first = data(64, version: version)
            #expect(first.withUnsafeBytes { TLSStreamParser.looksLikeTLS($0) } == tls, "\(version)")
        }
    }

    /// Handshake, alert and change-cipher-spec headers keep the narrow range (3.0-3.4): a stream starting with
    /// `16 03 05` is not TLS, nor one starting with `17 04 01` or `17 02 00`.
    @Test func otherHeadersKeepTheNarrowVersionRange() {
        for prefix: [UInt8] in [[0x16, 0x03, 0x05, 0x00, 0x10], [0x15, 0xfe, 0xfd, 0x00, 0x02],
                                [0x17, 0x04, 0x01, 0x00, 0x10], [0x17, 0x02, 0x00, 0x00, 0x10]] {
            #expect(!prefix.withUnsafeBytes { TLSStreamParser.looksLikeTLS($0) }, "\(prefix)")
        }
        #expect(TLSVersion.framesRecord(type: 22, major: 3, minor: 4))
        #expect(!TLSVersion.framesRecord(type: 22, major: 3, minor: 5))
        #expect(TLSVersion.framesRecord(type: 23, major: 3, minor: 0xff))
    }

    @Test func onlyVersionsSSL3To1Point2AreRecordLayerVersions() {
        #expect(TLSVersion.isRecordLayerVersion(0x0300))
        #expect(TLSVersion.isRecordLayerVersion(0x0303))
        #expect(!TLSVersion.isRecordLayerVersion(0x0304))
        #expect(!TLSVersion.isRecordLayerVersion(0x0200))
        #expect(!TLSVersion.isRecordLayerVersion(0x0002))
        #expect(!TLSVersion.isRecordLayerVersion(0x7f17))
    }

    @Test func conversationWith0x0304RecordsHasNoRecordVersion() {
        var conversation = TLSConversation(midstream: true)
        var exchanges: [Exchange] = []
        let time = Timestamp(nanoseconds: 5)
        (data(40, version: 0x0304) + data(4, version: 0x0304)).withUnsafeBytes {
            conversation.feed($0, direction: .up, time: time, into: &exchanges)
        }
        data(400, version: 0x0304).withUnsafeBytes {
            conversation.feed($0, direction: .down, time: time, into: &exchanges)
        }
        conversation.finish(time: time, into: &exchanges)
        #expect(conversation.summary.recordVersion == nil)
        #expect(conversation.summary.implausibleRecordVersionUp == 0x0304)
        #expect(conversation.summary.implausibleRecordVersionDown == 0x0304)
        #expect(conversation.anomalies.map(\.anomaly) == [.implausibleRecordVersion(0x0304),
                                                          .implausibleRecordVersion(0x0304)])
        #expect(conversation.anomalies.map(\.direction) == [.up, .down])
    }
}
