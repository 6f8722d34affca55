import Core

/// Opens capture files.
public enum CaptureReader {
    /// Opens a classic pcap or pcapng file for streaming.
    ///
    /// The path is checked first so that a missing file, a directory, a file that
    /// cannot be read, an empty file, a file too short for a header or one that is
    /// not a capture at all each get their own message. Classic pcap (microsecond,
    /// nanosecond or modified magic, either byte order) is read through libpcap with
    /// nanosecond timestamps, or, given a read buffer, by `ClassicPcapReader` as long as libpcap
    /// would give its records unchanged (libpcap reads the rest of the file from a record it would
    /// not). pcapng goes to libpcap first; when libpcap refuses it,
    /// at once or part way through, the own pcapng reader takes over without losing
    /// or repeating packets (it reads the file again from the start, passing over the
    /// packets libpcap returned).
    ///
    /// A FIFO, pipe, `/dev/stdin`, character device or `-` (standard input) is opened once:
    /// its magic is read from the open descriptor and handed back to the reader with the rest
    /// of the stream, so a FIFO whose writer has gone is read to its end instead of hanging.
    /// Classic pcap streams go to libpcap; pcapng streams go straight to the own pcapng reader
    /// (a stream cannot be read again, so libpcap's refusal part way through could not be
    /// recovered). Byte offsets in warnings are counted from record sizes there. With `stop`, such an
    /// input that is no regular file (standard input given a regular file is one) is followed: it ends
    /// at its writer's end or when `stop` is requested, whichever comes first (`FollowedInput`); the
    /// statistics then say what ended it (`CaptureStatistics.endedBy`).
    ///
    /// - Parameters:
    ///   - path: the capture file.
    ///   - fileIndex: stamped on every record, to tell files apart after a merge.
    ///   - limits: limits against corrupt files.
    /// - Throws: `CaptureError` with exit status 3 when the file cannot be read.
    ///   - readBufferBytes: the stdio buffer the file is read through; nil keeps the C library's
    ///     (4 KiB, one system call every few packets). `readBufferBytes(files:)` gives the size for
    ///     one of several files open at once.
    ///   - stop: ends a followed input (nil: every input is read to its end).
    ///   - ownPcapReader: false reads a classic pcap file through libpcap alone (the benchmark's floor).
    public static func open(path: String, fileIndex: Int = 0, limits: CaptureLimits = .default,
                            readBufferBytes: Int? = readBufferBytes(files: 1), stop: LiveStopRequest? = nil,
                            ownPcapReader: Bool = true)
        throws(CaptureError) -> PacketSource
    {
        if path == StreamInput.standardInputName {
            return try openStream(path: path, fileIndex: fileIndex, limits: limits, readBufferBytes: readBufferBytes,
                                  stop: stop)
        }
        if case .otherFile = FileCalls.kind(of: path) {
            return try openStream(path: path, fileIndex: fileIndex, limits: limits, readBufferBytes: readBufferBytes,
                                  stop: stop)
        }
        let header = try readHeader(path: path)
        return try CaptureFileSource(path: path, fileIndex: fileIndex, header: header, limits: limits,
                                     readBufferBytes: readBufferBytes, ownPcapReader: ownPcapReader)
    }

    /// Opens a pcapng file with the own pcapng reader alone, never through libpcap (which `open`
    /// tries first); any other file opens as `open` opens it. For the fuzz targets: only the own
    /// reader's code is ours to fuzz.
    @_spi(Fuzzing)
    public static func openWithOwnPcapNGReader(path: String, limits: CaptureLimits = .default)
        throws(CaptureError) -> PacketSource
    {
        let header = try readHeader(path: path)
        return try CaptureFileSource(path: path, fileIndex: 0, header: header, limits: limits,
                                     readBufferBytes: nil, ownReaderOnly: true)
    }

