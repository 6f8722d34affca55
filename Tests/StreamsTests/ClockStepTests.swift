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

    /// Counts the delegate's clock steps besides recording the rest.
    final class StepRecorder: StreamDelegate {
        let streams = StreamRecorder()
        var steps: [ClockStep] = []
        func connectionOpened(id: UInt64, client: Endpoint, server: Endpoint, vlan: VLANTags, time: Timestamp) {
            streams.connectionOpened(id: id, client: client, server: server, vlan: vlan, time: time)
        }
        func didReceive(data: UnsafeRawBufferPointer, direction: Direction, connection: UInt64, time: Timestamp) {
            streams.didReceive(data: data, direction: direction, connection: connection, time: time)
        }
        func didSkip(gapBytes: Int64, direction: Direction, connection: UInt64, time: Timestamp) {
            streams.didSkip(gapBytes: gapBytes, direction: direction, connection: connection, time: time)
        }
        func connectionClosed(_ record: ConnectionRecord) { streams.connectionClosed(record) }
        func clockStep(_ step: ClockStep) { steps.append(step) }
    }

    @Test(arguments: [hour + 1, 24 * hour, 10 * 365 * 24 * hour])
    func strayFlowFarAheadExpiresNothingAndIsCounted(ahead ms: Int64) throws {
        let recorder = StepRecorder()
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

        let streams = recorder.streams
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
        let recorder = StepRecorder()
        let table = ConnectionTable(delegate: recorder)
        var idle = Feeder()
        idle.feed([.c(1000, "", [.syn]), .c(1001, "abc", at: 1)], to: table)
        // Two hours later (a capture paused, or its clock set forward), two other flows speak.
        var first = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0003), port: 41_000))
        var second = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0004), port: 42_000))
        first.feed([.c(3000, "", [.syn], at: 2 * Self.hour), .c(3001, "x", at: 2 * Self.hour + 1)], to: table)
        #expect(recorder.streams.records.isEmpty, "one flow alone does not move the clock yet")
        second.feed(.c(4000, "", [.syn], at: 2 * Self.hour + 2), to: table)
        #expect(recorder.streams.records.map(\.id) == [1])
        #expect(recorder.streams.record(1)?.state.contains(.openAtEnd) == true)
        #expect(table.statistics.connectionsTimedOut == 1)
        #expect(recorder.steps == [.held, .held, .confirmed(segments: 2)])
        // The old flow speaking again is a new connection, not a packet stamped far behind.
        idle.feed(.c(1004, "def", at: 2 * Self.hour + 3), to: table)
        table.finish()
        #expect(recorder.streams.records.map(\.id) == [1, 2, 3, 4])
        #expect(recorder.streams.record(4)?.handshake == .midstream)
        #expect(table.statistics.segmentsAheadOfClock == 0)
    }

    @Test func oneFlowAloneAfterAQuietStretchIsJudgedByItsOwnTimeAndNotCounted() {
        let recorder = StepRecorder()
        let table = ConnectionTable(delegate: recorder)
        var only = Feeder()
        var closed = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0003), port: 41_000))
        closed.feed([.c(7000, "", [.syn]), .c(7001, "", [.rst], at: 1)], to: table)
        only.feed([.c(1000, "", [.syn]), .c(1001, "abc", at: 2)], to: table)
        // Five minutes quiet, then the same flow again; then two hours quiet, and again.
        only.feed(.c(1004, "def", at: 300_002), to: table)
        only.feed(.c(1007, "ghi", at: 2 * Self.hour + 300_002), to: table)
        table.finish()
        let streams = recorder.streams
        #expect(streams.text(2, .up) == "abcdef")
        #expect(streams.record(2)?.state.contains(.openAtEnd) == true)
        #expect(streams.record(3)?.handshake == .midstream)
        #expect(streams.text(3, .up) == "ghi")
        #expect(table.statistics.segmentsAheadOfClock == 0)
        #expect(table.statistics.connectionsTimedOut == 1)
    }

    @Test func aStepWithinTheBoundMovesTheClockAtOnce() {
        var limits = StreamLimits()
        limits.idleTimeout = 30_000_000_000
        let recorder = StepRecorder()
        let table = ConnectionTable(limits: limits, delegate: recorder)
        var a = Feeder()
        var b = Feeder(client: Endpoint(address: IPAddress(ipv4: 0x0a00_0003), port: 41_000))
        a.feed(.c(1000, "", [.syn]), to: table)
        b.feed(.c(2000, "", [.syn], at: 59_000), to: table)
        #expect(recorder.streams.records.map(\.id) == [1])
        #expect(recorder.steps.isEmpty)
    }
}
