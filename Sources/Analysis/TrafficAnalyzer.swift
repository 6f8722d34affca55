import Capture
import Core
#if canImport(Glibc)
import Glibc
#endif
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
    /// Run the application layer (the HTTP and TLS parsers, the records of connections that end) on a thread
    /// of its own behind the connection table (`ApplicationQueue`), or on the analyzer's thread (false, and
    /// whatever this says when the system has one CPU or refuses the thread). The records, their order and the
    /// summaries are the same either way; only the thread `onConnection` is called on differs.
    ///
    /// Off by default: on the 2-core benchmark machine it took about a quarter of the main thread's
    /// instructions while packets are read, but the second core, which already runs the reading thread and
    /// the heartbeat intake, then had no room left, and no run showed a shorter wall time (docs/performance.md,
    /// "The application layer on a thread of its own").
    public var applicationThread = false

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

/// A report so far's input (`TrafficAnalyzer.soFar`): the capture as if it ended at that moment.
public struct CaptureSoFar: Sendable {
    /// One summary per input file, counting the connections still open as their end at that moment would.
    public var files: [CaptureSummary]
    /// The connections still open, in id order, each made into the record the capture's end would give it
    /// then (provisional: the connection goes on, and its final record may differ). Each has its own
    /// connection id, the one its final record will have.
    public var open: [CompletedConnection]
}

/// Packets in, connection records out: decoding, the connection table, TCP
/// reassembly and the HTTP/TLS parsers, driven one packet at a time.
///
/// Nothing waits for the end of the input: a connection is handed to `onConnection`
/// as soon as it closes or goes idle, so a live capture can report as it goes.
/// `finish()` flushes what is still open.
///
/// Two stages, split at the `StreamDelegate` boundary: decoding, the connection table and reassembly run on
/// the thread that calls `process`; the application layer (`ApplicationLayer`: the HTTP and TLS parsers, the
/// records of connections that end) runs there too, or, with `AnalysisConfiguration.applicationThread`, on a
/// thread of its own fed through an ordered queue of the table's calls (`ApplicationQueue`). Then
/// `onConnection` and `onLeftOut` are called on that thread, in the same order; each method that reads the
/// application layer (`files`, `soFar`, `finish`, `advanceClock`, `synchronize`) first waits until it has
/// caught up, so every connection ended by then has been handed out when it returns.
///
/// Stored state is `@exclusivity(unchecked)` (no run-time exclusivity check per access on the
/// per-packet path): it is changed only by the analyzer's own methods, on one thread, and no call
/// re-enters the analyzer (`onConnection` must not call `process` or `finish`) while it is being
/// changed.
public final class TrafficAnalyzer {
    /// One summary per input file, indexed by `PacketRecord.fileIndex`.
    public var files: [CaptureSummary] {
        synchronize()
        var out = summaries
        Self.add(linkRun, to: &out)
        ApplicationCounts.add(layer.counts, to: &out)
        // A step back of the whole clock is read on the clock before it in a run of one file only: connections
        // are numbered across files, so another file's would be moved with it.
        for i in out.indices { out[i].closeRuns(correctingSetBack: out.count == 1) }
        return out
    }
    /// The per-file summaries, less the packets of `linkRun`.
    @exclusivity(unchecked) private var summaries: [CaptureSummary] = []
    /// Packets of one link type in one file not yet added to `summaries` (consecutive packets
    /// usually share both, so the per-packet count is an integer add, not a dictionary update), and
    /// the TCP segments among them (an add to a stored integer instead of a write into the array).
    @exclusivity(unchecked) private var linkRun: LinkRun = (file: 0, type: LinkType(rawValue: 0), count: 0, tcp: 0)
    private typealias LinkRun = (file: Int, type: LinkType, count: Int, tcp: Int)
    /// Set before the first packet (with the application layer on a thread of its own, it is called there).
    public var onConnection: (CompletedConnection) -> Void {
        get { layer.onConnection }
        set { layer.onConnection = newValue }
    }
    /// Told each id that no record will have: one taken by a copy of a connection captured twice. With
    /// `onConnection`, every id from 1 up comes once (for consumers that list records in id order). Set before
    /// the first packet; called on the thread `onConnection` is called on.
    public var onLeftOut: ((UInt64) -> Void)? {
        get { layer.onLeftOut }
        set { layer.onLeftOut = newValue }
    }
    /// The application layer; used on this thread only when `queue` is nil or after `synchronize()`.
    private let layer: ApplicationLayer
    /// The application layer's own thread, when it has one.
    private let queue: ApplicationQueue?

