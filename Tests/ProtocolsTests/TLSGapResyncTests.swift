import Core
import Protocols
import Records
import Testing

/// Record framing after a gap: the direction that lost bytes must find its records again.
@Suite struct TLSGapResyncTests {
    private func data(_ length: Int, fill: UInt8 = 0x5a) -> [UInt8] {
        TLSBuild.record(23, [UInt8](repeating: fill, count: length))
    }

    private func dataLengths(_ events: [TLSEvent]) -> [Int] {
        events.compactMap { if case .applicationData(let n, _, _) = $0 { return n } else { return nil } }
    }

    @Test func gapAfterATLS10ClientHelloRecordStillResynchronisesOn0x0303Data() {
        // The ClientHello record says 0x0301; the lost packet held the rest of the handshake.
        var parser = TLSStreamParser()
        var events: [TLSEvent] = []
        let hello = TLSBuild.record(22, TLSBuild.handshake(1, [UInt8](repeating: 0, count: 40)), version: 0x0301)
        hello.withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
        parser.skip(gapBytes: 93, time: .zero, into: &events)
        (data(924) + data(100)).withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
        #expect(events.compactMap(\.anomaly).contains(.framingLostInGap(bytes: 93)))
        #expect(events.compactMap(\.anomaly).contains(.resynchronized(skippedBytes: 93)))
        #expect(dataLengths(events) == [929, 105])
        #expect(parser.stopReason == nil)
    }

    @Test func gapEndingInsideAHeaderScansToTheNextWholeHeader() {
        var parser = TLSStreamParser()
        var events: [TLSEvent] = []
        let record = data(200)
        record.withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
        // The next record's first 3 header bytes and nothing else were lost: its length bytes come first.
        parser.skip(gapBytes: 3, time: .zero, into: &events)
        (Array(record.dropFirst(3)) + record).withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
        parser.finish(time: .zero, into: &events)
        #expect(dataLengths(events) == [205, 205])
        #expect(events.compactMap(\.anomaly).first == .framingLostInGap(bytes: 3))
    }

    @Test func aFalseHeaderInCiphertextIsRefutedAndTheRealRecordsFound() {
        var parser = TLSStreamParser()
        var events: [TLSEvent] = []
        data(50).withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
        parser.skip(gapBytes: 500, time: .zero, into: &events)
        // Ciphertext tail holding a plausible header whose record ends in bytes that are no header.
        let tail: [UInt8] = [0x99, 23, 3, 3, 0, 4, 1, 2, 3, 4] + [UInt8](repeating: 0xee, count: 20)
        (tail + data(300) + data(40)).withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
        parser.finish(time: .zero, into: &events)
        // The false record costs one bogus record; the real ones after it are framed again.
        #expect(Array(dataLengths(events).suffix(2)) == [305, 45])
        #expect(parser.stopReason == nil)
    }

    @Test func aStreamBeginningInsideARecordStopsUnlessTheOtherSideJoinedMidstream() {
        let bytes = [UInt8](repeating: 0x99, count: 37) + data(40) + data(8)
        var plain = TLSStreamParser()
        var joined = TLSStreamParser()
        joined.expectMidstreamStart()
        var plainEvents: [TLSEvent] = []
        var joinedEvents: [TLSEvent] = []
        bytes.withUnsafeBytes { plain.feed($0, time: .zero, into: &plainEvents) }
        bytes.withUnsafeBytes { joined.feed($0, time: .zero, into: &joinedEvents) }
        #expect(plain.stopReason == .notTLS)
        #expect(joined.stopReason == nil)
        #expect(dataLengths(joinedEvents) == [45, 13])
        #expect(joinedEvents.compactMap(\.anomaly) == [.resynchronized(skippedBytes: 37)])
    }

    @Test func aRecordFoundByAScanStartsWhenItsHeaderCameNotWhenTheScanBegan() {
        // A gap took a record's header: its tail is scanned at 1 s, the next record (its header split over
        // two chunks) comes 300 s and 301 s later. Dated to the scan's start, it joined an earlier answer.
        var parser = TLSStreamParser()
        var events: [TLSEvent] = []
        let second = Timestamp(seconds: 1, nanoseconds: 0)
        data(50).withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
        parser.skip(gapBytes: 500, time: second, into: &events)
        [UInt8](repeating: 0x99, count: 700).withUnsafeBytes { parser.feed($0, time: second, into: &events) }
        let next = data(300)
        let early = Timestamp(seconds: 301, nanoseconds: 0)
        let late = Timestamp(seconds: 302, nanoseconds: 0)
        next.prefix(2).withUnsafeBytes { parser.feed($0, time: early, into: &events) }
        next.dropFirst(2).withUnsafeBytes { parser.feed($0, time: late, into: &events) }
        let starts = events.compactMap { if case .applicationData(_, let start, _) = $0 { start } else { nil } }
        #expect(starts == [.zero, early])
    }

    @Test func anomalyTextUsesTheStableName() {
        #expect(TLSAnomaly.framingLostInGap(bytes: 93).text == "tls_framing_lost_in_gap (93 bytes)")
        #expect(TLSAnomaly.handshakeLostInGap.text == "tls_handshake_lost_in_gap")
    }
}

/// Exchanges around a client gap.
@Suite struct TLSConversationGapTests {
    private func data(_ length: Int) -> [UInt8] { TLSBuild.record(23, [UInt8](repeating: 0x5a, count: length)) }

