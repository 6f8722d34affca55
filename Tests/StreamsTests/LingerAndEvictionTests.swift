import Core
import Records
import Streams
import Testing

/// Late packets after a close stay on their connection; evictions are marked, and count as a
/// limit hit only when held data was lost.
@Suite struct LingerAndEvictionTests {
    static let closing: [Seg] = [
        .c(1000, "", [.syn]), .s(5000, "", [.syn, .ack], ack: 1001), .c(1001, "hi", at: 1),
        .c(1003, "", [.fin, .ack], at: 10), .s(5001, "", [.fin, .ack], at: 11),
    ]

    /// The closing sequence, then one late client segment `ms` after the close (at 11 ms).
    static func closeThenLate(_ late: Seg) -> (StreamRecorder, ConnectionTable) {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var feeder = Feeder()
        feeder.feed(closing, to: table)
        feeder.feed(late, to: table)
        table.finish()
        return (recorder, table)
    }

    @Test func finalAckLongAfterTheCloseStaysOnTheConnection() throws {
        let (recorder, table) = Self.closeThenLate(.c(1004, "", [.ack], at: 5_011))
        #expect(recorder.records.count == 1)
        let r = try #require(recorder.record(1))
        #expect(r.packetsUp == 4)
        #expect(!r.state.contains(.midstream))
        #expect(table.statistics.connectionsClosed == 1)
    }

    @Test func retransmittedFinAndLateRstStayOnTheConnection() {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var feeder = Feeder()
        feeder.feed(Self.closing, to: table)
        feeder.feed([.c(1003, "", [.fin, .ack], at: 3_011), .s(5002, "", [.rst], at: 30_011)], to: table)
        table.finish()
        #expect(recorder.records.count == 1)
        #expect(recorder.record(1)?.packetsUp == 4)
        #expect(recorder.record(1)?.packetsDown == 3)
    }

    @Test func lateSegmentJustInsideTheLingerStaysOneAtTheLingerStartsAnother() {
        let linger = StreamLimits().closeLinger / 1_000_000
        let (inside, _) = Self.closeThenLate(.c(1004, "", [.ack], at: 11 + linger - 1))
        #expect(inside.records.count == 1)
        let (past, _) = Self.closeThenLate(.c(1004, "", [.ack], at: 11 + linger))
        #expect(past.records.map(\.id) == [1, 2])
        #expect(past.record(2)?.state.contains(.midstream) == true)
    }

    @Test func newSynOnAClosedTupleStillStartsANewConnection() {
        let (recorder, table) = Self.closeThenLate(.c(90_000, "", [.syn], at: 2_011))
        #expect(recorder.records.map(\.id) == [1, 2])
        #expect(recorder.record(2)?.handshake == .unanswered)
        #expect(table.statistics.connectionsReused == 1)
    }

    @Test func lingeringConnectionFlushesHeldDataAfterTheHoleTimeout() {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var feeder = Feeder()
        // "b" waits beyond a one-byte hole when both FINs close the connection.
        feeder.feed([
            .c(1000, "", [.syn]), .s(5000, "", [.syn, .ack], ack: 1001), .c(1002, "b", at: 1),
            .c(1003, "", [.fin, .ack], at: 2), .s(5001, "", [.fin, .ack], at: 2),
        ], to: table)
        table.advanceClock(to: Hosts.base.adding(nanoseconds: 3_002_000_000))
        #expect(recorder.text(1, .up) == "<gap 1>b")
        #expect(recorder.records.isEmpty)
        table.finish()
        #expect(recorder.record(1)?.anomaliesUp.gaps == 1)
    }

    // MARK: - Eviction

    /// `count` SYN-only connections through a table of `max`.
    static func synFlood(_ count: Int, max: Int) -> (StreamRecorder, ConnectionTable) {
        var limits = StreamLimits()
        limits.maxConnections = max
        let recorder = StreamRecorder()
        let table = ConnectionTable(limits: limits, delegate: recorder)
        for i in 0..<count {
            var feeder = Feeder(client: Endpoint(address: Hosts.client.address, port: UInt16(30_000 + i)))
            feeder.feed(Seg.c(7, "", [.syn], at: Int64(i)), to: table)
        }
        return (recorder, table)
    }

    @Test func synFloodAtTheLimitEvictsNothing() {
        let (recorder, table) = Self.synFlood(4, max: 4)
        #expect(recorder.records.isEmpty)
        #expect(table.statistics.connectionsEvicted == 0)
    }

