import Core
import Records
import Streams

/// The files a delegate call of the connection table is counted against, as the analyzer knew them when the
/// call was made: `reading` is the file of the packet being processed as its link-type run knew it (the file
/// a connection's first stream bytes come from), `current` the file of the packet being processed, `count` how
/// many files had a summary then (a file past it is counted nowhere, as before the summaries had room).
struct FileContext {
    var reading: Int32
    var current: Int32
    var count: Int32
}

/// What the application layer adds to a file's `CaptureSummary`, kept apart from the summaries the connection
/// table's side counts into, so that the layer can run on a thread of its own (`ApplicationQueue`) and its
/// counts be added when the summaries are read.
struct ApplicationCounts {
    var keepAliveProbes = 0
    var cutBytesSeenLate: Int64 = 0
    var farAcknowledgements = 0
    var connectionsTaggedPerDirection = 0
    var connectionsTagsChanged = 0
    var connectionsEvicted = 0
    var simultaneousOpens = 0
    var lateServerSyns = 0
    var unusableTunnelTargets = 0
    var nonDecimalTunnelTargets = 0

    /// Adds each file's counts to its summary (every file counted had a summary when it was counted).
    static func add(_ counts: [ApplicationCounts], to summaries: inout [CaptureSummary]) {
        for (f, c) in counts.enumerated() where summaries.indices.contains(f) {
            summaries[f].keepAliveProbes += c.keepAliveProbes
            summaries[f].cutBytesSeenLate += c.cutBytesSeenLate
            summaries[f].farAcknowledgements += c.farAcknowledgements
            summaries[f].connectionsTaggedPerDirection += c.connectionsTaggedPerDirection
            summaries[f].connectionsTagsChanged += c.connectionsTagsChanged
            summaries[f].connectionsEvicted += c.connectionsEvicted
            summaries[f].simultaneousOpens += c.simultaneousOpens
            summaries[f].lateServerSyns += c.lateServerSyns
            summaries[f].unusableTunnelTargets += c.unusableTunnelTargets
            summaries[f].nonDecimalTunnelTargets += c.nonDecimalTunnelTargets
        }
    }
}

/// The application layer behind the connection table: each connection's `ApplicationState` (the HTTP and TLS
/// parsers), fed the stream events the table delivers, and the record of each connection that ends, finished
/// with what the parsers found and handed to `onConnection`.
///
/// Driven by `TrafficAnalyzer`, either on its own thread (calls made as the table delivers) or through an
/// `ApplicationQueue` on a thread of the queue's own; in both cases on one thread at a time, in the order of
/// the table's calls, so the records and counts are the same.
///
/// Stored state is `@exclusivity(unchecked)` (no run-time exclusivity check per access on the per-packet
/// path): it is changed only by its own methods, on one thread at a time, and no call re-enters the layer
/// while it is being changed (`onConnection` must not call back into the analyzer).
final class ApplicationLayer {
    var onConnection: (CompletedConnection) -> Void
    var onLeftOut: ((UInt64) -> Void)?
    private let keepDetails: Bool
    @exclusivity(unchecked) private(set) var applications: [UInt64: ApplicationState] = [:]
    /// The state `application(_:file:)` returned last, with its connection id. Not retained:
    /// `applications` holds it, and `closed` clears this before taking it out.
    @exclusivity(unchecked) private var lastApplication: (id: UInt64, state: Unmanaged<ApplicationState>)?
    /// Per file, what this layer adds to its summary.
    @exclusivity(unchecked) private(set) var counts: [ApplicationCounts] = []

    init(keepDetails: Bool, onConnection: @escaping (CompletedConnection) -> Void) {
        self.keepDetails = keepDetails
        self.onConnection = onConnection
    }

    /// The connection's application state, made on first use (from the file being read, `reading`). The last
    /// one found is kept, so consecutive deliveries on one connection look nothing up.
    ///
    /// Not retained: `applications` holds the state until `closed`, which the table never calls while it
    /// delivers bytes or gaps, so it outlives the delivery it is used for.
    @inline(__always)
    private func application(_ id: UInt64, reading: Int32) -> Unmanaged<ApplicationState> {
        if let last = lastApplication, last.id == id { return last.state }
        return lookUp(id, reading: reading)
    }

    private func lookUp(_ id: UInt64, reading: Int32) -> Unmanaged<ApplicationState> {
        let state: ApplicationState
        if let known = applications[id] {
            state = known
        } else {
            state = firstBytesState(reading: reading)
            applications[id] = state
        }
        let found = Unmanaged.passUnretained(state)
        lastApplication = (id, found)
        return found
    }

    /// A new state for a connection whose first stream bytes come now, from the file being read.
    func firstBytesState(reading: Int32) -> ApplicationState {
        let state = ApplicationState(keepDetails: keepDetails, midstream: false)
        state.fileIndex = Int(reading)
        return state
    }

