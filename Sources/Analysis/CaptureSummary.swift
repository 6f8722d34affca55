import Core

/// What the packets of one capture file (or of a whole run, see `merged`) looked like.
///
/// Odd traffic is counted here rather than thrown away: packets the decoder could
/// not use are listed by reason, link types it does not support by name.
public struct CaptureSummary: Sendable {
    /// The file, or `-` for a merged summary of several files.
    public var path: String
    public var format: String = ""
    /// `libpcap` or the own pcapng reader.
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
    /// Of those, frames cut before a complete TCP header (not usable as segments).
    public var truncatedBeforeTCP = 0
    /// Frames with impossible lengths or fields, per reason.
    public var malformed: [String: Int] = [:]
    /// IP fragments held for reassembly (the datagram counts once, when complete).
    public var fragments = 0
    /// Records whose timestamp was earlier than the one before (file order is kept).
    public var backwardTimestamps = 0
    /// Packets a BPF filter rejected.
    public var filteredOut = 0
    /// One-line warnings from the reader, e.g. a file truncated mid-record.
    public var warnings: [String] = []
    /// Byte offsets where the file was found cut short or corrupt (the rest was not read).
    public var truncationOffsets: [Int64] = []

    public init(path: String) {
        self.path = path
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
            m.malformed.merge(f.malformed, uniquingKeysWith: +)
            m.fragments += f.fragments
            m.backwardTimestamps += f.backwardTimestamps
            m.filteredOut += f.filteredOut
            m.warnings += f.warnings
            m.truncationOffsets += f.truncationOffsets
        }
        return m
    }
}