    private let configuration: AnalysisConfiguration
    @exclusivity(unchecked) private var decoder: PacketDecoder
    /// Set at the end of `init` (the table's delegate is this analyzer); never nil afterwards.
    @exclusivity(unchecked) private var table: ConnectionTable!
    /// `table` again, without reference counting, for the per-packet call (reading `table` there
    /// retains and releases it each time). Safe: `table` holds the strong reference for the
    /// analyzer's whole life (set once in `init`, never replaced), so the table outlives every
    /// use of this one.
    @exclusivity(unchecked) private var tableForPackets: Unmanaged<ConnectionTable>?
    @exclusivity(unchecked) private var nextSweep: Int64 = .min
    /// The decoder's counts of overlapping fragments already counted in a file (`countOverlappingFragments`).
    @exclusivity(unchecked) private var fragmentOverlapsCounted: (overlapping: Int, conflicting: Int) = (0, 0)
    /// Per file, the segments of the table's pending step ahead of its clock (`ClockStep`): added to
    /// that file's `packetsAheadOfClock` when the step is withdrawn, dropped when it is confirmed.
    @exclusivity(unchecked) private var heldPerFile: [Int] = []
    /// The file of the packet being processed and of the one before it: an exact copy whose original came just
    /// before it from another file is one capture's packets given again in another (`copiesOfOtherFiles`).
    @exclusivity(unchecked) private var currentFile = 0
    @exclusivity(unchecked) private var previousFile = 0

    public init(configuration: AnalysisConfiguration = .init(), onConnection: @escaping (CompletedConnection) -> Void) {
        self.configuration = configuration
        let layer = ApplicationLayer(keepDetails: configuration.keepProtocolDetails, onConnection: onConnection)
        self.layer = layer
        // With one CPU the two stages would only take turns on it, at the cost of the queue.
        let cpus = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        queue = configuration.applicationThread && cpus > 1 ? ApplicationQueue(layer) : nil
        self.decoder = PacketDecoder(limits: configuration.decoderLimits)
        let table = ConnectionTable(limits: configuration.streamLimits, delegate: self)
        self.table = table
        self.tableForPackets = Unmanaged.passUnretained(table)
    }

    public var streamStatistics: StreamStatistics { table.statistics }

    /// Connections with application state right now (those that carried a byte or a gap).
    var applicationStates: Int {
        synchronize()
        return layer.applications.count
    }

    /// Connections in the table right now.
    var openConnections: Int { table.openConnections }

    /// All files together.
    public var summary: CaptureSummary { CaptureSummary.merged(files) }

    /// Takes one packet. Its bytes are used during the call only.
    public func process(_ packet: PacketRecord) {
        let f = packet.fileIndex
        previousFile = currentFile
        currentFile = f
        if f >= summaries.count {
            while summaries.count <= f { summaries.append(CaptureSummary(path: "")) }
        }
        countLinkType(packet)
        count(packet, into: &summaries[f])
        let time = packet.timestamp
        decoder.decode(
            linkType: packet.linkType, bytes: packet.bytes, originalLength: packet.originalLength, timestamp: time
        ) { view in
            linkRun.tcp += 1
            if view.truncated { summaries[f].truncated += 1 }
            if view.anomalies != [] { count(view.anomalies, file: f) }
            let segment = TCPSegment(
                timestamp: time, vlan: view.vlan, source: view.source, destination: view.destination,
                sequence: view.sequence, acknowledgement: view.acknowledgement, flags: view.flags,
                window: view.window, ipID: view.ipID.map(UInt32.init), checksum: view.checksum,
                payloadLength: view.payloadLength, payload: view.payload, truncated: view.truncated
            )
            tableForPackets?._withUnsafeGuaranteedRef { $0.process(segment) }
        } other: { decoded in
            count(decoded, file: f, capturedLength: packet.capturedLength)
        }
        // Both counts grow together; one comparison a packet.
        if decoder.statistics.fragmentsOverlapping != fragmentOverlapsCounted.overlapping {
            countOverlappingFragments(file: f)
        }
        if time.nanoseconds >= nextSweep {
            table.advanceClock(toPacketTime: time)
            nextSweep = time.nanoseconds &+ configuration.sweepInterval
        }
    }

