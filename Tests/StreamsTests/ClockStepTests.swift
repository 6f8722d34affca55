import Core
import Records
import Streams
import Testing

/// The table's clock and steps far ahead of it: one flow stamped an hour ahead (an interface whose
/// clock is off) neither expires nor cuts the others' connections, and is counted; a jump of the
/// whole capture (every flow ahead together) still moves the clock and expires idle connections.
@Suite struct ClockStepTests {
    static let stray = Feeder(
        client: Endpoint(address: IPAddress(ipv4: 0xc000_0201), port: 1234),
        server: Endpoint(address: IPAddress(ipv4: 0xc000_0202), port: 9))
    static let hour: Int64 = 3_600_000

    @Test(arguments: [hour + 1, 24 * hour, 10 * 365 * 24 * hour])
    func strayFlowFarAheadExpiresNothingAndIsCounted(ahead ms: Int64) throws {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var main = Feeder()
        var other = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0003), port: 41_000))
        var stray = Self.stray
        // In capture order: a connection with a hole (bytes 1004-1006) filled 2.5 s later, quiet for nine
        // minutes, then speaking again; another closing, its final ACK 50 s after the close. A stray ACK
        // far ahead follows every packet but the last.
        let timeline: [(main: Bool, seg: Seg)] = [
            (true, .c(1000, "", [.syn])), (false, .c(7000, "", [.syn])),
            (false, .s(9000, "", [.syn, .ack], at: 1, ack: 7001)), (true, .c(1001, "abc", at: 1)),
            (true, .c(1007, "ghi", at: 2)), (false, .c(7001, "", [.fin, .ack], at: 3)),
            (false, .s(9001, "", [.fin, .ack], at: 4)), (true, .c(1004, "def", at: 2_500)),
            (false, .c(7002, "", [.ack], at: 50_004)), (true, .c(1010, "jkl", at: 600_000)),
            (true, .c(1013, "mno", at: 600_001)),
        ]
        for (k, step) in timeline.enumerated() {
            if step.main { main.feed(step.seg, to: table) } else { other.feed(step.seg, to: table) }
            guard k < timeline.count - 1 else { break }
            stray.feed(.c(50, "", [.ack], at: step.seg.ms + ms, ack: UInt32(k)), to: table)
        }
        table.finish()

        let streams = recorder
        #expect(streams.text(1, .up) == "abcdefghijklmno")
        #expect(streams.record(1)?.anomaliesUp.gaps == 0)
        #expect(streams.records.filter { $0.client.port == 41_000 }.count == 1)
        #expect(streams.records.filter { $0.client.port == 40_000 }.count == 1)
        #expect(table.statistics.connectionsTimedOut == 0)
        // 10 strays, each withdrawn by the next packet near the clock.
        #expect(table.statistics.segmentsAheadOfClock == 10)
        #expect(recorder.steps.count { $0 == .held } == 10)
        #expect(recorder.steps.count { $0 == .withdrawn(segments: 1) } == 10)
        #expect(!recorder.steps.contains { if case .confirmed = $0 { true } else { false } })
    }

    @Test func wholeCaptureJumpStillExpiresIdleConnectionsOnceASecondFlowIsThere() throws {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var idle = Feeder()
        idle.feed([.c(1000, "", [.syn]), .c(1001, "abc", at: 1)], to: table)
        // Two hours later (a capture paused, or its clock set forward), two other flows speak.
        var first = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0003), port: 41_000))
        var second = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0004), port: 42_000))
        first.feed([.c(3000, "", [.syn], at: 2 * Self.hour), .c(3001, "x", at: 2 * Self.hour + 1)], to: table)
        #expect(recorder.records.isEmpty, "one flow alone does not move the clock yet")
        // A second flow at once is not enough (one interface far ahead may carry several flows) ...
        second.feed(.c(4000, "", [.syn], at: 2 * Self.hour + 2), to: table)
        #expect(recorder.records.isEmpty)
        // ... its time going on for 10 s with nothing at the old time in between is.
        second.feed(.c(4001, "y", at: 2 * Self.hour + 10_000), to: table)
        #expect(recorder.records.map(\.id) == [1])
        #expect(recorder.record(1)?.state.contains(.openAtEnd) == true)
        #expect(table.statistics.connectionsTimedOut == 1)
        #expect(recorder.steps == [.held, .held, .held, .held, .confirmed(segments: 4)])
        // The old flow speaking again is a new connection, not a packet stamped far behind.
        idle.feed(.c(1004, "def", at: 2 * Self.hour + 10_001), to: table)
        table.finish()
        #expect(recorder.records.map(\.id) == [1, 2, 3, 4])
        #expect(recorder.record(4)?.handshake == .midstream)
        #expect(table.statistics.segmentsAheadOfClock == 0)
    }

    @Test func oneFlowAloneAfterAQuietStretchIsJudgedByItsOwnTimeAndNotCounted() {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var only = Feeder()
        var closed = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0003), port: 41_000))
        closed.feed([.c(7000, "", [.syn]), .c(7001, "", [.rst], at: 1)], to: table)
        only.feed([.c(1000, "", [.syn]), .c(1001, "abc", at: 2)], to: table)
        // Five minutes quiet, then the same flow again; then two hours quiet, and again.
        only.feed(.c(1004, "def", at: 300_002), to: table)
        only.feed(.c(1007, "ghi", at: 2 * Self.hour + 300_002), to: table)
        table.finish()
        let streams = recorder
        #expect(streams.text(2, .up) == "abcdef")
        #expect(streams.record(2)?.state.contains(.openAtEnd) == true)
        #expect(streams.record(3)?.handshake == .midstream)
        #expect(streams.text(3, .up) == "ghi")
        #expect(table.statistics.segmentsAheadOfClock == 0)
        #expect(table.statistics.connectionsTimedOut == 1)
    }

    /// In a sparse capture (a few clients: minutes between check-ins) a check-in's segments come ahead of the
    /// clock, held in a step of their own until another flow confirms it; one of them stamped a day ahead (a
    /// corrupt time) is taken at its connection's time as on a clock that is current, not ending the
    /// connection as idle and opening one a day later (a check-in lasting a day once rejoined).
    @Test(arguments: [hour, 24 * hour])
    func aPacketFarAheadInACheckInHeldAheadOfTheClockMovesNothing(ahead ms: Int64) {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var a = Feeder()
        var b = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0003), port: 41_000))
        var late = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0004), port: 43_000))
        // Two flows over 11 s: the clock is trusted. Then two minutes with no packet.
        a.feed([.c(1000, "", [.syn]), .c(1001, "x", at: 11_000)], to: table)
        b.feed(.c(2000, "", [.syn], at: 1), to: table)
        let t: Int64 = 131_000
        late.feed([.c(5000, "", [.syn], at: t), .s(9000, "", [.syn, .ack], at: t + 1, ack: 5001),
                   .c(5001, "abc", at: t + 2 + ms), .c(5004, "def", at: t + 3),
                   .s(9001, "ok", at: t + 4, ack: 5007), .c(5007, "", [.fin, .ack], at: t + 5)], to: table)
        table.finish()
        let pieces = recorder.records.filter { $0.client.port == 43_000 }
        #expect(pieces.count == 1)
        #expect(pieces.first?.start == Hosts.base.adding(nanoseconds: t * 1_000_000))
        #expect(pieces.first?.end == Hosts.base.adding(nanoseconds: (t + 5) * 1_000_000))
        if let id = pieces.first?.id { #expect(recorder.text(id, .up) == "abcdef") }
        #expect(table.statistics.segmentsAheadOfClock == 1)
    }

    @Test func aStepWithinTheBoundMovesTheClockAtOnce() {
        var limits = StreamLimits()
        limits.idleTimeout = 30_000_000_000
        let recorder = StreamRecorder()
        let table = ConnectionTable(limits: limits, delegate: recorder)
        var a = Feeder()
        var b = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0003), port: 41_000))
        a.feed(.c(1000, "", [.syn]), to: table)
        b.feed(.c(2000, "", [.syn], at: 59_000), to: table)
        #expect(recorder.records.map(\.id) == [1])
        #expect(recorder.steps.isEmpty)
    }

    /// Two interfaces, one stamped an hour ahead, the one ahead speaking first with two flows: the
    /// clock the first segments set goes back once two flows of the other interface speak an hour
    /// behind it, so neither interface's connections are cut, and the segments ahead are counted.
    @Test func anInterfaceAheadThatSpeaksFirstDoesNotKeepTheClock() {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var aheadA = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0011), port: 41_000))
        var aheadB = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0013), port: 43_000))
        var rightA = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0012), port: 42_000))
        var rightB = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0014), port: 44_000))
        let h = Self.hour
        aheadA.feed([.c(100, "", [.syn], at: h), .c(101, "a", at: h + 1)], to: table)
        aheadB.feed([.c(300, "", [.syn], at: h + 2), .c(301, "b", at: h + 3)], to: table)
        // The interface whose clock is right, an hour behind, then both going on for a minute.
        rightA.feed([.c(200, "", [.syn], at: 4), .c(201, "c", at: 5)], to: table)
        rightB.feed([.c(400, "", [.syn], at: 6), .c(401, "d", at: 7)], to: table)
        for k in 1...6 {
            let t = Int64(k) * 10_000
            rightA.feed(.c(UInt32(201 + k), "c", at: t), to: table)
            aheadA.feed(.c(UInt32(101 + k), "a", at: h + t), to: table)
            rightB.feed(.c(UInt32(401 + k), "d", at: t + 1), to: table)
            aheadB.feed(.c(UInt32(301 + k), "b", at: h + t + 1), to: table)
        }
        table.finish()
        let streams = recorder
        #expect(streams.records.count == 4, "no connection cut: \(streams.records.map(\.id))")
        #expect(table.statistics.connectionsTimedOut == 0)
        #expect(streams.text(3, .up) == "ccccccc")
        #expect(streams.text(1, .up) == "aaaaaaa")
        // The four segments near the first clock, then each step ahead withdrawn by the next packet.
        #expect(table.statistics.segmentsAheadOfClock >= 4)
    }

    /// One flow stamped a day behind right at the start moves nothing: the fleet's clock stays.
    @Test func oneFlowBehindAtTheStartMovesNothing() {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var main = Feeder()
        var other = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0003), port: 41_000))
        var stray = Self.stray
        main.feed(.c(1000, "", [.syn], at: 24 * Self.hour), to: table)
        stray.feed(.c(50, "", [.ack], at: 0), to: table)
        other.feed(.c(7000, "", [.syn], at: 24 * Self.hour + 1), to: table)
        stray.feed(.c(50, "", [.ack], at: 1, ack: 1), to: table)
        main.feed(.c(1001, "abc", at: 24 * Self.hour + 2), to: table)
        table.finish()
        #expect(recorder.text(1, .up) == "abc")
        #expect(table.statistics.segmentsAheadOfClock == 0)
        #expect(!recorder.steps.contains { if case .withdrawn = $0 { true } else { false } })
    }

    /// Four flows, two per interface, one interface a day off (`off` ms).
    struct TwoInterfaces {
        var offA = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0011), port: 41_000))
        var offB = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0013), port: 43_000))
        var rightA = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0012), port: 42_000))
        var rightB = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0014), port: 44_000))
        var offSeq: UInt32 = 100
        var rightSeq: UInt32 = 200

        /// One byte on each flow of the interface off, at `ms` of its own time (`off` added).
        mutating func off(_ ms: Int64, _ offset: Int64, _ table: ConnectionTable) {
            offSeq += 1
            offA.feed(.c(offSeq, "a", at: ms + offset), to: table)
            offB.feed(.c(offSeq + 1000, "b", at: ms + offset + 1), to: table)
        }

        mutating func right(_ ms: Int64, _ table: ConnectionTable) {
            rightSeq += 1
            rightA.feed(.c(rightSeq, "c", at: ms), to: table)
            rightB.feed(.c(rightSeq + 1000, "d", at: ms + 1), to: table)
        }

        /// SYNs of the interface off at `offset` of its own time, or of the other at `at`.
        mutating func openOff(_ table: ConnectionTable, _ offset: Int64) {
            offA.feed(.c(offSeq, "", [.syn], at: offset), to: table)
            offB.feed(.c(offSeq + 1000, "", [.syn], at: offset + 1), to: table)
        }

        mutating func openRight(_ table: ConnectionTable, at ms: Int64) {
            rightA.feed(.c(rightSeq, "", [.syn], at: ms), to: table)
            rightB.feed(.c(rightSeq + 1000, "", [.syn], at: ms + 1), to: table)
        }
    }

    /// The interface a day ahead has the capture to itself for 30 s (two flows: the clock is trusted),
    /// then the other speaks alone for 30 s of its own time and both go on together: the clock goes back
    /// to the other's time once two of its flows spanned 10 s with nothing near the clock between, so no
    /// connection is cut, and the segments ahead are counted from then on.
    @Test func anInterfaceAheadThatSpeaksAloneFirstGivesTheClockBack() {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var io = TwoInterfaces()
        let day = 24 * Self.hour
        // Only the interface ahead for the first 30 s (its first packets read first)...
        io.openOff(table, day)
        for k in 1...30 { io.off(Int64(k) * 1000, day, table) }
        // ...then the other's first 30 s alone, then both.
        io.openRight(table, at: 0)
        for k in 1...30 { io.right(Int64(k) * 1000, table) }
        for k in 31...120 {
            io.right(Int64(k) * 1000, table)
            io.off(Int64(k) * 1000, day, table)
        }
        table.finish()
        let streams = recorder
        #expect(streams.records.count == 4, "no connection cut: \(streams.records.map(\.id))")
        #expect(table.statistics.connectionsTimedOut == 0)
        #expect(table.statistics.connectionsOpenAtEnd == 4)
        #expect(table.statistics.segmentsAheadOfClock >= 2 * 90 - 2)
    }

    /// The interface a day behind speaks first; its quiet 12 s lets the other's step ahead be confirmed,
    /// but it goes on at its own time among the other's packets: the clock goes back to it (the earlier
    /// of two clocks running together) once two of its flows spanned 10 s, and later quiet stretches of
    /// 12 s no longer move it. Its connections are cut only between the step and the way back (known
    /// limit), not over and over for the rest of the capture.
    @Test func aBusyInterfaceBehindTakesTheClockBackAfterAStepAndKeepsIt() {
        func run(until last: Int) -> StreamStatistics {
            let recorder = StreamRecorder()  // the table does not retain its delegate
            let table = ConnectionTable(delegate: recorder)
            var io = TwoInterfaces()
            let right = 24 * Self.hour
            io.openOff(table, 0)
            io.openRight(table, at: right)
            for k in 1...5 { io.off(Int64(k) * 1000, 0, table) }
            // The one behind quiet for 12 s: the other's two flows confirm a step.
            for k in 1...12 { io.right(right + 5000 + Int64(k) * 1000, table) }
            // Both together, with two more 12 s quiet stretches of the one behind after 40 s.
            for k in 18...last {
                io.right(right + Int64(k) * 1000, table)
                if !(40...52).contains(k), !(90...102).contains(k) { io.off(Int64(k) * 1000, 0, table) }
            }
            table.finish()
            return withExtendedLifetime(recorder) { table.statistics }
        }
        let early = run(until: 39)
        let whole = run(until: 140)
        #expect(early.connectionsTimedOut > 0 && early.connectionsTimedOut < 30)
        #expect(whole.connectionsTimedOut == early.connectionsTimedOut)
        // From the way back on, the other interface's segments are the ones counted ahead.
        #expect(whole.segmentsAheadOfClock > early.segmentsAheadOfClock + 2 * 90)
    }
}
