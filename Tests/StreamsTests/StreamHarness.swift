import Core
import Records
import Streams

/// Records every delegate call so tests can compare what came out.
final class StreamRecorder: StreamDelegate {
    enum Event: Equatable {
        case opened(id: UInt64, client: Endpoint, server: Endpoint)
        case data(id: UInt64, Direction, [UInt8])
        case gap(id: UInt64, Direction, Int64)
        case notice(id: UInt64, Direction, StreamNotice)
        case closed(id: UInt64)
    }

    var events: [Event] = []
    var records: [ConnectionRecord] = []
    /// The time of each gap, in order (`events` holds their sizes).
    var gapTimes: [Timestamp] = []
    /// Whether each gap, in order, was bytes the snap length cut (`cutBySnapLength`).
    var gapCuts: [Bool] = []
    /// The table's clock steps, in order.
    var steps: [ClockStep] = []
    /// Each `didAcknowledgeAhead`: connection, the direction whose bytes were acknowledged, how many bytes past
    /// those delivered, and how many `events` came before it (kept apart from `events`, which other tests
    /// compare whole).
    var aheads: [Ahead] = []

    struct Ahead: Equatable {
        var id: UInt64
        var direction: Direction
        var bytes: Int64
        var position: Int
    }

    func connectionOpened(id: UInt64, client: Endpoint, server: Endpoint, vlan: VLANTags, time: Timestamp) {
        events.append(.opened(id: id, client: client, server: server))
    }

    func didReceive(data: UnsafeRawBufferPointer, direction: Direction, connection: UInt64, time: Timestamp) {
        events.append(.data(id: connection, direction, Array(data)))
    }

    func didSkip(
        gapBytes: Int64, direction: Direction, connection: UInt64, time: Timestamp, cutBySnapLength: Bool
    ) {
        events.append(.gap(id: connection, direction, gapBytes))
        gapTimes.append(time)
        gapCuts.append(cutBySnapLength)
    }

    func didAcknowledgeAhead(bytes: Int64, direction: Direction, connection: UInt64, time: Timestamp) {
        aheads.append(Ahead(id: connection, direction: direction, bytes: bytes, position: events.count))
    }

    func didNotice(_ notice: StreamNotice, direction: Direction, connection: UInt64, time: Timestamp) {
        events.append(.notice(id: connection, direction, notice))
    }

    func connectionClosed(_ record: ConnectionRecord) {
        events.append(.closed(id: record.id))
        records.append(record)
    }

    func clockStep(_ step: ClockStep) { steps.append(step) }

    /// One direction's stream as text: data bytes as characters, gaps as `<gap N>`.
    func text(_ id: UInt64, _ direction: Direction) -> String {
        var out = ""
        for e in events {
            switch e {
            case .data(id, direction, let bytes): out += String(decoding: bytes, as: UTF8.self)
            case .gap(id, direction, let n): out += "<gap \(n)>"
            default: break
            }
        }
        return out
    }

    /// One direction's delivered bytes, gaps left out.
    func bytes(_ id: UInt64, _ direction: Direction) -> [UInt8] {
        events.reduce(into: []) { out, e in
            if case .data(id, direction, let b) = e { out += b }
        }
    }

    func gapCount(_ id: UInt64, _ direction: Direction) -> Int {
        events.count { if case .gap(id, direction, _) = $0 { true } else { false } }
    }

    func record(_ id: UInt64) -> ConnectionRecord? { records.first { $0.id == id } }
}

/// A segment in a test table, written from the client's or the server's side.
struct Seg {
    var fromClient: Bool
    var seq: UInt32
    var data: [UInt8]
    var flags: TCPFlags
    /// On-the-wire payload length when it differs from `data.count` (snap length cut).
    var wire: Int?
    /// Capture time in milliseconds from the start of the test.
    var ms: Int64
    var ack: UInt32 = 0
    /// Set to make an exact copy of another segment (same IP id); else numbered in order.
    var ipID: UInt32?

    static func c(_ seq: UInt32, _ text: String = "", _ flags: TCPFlags = [.ack], at ms: Int64 = 0,
                  wire: Int? = nil, ack: UInt32 = 0) -> Seg {
        Seg(fromClient: true, seq: seq, data: Array(text.utf8), flags: flags, wire: wire, ms: ms, ack: ack)
    }

    static func s(_ seq: UInt32, _ text: String = "", _ flags: TCPFlags = [.ack], at ms: Int64 = 0,
                  wire: Int? = nil, ack: UInt32 = 0) -> Seg {
        Seg(fromClient: false, seq: seq, data: Array(text.utf8), flags: flags, wire: wire, ms: ms, ack: ack)
    }
}

enum Hosts {
    static let client = Endpoint(address: IPAddress(ipv4: 0x0a00_0001), port: 40_000)
    static let server = Endpoint(address: IPAddress(ipv4: 0x0a00_0002), port: 80)
    static let base = Timestamp(seconds: 1_700_000_000, nanoseconds: 0)
}

/// Feeds segments to a table. Each segment gets its own IPv4 id unless it names one, so
/// only segments made as copies (same `ipID`) look like SPAN duplicates.
struct Feeder {
    var client = Hosts.client
    var server = Hosts.server
    var vlan = VLANTags.none
    private var ipID: UInt32 = 100

    init(client: Endpoint = Hosts.client, server: Endpoint = Hosts.server, vlan: VLANTags = .none) {
        self.client = client
        self.server = server
        self.vlan = vlan
    }

    mutating func feed(_ segs: [Seg], to table: ConnectionTable) {
        for s in segs { feed(s, to: table) }
    }

    mutating func feed(_ s: Seg, to table: ConnectionTable) {
        ipID += 1
        s.data.withUnsafeBytes { payload in
            table.process(TCPSegment(
                timestamp: Hosts.base.adding(nanoseconds: s.ms * 1_000_000), vlan: vlan,
                source: s.fromClient ? client : server, destination: s.fromClient ? server : client,
                sequence: s.seq, acknowledgement: s.ack, flags: s.flags, window: 512,
                ipID: s.ipID ?? ipID, checksum: UInt16(truncatingIfNeeded: s.seq),
                payloadLength: s.wire ?? s.data.count, payload: payload,
                truncated: (s.wire ?? s.data.count) > s.data.count))
        }
    }
}

/// Builds anomaly counters for expectations; unnamed counters are zero.
func anomalies(
    gaps: Int = 0, gapBytes: Int64 = 0, retransmissions: Int = 0, conflicts: Int = 0, duplicates: Int = 0,
    outOfOrder: Int = 0, truncated: Int = 0, limitReached: Int = 0, repeatedBytes: Int64 = 0
) -> StreamAnomalies {
    var a = StreamAnomalies()
    a.gaps = gaps
    a.gapBytes = gapBytes
    a.retransmissions = retransmissions
    a.conflicts = conflicts
    a.duplicates = duplicates
    a.outOfOrder = outOfOrder
    a.truncatedPackets = truncated
    a.limitReached = limitReached
    a.repeatedBytes = repeatedBytes
    return a
}

/// Runs segments through a fresh table and finishes it.
func run(_ segs: [Seg], limits: StreamLimits = .init()) -> (StreamRecorder, ConnectionTable) {
    let recorder = StreamRecorder()
    let table = ConnectionTable(limits: limits, delegate: recorder)
    var feeder = Feeder()
    feeder.feed(segs, to: table)
    table.finish()
    return (recorder, table)
}
