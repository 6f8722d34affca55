import Core

/// The container format of a capture file.
public enum CaptureFileFormat: String, Sendable {
    /// Classic pcap with microsecond timestamps (magic 0xa1b2c3d4).
    case pcap = "pcap"
    /// Classic pcap with nanosecond timestamps (magic 0xa1b23c4d).
    case pcapNanoseconds = "pcap-ns"
    /// Classic pcap in Kuznetzov's modified format (magic 0xa1b2cd34).
    case pcapModified = "pcap-modified"
    /// pcapng.
    case pcapng = "pcapng"
    /// Packets captured from a network interface (`LiveSource`), not read from a file.
    case live = "live"
}

/// The byte order a capture file was written in.
public enum CaptureByteOrder: String, Sendable {
    case littleEndian = "little-endian"
    case bigEndian = "big-endian"
    /// A pcapng file whose sections use both orders.
    case mixed = "mixed"
}

/// Which code read a file.
public enum CaptureReaderKind: Equatable, Sendable, CustomStringConvertible {
    case libpcap
    /// The pure-Swift pcapng block reader.
    case own
    /// libpcap read the first `packets` packets, then refused the file (for example
    /// at a second interface with another link type) and the own reader went on.
    case libpcapThenOwn(packets: Int)
    /// The own classic pcap reader (`ClassicPcapReader`), to the file's end.
    case ownPcap
    /// The own classic pcap reader read the first `packets` packets, then handed the rest of the file to
    /// libpcap (at a record libpcap treats specially: cut to the snaplen, a joined file header, a cut).
    case ownPcapThenLibpcap(packets: Int)

    public var description: String {
        switch self {
        case .libpcap: return "libpcap"
        case .own: return "own pcapng reader"
        // libpcap that read nothing before the switch did not read the file: the own reader read it all.
        case .libpcapThenOwn(0): return "own pcapng reader"
        case .libpcapThenOwn(let n): return "libpcap for \(n) packets, then own pcapng reader"
        case .ownPcap: return "own pcap reader"
        // Likewise the other way: libpcap read every packet.
        case .ownPcapThenLibpcap(0): return "libpcap"
        case .ownPcapThenLibpcap(let n): return "own pcap reader for \(n) packets, then libpcap"
        }
    }
}

/// How many packets of one link type a file held.
public struct LinkTypeCount: Equatable, Sendable {
    public var linkType: LinkType
    public var packets: Int
}

/// Something odd about a capture file that did not stop the records before it.
///
/// `description` is one line naming the file and the problem.
public struct CaptureWarning: CustomStringConvertible, Equatable, Sendable {
    /// What kind of problem it is; stable words for reports.
    public enum Code: String, Sendable {
        /// The file ends inside a record or block; every whole record before it was read.
        case truncated
        /// The file holds no packets.
        case noPackets = "no-packets"
        /// A block or record is malformed; reading stopped there.
        case corrupt
        /// Some records were malformed and skipped; reading went on after them.
        case skippedRecords = "skipped-records"
        /// Records held more bytes than the snaplen and libpcap kept only the snaplen's worth.
        case cutToSnapLength = "cut-to-snaplen"
        /// libpcap refused the rest of the file and the own reader took over.
        case readerSwitched = "reader-switched"
        /// The filter cannot apply to some link type; those packets were left out.
        case filterNotApplicable = "filter-not-applicable"
        /// A limit from `CaptureLimits` was hit.
        case limitReached = "limit-reached"
        /// Records whose time lies outside what a `Timestamp` holds (1677 to 2262); clamped.
        case timestampOutOfRange = "timestamp-out-of-range"
        /// Classic pcap files joined end to end (`cat a.pcap b.pcap`): a file header where a record starts.
        case joinedFiles = "joined-files"
        /// Bytes after a compressed file's last gzip member or bzip2 stream that start no other: ignored.
        case trailingData = "trailing-data"
        /// Packets with no time at all (pcapng Simple Packet Blocks).
        case noTimestamps = "no-timestamps"
        /// Something libpcap said about a live capture (e.g. no promiscuous mode).
        case liveCapture = "live-capture"
        /// A live capture lost packets (the kernel's buffer was full, or the interface dropped them).
        case packetsDropped = "packets-dropped"
        /// A live capture ended before its stop condition: the interface went away or stopped working.
        case captureEnded = "capture-ended"
        /// A live capture's interface was down for a while: nothing was captured then.
        case interfaceDown = "interface-down"
        /// Saving a live capture's packets (`-w`) failed: the file holds only the packets before.
        case saveFailed = "save-failed"
    }

