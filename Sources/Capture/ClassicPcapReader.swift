import Core
#if canImport(Glibc)
import Glibc
#endif

/// A plain classic pcap file (opened by path, uncompressed) read with large `read` calls into a buffer of its
/// own, handing out records that point into that buffer: no copy but the kernel's, no system or stdio call
/// per record.
///
/// It reads only what libpcap would give unchanged: the records of a file whose header says version 2.4
/// with the microsecond or nanosecond magic, and whose captured length is 1 byte or more and within both the
/// file's snapshot length and libpcap's 262,144 bytes. Anything else (a record libpcap would cut to the
/// snaplen or refuse, a caplen of 0, as a joined file header reads, a file cut inside a record, a read error)
/// ends this reader at that record's offset, and the caller hands the rest of the file to libpcap
/// (`libpcapFile(at:bufferBytes:)`), so that what is said there is libpcap's own.
final class ClassicPcapReader {
    /// What one `next()` gave.
    enum Step {
        case record(PacketRecord)
        /// The clean end of the file, at a record boundary.
        case end
        /// The record at this file offset is libpcap's to read, with the rest of the file; `cut` when the file
        /// ended inside it (not a read error), which libpcap must find too: a file cut shorter meanwhile may
        /// no longer hold the record, or not even a file header.
        case handOver(offset: Int, cut: Bool)
    }

    /// The file's descriptor; -1 once it is libpcap's (`libpcapFile(at:bufferBytes:)`).
    private var descriptor: Int32
    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    /// The file offset of the buffer's first byte: always a multiple of `alignment`, so that each read lands
    /// at the same place within a page as the file's bytes lie in the page cache (the kernel's copy is
    /// several times slower otherwise, see `StdioBuffer`).
    private var bufferOffset = 0
    /// The next record starts at `start`; bytes up to `filled` are read.
    private var start = 0
    private var filled = 0
    /// The last `read` found the end of the file (or failed): nothing more will come.
    private var exhausted = false
    /// A read failed (not the end of the file): libpcap reads on from the record it failed in, and says so
    /// if the failure lasts.
    private var failed = false
    private let swapped: Bool
    /// Nanoseconds per unit of the header's fraction field (1,000 for the microsecond magic).
    private let fractionScale: Int64
    /// Captured lengths above this are libpcap's: it cuts them to the snaplen, or refuses them.
    private let largestRecord: Int
    private let linkType: LinkType
    private let fileIndex: Int
    private let countedSnapLength: Int

    private static let alignment = 4096
    private static let recordHeaderBytes = 16
    /// libpcap's limit on a record's captured length for most link types (a few allow more; their larger
    /// records go to libpcap, which reads them).
    static let libpcapLargestRecord = 262_144
    /// This machine's byte order: libpcap turns the bytes of a file in the other.
    private static let nativeOrder: CaptureByteOrder = UInt32(1).littleEndian == 1 ? .littleEndian : .bigEndian

    /// Whether a file of `header` is one this reader reads. A file in the other byte order only for link types
    /// libpcap leaves as they are: for some others (Linux cooked, USB, nflog, pflog) libpcap turns the byte
    /// order of the pseudo-header inside each packet.
    static func reads(_ header: CaptureReader.FileHeader) -> Bool {
        guard header.format == .pcap || header.format == .pcapNanoseconds, header.compression == nil,
              header.plainClassicHeader, let linkType = header.linkType else { return false }
        return header.byteOrder == nativeOrder || [.ethernet, .raw, .ipv4, .ipv6].contains(linkType)
    }