    /// Counts, in file `f`, a TCP packet's IP length oddities.
    @inline(never)
    private func count(_ anomalies: DecodeAnomalies, file f: Int) {
        if anomalies.contains(.ipLengthPastFrame) { summaries[f].ipLengthPastFrame += 1 }
        if anomalies.contains(.zeroIPLength) { summaries[f].zeroIPLength += 1 }
    }

    /// Counts, in file `f`, the overlapping fragments the decoder met since the last count. Read after `decode`
    /// returns, not in its closures, while the decoder's own access to its counts is still under way.
    @inline(never)
    private func countOverlappingFragments(file f: Int) {
        let overlapping = decoder.statistics.fragmentsOverlapping
        let conflicting = decoder.statistics.fragmentsConflicting
        summaries[f].fragmentsOverlapping += overlapping - fragmentOverlapsCounted.overlapping
        summaries[f].fragmentsConflicting += conflicting - fragmentOverlapsCounted.conflicting
        fragmentOverlapsCounted = (overlapping, conflicting)
    }

    /// Counts a packet the decoder did not hand over as a TCP segment.
    @inline(never)
    private func count(_ decoded: DecodedPacket, file f: Int, capturedLength: Int) {
        switch decoded {
        case .tcp:
            break
        case .otherIP(let proto, _):
            summaries[f].otherIPProtocols[proto.rawValue, default: 0] += 1
        case .nonIP:
            summaries[f].nonIP += 1
        case .fragmentHeld:
            summaries[f].fragments += 1
        case .unsupportedLink(let link):
            summaries[f].unsupportedLinkTypes[link, default: 0] += 1
        case .truncated(let cut):
            summaries[f].truncatedBeforeTCP += 1
            // The cut header runs to the frame's captured end: it began `captured` bytes before it. A cut fragment's
            // data is no header (a snap length is no remedy for it).
            if cut.header != .ipFragment {
                let end = capturedLength - cut.captured + cut.needed
                summaries[f].truncatedHeadersEnd = max(summaries[f].truncatedHeadersEnd, end)
            }
        case .malformed(let reason):
            summaries[f].malformed[reason.description, default: 0] += 1
        }
    }

    /// Ends the input: every open connection is flushed and handed out.
    public func finish() {
        table.finish()
        synchronize()
    }

    /// Waits until the application layer has caught up with the connection table: every connection ended so
    /// far has been handed to `onConnection` (on the application layer's thread, when it has one). A failed
    /// run calls it before it lets go of the analyzer, so that what was read is handed out as without the
    /// thread.
    public func synchronize() {
        queue?.synchronize()
    }

    /// Moves the connection table's clock to `time` and sweeps it (see `ConnectionTable.advanceClock(to:)`):
    /// for a live capture whose interface is quiet, with the system's time, so that connections closed
    /// or idle meanwhile are handed out without waiting for the next packet. `time` is trusted.
    public func advanceClock(to time: Timestamp) {
        table.advanceClock(to: time)
        // Handed out now, not with the next batch: the capture is quiet.
        synchronize()
    }

    /// Exact copies (`CaptureSummary.duplicatePackets`) said in a warning when at least this many, and a quarter
    /// of the file's TCP packets or more.
    static let duplicateWarningMinimum = 10

    /// Adds the reader's per-file statistics to the summary (call once, after the last packet).
    public func adopt(fileStatistics: [CaptureStatistics]) {
        // The warning on exact copies reads the TCP segments counted.
        Self.add(linkRun, to: &summaries)
        linkRun.count = 0
        linkRun.tcp = 0
        Self.adopt(fileStatistics, into: &summaries)
    }

