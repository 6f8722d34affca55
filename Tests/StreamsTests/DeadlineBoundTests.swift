import Core
import Records
import Testing

@testable import Streams

/// The deadline queue keeps emitted connections alive until their entries come up; its stale
/// entries stay within a quarter of the live connections plus 1,024, however often a port is reused.
@Suite struct DeadlineBoundTests {
    @Test func portReusedThousandsOfTimesKeepsTheQueueSmall() {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var feeder = Feeder()
        var most = 0
        for k in 0..<6_000 {
            let isn = UInt32(truncatingIfNeeded: 1_000 + k * 100_000)
            let t = Int64(k)
            feeder.feed([.c(isn, "", [.syn], at: t), .s(7_000, "", [.syn, .ack], at: t, ack: isn &+ 1),
                         .c(isn &+ 1, "hello", at: t)], to: table)
            most = max(most, table.queuedDeadlines)
        }
        #expect(recorder.records.count == 5_999)  // each SYN on the used port ends the one before
        #expect(table.openConnections == 1)
        #expect(most <= 1 + 1_024 + 2)
        table.finish()
        #expect(recorder.records.count == 6_000)
    }
}
