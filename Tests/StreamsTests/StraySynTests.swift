import Core
import Records
import Streams
import Testing

/// A stray SYN under other VLAN tags with the client ISN of a later connection (a SYN that went out another
/// way, or a crafted one) and no answer: the connection that carries the data is analysed, the stub is left
/// out as its copy.
@Suite struct StraySynTests {
    static let conversation = CapturedTwiceTests.conversation

    /// The conversation's SYN alone under VLAN 2, `earlierMs` before the conversation, whose client frames come
    /// under VLAN 1 and server frames under `server`.
    static func run(earlierMs: Int64, server: VLANTags) -> (StreamRecorder, ConnectionTable) {
        let recorder = StreamRecorder()
        let table = ConnectionTable(delegate: recorder)
        var stray = Feeder(vlan: VLANTags([2]))
        var syn = conversation[0]
        syn.ms -= earlierMs
        stray.feed(syn, to: table)
        TaggedPerDirectionTests.split(conversation, client: VLANTags([1]), server: server, into: table)
        table.finish()
        return (recorder, table)
    }

    /// Before, the real connection was taken for the stub's copy: with both directions tagged, a failed
    /// connect and its packets left out; tagged one way, the server's half joined to the stub and the client's
    /// bytes lost.
    @Test(arguments: [VLANTags([1]), VLANTags.none], [Int64(5_000), 1_000])
    func strayEarlierSynDoesNotTakeThePlaceOfTheConnection(server: VLANTags, earlierMs: Int64) throws {
        let (recorder, table) = Self.run(earlierMs: earlierMs, server: server)
        #expect(recorder.records.map(\.id) == [2])
        let r = try #require(recorder.record(2))
        #expect(r.handshake == .established && r.vlan == VLANTags([1]))
        #expect(r.vlanDown == (server == VLANTags([1]) ? nil : server))
        #expect(recorder.text(2, .up) == "hello" && recorder.text(2, .down) == "world")
        #expect(r.packetsUp == 4 && r.packetsDown == 3 && r.synCount == 1)
        #expect(table.statistics.connectionsCapturedTwice == 1 && table.statistics.segmentsCapturedTwice == 1)
        #expect(table.statistics.connectionsTaggedPerDirection == (server == VLANTags([1]) ? 0 : 1))
    }
}
