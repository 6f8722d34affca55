import Core
import Records
import Streams
import Testing

/// A SPAN or trunk port that tags one direction only: the client's frames under one set of VLAN tags, the
/// server's under another. Each direction alone is one direction of one connection, joined into it; copies
/// (each tag set showing both directions) are still left out.
@Suite struct TaggedPerDirectionTests {
    static let conversation = CapturedTwiceTests.conversation

    /// Feeds `segs` with the client's segments under `client` tags and the server's under `server`.
    static func split(
        _ segs: [Seg], client: VLANTags, server: VLANTags, into table: ConnectionTable,
        from clientHost: Endpoint = Hosts.client
    ) {
        var up = Feeder(client: clientHost, vlan: client)
        var down = Feeder(client: clientHost, vlan: server)
        for s in segs {
            if s.fromClient { up.feed(s, to: table) } else { down.feed(s, to: table) }
        }
    }

    static func run(_ segs: [Seg], client: VLANTags, server: VLANTags) -> (StreamRecorder, ConnectionTable) {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        split(segs, client: client, server: server, into: table)
        table.finish()
        return (recorder, table)
    }

    /// One 802.1Q tag on the client's frames, none on the server's; the other way round; QinQ on one side
    /// and the inner tag alone on the other; two different tags.
    static let tagPairs: [(VLANTags, VLANTags)] = [
        (VLANTags([100]), .none), (.none, VLANTags([100])), (VLANTags([10, 100]), VLANTags([100])),
        (VLANTags([100]), VLANTags([200])),
    ]

    @Test(arguments: tagPairs)
    func eachDirectionUnderItsOwnTagsIsOneConnection(client: VLANTags, server: VLANTags) throws {
        let (recorder, table) = Self.run(Self.conversation, client: client, server: server)
        #expect(recorder.records.map(\.id) == [1])
        let r = try #require(recorder.record(1))
        #expect(r.vlan == client && r.vlanDown == server)
        #expect(r.handshake == .established && r.state.contains(.synAck))
        #expect(r.packetsUp == 4 && r.packetsDown == 3)
        #expect(recorder.text(1, .up) == "hello" && recorder.text(1, .down) == "world")
        #expect(r.anomaliesUp == StreamAnomalies() && r.anomaliesDown == StreamAnomalies())
        #expect(table.statistics.connectionsTaggedPerDirection == 1)
        #expect(table.statistics.connectionsCapturedTwice == 0 && table.statistics.segmentsCapturedTwice == 0)
        #expect(table.statistics.connectionsOpened == 1)
    }

    /// Untagged both ways, the record is as before: no `vlanDown`, nothing counted.
    @Test func sameTagsBothWaysAreNotCounted() throws {
        let (recorder, table) = Self.run(Self.conversation, client: VLANTags([100]), server: VLANTags([100]))
        let r = try #require(recorder.record(1))
        #expect(r.vlan == VLANTags([100]) && r.vlanDown == nil)
        #expect(table.statistics.connectionsTaggedPerDirection == 0)
    }

    /// Picked up mid-connection (no SYN, no SYN-ACK), the client or the server speaking first: the numbers
    /// each direction carries (the acknowledgements of the other) join the two; the record names the client's
    /// tags first whichever side opened it.
    @Test(arguments: [false, true])
    func midstreamPickupIsJoined(serverFirst: Bool) throws {
        var segs: [Seg] = [
            .c(1001, "hello", at: 2, ack: 5001), .s(5001, "world", at: 3, ack: 1006),
            .c(1006, "more", at: 4, ack: 5006), .s(5006, "again", at: 5, ack: 1010),
        ]
        if serverFirst { segs.removeFirst() }
        let (recorder, table) = Self.run(segs, client: VLANTags([100]), server: .none)
        #expect(recorder.records.map(\.id) == [1])
        let r = try #require(recorder.record(1))
        #expect(r.vlan == VLANTags([100]) && r.vlanDown == VLANTags.none)
        #expect(r.client == Hosts.client && r.server == Hosts.server)
        #expect(recorder.text(1, .up) == (serverFirst ? "more" : "hellomore"))
        #expect(recorder.text(1, .down) == "worldagain")
        #expect(table.statistics.connectionsTaggedPerDirection == 1)
    }

