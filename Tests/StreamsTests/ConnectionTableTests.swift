import Core
import Records
import Streams
import Testing

private func endpoint(_ last: UInt32, _ port: UInt16) -> Endpoint {
    Endpoint(address: IPAddress(ipv4: 0x0a00_0000 | last), port: port)
}

/// A first packet and who should be judged the server.
struct RoleRow: Sendable, CustomTestStringConvertible {
    var name: String
    var source: Endpoint
    var destination: Endpoint
    var flags: TCPFlags
    var server: Endpoint
    var location: SourceLocation

    init(_ name: String, from source: Endpoint, to destination: Endpoint, _ flags: TCPFlags, server: Endpoint,
         fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column) {
        self.name = name
        self.source = source
        self.destination = destination
        self.flags = flags
        self.server = server
        self.location = SourceLocation(fileID: fileID, filePath: filePath, line: line, column: column)
    }

    var testDescription: String { name }
}

private let roleRows: [RoleRow] = [
    RoleRow("the SYN sender is the client even from a low port",
            from: endpoint(1, 80), to: endpoint(2, 50_000), [.syn], server: endpoint(2, 50_000)),
    RoleRow("the SYN-ACK sender is the server even from a high port",
            from: endpoint(2, 50_000), to: endpoint(1, 80), [.syn, .ack], server: endpoint(2, 50_000)),
    RoleRow("no SYN: the well-known port is the server (source side)",
            from: endpoint(2, 443), to: endpoint(1, 51_000), [.ack], server: endpoint(2, 443)),
    RoleRow("no SYN: the well-known port is the server (destination side)",
            from: endpoint(1, 51_000), to: endpoint(2, 443), [.ack], server: endpoint(2, 443)),
    RoleRow("no SYN: two well-known ports, the lower is the server",
            from: endpoint(1, 80), to: endpoint(2, 22), [.ack], server: endpoint(2, 22)),
    RoleRow("no SYN, no well-known port: the lower port is the server",
            from: endpoint(1, 8014), to: endpoint(2, 50_000), [.ack], server: endpoint(1, 8014)),
    RoleRow("no SYN, equal ports: the destination is the server",
            from: endpoint(1, 5000), to: endpoint(2, 5000), [.ack], server: endpoint(2, 5000)),
]

@Suite struct ConnectionTableTests {
    // MARK: - Client and server

