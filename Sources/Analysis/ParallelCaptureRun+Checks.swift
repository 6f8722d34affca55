import Core
import Records
import Streams

extension ParallelCaptureRun {
    /// Slack on every time threshold: the connection table sweeps at most every 250 ms of capture
    /// time, and on a different schedule for one file than for all files, so a decision that fell
    /// within this much of a threshold could have gone the other way in the merged run.
    static let timingSlack: Int64 = 1_000_000_000

    /// Why `outputs` (each file read alone) might not be what the merged run gives, or nil when
    /// they are. The merged run differs from the files read apart only through what the files
    /// share, and each check rules one such thing out, assuming the worst where records are silent:
    ///
    /// - Connections: two records of the same VLAN and endpoints in different files, the later one
    ///   starting before the earlier one ended plus the idle timeout (and slack). In the merged run
    ///   the later packets could join the earlier connection (still open, or lingering after its
    ///   close). This includes the plain case of a connection cut at a file's end (open at the end
    ///   of one file, picked up without a SYN in the next).
    /// - The table's clock: in the merged run it advances with every file's packets. What the clock
    ///   decides for a connection (idle flush, close linger, hole timeouts, freeing the retransmission
    ///   history of a quiet connection) only changes the record when a packet of that connection
    ///   comes near a threshold, or when bytes were held for reassembly. Those records are refused:
    ///   a record that may hold a stretch without a packet of about the idle timeout or more (its stream
///   deliveries bound its quiet stretches; without bytes, its duration does), a
    ///   packet about the close linger or more after the close, a record split from an earlier one of
    ///   the same file and endpoints without a SYN (split by the clock), any gap, out-of-order
    ///   segment or reached bound, and retransmissions on a record that may hold a quiet stretch of
    ///   about the close linger.
    ///   Spans of files may overlap freely otherwise: a file's own packets then decide everything.
    /// - Shared bounds: a bound of `StreamLimits` reached in any file, or the files together able to
    ///   reach the table's connection or buffer bound; IP fragments (the decoder's fragment table,
    ///   with its own clock and bounds, is shared in the merged run).
    /// - The clock's steps ahead (`StreamLimits.unconfirmedClockStep`): a file with packets counted
    ///   ahead of its clock. (Only a packet near the clock after one held ahead counts them, which the
    ///   merged order, by time, gives only where a file's timestamps run backwards; this is a guard.)
    ///   A step held back in the merged run only delays the clock, which the checks below allow for.
    /// - Copies: a connection captured twice under other VLAN tags (`StreamLimits.capturedTwiceWindow`,
    ///   `capturedTwiceISNWindow`) is left out by the table that holds both; two records of the same
    ///   endpoints on other tags in different files, starting within the wider window (and slack), could be
    ///   such a pair. (A copy on the same tags in another file is a shared connection, below.)
    /// - Directions under other tags: a capture that tags one direction only has each direction of a
    ///   connection under its own tags, which the table that holds both joins into one (no time window); two
    ///   records of the same endpoints on other tags in different files, the later one starting before the
    ///   earlier one ended plus the idle timeout (and slack), could be such directions.
    /// - Order: a file whose timestamps run backwards (the merged order then depends on it), and two
    ///   records of one client starting at the same nanosecond (the heartbeat layer keeps equal
    ///   starts in arrival order, and arrival order is not the same here).
    ///
    /// Cost: O(n log n) in records.
    static func fallback(_ outputs: [FileOutput], limits: StreamLimits) -> Fallback? {
        var highWater = 0
        var buffered = 0
        for output in outputs {
            if output.summary.fragments > 0 { return Fallback(reason: "IP fragments") }
            if output.summary.backwardTimestamps > 0 { return Fallback(reason: "timestamps out of order") }
            if output.streams.limitReached > 0 || output.streams.connectionsEvicted > 0 {
                return Fallback(reason: "a stream limit was reached")
            }
            highWater += output.streams.connectionsHighWater
            buffered += output.streams.bufferedBytesHighWater
        }
        if highWater >= limits.maxConnections || buffered >= limits.maxBufferedBytesTotal {
            return Fallback(reason: "the files together could reach a stream limit")
        }
        if outputs.contains(where: { $0.summary.packetsAheadOfClock > 0 }) {
            return Fallback(reason: "packets stamped ahead of the capture's clock")
        }
        let nearTimeout = Fallback(reason: "a connection near a stream timeout")
        var groups: [ConnectionKey: [(file: Int, record: ConnectionRecord)]] = [:]
        var starts = Set<ClientStart>()
        var untagged: [ConnectionKey: [(file: Int, vlan: VLANTags, start: Timestamp, end: Timestamp)]] = [:]
        for (f, output) in outputs.enumerated() {
            for c in output.connections {
                let r = c.record
                if clockSensitive(r, quiet: c.longestQuietBound, limits) { return nearTimeout }
                guard starts.insert(ClientStart(client: r.client.address, start: r.start)).inserted else {
                    return Fallback(reason: "connections of one client starting at the same time")
                }
                groups[ConnectionKey(r), default: []].append((f, r))
                untagged[ConnectionKey(r, ignoringVLAN: true), default: []].append((f, r.vlan, r.start, r.end))
            }
        }
        let copyWindow = max(limits.capturedTwiceWindow, limits.capturedTwiceISNWindow) + timingSlack
        for var group in untagged.values where group.count > 1 {
            group.sort { $0.start < $1.start }
            for i in group.indices.dropFirst() {
                var j = i - 1
                while j >= 0, group[i].start.nanoseconds(since: group[j].start) <= copyWindow {
                    if group[j].file != group[i].file, group[j].vlan != group[i].vlan {
                        return Fallback(reason: "a connection possibly captured twice under other VLAN tags")
                    }
                    j -= 1
                }
            }
        }
        let window = limits.idleTimeout + timingSlack
        for var group in untagged.values where group.count > 1 {
            group.sort { ($0.start, $0.file) < ($1.start, $1.file) }
            // The latest end so far, per file and tags.
            var reach: [FileTags: Timestamp] = [:]
            for r in group {
                for (g, end) in reach where g.file != r.file && g.vlan != r.vlan
                    && r.start.nanoseconds(since: end) <= window {
                    return Fallback(reason: "a connection possibly under other VLAN tags each way")
                }
                let here = FileTags(file: r.file, vlan: r.vlan)
                if reach[here].map({ r.end > $0 }) ?? true { reach[here] = r.end }
            }
        }
        for var group in groups.values where group.count > 1 {
            group.sort { ($0.record.start, $0.file) < ($1.record.start, $1.file) }
            // The latest end so far, per file.
            var reach: [Int: Timestamp] = [:]
            for (f, r) in group {
                for (g, end) in reach where r.start.nanoseconds(since: end) <= window {
                    if g != f { return .sharedConnections }
                    if r.state.contains(.midstream) { return nearTimeout }
                }
                if reach[f].map({ r.end > $0 }) ?? true { reach[f] = r.end }
            }
        }
        return nil
    }

