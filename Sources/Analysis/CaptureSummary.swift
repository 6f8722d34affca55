import Core
import Records
import Streams

/// What the packets of one capture file (or of a whole run, see `merged`) looked like.
///
/// Odd traffic is counted here rather than thrown away: packets the decoder could
/// not use are listed by reason, link types it does not support by name.
public struct CaptureSummary: Sendable {
    /// The file, or `-` for a merged summary of several files.
    public var path: String
    public var format: String = ""
    /// Who read the file (`CaptureReaderKind`): libpcap, the own classic pcap or pcapng reader, or one then
    /// the other.
    public var reader: String = ""
    public var packets = 0
    /// Captured bytes (what the file holds).
    public var capturedBytes: Int64 = 0
    /// Original bytes (what was on the wire).
    public var originalBytes: Int64 = 0
    public var first: Timestamp?
    public var last: Timestamp?
    /// Packets per link type.
    public var linkTypes: [LinkType: Int] = [:]
    /// Packets whose link type sepbeat does not decode, per link type.
    public var unsupportedLinkTypes: [LinkType: Int] = [:]
    public var tcpPackets = 0
    /// Non-TCP IP packets per IP protocol number (17 = UDP, 1 = ICMP, ...).
    public var otherIPProtocols: [UInt8: Int] = [:]
    /// Frames that carried no IP at all (ARP, LLDP, ...).
    public var nonIP = 0
    /// Packets cut short by the snap length (their headers were still used).
    public var truncated = 0
    /// Frames the snap length cut before the end of their TCP header, or IP fragments it cut: not read at all
    /// (no segment of any connection), so not in `truncated`.
    public var truncatedBeforeTCP = 0
    /// Of those, the most bytes of a frame up to the end of the header the cut fell in (the bytes before the header
    /// and all of it): what a snap length must at least keep, past 96 bytes when an encapsulation (a tunnel, MPLS,
    /// PPPoE) comes before the IP header.
    public var truncatedHeadersEnd = 0
    /// Frames with impossible lengths or fields, per reason.
    public var malformed: [String: Int] = [:]
    /// IP fragments held for reassembly (the datagram counts once, when complete).
    public var fragments = 0
    /// Of `fragments`, those overlapping bytes already held for their datagram (the bytes held were kept), and of
    /// those, the ones whose bytes over the overlap differ from the bytes held.
    public var fragmentsOverlapping = 0
    public var fragmentsConflicting = 0
    /// TCP packets whose IP header claimed more bytes than the frame holds, not cut by the snap length (the
    /// frame's bytes were read, as tshark reads them), and those whose IP length was 0 (segmentation offload
    /// on the capturing host; the frame's length was used).
    public var ipLengthPastFrame = 0
    public var zeroIPLength = 0
    /// Records whose timestamp was earlier than the one before (file order is kept).
    public var backwardTimestamps = 0
    /// TCP packets stamped more than `StreamLimits.unconfirmedClockStep` (a minute) ahead of the
    /// connection table's clock while the other traffic went on at the clock's time (one flow, or one
    /// interface, with a clock far ahead): kept, and judged by their own times, without moving the
    /// clock for the others. Packets after a jump of the whole capture are not counted.
    public var packetsAheadOfClock = 0
    /// Connections through a proxy whose `CONNECT` target named no usable port (`CONNECT 10.1.0.11`,
    /// a port past 65535): judged as connections to the proxy. Counted in the file of the connection's
    /// first stream bytes.
    public var unusableTunnelTargets = 0
    /// Acknowledgements of bytes never captured, with nothing after them, beyond what a lost tail reaches
    /// (`HalfConnectionReassembler.acknowledgedTailReach`, 64 KiB): not counted as a gap. Counted in the file
    /// of the connection's first stream bytes.
    public var farAcknowledgements = 0
    /// TCP keep-alive probes (sequence one below the next byte, 0 or 1 garbage byte): neither data nor a
    /// retransmission. Counted in the file of the connection's first stream bytes.
    public var keepAliveProbes = 0
    /// Bytes the snap length cut from a packet that a later copy of it carried (a retransmission, or a capture
    /// merged from two sensors with different snap lengths, the cut copy first) after they were delivered as cut:
    /// the layers above had read on, so they stay cut. Counted in the file of the connection's first stream bytes.
    public var cutBytesSeenLate: Int64 = 0
    /// Connections through a proxy whose target host (a `CONNECT` target, or the first absolute-form
    /// request's) is numeric in a form other than dotted decimal (`012.1.0.11`, `0x0a.1.0.11`, `10.1.11`):
    /// not taken as an address, so judged as connections to the proxy. Counted in the file of the
    /// connection's first stream bytes.
    public var nonDecimalTunnelTargets = 0
    /// Connections that copy another one captured under other VLAN tags (a SPAN of an access port and
    /// its trunk: the same SYN, ISN and endpoints within a second, or within 10 s for two sensors' clocks
    /// merged), and their packets: left out of the analysis, so each check-in counts once. Counted in the
    /// file of the copy's packets.
    public var connectionsCapturedTwice = 0
    public var packetsCapturedTwice = 0
    /// The same for copies on the same VLAN tags (two sensors on one VLAN, their clocks seconds apart: a
    /// SYN repeating the ISN of the connection on its key). A copy whose SYN came while its original was
    /// still open leaves out that SYN only (its other packets fall onto the original as retransmissions).
    public var connectionsCapturedTwiceSameTags = 0
    public var packetsCapturedTwiceSameTags = 0
    /// Packets of copies under other VLAN tags (among `packetsCapturedTwice`) whose bytes filled a hole of the
    /// connection analysed: a segment one capture lost and the other held, so no gap.
    public var packetsFilledFromCopy = 0
    /// Connections whose client's packets and server's packets came under different VLAN tags, each direction
    /// under its own (a SPAN or trunk port tagging one direction only): joined into one connection each, as
    /// if untagged. Counted in the file of the connection's first stream bytes.
    public var connectionsTaggedPerDirection = 0
    /// Connections a direction of which moved to other VLAN tags partway and went on there (a path or tagging
    /// change): kept whole, not taken for copies. Counted in the file of the connection's first stream bytes.
    public var connectionsTagsChanged = 0
    /// Connections both ends opened with a SYN, then each a SYN-ACK (a simultaneous open): kept as one, its client
    /// the first SYN's sender. Counted in the file of the connection's first stream bytes.
    public var simultaneousOpens = 0
    /// Connections whose server, after answering the handshake, sent a SYN of its own while they were open: the
    /// SYN left out, each connection kept with its roles. Counted in the file of the connection's first stream bytes.
    public var lateServerSyns = 0
    /// Connections handed out early because more were open at once than the connection table holds
    /// (`StreamLimits.maxConnections`, the least recently active first): each one's later packets make a new
    /// piece (the heartbeat layer rejoins them). Counted in the file of the connection's first stream bytes.
    public var connectionsEvicted = 0
    /// Packets a BPF filter rejected.
    public var filteredOut = 0
    /// Of those, frames with MPLS labels and PPPoE session frames (`CaptureStatistics.filteredOutMPLS`): the
    /// filter hint names their forms.
    public var filteredOutMPLS = 0
    /// The most MPLS labels one of those frames stacked (`CaptureStatistics.deepestMPLSStack`).
    public var deepestMPLSStack = 0
    /// The most VLAN tags one frame the filter left out stacked (`CaptureStatistics.deepestVLANStack`).
    public var deepestVLANStack = 0
    public var filteredOutPPPoE = 0
    /// Why a live capture ended before its stop condition (the interface went away), or why reading a file
    /// stopped before its end at an offset not known (known ones are in `truncationOffsets`), when it did.
    public var captureEndedEarly: String?
    /// Packets that were exact copies of one just before (the same bytes and IP id: a capture on `any` seeing a
    /// bridge and its ports, a SPAN session copying both ports), counted in the file of the copy.
    public var duplicatePackets = 0
    /// Of the exact copies, packets of this file whose original was the packet just before, read from another
    /// file (`copiedFile`, the latest such): the same packets given in two files (a capture and an excerpt of
    /// it, overlapping rotations), whose bytes then count twice in connections and check-ins. Not merged
    /// across files; `sepbeat` warns of them (`duplicatePackets` counts them too).
    public var copiesOfOtherFiles = 0
    public var copiedFile: Int?
    /// Blocks of a pcapng file skipped unread (malformed, longer than the size limit, or packets naming an
    /// undeclared interface).
    public var skippedRecords = 0
    /// The file a live capture's packets were saved to (`-w`), the packets written, and why saving
    /// stopped part-way, when it did.
    public var savedTo: String?
    public var savedPackets = 0
    public var saveFailed: String?
    /// Stretches a live capture's interface was down (`CaptureSilence.interfaceDown`), in time order.
    public var interfaceDown: [CaptureSilence] = []
    /// A live capture's packets lost while capturing: dropped by the kernel with its buffer full, and by
    /// the interface or its driver (libpcap's counts at the end); nil for files.
    public var droppedByKernel: Int?
    public var droppedByInterface: Int?
    /// A followed input (standard input that is no regular file, a pipe, a FIFO, a device) ended by the first
    /// SIGINT, SIGTERM or SIGHUP before its writer closed it: the signal's name (`SIGINT`); nil otherwise.
    public var endedBy: String?
    /// Read for a report so far (`--every`): the input was still being read when the report was made, and the
    /// report at its end replaces it. Set by the report's maker, never by the analysis.
    public var soFar = false
    /// Records whose captured length exceeds their original length or the snaplen (kept as they are,
    /// or, where libpcap cut them to the snaplen, with a warning).
    public var oversizedRecords = 0
    /// Records whose fraction of a second is a full second or more (kept, carried into the seconds).
    public var invalidTimestampFractions = 0
    /// Packets that carry no time at all (pcapng Simple Packet Blocks), placed at 1970-01-01.
    public var packetsWithoutTimestamp = 0
    /// One-line warnings from the reader, e.g. a file truncated mid-record.
    public var warnings: [String] = []
    /// Byte offsets where reading the file stopped before its end: cut short, corrupt, or a block past a
    /// limit (the rest was not read).
    public var truncationOffsets: [Int64] = []
    /// The file is compressed (`gzip`, `xz`, `bzip2`): its byte offsets count decompressed bytes. Not
    /// in the JSON report, which is a compressed file's as it is its plain file's.
    public var compression: String?
    /// Set when the input was Zeek logs rather than packets (`--zeek`): what each log gave, shown in the
    /// reports instead of the packet counts (which stay at zero). `path` is then the logs' folder, and `first`
    /// and `last` the span of their connections.
    public var logs: [LogFileRows]?

