import Core
#if canImport(Glibc)
import Glibc
#endif

/// One capture file read as a stream of records (see `CaptureReader.open`).
///
/// The per-record state is `@exclusivity(unchecked)` (no run-time exclusivity check per record):
/// a source is read by one thread at a time, and nothing called while that state is being
/// changed (libpcap, the statistics' own methods, the filter) calls back into the source, except a
/// followed input's wait handler (`setWaitHandler`), which may ask for `statistics` from inside a read:
/// it is then given a copy taken before the read (`statsBeforeRead`) where the read holds `stats`.
final class CaptureFileSource: PacketSource {
    enum Backend {
        case libpcap(LibpcapFile)
        case own(PcapNGReader)
        /// A plain classic pcap file opened by path, until a record is libpcap's to read (then `.libpcap`).
        case ownPcap(ClassicPcapReader)
        case finished
    }

    private let path: String
    private let fileIndex: Int
    private let header: CaptureReader.FileHeader
    private let limits: CaptureLimits
    /// The stdio buffer the file is read through (nil: the C library's own).
    private let readBufferBytes: Int?
    @exclusivity(unchecked) private var backend: Backend
    /// The file of `backend` while it is `.libpcap`, for the per-record read without reference
    /// counting. Not retained: `backend` holds the reference, and both change together (`read(with:)`).
    @exclusivity(unchecked) private var libpcapFile: Unmanaged<LibpcapFile>?
    /// The reader of `backend` while it is `.ownPcap`, held as `libpcapFile` is.
    @exclusivity(unchecked) private var classicReader: Unmanaged<ClassicPcapReader>?
    @exclusivity(unchecked) private var stats: CaptureStatistics
    private var filter: PacketFilter?
    /// The link type libpcap reports for the file (libpcap reads one link type per file).
    private var libpcapLinkType: LinkType
    private var libpcapSnapLength: Int
    /// Classic pcap records libpcap cut to the snaplen (it skips their extra bytes), and the first one's offset.
    private var recordsCutByLibpcap = 0
    /// Further classic pcap file headers read past (files joined with `cat`), and the first one's offset.
    private var joinedHeaders = 0
    private var firstJoinedOffset: Int?
    private var firstCutOffset: Int?
    /// The offset of the record the own pcap reader found the file ending inside, when it handed the file to
    /// libpcap there (`handOverToLibpcap`).
    private var cutAtHandOver: Int?
    /// Where the input's first byte lies in the file `ftello` reports positions in: 0 for a file
    /// opened by path, a regular file given as standard input from its start, or a followed input (a pipe,
    /// FIFO or device, whose `FollowedInput` counts the bytes it hands out); the start for a regular file
    /// given part way through; nil for a pipe, FIFO or device read with no stop request, which has no
    /// position: its offsets come from record sizes alone, so records libpcap cut to the snaplen cannot be
    /// told from whole ones there (not counted).
    private var positionBase: Int? = 0
    /// libpcap refused the file at open (a pcapng file cut or damaged inside its first blocks, or
    /// one it cannot read); the own reader then reads it, and may stop on the same damage.
    private var refusedAtOpen = false
    /// Classic pcap: the file offset of the next record, kept by adding record sizes so that
    /// `ftello` (an `lseek` call) runs only at the start and after records libpcap may have cut.
    @exclusivity(unchecked) private var nextRecordOffset: Int?
    /// The input when it is followed (a pipe, FIFO or device read until a stop request, see `FollowedInput`):
    /// whether the stop ended it is looked at when reading ends.
    private var followed: FollowedInput?
    /// The decompressing input the reader reads through when the file is compressed (`CompressedInput`):
    /// whether its data was cut short or corrupt is looked at when reading ends.
    private var compressed: CompressedInput?
    /// The input is read once, front to back (standard input, a pipe, a FIFO, a device).
    private var isStream = false