    /// Opens every file of `paths` (file index: its position), each with its share of the read
    /// buffers (`readBufferBytes(files:)`); throws the first file's error.
    ///
    /// With several files, each regular file is checked and then closed again until its packets are
    /// needed (`DeferredFileSource`), so that the number of files named is not bound by the open-file
    /// limit (`ulimit -n`). Standard input, FIFOs and pipes stay open from here on, and are followed
    /// until `stop` is requested, when given (see `open(path:)`); `ownPcapReader` as there.
    public static func open(paths: [String], limits: CaptureLimits = .default, stop: LiveStopRequest? = nil,
                            ownPcapReader: Bool = true)
        throws(CaptureError) -> [PacketSource]
    {
        let buffer = readBufferBytes(files: paths.count)
        var sources: [PacketSource] = []
        for (i, path) in paths.enumerated() {
            if paths.count > 1, path != StreamInput.standardInputName, case .regularFile = FileCalls.kind(of: path) {
                let header = try readHeader(path: path)
                sources.append(try DeferredFileSource(path: path, fileIndex: i, header: header, limits: limits,
                                                      readBufferBytes: buffer, ownPcapReader: ownPcapReader))
            } else {
                sources.append(try open(path: path, fileIndex: i, limits: limits, readBufferBytes: buffer, stop: stop,
                                        ownPcapReader: ownPcapReader))
            }
        }
        return sources
    }

    /// The stdio buffer for each of `files` capture files open at once: 4 MiB shared among them, at
    /// most 1 MiB each, and nil (the C library's own 4 KiB) when a share would be under 64 KiB. Every
    /// file is opened before the first packet is read and a merged run reads them all at once, so the
    /// buffers of hundreds of inputs would otherwise add up to hundreds of MB.
    public static func readBufferBytes(files: Int) -> Int? {
        let share = min(1 << 20, (4 << 20) / max(1, files))
        return share >= 64 << 10 ? share : nil
    }

    /// A FIFO, pipe, character device or `-` (standard input): opened once, never re-opened.
    /// The magic is read from the open descriptor and handed back to the reader with the rest.
    /// Classic pcap goes to libpcap; pcapng goes straight to the own pcapng reader (libpcap's
    /// refusal part way through could not be recovered from on a stream that cannot be re-read).
    private static func openStream(path: String, fileIndex: Int, limits: CaptureLimits, readBufferBytes: Int?,
                                   stop: LiveStopRequest?) throws(CaptureError) -> PacketSource
    {
        let input: StreamInput
        switch StreamInput.open(path) {
        case .success(let opened): input = opened
        case .failure(let failure): throw CaptureError(path: path, opening: failure)
        }
        let sniffed = input.sniff(count: 24)
        if let code = sniffed.error {
            throw CaptureError(path: path, .readFailed(offset: sniffed.bytes.count,
                                                       problem: FileCalls.describe(errno: code)))
        }
        if let compression = CaptureCompression(magic: sniffed.bytes) {
            return try openCompressedStream(input, compression: compression, path: path, fileIndex: fileIndex,
                                            limits: limits, readBufferBytes: readBufferBytes, stop: stop)
        }
        let header = try parseHeader(sniffed.bytes, path: path)
        return try CaptureFileSource(path: path, fileIndex: fileIndex, header: header, limits: limits,
                                     readBufferBytes: readBufferBytes, stream: input, stop: stop)
    }

    /// A gzip, xz or bzip2 stream: decompressed as it is read, through the stream's `FILE *` (which hands back
    /// the sniffed bytes, and follows the input until `stop` when given); its first 24 decompressed bytes
    /// decide the format, as a file's do. Read once, so pcapng goes to the own pcapng reader (see `openStream`).
    private static func openCompressedStream(_ input: StreamInput, compression: CaptureCompression, path: String,
                                             fileIndex: Int, limits: CaptureLimits, readBufferBytes: Int?,
                                             stop: LiveStopRequest?) throws(CaptureError) -> PacketSource
    {
        guard let raw = input.makeFile(bufferBytes: readBufferBytes, stop: stop),
              let decompressing = CompressedInput.reading(CFile(adopting: raw.file, buffer: raw.buffer),
                                                          compression: compression)
        else { throw CaptureError(path: path, .cannotOpen("cannot set up a stream reader")) }
        let first = decompressing.readAhead(count: 24)
        var header = try compressedHeader(first, problem: decompressing.problem, path: path,
                                          compression: compression)
        header.compression = compression
        return try CaptureFileSource(path: path, fileIndex: fileIndex, header: header, limits: limits,
                                     readBufferBytes: readBufferBytes,
                                     decompressing: (decompressing, raw.followed))
    }

    /// What the first bytes of a file say.
    struct FileHeader {
        var format: CaptureFileFormat
        var byteOrder: CaptureByteOrder
        /// Classic pcap only: link type and snaplen from the file header.
        var linkType: LinkType?
        var snapLength: Int
        /// Classic pcap only: the header says version 2.4 and its link type field holds nothing above the link
        /// type (no FCS length, no reserved bits): a header `ClassicPcapReader` may read the file of.
        var plainClassicHeader = false
        /// The file is compressed, and the fields above describe the capture inside
        /// (`CompressedInput`); nil for a capture file as it is.
        var compression: CaptureCompression? = nil
    }