    public var path: String
    public var code: Code
    /// Where in the file the problem sits, when known.
    public var byteOffset: Int?
    /// The problem, without the file name.
    public var problem: String

    public var description: String { "\(path): \(problem)" }
}

/// Summary of one capture file, filled in as its records are read.
public struct CaptureStatistics: Sendable {
    public var path: String
    public var fileIndex: Int
    public var format: CaptureFileFormat
    public var byteOrder: CaptureByteOrder
    public var reader: CaptureReaderKind
    /// Records read from the file (filtered-out ones included).
    public var packets: Int = 0
    public var capturedBytes: Int = 0
    public var originalBytes: Int = 0
    /// Packets per link type, in the order the link types first appeared.
    public var linkTypes: [LinkTypeCount] = []
    /// Time of the first and last record in file order.
    public var firstTimestamp: Timestamp?
    public var lastTimestamp: Timestamp?
    /// Earliest and latest time of any record.
    public var earliestTimestamp: Timestamp?
    public var latestTimestamp: Timestamp?
    /// Records whose time is before the record just before them (file order is kept).
    public var backwardTimestamps: Int = 0
    /// Records cut by the snapshot length (captured length < original length).
    public var truncatedRecords: Int = 0
    /// Records whose captured length exceeds their original length or the snaplen (kept as they are).
    public var oversizedRecords: Int = 0
    /// Records whose sub-second part is a full second or more (kept, carried into the seconds).
    public var invalidTimestampFractions: Int = 0
    /// Records whose time lies outside what a `Timestamp` holds (about 1677-09-21 to
    /// 2262-04-11, e.g. a pcapng clock in whole seconds with nanosecond-sized tick counts):
    /// stamped with the nearest representable time. One warning names the file and the count.
    public var timestampsOutOfRange: Int = 0
    /// Simple Packet Blocks, which carry no time (given `Timestamp.zero`).
    public var packetsWithoutTimestamp: Int = 0
    /// Records the filter rejected.
    public var filteredOut: Int = 0
    /// Of those, Ethernet frames carrying MPLS labels, and PPPoE session frames (after any VLAN tags): a filter
    /// sees them through `mpls` and `pppoes` only, as it sees tagged frames through `vlan`.
    public var filteredOutMPLS: Int = 0
    /// The most labels one of those frames stacked (0: none left out): a filter reads past one label per `mpls`.
    public var deepestMPLSStack: Int = 0
    /// The most VLAN tags one of the frames the filter rejected stacked (0: none): a filter reads past one tag per
    /// `vlan`, so a QinQ frame (802.1ad over 802.1Q) needs `vlan and vlan and`.
    public var deepestVLANStack: Int = 0
    public var filteredOutPPPoE: Int = 0
    /// Malformed records skipped (e.g. a packet block naming an undeclared interface).
    public var skippedRecords: Int = 0
    /// A live capture's packets dropped by the kernel because its buffer was full, and by the interface
    /// or its driver, as libpcap counts them when the capture ends; nil for a file.
    public var droppedByKernel: Int?
    public var droppedByInterface: Int?
    /// Stretches a live capture's interface was seen down (system time, from when it was seen down to when
    /// it was seen up again, or the capture's end), in time order; empty for a file.
    public var interfaceDown: [(start: Timestamp, end: Timestamp)] = []
    /// The file a live capture's packets are saved to (`LiveSource.startSaving(to:)`), and how many were
    /// written to it; nil and 0 otherwise.
    public var savedTo: String?
    public var savedPackets = 0
    public var warnings: [CaptureWarning] = []
    /// Reading stopped before the end of the file (it is cut or damaged there, a block is past a limit of
    /// `CaptureLimits`, libpcap stopped and the own reader could not go on): where and why. Every packet
    /// before it was read, none after; nil when the file was read to its end.
    public var readingStopped: ReadingStop?
    /// A followed input (standard input, a pipe, a FIFO or a device, read until a stop request, see
    /// `FollowedInput`) that the request ended before its writer closed it: what made the request
    /// (`SIGINT`, `SIGTERM`, `SIGHUP`, or `a stop request`); nil when the input was read to its end. A
    /// record the stop cut part-way is not counted as the input cut short.
    public var endedBy: String?
    /// The file is compressed (gzip, xz, bzip2) and was decompressed as it was read: its byte offsets
    /// count decompressed bytes. Nil for a capture read as it is.
    public var compression: CaptureCompression?

