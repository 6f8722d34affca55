import Core
import Records
import Streams
import Testing

/// The same connection captured untagged and under a VLAN tag (a SPAN of an access port plus its trunk)
/// is analysed once; different connections that merely share addresses on different VLANs stay apart.
@Suite struct CapturedTwiceTests {
    static let conversation: [Seg] = [
        .c(1000, "", [.syn], at: 0), .s(5000, "", [.syn, .ack], at: 1, ack: 1001), .c(1001, "hello", at: 2),
        .s(5001, "world", at: 3, ack: 1006), .c(1006, "", [.fin, .ack], at: 4), .s(5006, "", [.fin, .ack], at: 5),
        .c(1007, "", [.ack], at: 6),
    ]

    /// Feeds `first` on the plain feeder and `second` on one tagged VLAN 10, segment by segment, the
    /// tagged copy `lagMs` after its plain segment.
    static func twice(_ first: [Seg], _ second: [Seg], lagMs: Int64) -> (StreamRecorder, ConnectionTable) {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var plain = Feeder()
        var tagged = Feeder(vlan: VLANTags([10]))
        for (a, b) in zip(first, second) {
            plain.feed(a, to: table)
            var late = b
            late.ms += lagMs
            tagged.feed(late, to: table)
        }
        return (recorder, table)
    }

    @Test func copyUnderAnotherVLANIsCountedOnceAndLeftOut() throws {
        let (recorder, table) = Self.twice(Self.conversation, Self.conversation, lagMs: 0)
        table.advanceClock(to: Hosts.base.adding(nanoseconds: StreamLimits().closeLinger + 1_000_000_000))
        #expect(table.openConnections == 0)
        #expect(recorder.records.map(\.id) == [1])
        let r = try #require(recorder.record(1))
        #expect(r.vlan == .none)
        #expect(r.packetsUp == 4 && r.packetsDown == 3)
        #expect(recorder.text(1, .up) == "hello")
        #expect(recorder.text(1, .down) == "world")
        // No event at all for the copy (id 2).
        #expect(!recorder.events.contains { event in
            if case .opened(id: 2, _, _) = event { return true }
            return event == .closed(id: 2)
        })
        #expect(table.statistics.connectionsCapturedTwice == 1)
        #expect(table.statistics.segmentsCapturedTwice == Self.conversation.count)
    }

    /// Overlapping address spaces: the same addresses and ports on two VLANs, but each connection with its
    /// own ISNs, are two connections, both analysed.
    @Test func sameAddressesWithOtherISNsOnAnotherVLANStayTwoConnections() {
        let other: [Seg] = Self.conversation.map { s in
            var t = s
            if t.fromClient { t.seq &+= 70_000 } else { t.ack &+= 70_000 }
            return t
        }
        let (recorder, table) = Self.twice(Self.conversation, other, lagMs: 0)
        table.finish()
        #expect(recorder.records.map(\.id) == [1, 2])
        #expect(recorder.text(2, .up) == "hello")
        #expect(table.statistics.connectionsCapturedTwice == 0)
    }

    /// The same SYN on another VLAN 100 ms later (a copy through a slower path) is a copy; past the
    /// window (1 s) it is not.
    @Test func copyWindowIsOneSecond() {
        let (near, nearTable) = Self.twice(Self.conversation, Self.conversation, lagMs: 100)
        nearTable.finish()
        #expect(near.records.count == 1)
        #expect(nearTable.statistics.connectionsCapturedTwice == 1)
        let (recorder, table) = Self.twice(Self.conversation, Self.conversation, lagMs: 1_001)
        table.finish()
        #expect(recorder.records.count == 2)
        #expect(table.statistics.connectionsCapturedTwice == 0)
    }
}