    /// A push connection picked up at the client's keep-alive (no byte of either direction yet): the server's
    /// acknowledgement of it joins the two.
    @Test func pickupAtAKeepAliveIsJoined() throws {
        let segs: [Seg] = [
            .c(1000, "", [.ack], at: 0, ack: 5001), .s(5001, "", [.ack], at: 1, ack: 1001),
            .s(5001, "push", at: 100, ack: 1001), .c(1001, "", [.ack], at: 101, ack: 5005),
        ]
        let (recorder, table) = Self.run(segs, client: VLANTags([100]), server: .none)
        #expect(recorder.records.map(\.id) == [1])
        #expect(recorder.text(1, .down) == "push")
        #expect(table.statistics.connectionsTaggedPerDirection == 1)
    }

    /// A connect refused: the SYN under one tag set, the reset under the other. One connection, refused.
    @Test func refusedConnectIsOneConnection() throws {
        let (recorder, table) = Self.run(
            [.c(1000, "", [.syn], at: 0), .s(0, "", [.rst, .ack], at: 1, ack: 1001)],
            client: VLANTags([100]), server: .none)
        #expect(recorder.records.map(\.id) == [1])
        #expect(try #require(recorder.record(1)).handshake == .refused)
        #expect(table.statistics.connectionsTaggedPerDirection == 1)
    }

    /// Overlapping address spaces: another connection with the same addresses and ports on another VLAN, of
    /// its own numbers, that shows one direction only, is not joined to one that showed the other.
    @Test func otherConnectionShowingTheOtherDirectionStaysApart() {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var a = Feeder(vlan: VLANTags([100]))
        var b = Feeder(vlan: .none)
        a.feed([.c(1000, "", [.syn], at: 0), .c(1000, "", [.syn], at: 1_000)], to: table)
        b.feed(.s(900_000, "", [.syn, .ack], at: 1_001, ack: 77_001), to: table)
        b.feed(.s(900_001, "data", at: 1_002, ack: 77_001), to: table)
        a.feed(.c(1001, "hello", at: 1_003, ack: 3_000_000_000), to: table)
        table.finish()
        #expect(recorder.records.count == 2)
        #expect(recorder.records.allSatisfy { $0.vlanDown == nil })
        #expect(table.statistics.connectionsTaggedPerDirection == 0)
    }

    /// Some connections tagged one way, others not: each is judged on its own, and only the split ones count.
    @Test func tagsDifferingForSomeConnectionsOnly() throws {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        let other = Endpoint(address: Hosts.client.address, port: 40_001)
        let shifted = Self.conversation.map { s in
            var t = s
            t.ms += 10
            return t
        }
        Self.split(Self.conversation, client: VLANTags([100]), server: .none, into: table)
        Self.split(shifted, client: .none, server: .none, into: table, from: other)
        table.finish()
        #expect(recorder.records.map(\.id) == [1, 2])
        #expect(recorder.record(1)?.vlanDown == VLANTags.none)
        #expect(recorder.record(2)?.vlanDown == nil)
        #expect(recorder.text(2, .up) == "hello" && recorder.text(2, .down) == "world")
        #expect(table.statistics.connectionsTaggedPerDirection == 1)
    }

    /// The 4-tuple used again once the joined connection closed: a new SYN with another ISN starts a new
    /// connection, and its SYN-ACK joins that one.
    @Test func portReuseAfterAJoinedConnectionJoinsTheNewOne() {
        let again = Self.conversation.map { s in
            var t = s
            t.ms += 5_000
            if t.fromClient { t.seq &+= 1_000_000 } else { t.ack &+= 1_000_000 }
            return t
        }
        let (recorder, table) = Self.run(Self.conversation + again, client: VLANTags([100]), server: .none)
        #expect(recorder.records.map(\.id) == [1, 2])
        #expect(recorder.records.allSatisfy { $0.vlanDown == VLANTags.none && $0.handshake == .established })
        #expect(recorder.text(2, .up) == "hello" && recorder.text(2, .down) == "world")
        #expect(table.statistics.connectionsTaggedPerDirection == 2)
        #expect(table.statistics.connectionsReused == 1)
    }