    static func readHeader(path: String) throws(CaptureError) -> FileHeader {
        switch FileCalls.kind(of: path) {
        case .missing: throw CaptureError(path: path, .missing)
        case .directory: throw CaptureError(path: path, .directory)
        case .failed(let why): throw CaptureError(path: path, .cannotOpen(why))
        // A file is refused as empty only when reading it gives no byte (`parseHeader`): stat gives 0 as the
        // size of many files that hold some (Linux's /proc and /sys).
        case .regularFile, .otherFile: break
        }
        let file: CFile
        switch CFile.open(path, mode: "rb") {
        case .success(let opened): file = opened
        case .failure(let failure):
            throw CaptureError(path: path, opening: failure)
        }
        var first = [UInt8](repeating: 0, count: 24)
        let count = first.withUnsafeMutableBytes { raw in
            raw.baseAddress.map { file.read(into: $0, count: 24) } ?? 0
        }
        first.removeLast(24 - count)
        if let compression = CaptureCompression(magic: first) {
            return try readCompressedHeader(path: path, compression: compression)
        }
        return try parseHeader(first, path: path)
    }

    /// The header of the capture inside a compressed file: its first 24 decompressed bytes, read as a
    /// capture file's. Decompressed bytes that are no capture (or none at all) are refused as a file
    /// would be, saying they were decompressed; data corrupt or cut short before the capture header
    /// gives its end is refused with the decompression problem.
    private static func readCompressedHeader(path: String, compression: CaptureCompression)
        throws(CaptureError) -> FileHeader
    {
        let head: (bytes: [UInt8], problem: CompressedInput.Problem?)
        switch CompressedInput.head(path: path, compression: compression, count: 24) {
        case .success(let read): head = read
        case .failure(let failure): throw CaptureError(path: path, opening: failure)
        }
        do {
            return try compressedHeader(head.bytes, problem: head.problem, path: path, compression: compression)
        } catch {
            throw blamingDamage(error, found: head.problem, path: path, compression: compression)
        }
    }

    /// Decompressed bytes read at most to tell damaged data from content that is no capture: bzip2 checks
    /// each block at its end, and its largest block is 900 kB; gzip checks a member, and xz a block, only at
    /// its end (a CRC and the size in a trailer), which may be the file's end: those are read further, to
    /// 256 MiB (about a second), past which a file of no capture is refused without the wait.
    static func damageWindow(_ compression: CaptureCompression) -> Int {
        compression == .bzip2 ? 1 << 20 : 256 << 20
    }

    /// `error`, a compressed file's content refused as no capture, or the damage of its compressed data when
    /// the first `damageWindow` decompressed bytes meet some. Damaged data may decompress to other bytes
    /// before the decoder finds the damage (at the end of a bzip2 block, a gzip member or an xz block):
    /// those bytes were blamed (`not a pcap or pcapng file`, `unsupported pcap savefile version`) with no
    /// word of the damage. Cost: only on that refusal, up to the window decompressed once more.
    private static func blamingDamage(_ error: CaptureError, found: CompressedInput.Problem?, path: String,
                                      compression: CaptureCompression) -> CaptureError
    {
        guard found == nil, case .compressedContent = error.kind,
              case .success(let longer) = CompressedInput.scan(path: path, compression: compression,
                                                                limit: damageWindow(compression)),
              let problem = longer.problem
        else { return error }
        let describing = CompressedInput.describe(problem, compression: compression)
        return CaptureError(path: path, .unreadable("\(describing) after \(longer.decompressed) decompressed byte"
            + "\(longer.decompressed == 1 ? "" : "s"), which are no capture: " + error.problem))
    }

    /// The header of the capture a compressed file or stream holds, from its first (up to 24) decompressed
    /// `bytes` and the problem decompressing them met, if any (see `readCompressedHeader`).
    static func compressedHeader(_ bytes: [UInt8], problem: CompressedInput.Problem?, path: String,
                                 compression: CaptureCompression) throws(CaptureError) -> FileHeader
    {
        // What the bytes there are say first: text compressed is no capture, whatever follows it.
        if bytes.count >= 4, magicFormat(bytes) == nil {
            let magic = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
            throw CaptureError(path: path, .compressedContent(compression: compression,
                                                              inner: .notACapture(firstBytes: magic)))
        }
        if let problem, bytes.count < 24 {
            let describing = CompressedInput.describe(problem, compression: compression)
            throw CaptureError(path: path, .unreadable("\(describing) after \(bytes.count) decompressed byte"
                + "\(bytes.count == 1 ? "" : "s"), before the end of a capture header"))
        }
        do {
            var header = try parseHeader(bytes, path: path)
            header.compression = compression
            return header
        } catch {
            throw CaptureError(path: path, .compressedContent(compression: compression, inner: error.kind))
        }
    }

