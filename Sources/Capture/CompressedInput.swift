// Capture files kept compressed (gzip, xz, bzip2), read as they are.
//
// Rotated captures are usually compressed as they are closed (`tcpdump -G 3600 -z gzip`). libpcap
// and the own pcapng reader read a `FILE *` front to back, so a compressed file is given to them as a
// glibc cookie stream (as `FollowedInput` does for a followed input) whose read decompresses: they read
// the capture inside unchanged, and a file is re-read by decompressing it again from its start.
//
// Memory stays bounded whatever the file holds: the compressed bytes are read through one fixed buffer,
// and the decompressed ones go straight into the reader's stdio buffer, so a file that decompresses to
// far more than its size (a decompression bomb) costs only time. Byte offsets in warnings count
// decompressed bytes (the stream's position is the number of bytes decompressed before it).

import CBzip2
import CLzma
import CPcap
import CZlib
#if canImport(Glibc)
import Glibc
#endif

/// The decompressing read side of a compressed capture file's `FILE *` (see the file's notes).
///
/// A gzip file may hold several members one after the other (files joined with `cat`) and an xz or
/// bzip2 file several streams: all are read through, as `zcat`, `xzcat` and `bzcat` do. When the data
/// is cut short or corrupt, or the file cannot be read, the stream ends there (a read returns 0) and
/// `problem` says why; the reader sees its input end.
///
/// Used by one reading thread at a time.
final class CompressedInput: CookieReader {
    /// Why decompressing stopped before the data's end.
    enum Problem: Equatable {
        /// The file ends before its compressed data does.
        case cutShort
        /// The compressed data is damaged (the library's words).
        case corrupt(String)
        /// The data asks for what is not done here (xz: more memory than `xzMemoryLimit`, unknown options).
        case unsupported(String)
        /// Reading the file failed.
        case readFailed(String)
    }

    let compression: CaptureCompression
    /// Where the compressed bytes come from: the file's descriptor, or (a stream: standard input, a pipe, a
    /// FIFO) the stream's `FILE *`, which hands back its sniffed first bytes and may be followed.
    private var descriptor: Int32
    private var stream: CFile?
    /// Decompressed bytes read ahead (a stream's capture header, read to decide its format), handed out first.
    private var pending: [UInt8] = []
    private var pendingUsed = 0
    private var decoder: Decoder?
    /// Compressed bytes read from the file, not yet decompressed: `input[inputStart..<inputEnd]`.
    private let input: UnsafeMutableRawBufferPointer
    /// The file's end was read: no compressed byte will come after those in `input`.
    private var inputEnded = false
    /// A gzip member or bzip2 stream ended: the next one (if any bytes follow) starts with a fresh decoder.
    private var needsRestart = false
    /// Decompressing is over (the data's end, or a problem): every read from here on returns 0.
    private var ended = false
    /// Decompressed bytes handed out so far: the stream's position.
    private(set) var produced = 0
    private(set) var problem: Problem?
    /// Bytes that follow the last gzip member or bzip2 stream without starting another (zeros a tape or a
    /// transfer padded it with, text appended): ignored, as `zcat` and `bzcat` do, and the data ended before
    /// them; nil when there are none.
    private(set) var trailing: Trailing?

    /// What `trailing` found.
    struct Trailing: Equatable {
        /// How many: all to the end of a file; nil for a stream (which may be followed for ever), not read further.
        var bytes: Int?
        /// A file's ignored bytes hold a member's or stream's magic number further on (a capture joined after
        /// padding): data that `zcat` does not read either, which may hold packets.
        var holdsAnother: Bool
    }

    /// Bytes of compressed data read at once.
    static let inputBytes = 64 * 1024

    private enum Decoder {
        case gzip(UnsafeMutablePointer<z_stream>)
        case xz(UnsafeMutablePointer<lzma_stream>)
        case bzip2(UnsafeMutablePointer<bz_stream>)
    }