    private func t(_ s: Int64) -> Timestamp { Timestamp(nanoseconds: s * 1_000_000_000) }

    @Test func serverAnswerAfterALostRequestIsAnExchangeOfItsOwn() {
        var c = TLSConversation(midstream: true)
        var out: [Exchange] = []
        data(100).withUnsafeBytes { c.feed($0, direction: .up, time: t(1), into: &out) }
        data(300).withUnsafeBytes { c.feed($0, direction: .down, time: t(1), into: &out) }
        c.skip(gapBytes: 105, direction: .up, time: t(300), into: &out)
        data(200).withUnsafeBytes { c.feed($0, direction: .down, time: t(300), into: &out) }
        c.finish(time: t(400), into: &out)
        #expect(out.count == 2)
        #expect(out.last?.bytesUp == 0)
        #expect(out.last?.bytesDown == 205)
    }

    @Test func aRequestDeliveredLateBehindAHoleJoinsItsAnswer() {
        var c = TLSConversation(midstream: true)
        var out: [Exchange] = []
        data(300).withUnsafeBytes { c.feed($0, direction: .down, time: t(2), into: &out) }
        c.skip(gapBytes: 93, direction: .up, time: t(300), into: &out)
        data(100).withUnsafeBytes { c.feed($0, direction: .up, time: t(1), into: &out) }
        data(100).withUnsafeBytes { c.feed($0, direction: .up, time: t(300), into: &out) }
        c.finish(time: t(400), into: &out)
        #expect(out.count == 2)
        #expect(out.first?.bytesUp == 105)
        #expect(out.first?.start == t(1))
    }

    @Test func serverDataAfterALongPauseStartsAnExchange() {
        var c = TLSConversation(midstream: true)
        var out: [Exchange] = []
        data(100).withUnsafeBytes { c.feed($0, direction: .up, time: t(1), into: &out) }
        data(300).withUnsafeBytes { c.feed($0, direction: .down, time: t(1), into: &out) }
        // The next request was lost and its gap is not known yet: its answer comes 5 minutes later.
        data(200).withUnsafeBytes { c.feed($0, direction: .down, time: t(301), into: &out) }
        c.finish(time: t(400), into: &out)
        #expect(out.count == 2)
        #expect(out.last?.bytesUp == 0)
    }

    @Test func aServerSideBeginningInsideARecordAfterClientDataIsStillTLS() {
        var c = TLSConversation()
        var out: [Exchange] = []
        data(924).withUnsafeBytes { c.feed($0, direction: .up, time: t(1), into: &out) }
        ([UInt8](repeating: 0x77, count: 1460) + data(300)).withUnsafeBytes {
            c.feed($0, direction: .down, time: t(1), into: &out)
        }
        c.finish(time: t(2), into: &out)
        #expect(!c.isNotTLS)
        #expect(out.map(\.bytesDown) == [305])
    }

    @Test func aServerSideThatIsNoTLSAfterAClientHelloStaysNotTLS() {
        var c = TLSConversation()
        var out: [Exchange] = []
        TLSBuild.modernClientHelloRecord().withUnsafeBytes { c.feed($0, direction: .up, time: t(1), into: &out) }
        Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8).withUnsafeBytes {
            c.feed($0, direction: .down, time: t(1), into: &out)
        }
        c.finish(time: t(2), into: &out)
        #expect(c.isNotTLS)
    }

    @Test func anAnswerLongAfterItsRequestStaysInItsExchange() {
        // A long poll: the first answer record may come late; only a pause after answer data splits.
        var c = TLSConversation(midstream: true)
        var out: [Exchange] = []
        data(100).withUnsafeBytes { c.feed($0, direction: .up, time: t(1), into: &out) }
        data(300).withUnsafeBytes { c.feed($0, direction: .down, time: t(200), into: &out) }
        c.finish(time: t(400), into: &out)
        #expect(out.count == 1)
    }

    @Test func aRequestLongAfterAnUnansweredOneStartsAnExchange() {
        var c = TLSConversation(midstream: true)
        var out: [Exchange] = []
        data(100).withUnsafeBytes { c.feed($0, direction: .up, time: t(1), into: &out) }
        data(100).withUnsafeBytes { c.feed($0, direction: .up, time: t(301), into: &out) }
        data(300).withUnsafeBytes { c.feed($0, direction: .down, time: t(301), into: &out) }
        c.finish(time: t(400), into: &out)
        #expect(out.map(\.bytesUp) == [105, 105])
        #expect(out.map(\.bytesDown) == [0, 305])
    }

    @Test func anAnswersTailHeldBehindAHoleIsLeftOutOfTheNextExchange() {
        var c = TLSConversation(midstream: true)
        var out: [Exchange] = []
        data(100).withUnsafeBytes { c.feed($0, direction: .up, time: t(1), into: &out) }
        data(100).withUnsafeBytes { c.feed($0, direction: .up, time: t(301), into: &out) }
        // A server record begun at 1 s, completed when its hole became a gap at the next burst.
        data(300).withUnsafeBytes { c.feed($0, direction: .down, time: t(1), into: &out) }
        data(200).withUnsafeBytes { c.feed($0, direction: .down, time: t(301), into: &out) }
        c.finish(time: t(400), into: &out)
        #expect(out.map(\.bytesDown) == [0, 205])
    }
}