    /// Where and why reading a file stopped before its end (`CaptureStatistics.readingStopped`).
    public struct ReadingStop: Equatable, Sendable {
        /// The byte offset of the record or block reading stopped at, when known.
        public var byteOffset: Int?
        /// The warning's text, without the file name.
        public var problem: String
    }

    init(path: String, fileIndex: Int, format: CaptureFileFormat, byteOrder: CaptureByteOrder,
         reader: CaptureReaderKind) {
        self.path = path
        self.fileIndex = fileIndex
        self.format = format
        self.byteOrder = byteOrder
        self.reader = reader
    }

    /// Counts one record. `snapshotLength` 0 means unknown or unlimited.
    /// Counts `record` as one the filter rejected, and whether it carried MPLS labels or a PPPoE session: the
    /// EtherType after the Ethernet addresses and any VLAN tags (802.1Q, 802.1ad, 0x9100, 0x9200).
    mutating func countFilteredOut(_ record: PacketRecord) {
        filteredOut += 1
        guard record.linkType == .ethernet else { return }
        let bytes = record.bytes
        var at = 12, tags = 0
        defer { deepestVLANStack = max(deepestVLANStack, tags) }
        while at + 2 <= bytes.count {
            let type = UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1])
            switch type {
            case 0x8100, 0x88A8, 0x9100, 0x9200:
                at += 4
                tags += 1
            case 0x8847, 0x8848:
                filteredOutMPLS += 1
                // Labels of 4 bytes each, down to the one with the bottom-of-stack bit (or the end of the bytes).
                var labels = 0, entry = at + 2
                while entry + 4 <= bytes.count {
                    labels += 1
                    if bytes[entry + 2] & 0x01 != 0 { break }
                    entry += 4
                }
                deepestMPLSStack = max(deepestMPLSStack, labels)
                return
            case 0x8864:
                filteredOutPPPoE += 1
                return
            default: return
            }
        }
    }

    mutating func count(timestamp: Timestamp, linkType: LinkType, capturedLength: Int, originalLength: Int,
                        snapshotLength: Int) {
        packets += 1
        capturedBytes += capturedLength
        originalBytes += originalLength
        if let i = linkTypes.firstIndex(where: { $0.linkType == linkType }) {
            linkTypes[i].packets += 1
        } else {
            linkTypes.append(LinkTypeCount(linkType: linkType, packets: 1))
        }
        if let last = lastTimestamp, timestamp < last { backwardTimestamps += 1 }
        if firstTimestamp == nil { firstTimestamp = timestamp }
        lastTimestamp = timestamp
        if earliestTimestamp.map({ timestamp < $0 }) ?? true { earliestTimestamp = timestamp }
        if latestTimestamp.map({ timestamp > $0 }) ?? true { latestTimestamp = timestamp }
        if capturedLength < originalLength { truncatedRecords += 1 }
        if capturedLength > originalLength || (snapshotLength > 0 && capturedLength > snapshotLength) {
            oversizedRecords += 1
        }
    }

    /// The one warning for clamped times, added when the file ends (if any were seen).
    mutating func warnAboutTimestampsOutOfRange() {
        guard timestampsOutOfRange > 0 else { return }
        let first = earliestTimestamp.map { $0.rfc3339(fractionDigits: 0) } ?? "?"
        let last = latestTimestamp.map { $0.rfc3339(fractionDigits: 0) } ?? "?"
        warn(.timestampOutOfRange, "\(timestampsOutOfRange) of \(packets) packets have times outside 1677-2262 "
            + "(a wrong clock resolution or offset?); they were clamped (times now run \(first) to \(last))")
    }

    mutating func warn(_ code: CaptureWarning.Code, at offset: Int? = nil, _ problem: String) {
        warnings.append(CaptureWarning(path: path, code: code, byteOffset: offset, problem: problem))
    }

    /// Warns that reading stops here, before the end of the file, and notes it in `readingStopped` (the
    /// first stop counts: nothing is read after it).
    mutating func stop(_ code: CaptureWarning.Code, at offset: Int?, _ problem: String) {
        warn(code, at: offset, problem)
        if readingStopped == nil { readingStopped = ReadingStop(byteOffset: offset, problem: problem) }
    }
}