    /// Opens `path` for reading from its first record, with a buffer of `bufferBytes` (grown for a record
    /// larger than it); nil when the file cannot be opened or the memory is not there (libpcap then reads the
    /// file, and says why when it cannot). `snapshotLength` is the one libpcap reads the file with (records
    /// above it are libpcap's), `countedSnapLength` the one the statistics count oversized records by.
    init?(path: String, header: CaptureReader.FileHeader, fileIndex: Int, bufferBytes: Int, snapshotLength: Int,
          countedSnapLength: Int) {
        guard let linkType = header.linkType else { return nil }
        let capacity = Self.roundedUp(max(bufferBytes, Self.alignment))
        var allocated: UnsafeMutableRawPointer?
        guard posix_memalign(&allocated, Self.alignment, capacity) == 0, let base = allocated else { return nil }
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            free(base)
            return nil
        }
        self.descriptor = descriptor
        buffer = base
        self.capacity = capacity
        swapped = header.byteOrder != Self.nativeOrder
        fractionScale = header.format == .pcapNanoseconds ? 1 : 1_000
        largestRecord = min(snapshotLength, Self.libpcapLargestRecord)
        self.linkType = linkType
        self.fileIndex = fileIndex
        self.countedSnapLength = countedSnapLength
        // The file header (24 bytes) is read with the first records and passed over.
        start = 24
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        free(buffer)
    }

    /// The next record (counted in `stats`), the end, or the offset where libpcap is to go on.
    @inline(__always)
    func next(_ stats: inout CaptureStatistics) -> Step {
        let headerBytes = Self.recordHeaderBytes
        if filled - start < headerBytes {
            ensure(headerBytes)
            if filled - start < headerBytes {
                return filled == start && exhausted && !failed
                    ? .end : .handOver(offset: bufferOffset + start, cut: exhausted && !failed)
            }
        }
        let head = UnsafeRawPointer(buffer + start)
        let captured = Int(field(head, 8))
        guard captured > 0, captured <= largestRecord else {
            return .handOver(offset: bufferOffset + start, cut: false)
        }
        if filled - start < headerBytes + captured {
            ensure(headerBytes + captured)
            guard filled - start >= headerBytes + captured else {
                return .handOver(offset: bufferOffset + start, cut: exhausted && !failed)
            }
        }
        // `ensure` may have moved the bytes.
        let record = UnsafeRawPointer(buffer + start)
        // sepbeat takes the seconds as unsigned (good to 2106), as on its libpcap path. libpcap reads the
        // fraction as a signed 32-bit number in a file of this machine's byte order (one with the top bit set
        // comes out negative) but as unsigned when it turns the bytes: its value is kept either way.
        let seconds = Int64(field(record, 0))
        let rawFraction = field(record, 4)
        let fraction = (swapped ? Int64(rawFraction) : Int64(Int32(bitPattern: rawFraction))) * fractionScale
        let original = Int(field(record, 12))
        start += headerBytes + captured
        if fraction < 0 || fraction >= 1_000_000_000 { stats.invalidTimestampFractions += 1 }
        // Unsigned 32-bit seconds in nanoseconds stay far inside a `Timestamp`: none is out of its range.
        let time = Timestamp(seconds: seconds, nanoseconds: fraction)
        stats.count(timestamp: time, linkType: linkType, capturedLength: captured, originalLength: original,
                    snapshotLength: countedSnapLength)
        return .record(PacketRecord(
            timestamp: time, linkType: linkType, capturedLength: captured, originalLength: original,
            fileIndex: fileIndex, interfaceIndex: 0,
            bytes: UnsafeRawBufferPointer(start: record + headerBytes, count: captured)))
    }

    @inline(__always)
    private func field(_ record: UnsafeRawPointer, _ offset: Int) -> UInt32 {
        let value = record.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        return swapped ? value.byteSwapped : value
    }

    /// Reads until `count` bytes from `start` on are in the buffer, or the file ends or a read fails. The bytes
    /// left from `start` are first moved to the buffer's front page (keeping their place within a page) when
    /// `count` would not fit behind them, and the buffer grows when it is too small for them at all.
    private func ensure(_ count: Int) {
        if start + count > capacity {
            let kept = filled - start
            let skipped = start / Self.alignment * Self.alignment
            let newStart = start - skipped
            if newStart + count > capacity {
                grow(to: Self.roundedUp(newStart + count))
            }
            if kept > 0 { (buffer + newStart).copyMemory(from: buffer + start, byteCount: kept) }
            bufferOffset += skipped
            start = newStart
            filled = newStart + kept
        }
        while !exhausted, filled - start < count {
            let got = read(descriptor, buffer + filled, capacity - filled)
            if got > 0 {
                filled += got
            } else if got == 0 {
                exhausted = true
            } else if errno != EINTR {
                exhausted = true
                failed = true
            }
        }
    }

    /// Replaces the buffer with one of `bytes`, keeping what it holds.
    private func grow(to bytes: Int) {
        var allocated: UnsafeMutableRawPointer?
        guard posix_memalign(&allocated, Self.alignment, bytes) == 0, let base = allocated else {
            // No memory for the larger record: it is libpcap's then, which needs as much and says so.
            exhausted = true
            failed = true
            return
        }
        base.copyMemory(from: buffer, byteCount: filled)
        free(buffer)
        buffer = base
        capacity = bytes
    }

    private static func roundedUp(_ bytes: Int) -> Int {
        (bytes + alignment - 1) / alignment * alignment
    }

    /// libpcap on this reader's file, positioned at the record at `offset` (which it reads next), reading
    /// through a stdio buffer of `bufferBytes` (nil: the C library's own); the reader reads no more after.
    /// libpcap is given the reader's own descriptor, so it is the same file whatever became of the path, and
    /// no further open file is needed (a copy would fail at the open-file limit, `ulimit -n`, which the file
    /// was read under so far). libpcap reads its header again, and its message is given when it refuses it.
    func libpcapFile(at offset: Int, bufferBytes: Int?) -> Result<LibpcapFile, LibpcapOpenFailure> {
        guard descriptor >= 0, lseek(descriptor, 0, SEEK_SET) == 0, let file = fdopen(descriptor, "rb") else {
            return .failure(LibpcapOpenFailure(message: FileCalls.describe(errno: errno)))
        }
        // The stream owns the descriptor now (libpcap closes it, or `LibpcapFile.open` when it fails).
        descriptor = -1
        let opened = LibpcapFile.open(file: file, buffer: bufferBytes.flatMap { StdioBuffer(file, bytes: $0) })
        if case .success(let libpcap) = opened, !libpcap.seek(to: offset) {
            return .failure(LibpcapOpenFailure(message: FileCalls.describe(errno: errno)))
        }
        return opened
    }
}