    /// What a report made now, while packets still come, is made of (a live capture's or a followed input's
    /// report so far): what `finish()` and `adopt(fileStatistics:)` would give if the input ended now, changing
    /// nothing. The connections still open are made into provisional records as `finish()` would make them,
    /// on copies of their application state (`ApplicationState.copy`) with the bytes and holes their flush
    /// would deliver (`ConnectionTable.provisionalEnds`); the summaries count them as their end would. The
    /// connections go on: the next report so far and the final report are what they would have been without
    /// this one. Cost: a record per open connection, and a copy of its parser state (see `copy`).
    public func soFar(fileStatistics: [CaptureStatistics]) -> CaptureSoFar {
        synchronize()
        var out = summaries
        Self.add(linkRun, to: &out)
        var counts = layer.counts
        let files = context
        let open = table.provisionalEnds().map { end in
            var state = layer.applications[end.record.id].map { $0.copy() }
            // As the analyzer's own events make the state when the flush brings the connection's first byte.
            func made() -> ApplicationState {
                if let state { return state }
                let new = layer.firstBytesState(reading: files.reading)
                state = new
                return new
            }
            for event in end.flush {
                switch event {
                case .bytes(let bytes, let direction, let time):
                    bytes.withUnsafeBytes { made().didReceive($0, direction: direction, time: time) }
                case .gap(let bytes, let direction, let time, let cut):
                    made().didSkip(bytes, direction: direction, time: time, cutBySnapLength: cut)
                case .farAcknowledgement:
                    let f = made().fileIndex
                    if out.indices.contains(f) { out[f].farAcknowledgements += 1 }
                }
            }
            return layer.complete(end.record, state: state, files: files, into: &counts)
        }
        ApplicationCounts.add(counts, to: &out)
        Self.adopt(fileStatistics, into: &out)
        for i in out.indices { out[i].closeRuns(correctingSetBack: out.count == 1) }
        return CaptureSoFar(files: out, open: open)
    }

    private static func adopt(_ fileStatistics: [CaptureStatistics], into summaries: inout [CaptureSummary]) {
        for s in fileStatistics {
            while summaries.count <= s.fileIndex { summaries.append(CaptureSummary(path: "")) }
            summaries[s.fileIndex].path = s.path
            summaries[s.fileIndex].format = s.format.rawValue
            summaries[s.fileIndex].reader = s.reader.description
            summaries[s.fileIndex].backwardTimestamps = s.backwardTimestamps
            summaries[s.fileIndex].filteredOut = s.filteredOut
            summaries[s.fileIndex].filteredOutMPLS = s.filteredOutMPLS
            summaries[s.fileIndex].deepestMPLSStack = s.deepestMPLSStack
            summaries[s.fileIndex].deepestVLANStack = s.deepestVLANStack
            summaries[s.fileIndex].filteredOutPPPoE = s.filteredOutPPPoE
            summaries[s.fileIndex].droppedByKernel = s.droppedByKernel
            summaries[s.fileIndex].droppedByInterface = s.droppedByInterface
            summaries[s.fileIndex].endedBy = s.endedBy
            summaries[s.fileIndex].captureEndedEarly = s.warnings.last { $0.code == .captureEnded }?.problem
            summaries[s.fileIndex].skippedRecords = s.skippedRecords
            summaries[s.fileIndex].savedTo = s.savedTo
            summaries[s.fileIndex].savedPackets = s.savedPackets
            summaries[s.fileIndex].saveFailed = s.warnings.last { $0.code == .saveFailed }?.problem
            summaries[s.fileIndex].interfaceDown = s.interfaceDown.map {
                CaptureSilence(start: $0.start, end: $0.end, interfaceDown: true)
            }
            summaries[s.fileIndex].oversizedRecords = s.oversizedRecords
            summaries[s.fileIndex].invalidTimestampFractions = s.invalidTimestampFractions
            summaries[s.fileIndex].packetsWithoutTimestamp = s.packetsWithoutTimestamp
            summaries[s.fileIndex].warnings = s.warnings.map(\.description)
            summaries[s.fileIndex].compression = s.compression?.rawValue
            // Copies of its own packets (copies of another file's are warned of apart, naming both files).
            let copies = summaries[s.fileIndex].duplicatePackets - summaries[s.fileIndex].copiesOfOtherFiles
            let tcp = summaries[s.fileIndex].tcpPackets
            if copies >= duplicateWarningMinimum, copies * 4 >= tcp {
                summaries[s.fileIndex].warnings.append("\(s.path): \(copies) of \(tcp) TCP packets are exact copies of "
                    + "one just before (a capture on `any` seeing a bridge and its ports, or a SPAN session copying "
                    + "both ports): check-ins' bytes up and down count both copies, their steps each byte once")
            }
            let unread = summaries[s.fileIndex].truncatedBeforeTCP
            if unread > 0 {
                let packets = unread == 1 ? "1 packet was" : "\(unread) packets were"
                let advice = Self.snapLengthAdvice(headersEnd: summaries[s.fileIndex].truncatedHeadersEnd)
                summaries[s.fileIndex].warnings.append("\(s.path): \(packets) cut by the snap length inside their "
                    + "headers (link layer, IP or TCP) and could not be read: connections and check-ins in them are "
                    + "missing or incomplete (\(advice))")
            }
            // Reading that stopped before the file's end, for any reason (cut, damaged, a block past a limit),
            // leaves the capture incomplete: a `capture-truncated` finding at its offset, or, in the rare case
            // the offset is not known, said as a capture that ended early (a `capture-gap` finding).
            summaries[s.fileIndex].truncationOffsets = []
            if let stop = s.readingStopped {
                if let offset = stop.byteOffset {
                    summaries[s.fileIndex].truncationOffsets = [Int64(offset)]
                } else if summaries[s.fileIndex].captureEndedEarly == nil {
                    summaries[s.fileIndex].captureEndedEarly = "reading stopped before the end of the file: "
                        + stop.problem
                }
            }
        }
    }