    /// Opens the file at `path`, or reads `stream` (already opened and sniffed) when given; a stream that is
    /// no regular file is followed until `stop` is requested, when given (see `FollowedInput`).
    /// `ownReaderOnly` sends a pcapng file straight to the own reader, never to libpcap (the fuzz
    /// targets read that reader on its own); `ownPcapReader` false keeps a classic pcap file with libpcap
    /// (`CaptureReader.open`).
    /// `decompressing` is a compressed stream's decompressing input (already read up to its capture header, see
    /// `CaptureReader.openCompressedStream`) and the followed input under it, if it is followed.
    init(path: String, fileIndex: Int, header: CaptureReader.FileHeader, limits: CaptureLimits,
         readBufferBytes: Int?, stream: StreamInput? = nil, stop: LiveStopRequest? = nil,
         decompressing: (input: CompressedInput, followed: FollowedInput?)? = nil,
         ownReaderOnly: Bool = false, ownPcapReader: Bool = true) throws(CaptureError)
    {
        self.path = path
        self.readBufferBytes = readBufferBytes
        self.fileIndex = fileIndex
        self.header = header
        self.limits = limits
        stats = CaptureStatistics(path: path, fileIndex: fileIndex, format: header.format,
                                  byteOrder: header.byteOrder, reader: .libpcap)
        stats.compression = header.compression
        if let decompressing {
            followed = decompressing.followed
            compressed = decompressing.input
            isStream = true
            let made = try CompressedInput.makeFile(reading: decompressing.input, path: path,
                                                    bufferBytes: readBufferBytes).get()
            // Positions count decompressed bytes from the stream's start.
            let reading = try Self.streamReading(file: made.file, buffer: made.buffer, header: header, path: path,
                                                 fileIndex: fileIndex, limits: limits)
            (backend, libpcapLinkType, libpcapSnapLength) = (reading.backend, reading.linkType, reading.snapLength)
            takeStreamReading(reading.backend)
            return
        }
        if let stream {
            guard let (file, buffer, followed) = stream.makeFile(bufferBytes: readBufferBytes, stop: stop) else {
                throw CaptureError(path: path, .cannotOpen("cannot set up a stream reader"))
            }
            self.followed = followed
            isStream = true
            let reading = try Self.streamReading(file: file, buffer: buffer, header: header, path: path,
                                                 fileIndex: fileIndex, limits: limits)
            (backend, libpcapLinkType, libpcapSnapLength) = (reading.backend, reading.linkType, reading.snapLength)
            takeStreamReading(reading.backend)
            // Offsets are counted from record sizes, and from the stream's own start when its file
            // has positions (a regular file given as standard input may start part way through).
            if case .libpcap = reading.backend { positionBase = stream.startOffset ?? (followed == nil ? nil : 0) }
            return
        }
        if ownReaderOnly, header.format == .pcapng {
            libpcapLinkType = LinkType(rawValue: 0)
            libpcapSnapLength = 0
            (backend, compressed) = try Self.openOwnReader(path: path, header: header, fileIndex: fileIndex,
                                                           limits: limits, bufferBytes: readBufferBytes)
            stats.reader = .own
            return
        }
        let opened: Result<LibpcapFile, LibpcapOpenFailure>
        if let compression = header.compression {
            // Positions (`ftello`) count decompressed bytes: offsets are worked out as for a plain file.
            let made = try CompressedInput.makeFile(path: path, compression: compression,
                                                    bufferBytes: readBufferBytes).get()
            compressed = made.input
            opened = LibpcapFile.open(file: made.file, buffer: made.buffer)
        } else {
            // A file the own classic pcap reader reads is opened by libpcap only to read its header (its
            // refusal is the one given, its snapshot length the one read by): without the large buffer, which
            // would be filled for nothing.
            let ownPcap = ownPcapReader && readBufferBytes != nil && ClassicPcapReader.reads(header)
            opened = LibpcapFile.open(path: path, bufferBytes: ownPcap ? nil : readBufferBytes)
        }
        switch opened {
        case .success(let file):
            backend = .libpcap(file)
            libpcapFile = Unmanaged.passUnretained(file)
            libpcapLinkType = header.linkType ?? file.linkType
            libpcapSnapLength = header.snapLength > 0 ? header.snapLength : file.snapshotLength
            // Should the own reader not open (no memory, no file descriptor left), libpcap reads the file,
            // through the C library's small buffer.
            if ownPcapReader, let bytes = readBufferBytes, ClassicPcapReader.reads(header),
               let reader = ClassicPcapReader(path: path, header: header, fileIndex: fileIndex, bufferBytes: bytes,
                                              snapshotLength: file.snapshotLength,
                                              countedSnapLength: libpcapSnapLength) {
                backend = .ownPcap(reader)
                libpcapFile = nil
                classicReader = Unmanaged.passUnretained(reader)
                stats.reader = .ownPcap
            }
            if header.format == .pcapng,
               PcapNGReader.leadingClockMayWrap(path: path, compression: header.compression) {
                (backend, compressed) = try Self.openOwnReader(path: path, header: header, fileIndex: fileIndex,
                                                               limits: limits, bufferBytes: readBufferBytes)
                libpcapFile = nil
                stats.reader = .own
                stats.warn(.readerSwitched, "read with the own pcapng reader: an interface's clock counts whole "
                    + "seconds with a positive if_tsoffset, and libpcap would give its times of 2^64 seconds or more "
                    + "wrapped around into ordinary times")
            }
        case .failure(let failure):
            if let code = failure.openErrno, let kind = CaptureError.openLimit(errno: code) {
                throw CaptureError(path: path, kind)
            }
            guard header.format == .pcapng else {
                throw CaptureError(path: path, .refusedByLibpcap(failure.message))
            }
            libpcapLinkType = LinkType(rawValue: 0)
            libpcapSnapLength = 0
            (backend, compressed) = try Self.openOwnReader(path: path, header: header, fileIndex: fileIndex,
                                                           limits: limits, bufferBytes: readBufferBytes)
            stats.reader = .own
            refusedAtOpen = true
            stats.warn(.readerSwitched, "libpcap refused the file (\(oneLine(failure.message))); "
                + "read with the own pcapng reader")
        }
    }