    /// Whether the connection table's clock could have decided this record differently.
    /// `quiet` bounds the record's longest stretch without a packet (`CompletedConnection`).
    static func clockSensitive(_ r: ConnectionRecord, quiet: Int64, _ limits: StreamLimits) -> Bool {
        if quiet >= limits.idleTimeout - timingSlack { return true }
        if let close = r.closeTime, r.end.nanoseconds(since: close) >= limits.closeLinger - timingSlack { return true }
        if r.state.contains(.evicted) { return true }
        for a in [r.anomaliesUp, r.anomaliesDown] {
            if a.gaps > 0 || a.outOfOrder > 0 || a.limitReached > 0 { return true }
            let repeats = a.retransmissions > 0 || a.conflicts > 0 || a.duplicates > 0
            if repeats && quiet >= limits.closeLinger - timingSlack { return true }
        }
        return false
    }
}

/// A connection's VLAN tags and endpoints, whichever side was judged the client.
struct ConnectionKey: Hashable {
    var vlan: VLANTags
    var low: Endpoint
    var high: Endpoint

    /// With `ignoringVLAN`, the tags are left empty: the key of the endpoints alone.
    init(_ r: ConnectionRecord, ignoringVLAN: Bool = false) {
        vlan = ignoringVLAN ? VLANTags() : r.vlan
        low = min(r.client, r.server)
        high = max(r.client, r.server)
    }
}

/// A file and a set of VLAN tags.
struct FileTags: Hashable {
    var file: Int
    var vlan: VLANTags
}

/// A client address and a start time, to find equal starts.
struct ClientStart: Hashable {
    var client: IPAddress
    var start: Timestamp
}