    private init(descriptor: Int32, stream: CFile? = nil, compression: CaptureCompression, decoder: Decoder) {
        self.descriptor = descriptor
        self.stream = stream
        self.compression = compression
        self.decoder = decoder
        input = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.inputBytes, alignment: 16)
    }

    deinit {
        close()
        input.deallocate()
    }

    /// Opens `path` and sets up its decoder; the failure's errno when the file cannot be opened
    /// (ENOMEM when the decoder cannot be set up).
    static func open(path: String, compression: CaptureCompression) -> Result<CompressedInput, CFile.OpenFailure> {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(CFile.OpenFailure(errno: errno)) }
        guard let decoder = makeDecoder(compression) else {
            Glibc.close(fd)
            return .failure(CFile.OpenFailure(errno: ENOMEM))
        }
        return .success(CompressedInput(descriptor: fd, compression: compression, decoder: decoder))
    }

    /// Decompresses the bytes `stream` reads (a stream's: standard input, a pipe, a FIFO), which it owns from
    /// here on; nil when the decoder cannot be set up.
    static func reading(_ stream: CFile, compression: CaptureCompression) -> CompressedInput? {
        guard let decoder = makeDecoder(compression) else { return nil }
        return CompressedInput(descriptor: -1, stream: stream, compression: compression, decoder: decoder)
    }

    /// Whether the compressed bytes come from a regular file (opened by path, or given on standard input), which
    /// ends: its rest can be decompressed to check it (`drain`), where a pipe's might never end.
    var readsRegularFile: Bool { stream?.readsRegularFile ?? true }

    /// The first up to `count` decompressed bytes (fewer at the data's end or at a problem), read ahead:
    /// the reads after hand them out again first. Only before any other read.
    func readAhead(count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        bytes.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            while got < count {
                let n = read(into: base + got, count: count - got)
                if n <= 0 { break }
                got += n
            }
        }
        bytes.removeLast(count - got)
        pending = bytes
        pendingUsed = 0
        return bytes
    }

    /// The stream's position: the decompressed bytes handed out so far.
    var position: Int { produced - (pending.count - pendingUsed) }

    // MARK: Decompressing

    /// What one call of the decoder did.
    private enum Step {
        /// Bytes were taken or given (or none could be, for want of input).
        case going
        /// A gzip member, or the last xz or bzip2 stream, ended.
        case streamEnd
        case failed(String)
        case unsupported(String)
    }

    /// The cookie read: up to `count` decompressed bytes; 0 at the data's end or at a problem.
    func read(into buffer: UnsafeMutableRawPointer, count: Int) -> Int {
        if pendingUsed < pending.count, count > 0 {
            let n = min(count, pending.count - pendingUsed)
            pending.withUnsafeBytes { raw in
                if let base = raw.baseAddress { buffer.copyMemory(from: base + pendingUsed, byteCount: n) }
            }
            pendingUsed += n
            if pendingUsed == pending.count {
                pending = []
                pendingUsed = 0
            }
            return n
        }
        guard !ended, count > 0 else { return 0 }
        var total = 0
        while total < count {
            if needsRestart {
                // Another member or stream follows only if bytes do; none: the data ended where it should.
                if inputStart == inputEnd {
                    if stream != nil, total > 0 { return total }
                    if !fill() { return total }
                }
                guard inputStart < inputEnd else {
                    ended = true
                    return total
                }
                // Bytes that do not start another member or stream end the data there (`trailing`).
                // (A stream hands on what it decompressed before it waits for the rest of a magic number.)
                if stream != nil, total > 0, inputEnd - inputStart < magic.count { return total }
                guard topUp(to: magic.count) else { return total }
                guard startsAnother() else {
                    skipTrailing()
                    return total
                }
                guard restart() else {
                    stop(.corrupt("out of memory"))
                    return total
                }
                needsRestart = false
            }
            if inputStart == inputEnd, !inputEnded {
                // A stream's next bytes may be long in coming (a followed input, a quiet sensor): what was
                // decompressed goes to the reader now rather than when a whole buffer's worth is there.
                if stream != nil, total > 0 { return total }
                if !fill() { return total }
            }
            let before = inputStart
            let (written, step) = decode(into: buffer + total, count: count - total)
            total += written
            produced += written
            switch step {
            case .going:
                guard written == 0, inputStart == before else {
                    stalls = 0
                    continue
                }
                if inputStart == inputEnd, inputEnded {
                    stop(.cutShort)
                    return total
                }
                // Bytes to decode and room for the output, and nothing taken or given: the libraries
                // never do so, but a loop must not hang on it.
                stalls += inputStart < inputEnd ? 1 : 0
                if stalls > 2 {
                    stop(.corrupt("the decoder makes no progress"))
                    return total
                }
            case .streamEnd:
                if case .xz = decoder {
                    ended = true
                    return total
                }
                needsRestart = true
            case .failed(let why):
                stop(.corrupt(why))
                return total
            case .unsupported(let why):
                stop(.unsupported(why))
                return total
            }
        }
        return total
    }

    /// Decompresses the rest of the data, handing out nothing, to find whether it is whole (its end, or a
    /// `problem`). Through one fixed buffer: only time grows with the data.
    func drain() {
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: Self.inputBytes, alignment: 16)
        defer { scratch.deallocate() }
        while read(into: scratch, count: Self.inputBytes) > 0 {}
    }

    private var inputStart = 0
    private var inputEnd = 0
    /// Decoder calls in a row that took and gave nothing with input there (see `read`).
    private var stalls = 0

    /// Reads more compressed bytes into `input` (whose bytes were all taken); false after a read error
    /// (then noted, and decompressing is over). Sets `inputEnded` at the file's end.
    private func fill() -> Bool {
        guard !inputEnded, let base = input.baseAddress else { return true }
        // The bytes not taken yet (a part of a magic number, see `topUp`) move to the front; more follow them.
        let kept = inputEnd - inputStart
        if kept > 0, inputStart > 0 { base.copyMemory(from: base + inputStart, byteCount: kept) }
        var got: Int
        if let stream {
            // What the stream has (at least one byte, waiting for it), not a whole buffer's worth: a followed
            // input's packets are decompressed as they come.
            got = stream.readAvailable(into: base + kept, count: input.count - kept)
            if got == 0, stream.hadError { got = -1 }
        } else {
            repeat { got = Glibc.read(descriptor, base + kept, input.count - kept) } while got < 0 && errno == EINTR
        }
        guard got >= 0 else {
            stop(.readFailed(FileCalls.describe(errno: errno)))
            return false
        }
        inputStart = 0
        inputEnd = kept + got
        if got == 0 { inputEnded = true }
        return true
    }

    /// Reads on until `count` compressed bytes are at hand or the input ends (false after a read error).
    private func topUp(to count: Int) -> Bool {
        while inputEnd - inputStart < count, !inputEnded {
            guard fill() else { return false }
        }
        return true
    }

    /// One call of the decoder on the bytes in `input`, writing up to `count` bytes.
    private func decode(into out: UnsafeMutableRawPointer, count: Int) -> (written: Int, step: Step) {
        guard let decoder, let base = input.baseAddress else { return (0, .failed("no decoder")) }
        let available = inputEnd - inputStart
        let next = (base + inputStart).assumingMemoryBound(to: UInt8.self)
        let room = min(count, Int(UInt32.max))
        switch decoder {
        case .gzip(let stream):
            stream.pointee.next_in = next
            stream.pointee.avail_in = UInt32(available)
            stream.pointee.next_out = out.assumingMemoryBound(to: UInt8.self)
            stream.pointee.avail_out = UInt32(room)
            let result = inflate(stream, Z_NO_FLUSH)
            inputStart = inputEnd - Int(stream.pointee.avail_in)
            let written = room - Int(stream.pointee.avail_out)
            switch result {
            case Z_OK, Z_BUF_ERROR: return (written, .going)
            case Z_STREAM_END: return (written, .streamEnd)
            default:
                let why = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(result)"
                return (written, .failed(why))
            }
        case .xz(let stream):
            stream.pointee.next_in = UnsafePointer(next)
            stream.pointee.avail_in = available
            stream.pointee.next_out = out.assumingMemoryBound(to: UInt8.self)
            stream.pointee.avail_out = room
            let action = inputEnded && available == 0 ? LZMA_FINISH : LZMA_RUN
            let result = lzma_code(stream, action)
            inputStart = inputEnd - stream.pointee.avail_in
            let written = room - stream.pointee.avail_out
            switch result {
            case LZMA_OK, LZMA_BUF_ERROR: return (written, .going)
            case LZMA_STREAM_END: return (written, .streamEnd)
            case LZMA_DATA_ERROR: return (written, .failed("compressed data is damaged"))
            case LZMA_FORMAT_ERROR: return (written, .failed("data after the end is not in the .xz format"))
            case LZMA_OPTIONS_ERROR: return (written, .unsupported("options liblzma does not know"))
            case LZMA_MEMLIMIT_ERROR:
                return (written, .unsupported("it needs more than \(CaptureCompression.xzMemoryLimit >> 20) MiB of "
                    + "memory to decompress"))
            case LZMA_MEM_ERROR: return (written, .failed("out of memory"))
            default: return (written, .failed("liblzma error \(result.rawValue)"))
            }
        case .bzip2(let stream):
            let taken = min(available, Int(UInt32.max))
            stream.pointee.next_in = UnsafeMutableRawPointer(next).assumingMemoryBound(to: CChar.self)
            stream.pointee.avail_in = UInt32(taken)
            stream.pointee.next_out = out.assumingMemoryBound(to: CChar.self)
            stream.pointee.avail_out = UInt32(room)
            let result = BZ2_bzDecompress(stream)
            inputStart += taken - Int(stream.pointee.avail_in)
            let written = room - Int(stream.pointee.avail_out)
            switch result {
            case BZ_OK: return (written, .going)
            case BZ_STREAM_END: return (written, .streamEnd)
            case BZ_DATA_ERROR: return (written, .failed("compressed data is damaged"))
            case BZ_DATA_ERROR_MAGIC: return (written, .failed("data after the end is not bzip2 data"))
            case BZ_MEM_ERROR: return (written, .failed("out of memory"))
            default: return (written, .failed("libbz2 error \(result)"))
            }
        }
    }

    /// A fresh decoder for the next gzip member or bzip2 stream; false when it cannot be set up.
    private func restart() -> Bool {
        switch decoder {
        case .gzip(let stream): return inflateReset(stream) == Z_OK
        case .bzip2(let stream):
            BZ2_bzDecompressEnd(stream)
            stream.initialize(to: bz_stream())
            return BZ2_bzDecompressInit(stream, 0, 0) == BZ_OK
        case .xz, nil: return false
        }
    }

    /// Whether the unread compressed bytes begin as another gzip member or bzip2 stream does (its magic number;
    /// `topUp` has read enough of them for it, or to the input's end).
    private func startsAnother() -> Bool {
        guard let base = input.baseAddress else { return false }
        guard !self.magic.isEmpty else { return true }
        // gzip's two magic bytes (a method other than deflate is the decoder's to refuse), bzip2's three.
        let magic = compression == .gzip ? Array(self.magic.prefix(2)) : self.magic
        let at = base.assumingMemoryBound(to: UInt8.self)
        // Fewer bytes than the magic number (a stray byte at the end: `topUp` read to it) start nothing.
        guard inputEnd - inputStart >= magic.count else { return false }
        for i in 0..<magic.count where at[inputStart + i] != magic[i] { return false }
        return true
    }

    /// The magic number that starts a further gzip member (with its one compression method) or bzip2 stream.
    private var magic: [UInt8] {
        switch decoder {
        case .gzip: return [0x1F, 0x8B, 0x08]
        case .bzip2: return [0x42, 0x5A, 0x68]
        case .xz, nil: return []
        }
    }

    /// Ends the data before the bytes at hand, which start no member or stream: counts them, and for a file
    /// the rest to its end (a stream is not read further).
    private func skipTrailing() {
        ended = true
        guard stream == nil, let base = input.baseAddress else {
            inputStart = inputEnd
            trailing = Trailing(bytes: nil, holdsAnother: false)
            return
        }
        let magic = self.magic
        var count = 0
        var holdsAnother = false
        var tail: [UInt8] = []  // the last bytes of the chunk before, for a magic number split between two
        while true {
            let chunk = UnsafeRawBufferPointer(start: base + inputStart, count: inputEnd - inputStart)
            count += chunk.count
            if !holdsAnother, !magic.isEmpty {
                let window = tail + chunk.prefix(magic.count - 1)
                holdsAnother = Self.contains(magic, in: window) || Self.contains(magic, in: chunk)
                tail = Array(chunk.suffix(magic.count - 1))
            }
            inputStart = inputEnd
            guard !inputEnded, fill() else { break }
        }
        trailing = Trailing(bytes: count, holdsAnother: holdsAnother)
    }

    private static func contains<C: Collection>(_ magic: [UInt8], in bytes: C) -> Bool where C.Element == UInt8 {
        guard let first = magic.first, bytes.count >= magic.count else { return false }
        var i = bytes.startIndex
        while let at = bytes[i...].firstIndex(of: first) {
            if bytes[at...].starts(with: magic) { return true }
            i = bytes.index(after: at)
        }
        return false
    }

    private func stop(_ found: Problem) {
        if problem == nil { problem = found }
        ended = true
    }

    private static func makeDecoder(_ compression: CaptureCompression) -> Decoder? {
        switch compression {
        case .gzip:
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            guard sepbeat_inflate_init_gzip(stream) == Z_OK else {
                stream.deallocate()
                return nil
            }
            return .gzip(stream)
        case .xz:
            let stream = UnsafeMutablePointer<lzma_stream>.allocate(capacity: 1)
            stream.initialize(to: lzma_stream())
            guard sepbeat_lzma_init_xz(stream, CaptureCompression.xzMemoryLimit) == LZMA_OK else {
                stream.deallocate()
                return nil
            }
            return .xz(stream)
        case .bzip2:
            let stream = UnsafeMutablePointer<bz_stream>.allocate(capacity: 1)
            stream.initialize(to: bz_stream())
            guard BZ2_bzDecompressInit(stream, 0, 0) == BZ_OK else {
                stream.deallocate()
                return nil
            }
            return .bzip2(stream)
        }
    }

    /// Frees the decoder and closes the file (the stream's close, or this object's end).
    func close() {
        ended = true
        switch decoder {
        case .gzip(let stream):
            inflateEnd(stream)
            stream.deallocate()
        case .xz(let stream):
            lzma_end(stream)
            stream.deallocate()
        case .bzip2(let stream):
            BZ2_bzDecompressEnd(stream)
            stream.deallocate()
        case nil: break
        }
        decoder = nil
        stream = nil
        if descriptor >= 0 {
            Glibc.close(descriptor)
            descriptor = -1
        }
    }
}