    @Test func synFloodOnePastTheLimitEvictsWithoutClaimingLostData() throws {
        let (recorder, table) = Self.synFlood(5, max: 4)
        let r = try #require(recorder.record(1))
        #expect(r.state.contains(.evicted))
        #expect(r.anomaliesUp.limitReached == 0 && r.anomaliesDown.limitReached == 0)
        #expect(table.statistics.connectionsEvicted == 1)
        #expect(table.statistics.limitReached == 1)
    }

    @Test func evictedConnectionHoldingDataCountsTheLossInThatDirection() throws {
        var limits = StreamLimits()
        limits.maxConnections = 1
        let recorder = StreamRecorder()
        let table = ConnectionTable(limits: limits, delegate: recorder)
        var first = Feeder()
        first.feed([.c(1000, "", [.syn]), .c(1005, "late", at: 1)], to: table)  // 4 bytes held
        var second = Feeder(client: Endpoint(address: Hosts.client.address, port: 41_000))
        second.feed(Seg.c(1, "", [.syn], at: 2), to: table)
        let r = try #require(recorder.record(1))
        #expect(r.state.contains(.evicted))
        #expect(r.anomaliesUp.limitReached == 1)
        #expect(r.anomaliesDown.limitReached == 0)
        #expect(recorder.text(1, .up) == "<gap 4>late")
    }

    /// A full table evicts the least recently active lone SYN first (by its last packet, ties going to the
    /// older id), so connections in use (here 1 and 3, which sent bytes) outlast a flood of SYNs.
    @Test func evictionPicksTheLeastRecentlyActiveLoneSynsFirst() {
        var limits = StreamLimits()
        limits.maxConnections = 4
        let recorder = StreamRecorder()
        let table = ConnectionTable(limits: limits, delegate: recorder)
        func port(_ i: Int) -> Endpoint { Endpoint(address: Hosts.client.address, port: UInt16(30_000 + i)) }
        var feeders = (0..<8).map { Feeder(client: port($0)) }
        // Ids 1-4: 1 at 0 ms, 2 and 3 together at 1 ms, 4 at 2 ms; then 1 and 3 speak again.
        feeders[0].feed(Seg.c(7, "", [.syn], at: 0), to: table)
        feeders[1].feed(Seg.c(7, "", [.syn], at: 1), to: table)
        feeders[2].feed(Seg.c(7, "", [.syn], at: 1), to: table)
        feeders[3].feed(Seg.c(7, "", [.syn], at: 2), to: table)
        feeders[0].feed(Seg.c(8, "a", at: 3), to: table)
        feeders[2].feed(Seg.c(8, "b", at: 4), to: table)
        var evicted: [UInt64] = []
        for i in 4..<8 {
            feeders[i].feed(Seg.c(7, "", [.syn], at: Int64(5 + i)), to: table)
            evicted = recorder.records.map(\.id)
            if i == 4 { #expect(evicted == [2]) }
        }
        // Lone SYNs, least recent first: 2 (1 ms), 4 (2 ms), then the newer ones 5 and 6; 1 and 3 stay.
        #expect(evicted == [2, 4, 5, 6])
        #expect(recorder.records.allSatisfy { $0.state.contains(.evicted) })
        #expect(table.statistics.connectionsEvicted == 4)
        #expect(table.openConnections == 4)
    }

    /// Eviction order over many rounds matches a full sort by (lone SYN first, last activity, id), with
    /// connections going active again in between (each eviction takes 1/64 of the table).
    @Test func evictionOrderMatchesSortingByLastActivity() {
        var limits = StreamLimits()
        limits.maxConnections = 128
        let recorder = StreamRecorder()
        let table = ConnectionTable(limits: limits, delegate: recorder)
        var feeders: [Feeder] = []
        var last: [UInt64: Int64] = [:]
        var spoke: Set<UInt64> = []
        var ms: Int64 = 0
        var expected: [UInt64] = []
        for i in 0..<400 {
            if table.openConnections == limits.maxConnections {
                // The two least recently active (last, then id) go before this one opens.
                func rank(_ e: (key: UInt64, value: Int64)) -> (Int, Int64, UInt64) {
                    (spoke.contains(e.key) ? 1 : 0, e.value, e.key)
                }
                let victims = last.sorted { rank($0) < rank($1) }.prefix(2).map(\.key)
                expected += victims
                for v in victims { last[v] = nil }
            }
            feeders.append(Feeder(client: Endpoint(address: Hosts.client.address, port: UInt16(20_000 + i))))
            feeders[i].feed(Seg.c(7, "", [.syn], at: ms), to: table)
            last[UInt64(i + 1)] = ms
            // Every third step, an older connection still in the table speaks (same time as the new one).
            let older = (i * 37) % (i + 1)
            if i % 3 == 0, last[UInt64(older + 1)] != nil {
                feeders[older].feed(Seg.c(8 + UInt32(i), "x", at: ms), to: table)
                last[UInt64(older + 1)] = ms
                spoke.insert(UInt64(older + 1))
            }
            if i % 2 == 0 { ms += 1 }
        }
        #expect(recorder.records.map(\.id) == expected)
        #expect(expected.count > 100)
    }

    @Test func fullTableEmitsLingeringClosedConnectionsBeforeEvictingOpenOnes() throws {
        var limits = StreamLimits()
        limits.maxConnections = 2
        let recorder = StreamRecorder()
        let table = ConnectionTable(limits: limits, delegate: recorder)
        var open = Feeder(client: Endpoint(address: Hosts.client.address, port: 41_000))
        open.feed(Seg.c(1, "", [.syn], at: 0), to: table)  // least recently active, but open
        var closed = Feeder()
        closed.feed(Self.closing.map { var s = $0; s.ms += 100; return s }, to: table)
        var third = Feeder(client: Endpoint(address: Hosts.client.address, port: 42_000))
        third.feed(Seg.c(1, "", [.syn], at: 200), to: table)
        #expect(recorder.records.map(\.id) == [2])
        #expect(recorder.record(2)?.state.contains(.evicted) == false)
        #expect(table.statistics.connectionsClosed == 1)
        #expect(table.statistics.connectionsEvicted == 0)
    }
}

/// The idle timeout fits SEP push mode: one connection speaking every 300 s stays one connection.
@Suite struct IdleTimeoutDefaultTests {
    @Test func pushModeConnectionSpeakingEveryFiveMinutesStaysOne() throws {
        var segs: [Seg] = [.c(1000, "", [.syn]), .s(5000, "", [.syn, .ack], ack: 1001)]
        for k in 0..<8 {
            segs.append(.c(1001 + UInt32(k), "x", at: Int64(k) * 300_000 + 1))
        }
        let (recorder, table) = run(segs)
        #expect(recorder.records.count == 1)
        #expect(recorder.record(1)?.packetsUp == 9)
        #expect(table.statistics.connectionsTimedOut == 0)
    }

