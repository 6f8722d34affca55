import Core
import Records
import Testing

@testable import Streams

/// Retransmission-history rings are given back when a connection is emitted and reused by the next
/// connections; a reused ring holds the old connection's bytes, which must never be compared.
@Suite struct HistoryRingTests {
    private static let other = Endpoint(address: IPAddress(ipv4: 0x0a00_0003), port: 40_001)

    /// A connection of `feeder` sending `up` and answered `down`, then reset by the client.
    private func converse(_ feeder: inout Feeder, up: String, down: String, table: ConnectionTable) {
        feeder.feed([
            .c(1000, "", [.syn], at: 0), .s(5000, "", [.syn, .ack], at: 0, ack: 1001),
            .c(1001, up, at: 1), .s(5001, down, at: 2), .c(1001 + UInt32(up.utf8.count), "", [.rst], at: 3),
        ], to: table)
    }

    /// A second connection: its SYN at 30 s, then (past the first one's close linger, which emits
    /// that one) `up` at 70 s; the clock moves in steps the table takes as it is.
    private func openSecond(_ feeder: inout Feeder, up: String, table: ConnectionTable) {
        feeder.feed([.c(1000, "", [.syn], at: 30_000), .s(5000, "", [.syn, .ack], at: 30_000, ack: 1001),
                     .c(1001, up, at: 70_000)], to: table)
    }

    @Test func ringsOfAnEmittedConnectionAreReused() {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var first = Feeder()
        converse(&first, up: "GET / HTTP/1.1\r\n\r\n", down: "HTTP/1.1 200 OK\r\n\r\n", table: table)
        #expect(table.historyRings.count == 0)
        // Past its close linger the first connection is emitted and both its rings are kept.
        var second = Feeder(client: Self.other)
        openSecond(&second, up: "xy", table: table)
        #expect(recorder.records.count == 1)
        // Two given back, one taken again by the second connection's first data (up only so far).
        #expect(table.historyRings.count == 1)
    }

    @Test func aReusedRingComparesOnlyItsOwnBytes() {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var first = Feeder()
        converse(&first, up: "abcdefgh", down: "12345678", table: table)
        var second = Feeder(client: Self.other)
        openSecond(&second, up: "abcd", table: table)
        #expect(recorder.records.count == 1)
        #expect(table.historyRings.count == 1)  // the second connection's up ring is a reused one
        let later: Int64 = 70_000
        // The same bytes again, then 4 bytes before the stream's start (never delivered on this
        // connection, though the ring's old contents hold bytes there) and a changed byte.
        second.feed([.c(1001, "abcd", at: later + 3), .c(997, "wxyz", at: later + 4),
                     .c(1002, "bXd", at: later + 5)], to: table)
        table.finish()
        let record = recorder.records.first { $0.client == Self.other }
        #expect(recorder.bytes(2, .up) == Array("abcd".utf8))
        #expect(record?.anomaliesUp.conflicts == 1)
        #expect(record?.anomaliesUp.retransmissions == 3)
    }

    @Test func sparesAreBounded() {
        let rings = HistoryRings()
        for _ in 0..<(HistoryRings.maxSpare + 10) {
            rings.giveBack([UInt8](repeating: 0, count: 64), capacity: 64)
        }
        #expect(rings.count == HistoryRings.maxSpare)
        // A ring of another size is not kept, and a request for another size empties the spares.
        rings.giveBack([UInt8](repeating: 0, count: 32), capacity: 64)
        #expect(rings.count == HistoryRings.maxSpare)
        #expect(rings.take(capacity: 128).count == 128)
        #expect(rings.count == 0)
    }
}