    @Test(arguments: roleRows)
    func choosesClientAndServer(_ row: RoleRow) throws {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var feeder = Feeder(client: row.source, server: row.destination)
        feeder.feed(Seg.c(1000, "", row.flags), to: table)
        table.finish()

        let record = try #require(recorder.record(1), sourceLocation: row.location)
        #expect(record.server == row.server, sourceLocation: row.location)
        #expect(record.client == (row.server == row.source ? row.destination : row.source),
                sourceLocation: row.location)
        #expect(recorder.events.first == .opened(id: 1, client: record.client, server: record.server),
                sourceLocation: row.location)
    }

    // MARK: - Handshake

    @Test func establishedHandshakeTimesAndFlags() throws {
        let (recorder, _) = run([
            .c(1000, "", [.syn], at: 0), .s(5000, "", [.syn, .ack], at: 5, ack: 1001),
            .c(1001, "", [.ack], at: 6), .c(1001, "", [.fin, .ack], at: 20), .s(5001, "", [.fin, .ack], at: 21),
        ])
        let r = try #require(recorder.record(1))
        #expect(r.handshake == .established)
        #expect(r.synTime == Hosts.base)
        #expect(r.synAckTime == Hosts.base.adding(nanoseconds: 5_000_000))
        #expect(r.closeTime == Hosts.base.adding(nanoseconds: 20_000_000))
        #expect(r.start == Hosts.base)
        #expect(r.end == Hosts.base.adding(nanoseconds: 21_000_000))
        #expect(r.state == [.syn, .synAck, .finFromClient, .finFromServer])
        #expect(r.synCount == 1)
    }

    @Test func synAnsweredByRstIsRefused() throws {
        let (recorder, _) = run([.c(1000, "", [.syn]), .s(0, "", [.rst, .ack], at: 1, ack: 1001)])
        let r = try #require(recorder.record(1))
        #expect(r.handshake == .refused)
        #expect(r.state == [.syn, .rstFromServer])
        #expect(r.closeTime == Hosts.base.adding(nanoseconds: 1_000_000))
    }

    /// A SYN-ACK the capture lost: the client's data after its SYN (or the server's packets) show the
    /// connection was set up, so it is no failed connect.
    @Test func aLostSynAckStillLeavesTheConnectionEstablished() throws {
        let (clientOn, _) = run([.c(1000, "", [.syn]), .c(1001, "hello", at: 2), .s(5001, "ok", at: 3, ack: 1006)])
        #expect(try #require(clientOn.record(1)).handshake == .established)
        #expect(clientOn.text(1, .up) == "hello")
        let (serverOnly, _) = run([.c(1000, "", [.syn]), .s(5001, "ok", at: 3, ack: 1001)])
        #expect(try #require(serverOnly.record(1)).handshake == .established)
        // The client's own reset after its SYN (it gave up) is no answer.
        let gaveUp = run([.c(1000, "", [.syn]), .c(1001, "", [.rst], at: 3000)]).0
        #expect(try #require(gaveUp.record(1)).handshake == .unanswered)
        // A reset with nothing more from the client is still a refusal.
        let (reset, _) = run([.c(1000, "", [.syn]), .c(1000, "", [.syn], at: 1000),
                              .s(0, "", [.rst, .ack], at: 1001, ack: 1001)])
        #expect(try #require(reset.record(1)).handshake == .refused)
    }

    @Test func synRetriesWithNoAnswerAreUnanswered() throws {
        let (recorder, table) = run([.c(1000, "", [.syn], at: 0), .c(1000, "", [.syn], at: 1000),
                                     .c(1000, "", [.syn], at: 3000)])
        #expect(recorder.records.count == 1)
        let r = try #require(recorder.record(1))
        #expect(r.handshake == .unanswered)
        #expect(r.synCount == 3)
        #expect(r.packetsUp == 3)
        #expect(r.state == [.syn, .openAtEnd])
        #expect(table.statistics.connectionsOpenAtEnd == 1)
    }

    @Test func noSynIsMidstream() throws {
        let (recorder, _) = run([.s(5001, "", [.syn, .ack]), .c(1001, "x")])
        let r = try #require(recorder.record(1))
        #expect(r.handshake == .midstream)
        #expect(r.state == [.synAck, .midstream, .openAtEnd])
    }

    // MARK: - Counting

    @Test func countsEveryPacketAndWireLengthLikeTsharkTcpLen() throws {
        let dup = Seg.c(1004, "def").copy(ipID: 9)
        let (recorder, _) = run([
            .c(1000, "", [.syn]), .s(5000, "", [.syn, .ack], ack: 1001), .c(1001, "", [.ack]),
            .c(1001, "abc"), .c(1001, "abc"),  // retransmission
        ] + dup + [  // SPAN copy
            .c(1007, "ghij", wire: 100),  // cut by the snap length: 100 on the wire
            .s(5001, "hello"), .s(5001, "hello"),
        ])
        let r = try #require(recorder.record(1))
        #expect(r.packetsUp == 7)
        #expect(r.bytesUp == 3 + 3 + 3 + 3 + 100)
        #expect(r.packetsDown == 3)
        #expect(r.bytesDown == 10)
        #expect(r.anomaliesUp.duplicates == 1)
        #expect(r.anomaliesUp.retransmissions == 1)
        #expect(r.anomaliesUp.truncatedPackets == 1)
        #expect(r.anomaliesDown.retransmissions == 1)
    }

    // MARK: - Port reuse

    @Test func newSynAfterCloseStartsANewConnection() throws {
        let (recorder, table) = run([
            .c(1000, "", [.syn]), .s(5000, "", [.syn, .ack], ack: 1001), .c(1001, "one"),
            .c(1004, "", [.fin, .ack]), .s(5001, "", [.fin, .ack]),
            .c(90_000, "", [.syn], at: 100), .s(70_000, "", [.syn, .ack], at: 101, ack: 90_001),
            .c(90_001, "two", at: 102),
        ])
        #expect(recorder.records.map(\.id) == [1, 2])
        #expect(recorder.text(1, .up) == "one")
        #expect(recorder.text(2, .up) == "two")
        #expect(recorder.record(2)?.handshake == .established)
        #expect(table.statistics.connectionsReused == 1)
        #expect(table.statistics.connectionsOpened == 2)
    }

    @Test func synWithAnotherIsnOnAnOpenConnectionStartsANewOne() throws {
        let (recorder, _) = run([
            .c(1000, "", [.syn]), .s(5000, "", [.syn, .ack], ack: 1001), .c(1001, "one"),
            .c(777_000, "", [.syn], at: 50), .c(777_001, "two", at: 51),
        ])
        #expect(recorder.records.map(\.id) == [1, 2])
        #expect(recorder.record(1)?.state.contains(.openAtEnd) == true)
        #expect(recorder.text(2, .up) == "two")
    }

    @Test func synRetransmissionWithSameIsnStaysOnTheConnection() throws {
        let (recorder, _) = run([
            .c(1000, "", [.syn], at: 0), .c(1000, "", [.syn], at: 1000),
            .s(5000, "", [.syn, .ack], at: 1001, ack: 1001), .c(1001, "ok", at: 1002),
        ])
        #expect(recorder.records.count == 1)
        #expect(recorder.record(1)?.synCount == 2)
        #expect(recorder.text(1, .up) == "ok")
    }

    @Test func lateSynThatFitsAMidstreamConnectionStaysOnIt() throws {
        let (recorder, _) = run([.c(1001, "abc"), .c(1000, "", [.syn])])
        #expect(recorder.records.count == 1)
        #expect(recorder.record(1)?.handshake == .established || recorder.record(1)?.handshake == .unanswered)
        #expect(recorder.text(1, .up) == "abc")
    }

    // MARK: - Keys and ids

    @Test func vlanTagsSeparateConnectionsAndIdsFollowFirstPackets() throws {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var plain = Feeder()
        var tagged = Feeder(vlan: VLANTags([10]))
        tagged.feed(Seg.c(1001, "tagged", at: 0), to: table)
        plain.feed(Seg.c(1001, "plain", at: 1), to: table)
        tagged.feed(Seg.c(1007, "!", at: 2), to: table)
        table.finish()

        #expect(recorder.records.map(\.id) == [1, 2])
        #expect(recorder.record(1)?.vlan == VLANTags([10]))
        #expect(recorder.text(1, .up) == "tagged!")
        #expect(recorder.text(2, .up) == "plain")
    }

    @Test func eventsOfAConnectionStartWithOpenedAndEndWithClosed() {
        let (recorder, _) = run([.c(1000, "", [.syn]), .c(1001, "abc"), .c(1007, "ghi")])
        #expect(recorder.events.first == .opened(id: 1, client: Hosts.client, server: Hosts.server))
        #expect(recorder.events.last == .closed(id: 1))
        let closedAt = recorder.events.firstIndex(of: .closed(id: 1))
        #expect(closedAt == recorder.events.count - 1)
    }

    // MARK: - Emitting over time

    @Test func closedConnectionWaitsForTheLingerThenIsEmitted() {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var feeder = Feeder()
        feeder.feed([
            .c(1000, "", [.syn]), .s(5000, "", [.syn, .ack], ack: 1001),
            .c(1001, "", [.fin, .ack], at: 10), .s(5001, "", [.fin, .ack], at: 11),
            .c(1002, "", [.ack], at: 12),  // final ACK still belongs to the connection
        ], to: table)
        table.advanceClock(to: Hosts.base.adding(nanoseconds: 60_010_999_999))
        #expect(recorder.records.isEmpty)

        table.advanceClock(to: Hosts.base.adding(nanoseconds: 60_011_000_000))
        #expect(recorder.records.count == 1)
        #expect(recorder.record(1)?.packetsUp == 3)
        #expect(table.statistics.connectionsClosed == 1)
        #expect(table.openConnections == 0)
    }

    @Test func idleConnectionIsFlushedAtTheIdleTimeoutNotBefore() {
        var limits = StreamLimits()
        limits.idleTimeout = 10_000_000_000
        let recorder = StreamRecorder()
        let table = ConnectionTable(limits: limits, delegate: recorder)
        var feeder = Feeder()
        feeder.feed([.c(1000, "", [.syn]), .c(1001, "abc", at: 1)], to: table)

        table.advanceClock(to: Hosts.base.adding(nanoseconds: 10_000_999_999))
        #expect(recorder.records.isEmpty)
        table.advanceClock(to: Hosts.base.adding(nanoseconds: 10_001_000_000))
        #expect(recorder.records.count == 1)
        #expect(recorder.record(1)?.state.contains(.openAtEnd) == true)
        #expect(table.statistics.connectionsTimedOut == 1)

        feeder.feed(Seg.c(1004, "def", at: 20_000), to: table)
        table.finish()
        #expect(recorder.records.map(\.id) == [1, 2])
        #expect(recorder.record(2)?.handshake == .midstream)
        #expect(recorder.text(2, .up) == "def")
    }

    // MARK: - Mirror-port reordering and quiet periods

    @Test func synAckSeenBeforeTheSynKeepsOneConnectionAndTheRoles() throws {
        let (recorder, _) = run([
            .s(5000, "", [.syn, .ack], ack: 1001), .c(1000, "", [.syn]), .c(1001, "hi", ack: 5001),
        ])
        #expect(recorder.records.count == 1)
        let r = try #require(recorder.record(1))
        #expect(r.client == Hosts.client)
        #expect(r.handshake == .established)
        #expect(recorder.text(1, .up) == "hi")
    }

    @Test func holeTimesOutDuringAQuietPeriodWithoutFurtherSegments() {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var feeder = Feeder()
        feeder.feed([.c(1000, "", [.syn]), .c(1001, "abc", at: 0), .c(1007, "ghi", at: 1)], to: table)
        table.advanceClock(to: Hosts.base.adding(nanoseconds: 3_000_999_999))
        #expect(recorder.text(1, .up) == "abc")

        table.advanceClock(to: Hosts.base.adding(nanoseconds: 3_001_000_000))
        #expect(recorder.text(1, .up) == "abc<gap 3>ghi")
        #expect(recorder.records.isEmpty)
    }

    @Test func heldBytesKeepTheTimeOfTheirOwnPacket() {
        final class Times: StreamDelegate {
            var times: [Int64] = []
            func connectionOpened(id: UInt64, client: Endpoint, server: Endpoint, vlan: VLANTags,
                                  time: Timestamp) {}
            func didReceive(data: UnsafeRawBufferPointer, direction: Direction, connection: UInt64,
                            time: Timestamp) {
                times.append(time.nanoseconds(since: Hosts.base) / 1_000_000)
            }
            func didSkip(
                gapBytes: Int64, direction: Direction, connection: UInt64, time: Timestamp, cutBySnapLength: Bool
            ) {}
            func connectionClosed(_ record: ConnectionRecord) {}
        }
        let times = Times()
        let table = ConnectionTable(delegate: times)
        var feeder = Feeder()
        feeder.feed([.c(1000, "", [.syn]), .c(1004, "def", at: 5), .c(1001, "abc", at: 9)], to: table)
        table.finish()
        #expect(times.times == [9, 5])
    }
}
