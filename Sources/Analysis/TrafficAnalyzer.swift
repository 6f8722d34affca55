import Capture
import Core
import Decoding
import Protocols
import Records
import Streams

/// Settings for one run of the traffic layers.
public struct AnalysisConfiguration: Sendable {
    public var decoderLimits = DecoderLimits()
    public var streamLimits = StreamLimits()
    /// Keep HTTP message rows and TLS hello rows per connection (flows --http/--tls, oracle tests).
    public var keepProtocolDetails = false
    /// How often, in capture time, idle connections are swept out.
    public var sweepInterval: Int64 = 1_000_000_000

    public init() {}
}

/// A connection the traffic layers have finished with.
public struct CompletedConnection: Sendable {
    public var record: ConnectionRecord
    /// Present when `AnalysisConfiguration.keepProtocolDetails` is set.
    public var details: ProtocolDetails?
    /// Nanoseconds: no stretch without a packet on this connection is longer (from its stream
    /// deliveries; the whole duration when it carried no bytes).
    public var longestQuietBound: Int64

    public init(record: ConnectionRecord, details: ProtocolDetails? = nil, longestQuietBound: Int64? = nil) {
        self.record = record
        self.details = details
        self.longestQuietBound = longestQuietBound ?? record.end.nanoseconds(since: record.start)
    }
}

/// Packets in, connection records out: decoding, the connection table, TCP
/// reassembly and the HTTP/TLS parsers, driven one packet at a time.
///
/// Nothing waits for the end of the input: a connection is handed to `onConnection`
/// as soon as it closes or goes idle, so a live capture can report as it goes.
/// `finish()` flushes what is still open.
public final class TrafficAnalyzer {
    /// One summary per input file, indexed by `PacketRecord.fileIndex`.
    @exclusivity(unchecked) public private(set) var files: [CaptureSummary] = []
    public var onConnection: (CompletedConnection) -> Void

    private let configuration: AnalysisConfiguration
    @exclusivity(unchecked) private var decoder: PacketDecoder
    /// Set at the end of `init` (the table's delegate is this analyzer); never nil afterwards.
    @exclusivity(unchecked) private var table: ConnectionTable!
    @exclusivity(unchecked) private var applications: [UInt64: ApplicationState] = [:]
    @exclusivity(unchecked) private var nextSweep: Int64 = .min

    public init(configuration: AnalysisConfiguration = .init(), onConnection: @escaping (CompletedConnection) -> Void) {
        self.configuration = configuration
        self.onConnection = onConnection
        self.decoder = PacketDecoder(limits: configuration.decoderLimits)
        self.table = ConnectionTable(limits: configuration.streamLimits, delegate: self)
    }

    public var streamStatistics: StreamStatistics { table.statistics }

    /// Connections with application state right now (those that carried a byte or a gap).
    var applicationStates: Int { applications.count }

    /// Connections in the table right now.
    var openConnections: Int { table.openConnections }

    /// All files together.
    public var summary: CaptureSummary { CaptureSummary.merged(files) }

    /// Takes one packet. Its bytes are used during the call only.
    public func process(_ packet: PacketRecord) {
        let f = packet.fileIndex
        if f >= files.count {
            while files.count <= f { files.append(CaptureSummary(path: "")) }
        }
        count(packet, into: &files[f])
        let time = packet.timestamp
        let decoded = decoder.decode(
            linkType: packet.linkType, bytes: packet.bytes, originalLength: packet.originalLength, timestamp: time
        ) { view in
            files[f].tcpPackets += 1
            if view.truncated { files[f].truncated += 1 }
            let segment = TCPSegment(
                timestamp: time, vlan: view.vlan, source: view.source, destination: view.destination,
                sequence: view.sequence, acknowledgement: view.acknowledgement, flags: view.flags,
                window: view.window, ipID: view.ipID.map(UInt32.init), checksum: view.checksum,
                payloadLength: view.payloadLength, payload: view.payload, truncated: view.truncated
            )
            table.process(segment)
        }
        switch decoded {
        case nil, .tcp?:
            break
        case .otherIP(let proto, _)?:
            files[f].otherIPProtocols[proto.rawValue, default: 0] += 1
        case .nonIP?:
            files[f].nonIP += 1
        case .fragmentHeld?:
            files[f].fragments += 1
        case .unsupportedLink(let link)?:
            files[f].unsupportedLinkTypes[link, default: 0] += 1
        case .truncated?:
            files[f].truncated += 1
            files[f].truncatedBeforeTCP += 1
        case .malformed(let reason)?:
            files[f].malformed[reason.description, default: 0] += 1
        }
        if time.nanoseconds >= nextSweep {
            table.advanceClock(to: time)
            nextSweep = time.nanoseconds &+ configuration.sweepInterval
        }
    }

