import Core
import Records
import Streams
import Testing

/// Bytes the capture lost where the numbers still say where they were: at the start of the server's stream (its
/// SYN-ACK lost with them, the client's ACK of it giving the start).
@Suite struct LostStartAndTailTests {
    private func feed(_ segs: [Seg]) -> StreamRecorder {
        let recorder = StreamRecorder()
        let table = ConnectionTable(limits: StreamLimits(), delegate: recorder)
        var feeder = Feeder()
        feeder.feed(segs, to: table)
        table.finish()
        return recorder
    }

    private func at(_ ms: Int64) -> Timestamp { Hosts.base.adding(nanoseconds: ms * 1_000_000) }

    @Test func theServersFirstBytesLostWithItsSynAckAreAGapFromTheStartTheClientAcknowledged() {
        // Server ISN 5000: the client's ACK of the lost SYN-ACK acknowledges 5001; "HEAD" (5001-5004) is lost.
        let r = feed([
            .c(1000, "", [.syn]), .c(1001, "", [.ack], at: 1, ack: 5001), .c(1001, "GET", at: 2, ack: 5001),
            .s(5005, "BODY", at: 3, ack: 1004), .c(1004, "", at: 4, ack: 5009),
        ])
        #expect(r.text(1, .down) == "<gap 4>BODY")
        #expect(r.record(1)?.anomaliesDown.gapBytes == 4)
    }

    @Test func theServersFirstBytesCapturedWithItsSynAckLostAreNoGap() {
        let r = feed([
            .c(1000, "", [.syn]), .c(1001, "", [.ack], at: 1, ack: 5001), .c(1001, "GET", at: 2, ack: 5001),
            .s(5001, "HEADBODY", at: 3, ack: 1004),
        ])
        #expect(r.text(1, .down) == "HEADBODY")
        #expect(r.record(1)?.anomaliesDown == anomalies())
    }

    @Test func aConnectionPickedUpMidstreamStartsAtItsFirstServerBytesStill() {
        // No SYN: the client's first ACK says nothing of where the server's stream began.
        let r = feed([
            .c(1001, "", [.ack], at: 1, ack: 5001), .c(1001, "GET", at: 2, ack: 5001),
            .s(5005, "BODY", at: 3, ack: 1004), .c(1004, "", at: 4, ack: 5009),
        ])
        #expect(r.text(1, .down) == "BODY")
        #expect(r.record(1)?.anomaliesDown == anomalies())
    }

    @Test func aClientAcknowledgementAfterItsFirstBytesGivesNoStart() {
        // The client's first ACK comes with its second request (its handshake ACK and first request lost): it may
        // acknowledge a whole answer, so the server bytes after it start the stream as before.
        let r = feed([
            .c(1000, "", [.syn]), .c(1004, "GET", at: 2, ack: 5001), .s(5005, "BODY", at: 3, ack: 1007),
        ])
        #expect(r.text(1, .down) == "BODY")
    }
}
