// The Capture layer: capture files in, packet records out. See docs/architecture.md.

import Core

/// One packet as read from a capture file, with its bytes borrowed from the reader.
///
/// `bytes` points into the reader's buffer (libpcap's, or the own pcapng reader's)
/// and stays valid only until the next call of `next()` on the source that
/// produced it (for a `MergedSource`: on that merged source). Copy what you keep.
///
/// `bytes.count` always equals `capturedLength`. A record whose captured length is
/// below its original length was cut by the snapshot length; one whose captured
/// length is above its original length or the interface's snaplen is odd but kept
/// as it is, with every byte present (the file's statistics count both).
public struct PacketRecord {
    /// When the packet was captured. Simple Packet Blocks carry no time: they get
    /// `Timestamp.zero`, as libpcap gives them (counted in `packetsWithoutTimestamp`).
    public var timestamp: Timestamp
    /// The link-layer header type of the interface the packet came from.
    public var linkType: LinkType
    /// Bytes present in the file for this packet (`bytes.count`).
    public var capturedLength: Int
    /// Length of the packet on the wire.
    public var originalLength: Int
    /// Position of the file among those opened (the `fileIndex` given to `open`).
    public var fileIndex: Int
    /// The pcapng interface (Interface Description Block number within its section).
    /// Always 0 for classic pcap, and for pcapng packets read through libpcap,
    /// which does not say which interface a packet came from.
    public var interfaceIndex: Int
    /// The packet's captured bytes, borrowed: valid until the next `next()` call.
    public var bytes: UnsafeRawBufferPointer

    public init(timestamp: Timestamp, linkType: LinkType, capturedLength: Int, originalLength: Int,
                fileIndex: Int, interfaceIndex: Int, bytes: UnsafeRawBufferPointer) {
        self.timestamp = timestamp
        self.linkType = linkType
        self.capturedLength = capturedLength
        self.originalLength = originalLength
        self.fileIndex = fileIndex
        self.interfaceIndex = interfaceIndex
        self.bytes = bytes
    }
}

/// A stream of packets: a capture file, several files merged, or later a live interface.
///
/// Sources are pulled one record at a time and never hold more than the current
/// record, so memory stays flat whatever the file size. A `ReadAheadSource` reads
/// another source on its own thread and holds a bounded number of batches instead.
public protocol PacketSource: AnyObject {
    /// The next packet, or nil at the end.
    ///
    /// Problems inside a file that still leave the records before them usable
    /// (a truncated last record, a corrupt block) end that file quietly and are
    /// reported in `statistics` as warnings; only I/O failures throw.
    /// The returned record's bytes are valid until the next call.
    func next() throws(CaptureError) -> PacketRecord?

    /// One summary per file, in file order, covering the records read so far.
    var statistics: [CaptureStatistics] { get }

    /// Keeps only packets matching the BPF `expression` (tcpdump filter syntax).
    ///
    /// Every packet is still counted in `statistics`; those the filter rejects are
    /// counted in `filteredOut`. Throws a usage error (exit status 2) when the
    /// expression does not compile.
    func setFilter(_ expression: String) throws(CaptureError)

    /// Has `handler` called on the thread that calls `next()`, from inside it, while `next()` waits for
    /// packets that have not come yet (a followed input whose writer is quiet): as the wait begins or soon
    /// after, then about every `PacketSourceWaiting.interval` while it lasts; nil stops the calls. Set before
    /// the first `next()` or between two; `handler` must not call `next()`. A source that never waits (a
    /// regular file) never calls it: that is the default.
    func setWaitHandler(_ handler: (() -> Void)?)
}

extension PacketSource {
    public func setWaitHandler(_ handler: (() -> Void)?) {}
}

/// How often a waiting source calls its wait handler (`PacketSource.setWaitHandler`).
public enum PacketSourceWaiting {
    /// 200 ms, as a live capture's read timeout.
    public static let interval: Int32 = 200
}