    /// Two sensors on the same tags, each tagging one direction only, merged with their clocks 1.5 or 4 s
    /// apart (the original closed by then) or 2 ms apart (still open): the second sensor's connection is a
    /// copy on the same tags, and its other direction joins the copy, left out with it; one connection
    /// analysed, tagged per direction.
    @Test(arguments: [2, 1_500, 4_000] as [Int64])
    func copyOfATaggedPerDirectionConnectionByASecondSensor(lagMs: Int64) throws {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var first = (up: Feeder(vlan: VLANTags([100])), down: Feeder(vlan: .none))
        var second = (up: Feeder(vlan: VLANTags([100])), down: Feeder(vlan: .none))
        var merged = Self.conversation.map { (seg: $0, copy: false) }
        merged += Self.conversation.map { s in
            var t = s
            t.ms += lagMs
            return (seg: t, copy: true)
        }
        for (seg, isCopy) in merged.sorted(by: { $0.seg.ms < $1.seg.ms }) {
            switch (isCopy, seg.fromClient) {
            case (false, true): first.up.feed(seg, to: table)
            case (false, false): first.down.feed(seg, to: table)
            case (true, true): second.up.feed(seg, to: table)
            case (true, false): second.down.feed(seg, to: table)
            }
        }
        table.finish()
        #expect(recorder.records.map(\.id) == [1])
        let r = try #require(recorder.record(1))
        #expect(r.vlan == VLANTags([100]) && r.vlanDown == VLANTags.none)
        #expect(recorder.text(1, .up) == "hello" && recorder.text(1, .down) == "world")
        #expect(table.statistics.connectionsTaggedPerDirection == 1)
        if lagMs > 1_000 {
            #expect(table.statistics.connectionsCapturedTwice == 1)
            #expect(table.statistics.segmentsCapturedTwice == Self.conversation.count)
            #expect(r.packetsUp + r.packetsDown == Self.conversation.count)
        }
    }

    /// A second sensor with tags of its own each way (VLAN 200 up, 300 down) next to one tagging the client's
    /// frames only: the second sensor's connection is a copy under other tags, and its other direction joins
    /// it, left out with it (one copy counted).
    @Test func copyUnderOtherTagsOfATaggedPerDirectionConnection() throws {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        Self.split(Self.conversation, client: VLANTags([100]), server: .none, into: table)
        let later = Self.conversation.map { s in
            var t = s
            t.ms += 1_500
            return t
        }
        Self.split(later, client: VLANTags([200]), server: VLANTags([300]), into: table)
        table.finish()
        #expect(recorder.records.map(\.id) == [1])
        let r = try #require(recorder.record(1))
        #expect(r.vlan == VLANTags([100]) && r.vlanDown == VLANTags.none)
        #expect(recorder.text(1, .up) == "hello" && recorder.text(1, .down) == "world")
        #expect(table.statistics.connectionsTaggedPerDirection == 1)
        #expect(table.statistics.segmentsCapturedTwice == Self.conversation.count)
        #expect(table.statistics.connectionsCapturedTwice == 1)
    }

    /// A real copy (every frame untagged and under VLAN 10) whose tagged SYN was lost and whose tagged SYN-ACK
    /// came before the untagged one: at that SYN-ACK the untagged connection showed its SYN only, so the two
    /// look like one connection tagged per direction, and are joined; the untagged SYN-ACK that follows
    /// shows the server's direction under both tag sets, so they were copies. Each direction is analysed once,
    /// the pair counted as captured twice, not as tagged per direction.
    @Test func copyWhoseSynAckCameFirstIsFoundOutAfterTheJoin() throws {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var plain = Feeder()
        var tagged = Feeder(vlan: VLANTags([10]))
        let c = Self.conversation
        plain.feed(c[0], to: table)
        tagged.feed(c[1], to: table)
        plain.feed(c[1], to: table)
        for s in c.dropFirst(2) {
            if s.fromClient {
                plain.feed(s, to: table)
                tagged.feed(s, to: table)
            } else {
                tagged.feed(s, to: table)
                plain.feed(s, to: table)
            }
        }
        table.finish()
        #expect(recorder.records.map(\.id) == [1])
        let r = try #require(recorder.record(1))
        #expect(r.vlan == .none && r.vlanDown == nil)
        #expect(r.packetsUp == 4 && r.packetsDown == 3)
        #expect(r.anomaliesUp == StreamAnomalies() && r.anomaliesDown == StreamAnomalies())
        #expect(recorder.text(1, .up) == "hello" && recorder.text(1, .down) == "world")
        #expect(table.statistics.connectionsTaggedPerDirection == 0)
        #expect(table.statistics.connectionsCapturedTwice == 1)
        #expect(table.statistics.segmentsCapturedTwice == c.count - 1)
    }
}