    /// The statistics as they were before the own pcapng reader's read under way, which holds `stats` for
    /// its whole call: what `statistics` gives a wait handler meanwhile (set only while one is).
    private var statsBeforeRead: CaptureStatistics?

    /// A followed input calls `handler` while it waits for bytes; a file never waits. The handler may ask for
    /// the statistics meanwhile (those before the read under way).
    func setWaitHandler(_ handler: (() -> Void)?) {
        followed?.waitHandler = handler
    }

    var statistics: [CaptureStatistics] {
        var current = statsBeforeRead ?? stats
        if case .own(let reader) = backend { current.byteOrder = reader.byteOrder }
        return [current]
    }

    func setFilter(_ expression: String) throws(CaptureError) {
        let linkType: LinkType
        switch backend {
        case .libpcap, .ownPcap: linkType = libpcapLinkType
        case .own, .finished: linkType = .ethernet
        }
        let compiled = try PacketFilter(expression, checkedFor: linkType, path: path, limits: limits)
        if let why = compiled.notApplicable { stats.warn(.filterNotApplicable, why) }
        filter = compiled
    }

    func next() throws(CaptureError) -> PacketRecord? {
        while let record = try nextRecord() {
            guard let filter else { return record }
            if filter.matches(record, &stats) { return record }
            stats.countFilteredOut(record)
        }
        return nil
    }

