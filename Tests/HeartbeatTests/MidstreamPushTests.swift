import Core
import Records
import Testing

@testable import Heartbeat

/// A push connection the capture joined while it was open (no SYN): its first check-in starts at its first
/// exchange, never at the first packet, and a burst the capture joined midway is not judged too small.
@Suite struct MidstreamPushTests {
    /// A push connection with bursts at 0, 300, 600 and 900 s, picked up midstream: the first burst's
    /// exchange is dropped and the record starts at `pickedUp` seconds.
    static func pickedUp(at pickedUp: Double, firstExchange: ((inout Exchange) -> Void)? = nil) -> ConnectionRecord {
        var f = RecordFactory()
        var c = f.push(start: at(0), bursts: [0, 300, 600, 900])
        c.exchanges.removeFirst()
        for i in c.exchanges.indices { c.exchanges[i].index = i }
        if let change = firstExchange, !c.exchanges.isEmpty { change(&c.exchanges[0]) }
        c.start = at(pickedUp)
        c.synTime = nil
        c.synAckTime = nil
        c.synCount = 0
        c.handshake = .midstream
        c.state = [.midstream, .openAtEnd]
        return c
    }

    static let intervalCodes: [FindingCode] = [.missedHeartbeat, .intervalLate, .intervalEarly, .acceleratedHeartbeat]

    @Test func firstCheckInStartsAtItsExchangeNotAtALoneACK() throws {
        // The capture begins with a bare ACK 60 s after a burst it did not see.
        let c = Self.pickedUp(at: 60)
        let firstExchange = try #require(c.exchanges.first).start
        let r = analyze([c], model: try ReferenceModel.builtIn.withServer("198.51.100.1"))
        #expect(r.sessions.count == 3)
        #expect(r.sessions.first?.start == firstExchange)
        #expect(r.sessions.first?.steps.map(\.step) == [3])
        #expect(r.findings.filter { Self.intervalCodes.contains($0.code) }.isEmpty)
    }

    @Test func burstJoinedMidwayIsACheckInOfItsOwnNotJudgedTooSmall() throws {
        // The capture begins in the 300 s burst, after its request: only the last 600 bytes of the reply.
        var partial = Self.pickedUp(at: 0) { e in
            e.bytesUp = 0
            e.recordsUp = 0
            e.bytesDown = 600
        }
        let firstExchange = try #require(partial.exchanges.first).start
        partial.start = firstExchange.adding(seconds: -0.0005)
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        let r = analyze([partial], model: model)
        #expect(r.sessions.count == 3)
        #expect(r.sessions.first?.start == firstExchange)
        #expect(r.codes(.idleSizeOutOfRange).isEmpty)
        #expect(r.findings.filter { Self.intervalCodes.contains($0.code) }.isEmpty)

        // The same small burst where the capture saw it whole (a later burst) is judged.
        var f = RecordFactory()
        var small = f.push(start: at(0), bursts: [0, 300, 600])
        small.exchanges[1].bytesUp = 0
        small.exchanges[1].bytesDown = 600
        #expect(analyze([small], model: model).codes(.idleSizeOutOfRange).count == 1)
    }

    /// The capture began inside an upload burst, after its index check: the burst shows only the upload
    /// (step 5). The index check passed before the capture; it is not reported missing. The same burst
    /// seen whole (a later burst) is.
    @Test func burstJoinedAfterItsIndexCheckIsNoStepMissing() throws {
        var joined = Self.pickedUp(at: 0) { e in
            e.bytesUp = 60_000
            e.recordsUp = 4
            e.bytesDown = 207
        }
        let firstExchange = try #require(joined.exchanges.first).start
        joined.start = firstExchange.adding(seconds: -0.0005)
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        let r = analyze([joined], model: model)
        #expect(r.sessions.first?.steps.map(\.step) == [5])
        #expect(r.codes(.stepMissing).isEmpty)

        var f = RecordFactory()
        var whole = f.push(start: at(0), bursts: [0, 300, 600])
        whole.exchanges[1].bytesUp = 60_000
        whole.exchanges[1].bytesDown = 207
        let seen = analyze([whole], model: model)
        #expect(seen.sessions[1].steps.map(\.step) == [5])
        #expect(seen.codes(.stepMissing).count == 1)
    }

    /// A pull connection the capture picked up after its exchanges (no SYN; only its close seen): the index
    /// check passed before the capture, and the piece carried nothing, so it is no check-in (counted). The same
    /// connection with its SYN seen was set up and closed with no byte: a failed check-in (`no-answer`).
    @Test func pullConnectionPickedUpAfterItsExchangesIsNoStepMissing() throws {
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        var f = RecordFactory()
        var seen = f.connection(start: at(0), exchanges: [])
        seen.bytesUp = 0
        seen.bytesDown = 0
        let set = analyze([seen], model: model)
        #expect(set.codes(.stepMissing).isEmpty)
        #expect(set.codes(.noAnswer).count == 1)
        #expect(set.sessions.first?.failed == true)
        var joined = seen
        joined.synTime = nil
        joined.synAckTime = nil
        joined.synCount = 0
        joined.handshake = .midstream
        joined.state = [.midstream, .finFromClient]
        let r = analyze([joined], model: model)
        #expect(r.sessions.isEmpty)
        #expect(r.counts.emptyPieces == 1)
        #expect(r.codes(.stepMissing).isEmpty)
        // With a byte of data in it (the tail of an answer), it stays a check-in with no step missing.
        joined.bytesDown = 200
        let tail = analyze([joined], model: model)
        #expect(tail.sessions.count == 1)
        #expect(tail.codes(.stepMissing).isEmpty)
    }

    /// A later burst's size finding carries the burst's time, not the connection's start 300 s before.
    @Test func aLaterBurstsFindingsCarryItsOwnTime() throws {
        var f = RecordFactory()
        var c = f.push(start: at(0), bursts: [0, 300, 600])
        c.exchanges[1].bytesUp = 0
        c.exchanges[1].bytesDown = 600
        let r = analyze([c], model: try ReferenceModel.builtIn.withServer("198.51.100.1"))
        let finding = try #require(r.codes(.idleSizeOutOfRange).first)
        #expect(finding.time == c.exchanges[1].start)
        #expect(r.sessions[1].start == c.exchanges[1].start)
    }
}