    /// The snap length that keeps the headers of packets cut inside them, the furthest of those headers ending
    /// `headersEnd` bytes into its frame: 96 bytes keep plain Ethernet, IP and TCP headers; headers before the IP
    /// header (a tunnel's, MPLS labels, PPPoE), AH or IPv6 extension headers need more, and the TCP header (up to 60
    /// bytes, options included) may still come after the one that was cut.
    static func snapLengthAdvice(headersEnd: Int) -> String {
        guard headersEnd > 96 else { return "a snap length of 96 bytes or more keeps the headers" }
        return "their headers run past byte \(headersEnd), beyond the 96 bytes that keep plain Ethernet, IP and TCP "
            + "headers (a tunnel's headers, MPLS labels, PPPoE, AH or IPv6 extension headers come first): a snap "
            + "length of \(max(256, headersEnd + 60)) bytes or more keeps them"
    }

    /// Counts the packet's link type in `linkRun`, moving the run before it (with its TCP segments) into
    /// `summaries`.
    private func countLinkType(_ packet: PacketRecord) {
        if linkRun.count > 0, linkRun.file == packet.fileIndex, linkRun.type == packet.linkType {
            linkRun.count += 1
            return
        }
        Self.add(linkRun, to: &summaries)
        linkRun = (packet.fileIndex, packet.linkType, 1, 0)
    }

    /// Adds a run's packets and TCP segments (`linkRun`) to its file's summary.
    private static func add(_ run: LinkRun, to summaries: inout [CaptureSummary]) {
        guard run.count > 0 else { return }
        summaries[run.file].linkTypes[run.type, default: 0] += run.count
        summaries[run.file].tcpPackets += run.tcp
    }

    private func count(_ packet: PacketRecord, into summary: inout CaptureSummary) {
        summary.packets += 1
        summary.capturedBytes += Int64(packet.capturedLength)
        summary.originalBytes += Int64(packet.originalLength)
        let t = packet.timestamp
        summary.noteTime(t, nextConnection: tableForPackets?._withUnsafeGuaranteedRef { $0.nextConnectionID } ?? 0)
        if summary.first.map({ t < $0 }) ?? true { summary.first = t }
        if summary.last.map({ t > $0 }) ?? true { summary.last = t }
    }
}

extension TrafficAnalyzer: StreamDelegate {
    /// Nothing is allocated here: a connection gets its `ApplicationState` with its first stream
    /// byte or gap, so SYN-only and ACK-only connections (scans, floods) cost the table entry alone.
    public func connectionOpened(id: UInt64, client: Endpoint, server: Endpoint, vlan: VLANTags, time: Timestamp) {}