    /// The next record in file order, counted in the statistics.
    private func nextRecord() throws(CaptureError) -> PacketRecord? {
        while true {
            switch backend {
            case .finished:
                return nil
            case .own(let reader):
                // A wait handler called from inside the read may ask for the statistics (`statsBeforeRead`).
                if followed?.waitHandler != nil { statsBeforeRead = stats }
                defer { statsBeforeRead = nil }
                if let packet = try reader.next(&stats) {
                    stats.count(timestamp: packet.record.timestamp, linkType: packet.record.linkType,
                                capturedLength: packet.record.capturedLength,
                                originalLength: packet.record.originalLength, snapshotLength: packet.snapLength)
                    if !packet.hasTimestamp { stats.packetsWithoutTimestamp += 1 }
                    if packet.timestampOutOfRange { stats.timestampsOutOfRange += 1 }
                    return packet.record
                }
                stats.byteOrder = reader.byteOrder
                finish()
            case .ownPcap:
                // `backend` holds the reader, and it changes only below, after the read has returned.
                guard let reader = classicReader else {
                    finish()
                    continue
                }
                switch reader._withUnsafeGuaranteedRef({ $0.next(&stats) }) {
                case .record(let record):
                    return record
                case .end:
                    finish()
                case .handOver(let offset, let cut):
                    handOverToLibpcap(at: offset, cut: cut)
                }
            case .libpcap:
                // `backend` holds the file, and it changes only below, after the read has returned.
                guard let file = libpcapFile else {
                    finish()
                    continue
                }
                switch file._withUnsafeGuaranteedRef({ readLibpcap($0) }) {
                case .record(let record):
                    return record
                case .endOfFile:
                    if let cut = cutAtHandOver, nextRecordOffset == cut {
                        // The record the own reader saw cut is gone: the file was cut shorter meanwhile.
                        stopAtCut(at: cut)
                    } else {
                        finish()
                    }
                case .skipped:
                    continue
                case .failure(let message, let offset):
                    if header.format == .pcapng {
                        switchToOwnReader(after: message)
                    } else {
                        stopLibpcap(message: message, at: offset)
                    }
                }
            }
        }
    }

    /// What one read of the libpcap backend gave.
    private enum LibpcapStep {
        case record(PacketRecord)
        case endOfFile
        /// libpcap's message, and the offset of the record it failed on (classic pcap).
        case failure(String, offset: Int?)
        /// A joined file header was passed over; read on.
        case skipped
    }

    /// One step of the libpcap backend; the caller changes the backend when it ends.
    private func readLibpcap(_ file: LibpcapFile) -> LibpcapStep {
        // pcapng offsets are never reported from here (a failure moves to our own reader).
        let offsetBefore = header.format == .pcapng ? nil : nextRecordOffset ?? file.fileOffset
        switch file.next() {
        case .packet(let seconds, _, 0, _, _) where header.format != .pcapng
            && CaptureReader.magicFormat(bigEndianBytes(UInt32(truncatingIfNeeded: seconds))) != nil:
            // A record of 0 bytes whose time is a pcap magic number: the file header of a second capture
            // joined on (`cat a.pcap b.pcap`), read as a record header up to its sigfigs field.
            return joinedHeader(file, seconds: UInt32(truncatingIfNeeded: seconds), at: offsetBefore)
        case .packet(let seconds, _, _, _, _) where header.format == .pcapng && seconds < 0:
            // libpcap works a pcapng time out in unsigned 64 bits and hands it over as signed: a time of 2^63
            // seconds or more (a clock of whole seconds counting near 2^64, a large `if_tsoffset`) comes out
            // before 1970, as a negative offset's times do. The own reader works every time out exactly.
            return .failure("its time for packet \(stats.packets + 1) is before 1970, which is also how it gives "
                + "a time of 2^63 seconds or more, wrapped around", offset: nil)
        case .packet(let seconds, let nanoseconds, let captured, let original, let bytes):
            // Classic pcap seconds are unsigned 32-bit (good to 2106); libpcap 1.10 hands them over as signed.
            let fileSeconds = header.format == .pcapng ? seconds : Int64(UInt32(truncatingIfNeeded: seconds))
            if nanoseconds < 0 || nanoseconds >= 1_000_000_000 { stats.invalidTimestampFractions += 1 }
            // libpcap gives a pcapng Simple Packet Block (which has no time) the time 0.
            if header.format == .pcapng, seconds == 0, nanoseconds == 0 { stats.packetsWithoutTimestamp += 1 }
            // Timestamp holds Int64 nanoseconds: about +/-9.2e9 s around 1970; beyond, it clamps.
            let (whole, overflow) = fileSeconds.multipliedReportingOverflow(by: 1_000_000_000)
            if overflow || whole.addingReportingOverflow(nanoseconds).overflow {
                stats.timestampsOutOfRange += 1
            }
            let time = Timestamp(seconds: fileSeconds, nanoseconds: nanoseconds)
            if let before = offsetBefore {
                // libpcap cuts a record only to its snapshot length, so a shorter one used
                // exactly its header and captured bytes.
                if captured >= min(libpcapSnapLength, file.snapshotLength) {
                    let after = positionBase.flatMap { base in file.fileOffset.map { $0 - base } }
                    noteCut(captured: captured, before: before, after: after)
                    nextRecordOffset = after ?? before + recordHeaderLength + captured
                } else {
                    nextRecordOffset = before + recordHeaderLength + captured
                }
            }
            stats.count(timestamp: time, linkType: libpcapLinkType, capturedLength: captured,
                        originalLength: original, snapshotLength: libpcapSnapLength)
            return .record(PacketRecord(timestamp: time, linkType: libpcapLinkType, capturedLength: captured,
                                        originalLength: original, fileIndex: fileIndex, interfaceIndex: 0,
                                        bytes: bytes))
        case .endOfFile, .timeout:
            // `.timeout` is a live capture's; a file read blocks until a record or its end.
            return .endOfFile
        case .failure(let message):
            return .failure(message, offset: offsetBefore)
        }
    }

