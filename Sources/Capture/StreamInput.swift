// Inputs that can be read only once, front to back: FIFOs, pipes, `/dev/stdin`, character
// devices, and `-` (standard input, as `tcpdump -r -` reads it).
//
// A regular file is opened twice (once to sniff its magic, once by the reader, which may
// read it a second time when the own pcapng reader takes over from libpcap). A stream
// cannot be opened twice: a FIFO's second open blocks forever once its writer has gone,
// and a pipe's bytes are gone once read. So a stream is opened once, its first bytes are
// read to decide the format, and the reader gets a `FILE *` that hands back those bytes
// first and then reads on from the same descriptor.

#if canImport(Glibc)
import Glibc
#endif

/// One open, non-seekable input and the bytes already read from its start.
///
/// `makeFile(bufferBytes:)` wraps the descriptor in a buffered `FILE *` whose buffer already holds the
/// sniffed bytes, so the reader (libpcap or the own pcapng reader) sees the stream from its
/// first byte. The bytes are placed the way glibc's own `ungetc` keeps pushed-back input:
/// the `FILE`'s get area (`_IO_read_base/_ptr/_end`, public fields of glibc's stable
/// `struct _IO_FILE`) is pointed at them before the first read; glibc's next refill then
/// reads the descriptor as usual. The descriptor is closed with the `FILE *` (or, if none
/// was made, when this object goes). Standard input is read through a duplicate of
/// descriptor 0, so closing the reader leaves the process's standard input open.
final class StreamInput {
    /// The name used for standard input.
    static let standardInputName = "-"

    private var descriptor: Int32
    private var prefix: [UInt8] = []
    /// Where the stream's first byte lies in its file: nil for a pipe, FIFO or device (no position),
    /// and not always 0 for a regular file given as standard input part way through.
    let startOffset: Int?
    /// Whether the input is no regular file (a pipe, FIFO or device, also as standard input): it may be
    /// followed forever, so it is read as a `FollowedInput` when a stop request is given.
    let isFollowable: Bool

    private init(descriptor: Int32) {
        self.descriptor = descriptor
        let position = lseek(descriptor, 0, SEEK_CUR)
        startOffset = position >= 0 ? Int(position) : nil
        var info = stat()
        isFollowable = fstat(descriptor, &info) != 0 || info.st_mode & S_IFMT != S_IFREG
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Opens `path` (or standard input for `-`) once for reading. A FIFO's open waits for a writer.
    ///
    /// A descriptor in non-blocking mode (a standard input a parent process left so) is put back in
    /// blocking mode: the readers would take its first "try again" for the end of the stream and
    /// drop the rest. The mode belongs to the open file, which standard input shares with the
    /// process that gave it; a reader of the stream has no use for it.
    static func open(_ path: String) -> Result<StreamInput, CFile.OpenFailure> {
        let fd = path == standardInputName ? fcntl(0, F_DUPFD_CLOEXEC, 3) : Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(CFile.OpenFailure(errno: errno)) }
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0, flags & O_NONBLOCK != 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        return .success(StreamInput(descriptor: fd))
    }

    /// Reads up to `count` bytes from the start of the stream (fewer only at its end), keeping
    /// them for the `FILE *` of `makeFile(bufferBytes:)`. Blocks until they arrive or the writer closes.
    func sniff(count: Int) -> (bytes: [UInt8], error: Int32?) {
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        var failure: Int32?
        bytes.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            while got < count {
                let n = read(descriptor, base + got, count - got)
                if n > 0 {
                    got += n
                } else if n == 0 {
                    break
                } else if errno != EINTR {
                    failure = errno
                    break
                }
            }
        }
        bytes.removeLast(count - got)
        prefix = bytes
        return (bytes, failure)
    }

    /// A buffered `FILE *` that yields the sniffed bytes, then the rest of the stream, and the buffer
    /// it reads into (`bufferBytes`; nil when glibc's own had to do). The caller owns both: the
    /// stream (`fclose`, or libpcap's `pcap_close`) owns the descriptor, and the buffer is released
    /// after the stream is closed. Nil when the C library cannot make one (then the descriptor is
    /// still closed by this object).
    ///
    /// With `stop`, an input that `isFollowable` is read through a `FollowedInput` (returned as
    /// `followed`): its reads end at once when `stop` is requested.
    func makeFile(bufferBytes: Int?, stop: LiveStopRequest? = nil)
        -> (file: UnsafeMutablePointer<FILE>, buffer: StdioBuffer?, followed: FollowedInput?)?
    {
        if let stop, isFollowable, descriptor >= 0 {
            guard let made = FollowedInput.makeFile(descriptor: descriptor, prefix: prefix, stop: stop,
                                                    bufferBytes: bufferBytes) else { return nil }
            descriptor = -1
            prefix = []
            return (made.file, made.buffer, made.input)
        }
        guard descriptor >= 0, let file = fdopen(descriptor, "rb") else { return nil }
        descriptor = -1
        // Fully buffered, in a buffer of `bufferBytes` (a pipe hands over up to 64 KiB per read);
        // failing that, in one glibc allocates at once (st_blksize bytes).
        let buffer = bufferBytes.flatMap { StdioBuffer(file, bytes: $0) }
        guard buffer != nil || setvbuf(file, nil, _IOFBF, 0) == 0,
              let base = file.pointee._IO_buf_base, let end = file.pointee._IO_buf_end,
              end - base >= prefix.count
        else {
            fclose(file)
            buffer?.release()
            return nil
        }
        prefix.withUnsafeBytes { raw in
            if let source = raw.baseAddress {
                UnsafeMutableRawPointer(base).copyMemory(from: source, byteCount: raw.count)
            }
        }
        file.pointee._IO_read_base = base
        file.pointee._IO_read_ptr = base
        file.pointee._IO_read_end = base + prefix.count
        prefix = []
        return (file, buffer, nil)
    }
}