    /// Ends the input: every open connection is flushed and handed out.
    public func finish() {
        table.finish()
    }

    /// Adds the reader's per-file statistics to the summary (call once, after the last packet).
    public func adopt(fileStatistics: [CaptureStatistics]) {
        for s in fileStatistics {
            while files.count <= s.fileIndex { files.append(CaptureSummary(path: "")) }
            files[s.fileIndex].path = s.path
            files[s.fileIndex].format = s.format.rawValue
            files[s.fileIndex].reader = s.reader.description
            files[s.fileIndex].backwardTimestamps = s.backwardTimestamps
            files[s.fileIndex].filteredOut = s.filteredOut
            files[s.fileIndex].warnings = s.warnings.map(\.description)
            files[s.fileIndex].truncationOffsets = s.warnings.compactMap { w in
                w.code == .truncated || w.code == .corrupt ? w.byteOffset.map(Int64.init) : nil
            }
        }
    }

    private func count(_ packet: PacketRecord, into summary: inout CaptureSummary) {
        summary.packets += 1
        summary.capturedBytes += Int64(packet.capturedLength)
        summary.originalBytes += Int64(packet.originalLength)
        summary.linkTypes[packet.linkType, default: 0] += 1
        let t = packet.timestamp
        if let last = summary.last, t.nanoseconds(since: last) > CaptureSummary.silenceThreshold {
            summary.noteSilence(from: last, to: t)
        }
        if summary.first.map({ t < $0 }) ?? true { summary.first = t }
        if summary.last.map({ t > $0 }) ?? true { summary.last = t }
    }
}

extension TrafficAnalyzer: StreamDelegate {
    /// Nothing is allocated here: a connection gets its `ApplicationState` with its first stream
    /// byte or gap, so SYN-only and ACK-only connections (scans, floods) cost the table entry alone.
    public func connectionOpened(id: UInt64, client: Endpoint, server: Endpoint, vlan: VLANTags, time: Timestamp) {}

    /// The connection's application state, made on first use.
    private func application(_ id: UInt64) -> ApplicationState {
        if let state = applications[id] { return state }
        let state = ApplicationState(keepDetails: configuration.keepProtocolDetails, midstream: false)
        applications[id] = state
        return state
    }

    public func didReceive(data: UnsafeRawBufferPointer, direction: Direction, connection: UInt64, time: Timestamp) {
        application(connection).didReceive(data, direction: direction, time: time)
    }

    public func didSkip(gapBytes: Int64, direction: Direction, connection: UInt64, time: Timestamp) {
        application(connection).didSkip(gapBytes, direction: direction, time: time)
    }

    public func connectionClosed(_ record: ConnectionRecord) {
        var record = record
        let state = applications.removeValue(forKey: record.id)
            ?? ApplicationState(keepDetails: configuration.keepProtocolDetails, midstream: false)
        state.finish(into: &record)
        var quiet = record.end.nanoseconds(since: record.start)
        if let first = state.firstDelivery, let last = state.lastDelivery {
            quiet = max(state.longestBetweenDeliveries, first.nanoseconds(since: record.start),
                        record.end.nanoseconds(since: last))
        }
        onConnection(CompletedConnection(record: record, details: state.details, longestQuietBound: quiet))
    }
}