    /// Stretches longer than `silenceThreshold` with no packet at all, in time order: within this
    /// file's timeline, or, for a merged summary, across all files' timelines together (where one file's
    /// packets fill another's silence, there is none; the time between files' timelines is one). Time
    /// order, not file order: a clock stepped back leaves the stretch between the pieces of the timeline
    /// as a silence, not as time the capture ran. Packets of a clock running beside the capture's (a
    /// stray packet, a flow or interface stamped far off) make no silence (see `CaptureTimeline`).
    /// Complete once the file's last packet is counted (`closeRuns()`).
    public var silences: [CaptureSilence] = []
    /// The first and last times of the file's timeline (`silences`): the capture's own clock, without
    /// the packets `CaptureTimeline` leaves out (`first`/`last` hold every packet). Set by `closeRuns()`.
    public var timelineStart: Timestamp?
    public var timelineEnd: Timestamp?
    /// Stretches holding a few packets stamped far off the file's clock (a run spanning `silenceThreshold`
    /// or less that is left out of the timeline or an excursion, `CaptureTimeline.excursions()`: a
    /// connection or a stray packet dated away, not an interface whose clock is off), in time order. Set by
    /// `closeRuns()`; merged: every file's.
    public var offClock: [OffClockStretch] = []
    /// Steps back of the file's whole clock partway (see `ClockSetBack`), set by `closeRuns()`; merged: every
    /// file's, in time order.
    public var clockSetBack: [ClockSetBack] = []
    /// Packets at the file's start stamped far behind the rest (the first packet, or first few, dated a day
    /// back: `CaptureTimeline.isStrayStart`): left out of the timeline. Set by `closeRuns()`.
    public var packetsBehindAtStart = 0
    /// The stretches of the timeline this file's packets cover (see `CaptureTimeline`).
    var timeline = CaptureTimeline()
    /// Silences beyond `maxSilencesListed` that the capture certainly did not cover (between files, or
    /// across a jump of the clock: `CaptureSilence.uncovered`), counted, not listed: the kinds a listed
    /// silence would be a finding for.
    public var silencesNotListed = 0
    /// Silences beyond `maxSilencesListed` inside one file's timeline that the clock ran through (a quiet
    /// link, as a listed one of the kind): counted, not listed, and no finding, as the listed ones.
    public var quietStretchesNotListed = 0

