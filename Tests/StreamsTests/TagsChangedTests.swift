import Core
import Records
import Streams
import Testing

/// A direction's packets moving to other VLAN tags partway through a connection (a path or tagging change): the
/// segments under the new tags that continue the direction's stream are the connection's, kept whole and counted;
/// those repeating what it showed under other tags are still a copy's, left out once.
@Suite struct TagsChangedTests {
    /// A request in three pieces and an answer in two, each acknowledged; the client's segments from `change` on
    /// (the second piece of the request) may come under other tags.
    static let conversation: [Seg] = [
        .c(1000, "", [.syn], at: 0), .s(5000, "", [.syn, .ack], at: 1, ack: 1001), .c(1001, "", at: 2, ack: 5001),
        .c(1001, "GET /a", at: 3, ack: 5001), .s(5001, "", at: 4, ack: 1007),
        .c(1007, " HTTP", at: 5, ack: 5001), .c(1012, "/1.1", at: 6, ack: 5001),
        .s(5001, "200 OK", at: 7, ack: 1016), .c(1016, "", at: 8, ack: 5007),
        .s(5007, " body", at: 9, ack: 1016), .c(1016, "", at: 10, ack: 5012),
        .c(1016, "", [.fin, .ack], at: 11, ack: 5012), .s(5012, "", [.fin, .ack], at: 12, ack: 1017),
        .c(1017, "", at: 13, ack: 5013),
    ]
    static let change = 5
    static var clientSegments: Int { conversation.filter(\.fromClient).count }
    static var serverSegments: Int { conversation.count - clientSegments }

    /// The one connection `recorder` got, after checking it holds the whole conversation: every byte each
    /// way, every segment, and no anomaly.
    static func wholeConnection(_ recorder: StreamRecorder) throws -> ConnectionRecord {
        #expect(recorder.records.map(\.id) == [1])
        let r = try #require(recorder.record(1))
        #expect(recorder.text(1, .up) == "GET /a HTTP/1.1" && recorder.text(1, .down) == "200 OK body")
        #expect(r.packetsUp == clientSegments && r.packetsDown == serverSegments)
        #expect(r.anomaliesUp == StreamAnomalies() && r.anomaliesDown == StreamAnomalies())
        return r
    }

    /// The client's segments before `change` under `client`, from then on under `then`; the server's under
    /// `server`.
    static func run(client: VLANTags, then: VLANTags, server: VLANTags) -> (StreamRecorder, ConnectionTable) {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var before = Feeder(vlan: client)
        var after = Feeder(vlan: then)
        var down = Feeder(vlan: server)
        for (i, s) in conversation.enumerated() {
            if !s.fromClient {
                down.feed(s, to: table)
            } else if i < change {
                before.feed(s, to: table)
            } else {
                after.feed(s, to: table)
            }
        }
        table.finish()
        return (recorder, table)
    }

    /// Client 100 then 200, server untagged (the repro: joined, then moved); client 100 then untagged (onto the
    /// server's tags); both directions on 100, then the client's on 200 (not joined); the same with QinQ.
    static let cases: [(VLANTags, VLANTags, VLANTags)] = [
        (VLANTags([100]), VLANTags([200]), .none), (VLANTags([100]), .none, .none),
        (VLANTags([100]), VLANTags([200]), VLANTags([100])),
        (VLANTags([10, 100]), VLANTags([20, 100]), VLANTags([10, 100])),
    ]

    /// Before, the client's segments under the new tags were taken for a copy of the connection and left out:
    /// the rest of the request was lost. Now one connection keeps every byte, counted as tags changed.
    @Test(arguments: cases)
    func directionMovingToOtherTagsIsKeptWhole(client: VLANTags, then: VLANTags, server: VLANTags) throws {
        let (recorder, table) = Self.run(client: client, then: then, server: server)
        let r = try Self.wholeConnection(recorder)
        #expect(r.state.contains(.finFromClient) && r.state.contains(.finFromServer))
        #expect(r.vlanChanged)
        #expect(r.vlan == client && r.vlanDown == (server == client ? nil : server))
        let stats = table.statistics
        #expect(stats.connectionsTagsChanged == 1)
        #expect(stats.connectionsCapturedTwice == 0 && stats.segmentsCapturedTwice == 0)
        #expect(stats.connectionsOpened == 1)
        #expect(stats.connectionsTaggedPerDirection == (server == client ? 0 : 1))
    }

    /// Tagged one way (client 100, server untagged), a reset a middlebox sends for the server on the client's
    /// tags: it continues the server's direction (no reset that way yet), so it is taken in, not left out as a
    /// copy's.
    @Test func resetUnderTheOtherDirectionsTagsIsTakenIn() throws {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var up = Feeder(vlan: VLANTags([100]))
        var down = Feeder()
        for s in Self.conversation.prefix(8) {
            if s.fromClient { up.feed(s, to: table) } else { down.feed(s, to: table) }
        }
        let reset = Seg.s(5007, "", [.rst, .ack], at: 20, ack: 1016)
        up.feed(reset, to: table)
        table.finish()
        #expect(recorder.records.map(\.id) == [1])
        let r = try #require(recorder.record(1))
        #expect(r.state.contains(.rstFromServer) && r.vlanChanged)
        #expect(r.vlan == VLANTags([100]) && r.vlanDown == VLANTags.none)
        #expect(r.packetsDown == 4)
        #expect(table.statistics.connectionsCapturedTwice == 0 && table.statistics.connectionsTagsChanged == 1)
    }