    /// A further pcap file header at `offset`, whose first 16 bytes libpcap read as a record header:
    /// with the same magic (format and byte order) and link type as the file's own, its last 8 bytes are
    /// passed over and the records after it are read on as part of the file; otherwise reading stops there
    /// with a warning that the rest was not read.
    private func joinedHeader(_ file: LibpcapFile, seconds magic: UInt32, at offset: Int?) -> LibpcapStep {
        let own: UInt32 = header.format == .pcapNanoseconds ? 0xA1B2_3C4D : 0xA1B2_C3D4
        guard header.format != .pcapModified, magic == own else {
            let why = "a pcap file header in another format or byte order (files joined end to end, as "
                + "`cat a.pcap b.pcap` writes them?); the rest of the file was not read: give the files one by one"
            return .failure(why, offset: offset)
        }
        guard let rest = file.readRaw(8) else {
            // The input ends inside the header (the file cut short, or a followed input stopped there): no
            // other format, a cut as a record's is.
            return .failure("truncated inside a further pcap file header", offset: offset)
        }
        let bigEndian = header.byteOrder == .bigEndian
        let link = rest.withUnsafeBytes { ByteOrderReader(bytes: $0, bigEndian: bigEndian).u32(at: 4) ?? 0 }
        guard LinkType(rawValue: link & 0xFFFF) == libpcapLinkType else {
            let why = "a pcap file header of another link type (\(LinkType(rawValue: link & 0xFFFF))) "
                + "(files joined end to end, as `cat a.pcap b.pcap` writes them?); the rest of the file was not "
                + "read: give the files one by one"
            return .failure(why, offset: offset)
        }
        joinedHeaders += 1
        if firstJoinedOffset == nil { firstJoinedOffset = offset }
        if let offset { nextRecordOffset = offset + 24 }
        return .skipped
    }

    /// Bytes of a classic pcap record header.
    private var recordHeaderLength: Int { header.format == .pcapModified ? 24 : 16 }

    /// libpcap quietly cuts a classic record whose captured length exceeds the snaplen; the file
    /// offsets show it (more bytes consumed than returned), so such records are still counted as oversized.
    private func noteCut(captured: Int, before: Int?, after: Int?) {
        guard header.format != .pcapng, let before, let after else { return }
        guard after - before - recordHeaderLength > captured else { return }
        stats.oversizedRecords += 1
        recordsCutByLibpcap += 1
        if firstCutOffset == nil { firstCutOffset = before }
    }

    /// The rest of the file from the record at `offset` on read by libpcap, as the whole file would be there.
    /// `cut`: the own reader found the file ending inside that record. Should the file have been cut shorter
    /// since (libpcap then finds no file header, or nothing at the record), the cut is said as libpcap says
    /// it when it runs out of bytes inside a record, as it would have reading on through its own buffer.
    private func handOverToLibpcap(at offset: Int, cut: Bool) {
        guard case .ownPcap(let reader) = backend else { return }
        let done = stats.packets
        switch reader.libpcapFile(at: offset, bufferBytes: readBufferBytes) {
        case .success(let file):
            backend = .libpcap(file)
            libpcapFile = Unmanaged.passUnretained(file)
            classicReader = nil
            nextRecordOffset = offset
            if cut { cutAtHandOver = offset }
            stats.reader = .ownPcapThenLibpcap(packets: done)
        case .failure where cut:
            stopAtCut(at: offset)
        case .failure(let failure):
            stats.stop(.corrupt, at: offset, "reading stopped at byte offset \(offset) after \(done) records: "
                + "libpcap could not take the file over from the own pcap reader (\(oneLine(failure.message)))")
            finish()
        }
    }

