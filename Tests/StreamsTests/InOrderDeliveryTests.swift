import Core
import Records
import Streams
import Testing

/// Bytes at the next offset with nothing held take a path of their own (`deliverInOrder`, beside `place`):
/// the same segments, fed in order (that path each time) and with the first held back until the end (every
/// other one held, then drained by the general path), must hand out the same bytes, at the same times, and
/// keep the same history for later retransmissions.
@Suite struct InOrderDeliveryTests {
    /// Deliveries of the client's direction, with their times.
    private final class Deliveries: StreamDelegate {
        var data: [([UInt8], Timestamp)] = []
        var records: [ConnectionRecord] = []
        func connectionOpened(id: UInt64, client: Endpoint, server: Endpoint, vlan: VLANTags, time: Timestamp) {}
        func didReceive(data: UnsafeRawBufferPointer, direction: Direction, connection: UInt64, time: Timestamp) {
            if direction == .up { self.data.append((Array(data), time)) }
        }
        func didSkip(
            gapBytes: Int64, direction: Direction, connection: UInt64, time: Timestamp, cutBySnapLength: Bool
        ) {}
        func didAcknowledgeAhead(bytes: Int64, direction: Direction, connection: UInt64, time: Timestamp) {}
        func didNotice(_ notice: StreamNotice, direction: Direction, connection: UInt64, time: Timestamp) {}
        func connectionClosed(_ record: ConnectionRecord) { records.append(record) }
        func clockStep(_ step: ClockStep) {}
    }

    private func run(_ segs: [Seg]) -> Deliveries {
        let out = Deliveries()
        let table = ConnectionTable(delegate: out)
        var feeder = Feeder()
        feeder.feed(segs, to: table)
        table.finish()
        return out
    }

    @Test func inOrderAndDrainedDeliveriesAgree() throws {
        let isn: UInt32 = 0xffff_ff00  // the numbers wrap partway
        let texts = ["GET / HTTP/1.1\r\n", "Host: a\r\n", "X: ", String(repeating: "y", count: 300), "\r\n\r\n"]
        var data: [Seg] = []
        var seq = isn &+ 1
        for (i, text) in texts.enumerated() {
            data.append(.c(seq, text, at: Int64(10 + i)))
            seq &+= UInt32(text.utf8.count)
        }
        // A retransmission of the third and fourth segments with one byte changed, after all of them: a
        // conflict only if the history kept the bytes the in-order path delivered.
        let start = texts[0].utf8.count + texts[1].utf8.count
        var changed = Array((texts[2] + texts[3]).utf8)
        changed[5] ^= 0x20
        var late = Seg.c(isn &+ 1 &+ UInt32(start), "", at: 100)
        late.data = changed
        let syn = Seg.c(isn, "", [.syn], at: 0)

        let inOrder = run([syn] + data + [late])
        let drained = run([syn] + data.dropFirst() + [data[0], late])
        #expect(inOrder.data.count == texts.count)
        #expect(inOrder.data.map(\.0) == texts.map { Array($0.utf8) })
        #expect(drained.data.map(\.0) == inOrder.data.map(\.0))
        #expect(drained.data.map(\.1) == inOrder.data.map(\.1))
        let a = try #require(inOrder.records.first)
        let b = try #require(drained.records.first)
        #expect(a.anomaliesUp.conflicts == 1)
        #expect(b.anomaliesUp.conflicts == 1)
        #expect(a.anomaliesUp.retransmissions == 1 && b.anomaliesUp.retransmissions == 1)
        #expect(a.anomaliesUp.outOfOrder == 0)
        #expect(b.anomaliesUp.outOfOrder == texts.count - 1)
    }
}
