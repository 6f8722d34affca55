import Core
import Records
import Streams
import Testing

/// Limits are tested in pairs: at the bound nothing gives, one past it the bound acts.
@Suite struct StreamLimitsTests {
    /// Holding a 3-byte segment costs 3 bytes plus 64 bytes of per-piece overhead.
    private static let heldCost = 3 + 64

    private func holdThenFill(perConnection: Int) -> (StreamRecorder, ConnectionTable) {
        var limits = StreamLimits()
        limits.maxBufferedBytesPerConnection = perConnection
        return run([.c(1000, "", [.syn]), .c(1004, "def", at: 1), .c(1001, "abc", at: 2)], limits: limits)
    }

    @Test func perConnectionBoundAtTheLimitHoldsData() throws {
        let (recorder, table) = holdThenFill(perConnection: Self.heldCost)
        #expect(recorder.text(1, .up) == "abcdef")
        let r = try #require(recorder.record(1))
        #expect(r.anomaliesUp == anomalies(outOfOrder: 1))
        #expect(table.statistics.limitReached == 0)
        #expect(table.statistics.bufferedBytesHighWater == Self.heldCost)
        #expect(table.statistics.bufferedBytes == 0)
    }

    @Test func perConnectionBoundOnePastTheLimitTurnsTheHoleIntoAGap() throws {
        let (recorder, table) = holdThenFill(perConnection: Self.heldCost - 1)
        #expect(recorder.text(1, .up) == "<gap 3>def")
        let r = try #require(recorder.record(1))
        #expect(r.anomaliesUp == anomalies(gaps: 1, gapBytes: 3, retransmissions: 1, limitReached: 1, repeatedBytes: 3))
        #expect(table.statistics.limitReached == 1)
        #expect(table.statistics.bufferedBytesHighWater == 0)
        #expect(recorder.events.contains(.notice(id: 1, .up, .limitReached(.bufferedBytesPerConnection))))
    }

    @Test func perConnectionBoundCountsBothDirections() throws {
        var limits = StreamLimits()
        limits.maxBufferedBytesPerConnection = 2 * Self.heldCost - 1
        let (recorder, _) = run([
            .c(1000, "", [.syn]), .s(5000, "", [.syn, .ack], ack: 1001),
            .c(1004, "def"), .s(5004, "xyz"),
        ], limits: limits)
        #expect(recorder.record(1)?.anomaliesUp.limitReached == 0)
        #expect(recorder.record(1)?.anomaliesDown.limitReached == 1)
        #expect(recorder.text(1, .down) == "<gap 3>xyz")
    }

    private func twoConnectionsHolding(total: Int) -> (StreamRecorder, ConnectionTable) {
        var limits = StreamLimits()
        limits.maxBufferedBytesTotal = total
        let recorder = StreamRecorder()
        let table = ConnectionTable(limits: limits, delegate: recorder)
        var first = Feeder()
        var second = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0003), port: 40_001))
        first.feed([.c(1000, "", [.syn]), .c(1004, "def")], to: table)
        second.feed([.c(2000, "", [.syn]), .c(2004, "uvw")], to: table)
        first.feed(.c(1001, "abc"), to: table)
        second.feed(.c(2001, "rst"), to: table)
        table.finish()
        return (recorder, table)
    }

    @Test func totalBoundAtTheLimitHoldsForAllConnections() {
        let (recorder, table) = twoConnectionsHolding(total: 2 * Self.heldCost)
        #expect(recorder.text(1, .up) == "abcdef")
        #expect(recorder.text(2, .up) == "rstuvw")
        #expect(table.statistics.limitReached == 0)
        #expect(table.statistics.bufferedBytesHighWater == 2 * Self.heldCost)
    }

    @Test func totalBoundOnePastTheLimitIsCountedOnTheConnectionThatHitIt() {
        let (recorder, table) = twoConnectionsHolding(total: 2 * Self.heldCost - 1)
        #expect(recorder.text(1, .up) == "abcdef")
        #expect(recorder.text(2, .up) == "<gap 3>uvw")
        #expect(recorder.record(2)?.anomaliesUp.limitReached == 1)
        #expect(table.statistics.limitReached == 1)
        #expect(recorder.events.contains(.notice(id: 2, .up, .limitReached(.bufferedBytesTotal))))
    }

    private func heldBeyondHole(_ held: String) -> StreamRecorder {
        var limits = StreamLimits()
        limits.gapAfterBufferedBytes = 5
        return run([.c(1000, "", [.syn]), .c(1001, "a"), .c(1003, held), .c(1002, "b")], limits: limits).0
    }

    @Test func gapRuleAtTheBoundKeepsWaiting() {
        let recorder = heldBeyondHole("cdefg")
        #expect(recorder.text(1, .up) == "abcdefg")
    }

    @Test func gapRuleOnePastTheBoundDeclaresTheGap() {
        let recorder = heldBeyondHole("cdefgh")
        #expect(recorder.text(1, .up) == "a<gap 1>cdefgh")
        #expect(recorder.record(1)?.anomaliesUp == anomalies(
            gaps: 1, gapBytes: 1, retransmissions: 1, outOfOrder: 1, repeatedBytes: 1))
    }

    private func connections(_ count: Int, max: Int) -> (StreamRecorder, ConnectionTable) {
        var limits = StreamLimits()
        limits.maxConnections = max
        let recorder = StreamRecorder()
        let table = ConnectionTable(limits: limits, delegate: recorder)
        for i in 0..<count {
            let client = Endpoint(address: Hosts.client.address, port: UInt16(40_000 + i))
            var feeder = Feeder(client: client)
            feeder.feed(Seg.c(1001, "c\(i)", at: Int64(i)), to: table)
        }
        return (recorder, table)
    }

    @Test func connectionBoundAtTheLimitEvictsNothing() {
        let (recorder, table) = connections(2, max: 2)
        #expect(recorder.records.isEmpty)
        #expect(table.openConnections == 2)
        #expect(table.statistics.connectionsEvicted == 0)
    }

    @Test func connectionBoundOnePastTheLimitEvictsTheLeastRecent() throws {
        let (recorder, table) = connections(3, max: 2)
        #expect(recorder.records.map(\.id) == [1])
        let evicted = try #require(recorder.record(1))
        // Nothing was held, so nothing was lost: evicted, but no limit hit on the record.
        #expect(evicted.anomaliesUp.limitReached == 0)
        #expect(evicted.state.contains(.evicted))
        #expect(evicted.state.contains(.openAtEnd))
        #expect(table.openConnections == 2)
        #expect(table.statistics.connectionsEvicted == 1)
        #expect(table.statistics.limitReached == 1)
        #expect(table.statistics.connectionsHighWater == 2)
    }
}