    private func stopLibpcap(message: String, at offset: Int?) {
        guard !message.contains("truncated") else {
            stopAtCut(at: offset)
            return
        }
        let place = offset.map { "at byte offset \($0) " } ?? ""
        stats.stop(.corrupt, at: offset, "reading stopped \(place)after \(stats.packets) records: " + oneLine(message))
        finish()
    }

    /// The file ends inside the record at `offset`: reading stops there.
    private func stopAtCut(at offset: Int?) {
        let place = offset.map { "at byte offset \($0) " } ?? ""
        stats.stop(.truncated, at: offset, "file truncated mid-record \(place)after \(stats.packets) whole records")
        finish()
    }

    /// The own pcapng reader on the file from its start (decompressing it again when compressed), passing
    /// over its first `skipping` packets, and the decompressing input it reads through (nil for a file as
    /// it is).
    static func openOwnReader(path: String, header: CaptureReader.FileHeader, fileIndex: Int,
                              limits: CaptureLimits, skipping: Int = 0, bufferBytes: Int?)
        throws(CaptureError) -> (backend: Backend, compressed: CompressedInput?)
    {
        guard let compression = header.compression else {
            return (.own(try PcapNGReader(path: path, fileIndex: fileIndex, limits: limits,
                                          skippingPackets: skipping, bufferBytes: bufferBytes)), nil)
        }
        let made = try CompressedInput.makeFile(path: path, compression: compression, bufferBytes: bufferBytes).get()
        let reader = try PcapNGReader(file: CFile(adopting: made.file, buffer: made.buffer), path: path,
                                      fileIndex: fileIndex, limits: limits, skippingPackets: skipping)
        return (.own(reader), made.input)
    }

    private func switchToOwnReader(after message: String) {
        let done = stats.packets
        do {
            let opened = try Self.openOwnReader(path: path, header: header, fileIndex: fileIndex, limits: limits,
                                                skipping: done, bufferBytes: readBufferBytes)
            backend = opened.backend
            compressed = opened.compressed
            libpcapFile = nil
            stats.reader = .libpcapThenOwn(packets: done)
            stats.warn(.readerSwitched, "read with the own pcapng reader from packet \(done + 1) on, as libpcap "
                + "cannot read this pcapng file past there (\(oneLine(message))); the switch itself loses no packet")
        } catch {
            // Where libpcap's reading had got to: about where it stopped (it reads a block whole).
            let offset = libpcapFile?.takeUnretainedValue().fileOffset
            stats.stop(.corrupt, at: offset, "libpcap stopped after \(done) packets (\(oneLine(message))) "
                + "and the own pcapng reader cannot go on: \(error.problem)")
            finish()
        }
    }

    /// How a stream's `FILE *` is read (a compressed file's, or that of standard input, a pipe or a FIFO): a
    /// pcapng stream by the own reader (a stream cannot be read again, so libpcap's refusal part way could not
    /// be recovered from), classic pcap by libpcap; and the link type and snap length the reading goes by.
    private static func streamReading(file: UnsafeMutablePointer<FILE>, buffer: StdioBuffer?,
                                      header: CaptureReader.FileHeader, path: String, fileIndex: Int,
                                      limits: CaptureLimits) throws(CaptureError)
        -> (backend: Backend, linkType: LinkType, snapLength: Int)
    {
        if header.format == .pcapng {
            let reader = try PcapNGReader(file: CFile(adopting: file, buffer: buffer), path: path,
                                          fileIndex: fileIndex, limits: limits)
            return (.own(reader), LinkType(rawValue: 0), 0)
        }
        switch LibpcapFile.open(file: file, buffer: buffer) {
        case .success(let opened):
            return (.libpcap(opened), header.linkType ?? opened.linkType,
                    header.snapLength > 0 ? header.snapLength : opened.snapshotLength)
        case .failure(let failure):
            throw CaptureError(path: path, .refusedByLibpcap(failure.message))
        }
    }