    /// A silence is a stretch with no packet longer than this: 60 s. Check-ins come every few
    /// minutes per client, but a capture of a server sees many clients, so a minute with no
    /// packet at all means the capture was not running (or the link was down), not that
    /// clients were quiet. Shorter quiet stretches are not reported.
    public static let silenceThreshold: Int64 = 60 * 1_000_000_000
    /// Most silences listed per summary (16 bytes each); a hostile capture cannot grow the list further.
    public static let maxSilencesListed = 10_000

    public init(path: String) {
        self.path = path
    }

    /// Counts a packet at `t` into the file's timeline: the per-packet step of the silences.
    @inline(__always)
    mutating func noteTime(_ t: Timestamp, nextConnection: UInt64 = 0) {
        // A forward jump past the timeline's bound: a pause inside the file that the clock ran through,
        // what a recorded step would have made of it (see `CaptureTimeline`).
        if timeline.note(t, nextConnection: nextConnection) { quietStretchesNotListed += 1 }
    }

    /// Turns the timeline's runs into `silences`: the gaps longer than the threshold between the runs
    /// kept (see `CaptureTimeline`), each one the clock jumped across (`CaptureSilence.clockJump`) unless
    /// what the capture ran through takes it in. Call once, after the file's last packet (again after
    /// more packets: it starts over). O(r log r) in the runs.
    mutating func closeRuns(correctingSetBack: Bool = false) {
        silences.removeAll()
        timelineStart = nil
        timelineEnd = nil
        var leftOut = timeline.leftOut()
        var excursions = timeline.excursions()
        let back = timeline.setBacks(leftOut: leftOut, excursions: excursions)
        packetsBehindAtStart = timeline.strayStartPackets
        // The runs either side of a step back are the capture's clock going on, not excursions from it.
        for i in back.runs + back.from { excursions[i] = false }
        let shifts = correctingSetBack ? back.shifts : []
        clockSetBack = back.runs.map { i in
            let r = timeline.runs[i]
            return ClockSetBack(before: r.before ?? r.start, after: r.start, firstConnection: r.firstConnection,
                                corrected: correctingSetBack)
        }
        // The runs on the clock they are read on: after a step back corrected, moved forward by it.
        var runs = timeline.runs
        func moved(_ t: Timestamp, _ by: Int64) -> Timestamp {
            Timestamp(nanoseconds: t.nanoseconds.addingReportingOverflow(by).partialValue)
        }
        for i in shifts.indices where shifts[i] != 0 {
            runs[i].start = moved(runs[i].start, shifts[i])
            runs[i].end = moved(runs[i].end, shifts[i])
        }
        offClock = runs.indices.filter {
            excursions[$0] || leftOut[$0] && runs[$0].end.nanoseconds(since: runs[$0].start)
                <= CaptureSummary.silenceThreshold
        }.map { OffClockStretch(start: runs[$0].start, end: runs[$0].end) }.sorted {
            $0.start < $1.start
        }
        // An excursion is left out of the timeline too (in a sparse capture no run may hold it).
        for i in leftOut.indices where excursions[i] { leftOut[i] = true }
        var kept = runs.indices.filter { !leftOut[$0] }.map { runs[$0] }
        kept.sort { $0.start < $1.start }
        guard var reach = kept.first?.end, let start = kept.first?.start else { return }
        let ran = timeline.ranThrough(shifts: shifts)
        func ranThrough(_ a: Timestamp, _ b: Timestamp) -> Bool {
            var lo = 0
            var hi = ran.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if ran[mid].start <= a { lo = mid + 1 } else { hi = mid }
            }
            return lo > 0 && ran[lo - 1].end >= b
        }
        for piece in kept.dropFirst() {
            if piece.start.nanoseconds(since: reach) > CaptureSummary.silenceThreshold {
                noteSilence(from: reach, to: piece.start, clockJump: !ranThrough(reach, piece.start))
            }
            if piece.end > reach { reach = piece.end }
        }
        timelineStart = start
        timelineEnd = reach
    }

    /// Notes a silence from `start` to `end`, within the list's bound.
    mutating func noteSilence(from start: Timestamp, to end: Timestamp, betweenFiles: Bool = false,
                              clockJump: Bool = false) {
        guard silences.count < CaptureSummary.maxSilencesListed else {
            if betweenFiles || clockJump { silencesNotListed += 1 } else { quietStretchesNotListed += 1 }
            return
        }
        silences.append(CaptureSilence(start: start, end: end, betweenFiles: betweenFiles, clockJump: clockJump))
    }

    public var malformedTotal: Int { malformed.values.reduce(0, +) }
    public var unsupportedTotal: Int { unsupportedLinkTypes.values.reduce(0, +) }
    public var otherIPTotal: Int { otherIPProtocols.values.reduce(0, +) }

    /// Seconds from first to last packet, 0 when fewer than two packets.
    public var duration: Double {
        guard let f = first, let l = last else { return 0 }
        return l.seconds(since: f)
    }

    /// All files' counters added up.
    public static func merged(_ files: [CaptureSummary]) -> CaptureSummary {
        if files.count == 1 { return files[0] }
        var m = CaptureSummary(path: "-")
        for f in files {
            m.packets += f.packets
            m.capturedBytes += f.capturedBytes
            m.originalBytes += f.originalBytes
            if let t = f.first, m.first.map({ t < $0 }) ?? true { m.first = t }
            if let t = f.last, m.last.map({ t > $0 }) ?? true { m.last = t }
            m.linkTypes.merge(f.linkTypes, uniquingKeysWith: +)
            m.unsupportedLinkTypes.merge(f.unsupportedLinkTypes, uniquingKeysWith: +)
            m.tcpPackets += f.tcpPackets
            m.otherIPProtocols.merge(f.otherIPProtocols, uniquingKeysWith: +)
            m.nonIP += f.nonIP
            m.truncated += f.truncated
            m.truncatedBeforeTCP += f.truncatedBeforeTCP
            m.truncatedHeadersEnd = max(m.truncatedHeadersEnd, f.truncatedHeadersEnd)
            m.malformed.merge(f.malformed, uniquingKeysWith: +)
            m.fragments += f.fragments
            m.fragmentsOverlapping += f.fragmentsOverlapping
            m.fragmentsConflicting += f.fragmentsConflicting
            m.ipLengthPastFrame += f.ipLengthPastFrame
            m.zeroIPLength += f.zeroIPLength
            m.backwardTimestamps += f.backwardTimestamps
            m.packetsAheadOfClock += f.packetsAheadOfClock
            m.unusableTunnelTargets += f.unusableTunnelTargets
            m.farAcknowledgements += f.farAcknowledgements
            m.keepAliveProbes += f.keepAliveProbes
            m.cutBytesSeenLate += f.cutBytesSeenLate
            m.nonDecimalTunnelTargets += f.nonDecimalTunnelTargets
            m.filteredOut += f.filteredOut
            m.filteredOutMPLS += f.filteredOutMPLS
            m.deepestMPLSStack = max(m.deepestMPLSStack, f.deepestMPLSStack)
            m.deepestVLANStack = max(m.deepestVLANStack, f.deepestVLANStack)
            m.filteredOutPPPoE += f.filteredOutPPPoE
            if let why = f.captureEndedEarly { m.captureEndedEarly = why }
            m.skippedRecords += f.skippedRecords
            m.duplicatePackets += f.duplicatePackets
            if let to = f.savedTo { m.savedTo = to }
            m.savedPackets += f.savedPackets
            if let why = f.saveFailed { m.saveFailed = why }
            m.interfaceDown += f.interfaceDown
            if let d = f.droppedByKernel { m.droppedByKernel = (m.droppedByKernel ?? 0) + d }
            if let d = f.droppedByInterface { m.droppedByInterface = (m.droppedByInterface ?? 0) + d }
            if let by = f.endedBy { m.endedBy = by }
            m.connectionsCapturedTwice += f.connectionsCapturedTwice
            m.packetsCapturedTwice += f.packetsCapturedTwice
            m.connectionsCapturedTwiceSameTags += f.connectionsCapturedTwiceSameTags
            m.packetsCapturedTwiceSameTags += f.packetsCapturedTwiceSameTags
            m.packetsFilledFromCopy += f.packetsFilledFromCopy
            m.connectionsTaggedPerDirection += f.connectionsTaggedPerDirection
            m.connectionsTagsChanged += f.connectionsTagsChanged
            m.simultaneousOpens += f.simultaneousOpens
            m.lateServerSyns += f.lateServerSyns
            m.connectionsEvicted += f.connectionsEvicted
            m.oversizedRecords += f.oversizedRecords
            m.invalidTimestampFractions += f.invalidTimestampFractions
            m.packetsWithoutTimestamp += f.packetsWithoutTimestamp
            m.warnings += f.warnings
            m.truncationOffsets += f.truncationOffsets
            m.silencesNotListed += f.silencesNotListed
            m.quietStretchesNotListed += f.quietStretchesNotListed
            m.offClock += f.offClock
            m.clockSetBack += f.clockSetBack
            m.packetsBehindAtStart += f.packetsBehindAtStart
            if let t = f.timelineStart, m.timelineStart.map({ t < $0 }) ?? true { m.timelineStart = t }
            if let t = f.timelineEnd, m.timelineEnd.map({ t > $0 }) ?? true { m.timelineEnd = t }
        }
        m.mergeSilences(of: files)
        return m
    }

    /// Files of a merged run whose clock looks set forward: a silence the file ran through (a forward
    /// step of its clock) while the other files' packets went on (their own silences under half of it),
    /// the file then running on past the last
    /// of theirs by about the stretch's length (`runsOn`, nanoseconds; more than the threshold), the only
    /// stretch of the file that fits so. Read
    /// alone, such a stretch is a pause; beside files that ran through it, it is more likely the file's clock jumping
    /// ahead, and the intervals of the file's own clients across it (judged as if it had run) may show
    /// missed check-ins that are the clock's. O(f² s) in files and silences.
    public static func clocksSetForward(_ files: [CaptureSummary])
        -> [(path: String, silence: CaptureSilence, runsOn: Int64)] {
        guard files.count > 1 else { return [] }
        let threshold = CaptureSummary.silenceThreshold
        var out: [(path: String, silence: CaptureSilence, runsOn: Int64)] = []
        for (i, f) in files.enumerated() {
            guard let end = f.timelineEnd else { continue }
            let others = files.indices.filter { $0 != i }.map { files[$0] }
            guard let othersEnd = others.compactMap(\.timelineEnd).max(),
                  end.nanoseconds(since: othersEnd) > threshold else { continue }
            let together = CaptureSummary.merged(others)
            let runsOn = end.nanoseconds(since: othersEnd)
            var fitting: [CaptureSilence] = []
            for s in f.silences where !s.clockJump && !s.betweenFiles {
                // The others ran on from before it, their silences taking up less than half of it, and the
                // file runs on after them by about the stretch's length (within a tenth, or the threshold).
                let off = s.nanoseconds > runsOn ? s.nanoseconds - runsOn : runsOn - s.nanoseconds
                let quiet = together.silences.reduce(Int64(0)) { $0 + $1.overlap(from: s.start, to: s.end) }
                guard let start = together.timelineStart, start <= s.start, off <= max(threshold, runsOn / 10),
                      quiet < s.nanoseconds / 2
                else { continue }
                fitting.append(s)
            }
            // A step forward moves every later packet once, so the file runs on by the sum of its steps: of
            // several stretches that each fit, at most one can be a step, and a file that falls silent that
            // long again and again (a sensor seeing a few clients) pauses rather than jumps; none is named.
            if fitting.count == 1, let s = fitting.first { out.append((f.path, s, runsOn)) }
        }
        return out
    }

    /// The silences of the files together: the gaps (longer than the threshold) in the union of
    /// what each file covers (its timeline, first to last, less its own silences). Exact: a stretch
    /// with no packet in any file is, in each file, outside its span or inside one of its silences.
    /// O(s log s) in the files' silences.
    private mutating func mergeSilences(of files: [CaptureSummary]) {
        var covered: [(start: Timestamp, end: Timestamp)] = []
        for f in files {
            guard let first = f.timelineStart, let last = f.timelineEnd else { continue }
            var from = first
            for s in f.silences.sorted(by: { $0.start < $1.start }) {
                covered.append((from, s.start))
                from = s.end
            }
            covered.append((from, last))
        }
        covered.sort { $0.start < $1.start }
        guard var reach = covered.first?.end else { return }
        for piece in covered.dropFirst() {
            if piece.start.nanoseconds(since: reach) > CaptureSummary.silenceThreshold {
                let inAFile = files.contains { f in
                    guard let first = f.timelineStart, let last = f.timelineEnd else { return false }
                    return first < piece.start && last > reach
                }
                // Across a jump of the clock only when every file whose span holds the gap jumped across
                // it: a file that ran through it (a pause of its own) saw the time and nothing in it.
                var jumped = false
                var ranThrough = false
                for f in files {
                    guard let first = f.timelineStart, let last = f.timelineEnd, first < piece.start, last > reach
                    else { continue }
                    let own = f.silences.first { $0.start <= reach && $0.end >= piece.start }
                    if own?.clockJump == true { jumped = true } else { ranThrough = true }
                }
                noteSilence(from: reach, to: piece.start, betweenFiles: !inAFile, clockJump: jumped && !ranThrough)
            }
            if piece.end > reach { reach = piece.end }
        }
    }
}