    func received(_ data: UnsafeRawBufferPointer, direction: Direction, connection: UInt64, time: Timestamp,
                  reading: Int32) {
        application(connection, reading: reading)._withUnsafeGuaranteedRef {
            $0.didReceive(data, direction: direction, time: time)
        }
    }

    func skipped(_ gapBytes: Int64, direction: Direction, connection: UInt64, time: Timestamp, cut: Bool,
                 reading: Int32) {
        application(connection, reading: reading)._withUnsafeGuaranteedRef {
            $0.didSkip(gapBytes, direction: direction, time: time, cutBySnapLength: cut)
        }
    }

    func acknowledgedAhead(_ bytes: Int64, direction: Direction, connection: UInt64, reading: Int32) {
        application(connection, reading: reading)._withUnsafeGuaranteedRef {
            $0.didAcknowledgeAhead(bytes, direction: direction)
        }
    }

    /// A notice the layer counts (`StreamNotice.farAcknowledgement`, `.keepAlive`, `.cutSeenLate`; others
    /// are ignored), in the file of the connection's first stream bytes.
    func noticed(_ notice: StreamNotice, connection: UInt64, files: FileContext) {
        let f = application(connection, reading: files.reading)._withUnsafeGuaranteedRef { $0.fileIndex }
        guard f >= 0, f < Int(files.count) else { return }
        Self.grow(&counts, toHold: f)
        switch notice {
        case .keepAlive: counts[f].keepAliveProbes += 1
        case .cutSeenLate(let bytes): counts[f].cutBytesSeenLate += bytes
        case .farAcknowledgement: counts[f].farAcknowledgements += 1
        default: return
        }
    }

    func closed(_ record: consuming ConnectionRecord, files: FileContext) {
        if lastApplication?.id == record.id { lastApplication = nil }
        let stored = applications.removeValue(forKey: record.id)
        onConnection(complete(record, state: stored, files: files, into: &counts))
    }

    func leftOut(_ id: UInt64) {
        onLeftOut?(id)
    }

    private static func grow(_ counts: inout [ApplicationCounts], toHold f: Int) {
        while counts.count <= f { counts.append(ApplicationCounts()) }
    }

    /// Finishes `record` with its application state (`stored`; nil for a connection that carried no byte),
    /// counting it in `counts` as it ends: the real end of a connection, or a provisional one
    /// (`TrafficAnalyzer.soFar`). Inlined: called apart, it cost each connection's end about 60 instructions
    /// more (the record passed and the completed connection returned through memory).
    @inline(__always)
    func complete(
        _ record: consuming ConnectionRecord, state stored: ApplicationState?, files: FileContext,
        into counts: inout [ApplicationCounts]
    ) -> CompletedConnection {
        let state = stored ?? ApplicationState(keepDetails: keepDetails, midstream: false)
        state.finish(into: &record)
        // Counted in the file of the connection's first stream bytes; one that carried none (a SYN alone, an
        // ACK) has no state, and is counted in the file being read as it ends.
        let known = 0..<Int(files.count)
        let f = stored != nil && known.contains(state.fileIndex) ? state.fileIndex
            : known.contains(Int(files.current)) ? Int(files.current) : Int(files.reading)
        if known.contains(f) {
            let tagged = record.vlanDown != nil, changed = record.vlanChanged
            let evicted = record.state.contains(.evicted), simultaneous = record.openedSimultaneously
            let lateSyn = record.lateServerSyn
            if tagged || changed || evicted || simultaneous || lateSyn {
                Self.grow(&counts, toHold: f)
                if tagged { counts[f].connectionsTaggedPerDirection += 1 }
                if changed { counts[f].connectionsTagsChanged += 1 }
                if evicted { counts[f].connectionsEvicted += 1 }
                if simultaneous { counts[f].simultaneousOpens += 1 }
                if lateSyn { counts[f].lateServerSyns += 1 }
            }
        }
        if let tunnel = record.tunnel, tunnel.kind != .refused, known.contains(state.fileIndex) {
            let noPort = tunnel.port == nil, nonDecimal = tunnel.hostIsNonDecimalNumber
            if noPort || nonDecimal {
                Self.grow(&counts, toHold: state.fileIndex)
                if noPort { counts[state.fileIndex].unusableTunnelTargets += 1 }
                if nonDecimal { counts[state.fileIndex].nonDecimalTunnelTargets += 1 }
            }
        }
        var quiet = record.end.nanoseconds(since: record.start)
        if let first = state.firstDelivery, let last = state.lastDelivery {
            quiet = max(state.longestBetweenDeliveries, first.nanoseconds(since: record.start),
                        record.end.nanoseconds(since: last))
        }
        return CompletedConnection(record: consume record, details: state.details, longestQuietBound: quiet)
    }
}