    /// The capture format a file's first 4 bytes name, and whether a classic pcap header is big-endian
    /// (false for pcapng, whose byte order comes later); nil when they are no capture magic number or
    /// fewer than 4 bytes are given.
    public static func magicFormat(_ first: [UInt8]) -> (format: CaptureFileFormat, bigEndian: Bool)? {
        guard first.count >= 4 else { return nil }
        let magic = UInt32(first[0]) << 24 | UInt32(first[1]) << 16 | UInt32(first[2]) << 8 | UInt32(first[3])
        switch magic {
        case 0xA1B2_C3D4: return (.pcap, true)
        case 0xD4C3_B2A1: return (.pcap, false)
        case 0xA1B2_3C4D: return (.pcapNanoseconds, true)
        case 0x4D3C_B2A1: return (.pcapNanoseconds, false)
        case 0xA1B2_CD34: return (.pcapModified, true)
        case 0x34CD_B2A1: return (.pcapModified, false)
        case 0x0A0D_0D0A: return (.pcapng, false)
        default: return nil
        }
    }

    /// The compressor whose magic number starts `first` (and the command that reads its output back),
    /// or nil: gzip, zstd, xz, bzip2 and lz4 frames, as captures are often kept. A file or stream in gzip,
    /// xz or bzip2 is decompressed as it is read (`readHeader`, `openStream`); the others are refused with
    /// this command in the message.
    static func compression(_ first: [UInt8]) -> (tool: String, reader: String)? {
        let known: [([UInt8], String, String)] = [
            ([0x1F, 0x8B], "gzip", "zcat"),
            ([0x28, 0xB5, 0x2F, 0xFD], "zstd", "zstdcat"),
            ([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], "xz", "xzcat"),
            ([0x42, 0x5A, 0x68], "bzip2", "bzcat"),
            ([0x04, 0x22, 0x4D, 0x18], "lz4", "lz4cat"),
        ]
        for (magic, tool, reader) in known where first.starts(with: magic) { return (tool, reader) }
        return nil
    }

    /// Decides the format from a file's first (up to 24) bytes.
    static func parseHeader(_ first: [UInt8], path: String) throws(CaptureError) -> FileHeader {
        let count = first.count
        if count == 0 { throw CaptureError(path: path, .empty) }
        guard count >= 4 else { throw CaptureError(path: path, .tooShort(size: count, needed: 24)) }
        guard let (format, bigEndian) = magicFormat(first) else {
            if let (tool, reader) = compression(first) {
                throw CaptureError(path: path, .compressed(tool: tool, reader: reader))
            }
            let magic = UInt32(first[0]) << 24 | UInt32(first[1]) << 16 | UInt32(first[2]) << 8 | UInt32(first[3])
            throw CaptureError(path: path, .notACapture(firstBytes: magic))
        }
        if format == .pcapng {
            guard count >= 12 else { throw CaptureError(path: path, .tooShort(size: count, needed: 28)) }
            let order = first[8] == 0x1A ? CaptureByteOrder.bigEndian : .littleEndian
            return FileHeader(format: .pcapng, byteOrder: order, linkType: nil, snapLength: 0)
        }
        guard count >= 24 else { throw CaptureError(path: path, .tooShort(size: count, needed: 24)) }
        let reader = first.withUnsafeBytes { raw in
            let fields = ByteOrderReader(bytes: raw, bigEndian: bigEndian)
            return (fields.u32(at: 16) ?? 0, fields.u32(at: 20) ?? 0, fields.u16(at: 4) ?? 0, fields.u16(at: 6) ?? 0)
        }
        // The low 16 bits hold the LINKTYPE_ value; higher bits carry FCS information.
        return FileHeader(format: format, byteOrder: bigEndian ? .bigEndian : .littleEndian,
                          linkType: LinkType(rawValue: reader.1 & 0xFFFF), snapLength: Int(reader.0),
                          plainClassicHeader: reader.2 == 2 && reader.3 == 4 && reader.1 >> 16 == 0)
    }
}