    /// Nothing moved: nothing counted, the record as before.
    @Test func unchangedTagsAreNotCounted() throws {
        let (recorder, table) = Self.run(client: VLANTags([100]), then: VLANTags([100]), server: .none)
        #expect(try #require(recorder.record(1)).vlanChanged == false)
        #expect(table.statistics.connectionsTagsChanged == 0)
    }

    /// Two sensors: from `change` on, every client segment comes under both the old tags and new ones, the
    /// copy under the new tags just before (`copyFirst`) or just after its original. Whichever brings a
    /// segment first is kept, the other left out: each packet counted once, the copy once, no tag change.
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func copiesUnderNewTagsAreLeftOutEitherOrder(copyFirst: Bool, joined: Bool) throws {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        let client = VLANTags([100])
        var a = Feeder(vlan: client)
        var b = Feeder(vlan: VLANTags([200]))
        var down = Feeder(vlan: joined ? .none : client)
        for (i, s) in Self.conversation.enumerated() {
            if !s.fromClient {
                down.feed(s, to: table)
            } else if i < Self.change {
                a.feed(s, to: table)
            } else if copyFirst {
                b.feed(s, to: table)
                a.feed(s, to: table)
            } else {
                a.feed(s, to: table)
                b.feed(s, to: table)
            }
        }
        table.finish()
        let r = try Self.wholeConnection(recorder)
        #expect(!r.vlanChanged)
        let copies = Self.conversation.enumerated().filter { $0.offset >= Self.change && $0.element.fromClient }.count
        let stats = table.statistics
        #expect(stats.connectionsCapturedTwice == 1 && stats.segmentsCapturedTwice == copies)
        #expect(stats.connectionsTagsChanged == 0)
    }

    /// The second sensor's delay (ms) and its tags, for `copyMovingToOtherTagsStaysACopy`.
    static let copyCases: [(Int64, VLANTags, VLANTags, VLANTags)] = [
        (2000, VLANTags([300]), VLANTags([400]), VLANTags([500])),
        (2000, VLANTags([100]), VLANTags([200]), .none),
        (3, VLANTags([300]), VLANTags([400]), VLANTags([500])),
    ]

    /// Two sensors, the second `delay` ms behind: the original's client moves from 100 to 200 at `change`, its
    /// server untagged; the copy's client moves from `copyClient` to `copyThen` there too, its server under
    /// `copyServer`. The copy's segments under its new tags are still the copy's, left out and counted as
    /// captured twice: before, they continued no stream of the original and opened a connection analysed
    /// as a midstream one (its bytes counted twice). Delays: the copy wholly after the original (its
    /// original closed; on the same tags, gone from the table), or interleaved with it.
    @Test(arguments: copyCases)
    func copyMovingToOtherTagsStaysACopy(
        delay: Int64, copyClient: VLANTags, copyThen: VLANTags, copyServer: VLANTags
    ) throws {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var feeders = [
            Feeder(vlan: VLANTags([100])), Feeder(vlan: VLANTags([200])), Feeder(),
            Feeder(vlan: copyClient), Feeder(vlan: copyThen), Feeder(vlan: copyServer),
        ]
        var segments: [(Seg, Int)] = []
        for (i, s) in Self.conversation.enumerated() {
            let feeder = !s.fromClient ? 2 : i < Self.change ? 0 : 1
            var copy = s
            copy.ms += delay
            segments.append((s, feeder))
            segments.append((copy, feeder + 3))
        }
        let ordered = segments.enumerated().sorted { ($0.element.0.ms, $0.offset) < ($1.element.0.ms, $1.offset) }
        for (_, (s, feeder)) in ordered { feeders[feeder].feed(s, to: table) }
        table.finish()
        let r = try Self.wholeConnection(recorder)
        #expect(r.vlanChanged)
        let stats = table.statistics
        #expect(stats.connectionsOpened == 2)
        #expect(stats.connectionsCapturedTwice == 1 && stats.segmentsCapturedTwice == Self.conversation.count)
        #expect(stats.connectionsTagsChanged == 1)
    }

    /// A second sensor's copy of the client's segments under other tags, half a second late: they repeat
    /// bytes already seen, so they stay a copy's even though no SYN of the copy was captured.
    @Test func lateRepeatUnderOtherTagsStaysACopy() throws {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var a = Feeder(vlan: VLANTags([100]))
        var b = Feeder(vlan: VLANTags([200]))
        var down = Feeder()
        for (i, s) in Self.conversation.enumerated() {
            if s.fromClient { a.feed(s, to: table) } else { down.feed(s, to: table) }
            if i == 7 {
                var late = Self.conversation[5]
                late.ms += 500
                b.feed(late, to: table)
            }
        }
        table.finish()
        let r = try #require(recorder.record(1))
        #expect(recorder.text(1, .up) == "GET /a HTTP/1.1")
        #expect(r.packetsUp == Self.clientSegments && !r.vlanChanged)
        #expect(table.statistics.connectionsTagsChanged == 0)
        #expect(table.statistics.connectionsCapturedTwice == 1 && table.statistics.segmentsCapturedTwice == 1)
    }
}