    /// Notes held segments against the file of the packet being processed (`linkRun.file`, set for
    /// every packet before the table sees it), and counts them into those files when withdrawn.
    public func clockStep(_ step: ClockStep) {
        switch step {
        case .held:
            let f = linkRun.file
            while heldPerFile.count <= f { heldPerFile.append(0) }
            heldPerFile[f] += 1
        case .withdrawn:
            for (f, n) in heldPerFile.enumerated() where n > 0 { summaries[f].packetsAheadOfClock += n }
            heldPerFile.removeAll(keepingCapacity: true)
        case .confirmed:
            heldPerFile.removeAll(keepingCapacity: true)
        }
    }

    /// Hands the id of a copy left out to `onLeftOut` (a consumer listing records in id order), in its place
    /// among the connections handed out.
    public func connectionLeftOut(id: UInt64) {
        if let queue { queue.leftOut(id) } else { layer.leftOut(id) }
    }

    /// Counts a segment of a connection captured twice (another copy under other VLAN tags, or on the same
    /// ones) against the file of the packet being processed; the connection itself with its first segment.
    public func copiedSegment(opens: Bool, sameTags: Bool, fillsHole: Bool) {
        if fillsHole { summaries[linkRun.file].packetsFilledFromCopy += 1 }
        if sameTags {
            summaries[linkRun.file].packetsCapturedTwiceSameTags += 1
            if opens { summaries[linkRun.file].connectionsCapturedTwiceSameTags += 1 }
        } else {
            summaries[linkRun.file].packetsCapturedTwice += 1
            if opens { summaries[linkRun.file].connectionsCapturedTwice += 1 }
        }
    }

    /// The files this call is counted against (see `FileContext`).
    private var context: FileContext {
        FileContext(reading: Int32(truncatingIfNeeded: linkRun.file), current: Int32(truncatingIfNeeded: currentFile),
                    count: Int32(truncatingIfNeeded: summaries.count))
    }

    public func didReceive(data: UnsafeRawBufferPointer, direction: Direction, connection: UInt64, time: Timestamp) {
        let reading = Int32(truncatingIfNeeded: linkRun.file)
        if let queue {
            queue.received(data, direction: direction, connection: connection, time: time, reading: reading)
        } else {
            layer.received(data, direction: direction, connection: connection, time: time, reading: reading)
        }
    }

    public func didSkip(
        gapBytes: Int64, direction: Direction, connection: UInt64, time: Timestamp, cutBySnapLength: Bool
    ) {
        let reading = Int32(truncatingIfNeeded: linkRun.file)
        if let queue {
            queue.skipped(gapBytes, direction: direction, connection: connection, time: time, cut: cutBySnapLength,
                          reading: reading)
        } else {
            layer.skipped(gapBytes, direction: direction, connection: connection, time: time, cut: cutBySnapLength,
                          reading: reading)
        }
    }

    public func didAcknowledgeAhead(bytes: Int64, direction: Direction, connection: UInt64, time: Timestamp) {
        let reading = Int32(truncatingIfNeeded: linkRun.file)
        if let queue {
            queue.acknowledgedAhead(bytes, direction: direction, connection: connection, reading: reading)
        } else {
            layer.acknowledgedAhead(bytes, direction: direction, connection: connection, reading: reading)
        }
    }

    /// Counts exact copies in the file of the copy; the application layer counts acknowledgements past anything
    /// a direction sent that are too far to be a lost tail, keep-alive probes, and bytes the snap length cut that
    /// a later copy brought too late, in the file of the connection's first stream bytes. Other notices are
    /// counted in the connection's anomalies.
    public func didNotice(_ notice: StreamNotice, direction: Direction, connection: UInt64, time: Timestamp) {
        switch notice {
        case .duplicate:
            // Counted in the file of the copy. Its original was the packet just before: read from another
            // file, it is that file's packet given again.
            guard summaries.indices.contains(currentFile) else { return }
            summaries[currentFile].duplicatePackets += 1
            guard previousFile != currentFile else { return }
            summaries[currentFile].copiesOfOtherFiles += 1
            summaries[currentFile].copiedFile = previousFile
        case .farAcknowledgement, .keepAlive, .cutSeenLate:
            if let queue {
                queue.noticed(notice, direction: direction, connection: connection, files: context)
            } else {
                layer.noticed(notice, connection: connection, files: context)
            }
        default:
            return
        }
    }

    public func connectionClosed(_ record: consuming ConnectionRecord) {
        if let queue {
            queue.closed(record, files: context)
        } else {
            layer.closed(record, files: context)
        }
    }
}