    /// The rest of setting up `streamReading`'s backend: libpcap's file for the per-record read, and record
    /// offsets counted from the stream's capture header on; or the own reader named in the statistics.
    private func takeStreamReading(_ backend: Backend) {
        if case .libpcap(let opened) = backend {
            libpcapFile = Unmanaged.passUnretained(opened)
            nextRecordOffset = 24
        } else {
            stats.reader = .own
        }
    }

    private func finish() {
        // The reader stopped at damage before the end of a compressed file: whether the compressed data is
        // damaged too is found by decompressing the rest (its check), before the stream is closed.
        // Not a pipe or FIFO, which may be followed for ever (a regular file on standard input is checked).
        if let compressed, compressed.readsRegularFile, stats.readingStopped != nil, compressed.problem == nil {
            compressed.drain()
        }
        backend = .finished
        libpcapFile = nil
        classicReader = nil
        if let followed, followed.stopped { noteStop(followed) }
        // A followed input the stop ended cuts its compressed data short: no fault of the input.
        if let compressed, let problem = compressed.problem, !(problem == .cutShort && followed?.stopped == true) {
            noteDecompression(problem, of: compressed)
        }
        if let trailing = compressed?.trailing, let compression = compressed?.compression {
            let what = compression == .gzip ? "the last gzip member" : "the last \(compression.rawValue) stream"
            let other = compression == .gzip ? "member" : "stream"
            let ignored: String
            switch trailing.bytes {
            case 1: ignored = "1 byte after \(what) starts no other and was ignored"
            case let n?: ignored = "\(n) bytes after \(what) start no other and were ignored"
            case nil: ignored = "the bytes after \(what) start no other and were ignored, the input not read further"
            }
            stats.warn(.trailingData, trailing.holdsAnother
                ? ignored + ", but they hold what looks like another \(other) further on (one joined after padding?): "
                    + "`zcat` and `bzcat` stop there too, so what it holds was not read; decompress the part after the "
                    + "padding on its own to read it"
                : ignored + " (padding or data appended, as `zcat` and `bzcat` ignore them); the capture inside was "
                    + "read to its end")
        }
        // libpcap stopped at (or refused the file for) the very damage the own reader then met without
        // reading a packet more (a pcapng file cut mid-block, a corrupt block, one past a limit): one
        // warning, the own reader's, which names the byte offset.
        let stoppedAtTheCut: Bool
        switch stats.reader {
        case .libpcapThenOwn(let done): stoppedAtTheCut = done == stats.packets
        case .own: stoppedAtTheCut = refusedAtOpen && stats.packets == 0
        case .libpcap, .ownPcap, .ownPcapThenLibpcap: stoppedAtTheCut = false
        }
        if stoppedAtTheCut, stats.readingStopped != nil {
            stats.warnings.removeAll { $0.code == .readerSwitched }
        }
        stats.warnAboutTimestampsOutOfRange()
        if joinedHeaders > 0 {
            let place = firstJoinedOffset.map { " (first at byte offset \($0))" } ?? ""
            let headers = joinedHeaders == 1
                ? "1 further pcap file header" : "\(joinedHeaders) further pcap file headers"
            stats.warn(.joinedFiles, at: firstJoinedOffset, "\(headers) inside the file\(place): captures joined "
                + "end to end, as `cat a.pcap b.pcap` writes them; the packets after each were read as part of "
                + "this file")
        }
        if stats.packetsWithoutTimestamp > 0 {
            let n = stats.packetsWithoutTimestamp
            stats.warn(.noTimestamps, "\(n) of \(stats.packets) packets carry no time (pcapng Simple Packet Blocks, "
                + "or a time of exactly 0); they are placed at 1970-01-01T00:00:00Z, so the times, intervals and "
                + "durations built on them are unknown")
        }
        if recordsCutByLibpcap > 0, let offset = firstCutOffset {
            let n = recordsCutByLibpcap
            let (records, each, place) = n == 1 ? ("1 record", "it", "at") : ("\(n) records", "each", "first at")
            // The verb agrees with the bytes kept, not with the records: "the first 13 bytes of it were kept".
            let kept = libpcapSnapLength == 1 ? "byte of \(each) was" : "\(libpcapSnapLength) bytes of \(each) were"
            stats.warn(.cutToSnapLength, at: offset, "\(records) captured more bytes than the snaplen of "
                + "\(libpcapSnapLength); only the first \(kept) kept (\(place) byte offset \(offset))")
        }
        if stats.packets == 0, !stats.warnings.contains(where: { $0.code == .noPackets }) {
            // Blocks skipped are packets the file may hold but that could not be read: not "no packets".
            let none = stats.endedBy.map { "no packet came before \($0) ended the input" } ?? "file holds no packets"
            stats.warn(.noPackets, stats.skippedRecords == 0 ? none
                : "no packet could be read: every block that may hold one was skipped (see above)")
        }
    }
}