    @Test func defaultIdleTimeoutAtTheLimitKeepsOnePastItFlushes() {
        let idle = StreamLimits().idleTimeout
        #expect(idle >= 30 * 60 * 1_000_000_000)  // the longest heartbeat an administrator can set
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var feeder = Feeder()
        feeder.feed([.c(1000, "", [.syn]), .c(1001, "abc", at: 0)], to: table)
        table.advanceClock(to: Hosts.base.adding(nanoseconds: idle - 1))
        #expect(recorder.records.isEmpty)
        table.advanceClock(to: Hosts.base.adding(nanoseconds: idle))
        #expect(recorder.records.count == 1)
        #expect(table.statistics.connectionsTimedOut == 1)
    }
}

/// What a tracked connection and a record cost, and when buffers go.
@Suite struct ConnectionCostTests {
    @Test func recordsAndCountersStayCompact() {
        #expect(MemoryLayout<StreamAnomalies>.size <= 40)
        #expect(MemoryLayout<ConnectionRecord>.size <= 340)
        var a = StreamAnomalies()
        a.gaps = Int.max  // saturates instead of trapping
        #expect(a.gaps == Int(UInt32.max))
        a.gapBytes = Int64.max
        #expect(a.gapBytes == Int64.max)
        #expect(a != StreamAnomalies())
    }

    /// "abc", quiet for `quietMs`, then a changed copy of its first bytes.
    static func conflictsAfterQuiet(_ quietMs: Int64) -> Int? {
        let (recorder, _) = run([
            .c(1000, "", [.syn]), .s(5000, "", [.syn, .ack], ack: 1001), .c(1001, "abc", at: 1),
            .c(1001, "abX", at: 1 + quietMs),
        ])
        return recorder.record(1)?.anomaliesUp.conflicts
    }

    @Test func quietConnectionKeepsItsHistoryUntilTheLingerThenFreesIt() {
        let linger = StreamLimits().closeLinger / 1_000_000
        // Sweeps run every 250 ms of capture time: well inside, the history compares; past, it is gone.
        #expect(Self.conflictsAfterQuiet(linger - 500) == 1)
        #expect(Self.conflictsAfterQuiet(linger + 500) == 0)
    }
}
