import CPrefetch
import Core

/// Settings of a `ReadAheadSource`: how much is read ahead of the consumer.
///
/// Memory held: `batches × (batchBytes + batchPackets × 64 bytes)`, about 8 MiB with the defaults (of
/// which the packet headers' part is touched only as far as packets fill it, about 4.5 MiB for packets of
/// 1,000 bytes), whatever the file size (plus one grown batch while a packet larger than `batchBytes` is
/// in flight).
public struct ReadAheadConfiguration: Sendable {
    /// Packet bytes one batch holds (default 512 KiB). A packet larger than this gets a batch of its
    /// own, grown to fit; the batch shrinks back to this size when it is filled again.
    public var batchBytes: Int = 512 * 1024
    /// Most packets one batch holds (default 8,192), so that small packets still hand over in steps.
    public var batchPackets: Int = 8192
    /// Batches in existence (default 8, at least 2): one being filled by the reader, one being read
    /// by the consumer, the rest waiting. The reader waits when all of them are handed over. With three,
    /// the consumer (the traffic layers, a run's critical path) waited for a batch 40-170 ms of the first
    /// 0.6 s of the 1 GB benchmark run, the reader sharing its core with the heartbeat intake; with eight,
    /// 4-58 ms (six runs each): about 2.5 ms of packets wait ready.
    public var batches: Int = 8
    /// Whether a reader thread is started (default true). False reads the source on the consumer's
    /// thread, as happens when the system refuses the thread.
    public var readerThread = true

    public init() {}

    public static let `default` = ReadAheadConfiguration()
}

/// One batch of packets copied out of a source: an arena of packet bytes and a header per packet.
///
/// `@unchecked Sendable`: a batch is owned by one thread at a time. The reader fills it, hands it
/// over through the pipeline's lock (which orders the writes before the consumer's reads), the
/// consumer reads it and hands it back the same way; neither touches a batch it has handed over.
final class ReadAheadBatch: @unchecked Sendable {
    /// Where one packet lies in the arena, and the record's other fields.
    struct Entry {
        var timestamp: Timestamp
        var linkType: LinkType
        var capturedLength: Int
        var originalLength: Int
        var fileIndex: Int
        var interfaceIndex: Int
        /// Where the bytes start in the arena, and how many there are (`capturedLength` in any
        /// well-formed record; kept apart so a record is handed on exactly as it came).
        var offset: Int
        var byteCount: Int
    }

    /// How reading ended after the last packet of this batch; nil while more batches follow.
    enum End {
        case finished
        case failed(CaptureError)
    }

    private(set) var arena: UnsafeMutableRawPointer
    private(set) var arenaCapacity: Int
    private var used = 0
    private let entries: UnsafeMutablePointer<Entry>
    private let entryCapacity: Int
    private(set) var count = 0
    var end: End?
    /// The source's statistics when the batch was handed over (covering every packet in it).
    var statistics: [CaptureStatistics] = []

    /// Packet starts are kept 8-byte aligned, as a fresh buffer's would be.
    private static let alignment = 8

    init(bytes: Int, packets: Int) {
        arenaCapacity = max(bytes, 1)
        arena = .allocate(byteCount: arenaCapacity, alignment: Self.alignment)
        entryCapacity = max(packets, 1)
        entries = .allocate(capacity: entryCapacity)
    }

    deinit {
        entries.deinitialize(count: count)
        entries.deallocate()
        arena.deallocate()
    }

    /// Empties the batch for filling; an arena grown for a large packet goes back to `bytes`.
    func reset(bytes: Int) {
        entries.deinitialize(count: count)
        count = 0
        used = 0
        end = nil
        statistics = []
        let wanted = max(bytes, 1)
        if arenaCapacity > wanted { replaceArena(wanted) }
    }

    /// Whether `record` fits in what is left (packet count and bytes).
    func fits(_ record: PacketRecord) -> Bool {
        guard count < entryCapacity else { return false }
        return arenaCapacity - alignedUsed >= record.bytes.count
    }

    /// Makes an empty batch's arena hold at least `bytes` (for a packet larger than a batch).
    func grow(toHold bytes: Int) {
        precondition(count == 0, "only an empty batch grows")
        if arenaCapacity < bytes { replaceArena(bytes) }
    }

    /// Copies `record` in; the caller checked `fits`.
    func append(_ record: PacketRecord) {
        let offset = alignedUsed
        let length = record.bytes.count
        if let base = record.bytes.baseAddress, length > 0 {
            (arena + offset).copyMemory(from: base, byteCount: length)
        }
        (entries + count).initialize(to: Entry(
            timestamp: record.timestamp, linkType: record.linkType, capturedLength: record.capturedLength,
            originalLength: record.originalLength, fileIndex: record.fileIndex,
            interfaceIndex: record.interfaceIndex, offset: offset, byteCount: length))
        count += 1
        used = offset + length
    }

    /// The record at `index` (below `count`); its bytes point into the arena.
    @inline(__always)
    func record(at index: Int) -> PacketRecord {
        let e = entries[index]
        return PacketRecord(
            timestamp: e.timestamp, linkType: e.linkType, capturedLength: e.capturedLength,
            originalLength: e.originalLength, fileIndex: e.fileIndex, interfaceIndex: e.interfaceIndex,
            bytes: UnsafeRawBufferPointer(start: arena + e.offset, count: e.byteCount))
    }

    /// Asks the processor to start loading record `index`'s bytes (up to `prefetchedBytes`) while the
    /// consumer works on the record before it: the reader thread wrote them on another core, so the
    /// consumer's first touch (the decoder's, then the copy into a connection's history) would otherwise
    /// wait for each line in turn.
    @inline(__always)
    func prefetch(at index: Int) {
        let e = entries[index]
        sepbeat_prefetch(arena + e.offset, min(e.byteCount, Self.prefetchedBytes))
    }

    /// A whole full-size Ethernet frame.
    private static let prefetchedBytes = 1536

    private var alignedUsed: Int {
        let mask = Self.alignment - 1
        return min((used + mask) & ~mask, arenaCapacity)
    }

    private func replaceArena(_ bytes: Int) {
        arena.deallocate()
        arenaCapacity = bytes
        arena = .allocate(byteCount: bytes, alignment: Self.alignment)
    }
}