extension CaptureFileSource {
    /// A compressed file whose data is cut short or corrupt (or could not be read) at `problem`: the reader
    /// took the end of the decompressed bytes for the capture's end, so the warning of a record or block it
    /// found cut there (`truncated`) becomes one that says why, as does a clean end at a record's boundary.
    /// A problem the reader stopped at before (a corrupt record in the bytes read) stays the one reported.
    private func noteDecompression(_ problem: CompressedInput.Problem, of input: CompressedInput) {
        let unit = header.format == .pcapng ? "block" : "record"
        var offset = input.position
        var end = "ends at byte offset \(offset)"
        let what = CompressedInput.describe(problem, compression: input.compression)
        if let stop = stats.readingStopped {
            guard let i = stats.warnings.lastIndex(where: { $0.code == .truncated && $0.problem == stop.problem })
            else {
                // The reader stopped first, at bytes the damaged data decompressed to.
                let place = stop.byteOffset.map { " at byte offset \($0)" } ?? ""
                stats.warn(problem == .cutShort ? .truncated : .corrupt, "\(what), found after reading stopped"
                    + "\(place) (byte offsets count decompressed bytes): the damage there is the compressed file's")
                return
            }
            stats.warnings.remove(at: i)
            stats.readingStopped = nil
            if let cut = stop.byteOffset {
                offset = cut
                end = "ends mid-\(unit) at byte offset \(cut)"
            }
        }
        let code: CaptureWarning.Code = problem == .cutShort ? .truncated : .corrupt
        let whole = header.format == .pcapng ? "\(stats.packets) packets" : "\(stats.packets) whole records"
        stats.stop(code, at: offset, "\(what): the capture inside \(end) (byte offsets count decompressed bytes), "
            + "after \(whole); reading stopped there")
    }

    /// A followed input ended by the stop request: said in the statistics, and a record the stop cut
    /// part-way (the readers' `truncated` stop, at the end of what was read) is no defect of the input.
    /// A problem found before the cut (a corrupt record in the bytes read) stays.
    private func noteStop(_ input: FollowedInput) {
        stats.endedBy = input.endingName
        guard let stop = stats.readingStopped,
              let i = stats.warnings.lastIndex(where: { $0.problem == stop.problem }) else { return }
        switch stats.warnings[i].code {
        case .truncated:
            stats.warnings.remove(at: i)
            stats.readingStopped = nil
        case .limitReached where stop.problem.hasSuffix(PcapNGReader.endsInsideOversizedBlock):
            // A block over the limit, which the whole input would have passed over, cut by the stop: still
            // named, as it would be, but not as where reading stopped.
            let claim = stop.problem.dropLast(PcapNGReader.endsInsideOversizedBlock.count)
            stats.warnings[i].problem = claim + "; the input was ended inside it by \(input.endingName)"
            stats.readingStopped = nil
        default:
            return
        }
    }
}

/// `value`'s 4 bytes, most significant first (a magic number as `CaptureReader.magicFormat` reads it).
private func bigEndianBytes(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
}
