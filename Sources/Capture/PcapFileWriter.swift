import Core
#if canImport(Glibc)
import Glibc
#endif

/// Writes a classic pcap file with nanosecond timestamps (magic 0xa1b23c4d),
/// little-endian, in pure Swift through a buffered C `FILE *`.
///
/// Records are written as given: the captured bytes, their count as captured
/// length, and the original length (at least the captured length). Call `close()`
/// to flush and learn about write errors; releasing the writer also closes it.
public final class PcapFileWriter {
    public let path: String
    public let linkType: LinkType
    public let snapLength: Int
    private var file: CFile?

    /// Creates (or replaces) `path` and writes the file header.
    ///
    /// A FIFO is opened without waiting: with no process reading it, this throws (`no process is reading
    /// this FIFO`) instead of blocking until one comes; with one, the writes then block as usual.
    public init(path: String, linkType: LinkType, snapLength: Int = 262_144) throws(CaptureError) {
        self.path = path
        self.linkType = linkType
        self.snapLength = snapLength
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFIFO {
            file = try Self.openFIFO(path)
        } else {
            switch CFile.open(path, mode: "wb") {
            case .success(let opened): file = opened
            case .failure(let failure):
                throw CaptureError(path: path, opening: failure)
            }
        }
        var header = LittleEndianBytes()
        header.append32(0xA1B2_3C4D)
        header.append16(2)
        header.append16(4)
        header.append32(0)  // thiszone
        header.append32(0)  // sigfigs
        header.append32(UInt32(clamping: snapLength))
        header.append32(linkType.rawValue)
        try write(header.bytes)
    }

    /// Opens the FIFO at `path` for writing without waiting for a reader (ENXIO when there is none), then
    /// makes its writes block as a file's. Opened once and kept: a probe opened and closed first would be
    /// the last writer's close to a reader already waiting, which then reads the end of the data.
    private static func openFIFO(_ path: String) throws(CaptureError) -> CFile {
        let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENXIO {
                throw CaptureError(path: path, .writeFailed("no process is reading this FIFO (start its reader first)"))
            }
            throw CaptureError(path: path, opening: CFile.OpenFailure(errno: code))
        }
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0, let stream = fdopen(fd, "wb") else {
            let code = errno
            Glibc.close(fd)
            throw CaptureError(path: path, opening: CFile.OpenFailure(errno: code))
        }
        return CFile(adopting: stream)
    }

    /// Appends one record. Seconds outside 0...UInt32.max are clamped (the format's range).
    public func append(timestamp: Timestamp, bytes: UnsafeRawBufferPointer, originalLength: Int? = nil)
        throws(CaptureError)
    {
        var seconds = timestamp.nanoseconds / 1_000_000_000
        var fraction = timestamp.nanoseconds % 1_000_000_000
        if fraction < 0 {
            fraction += 1_000_000_000
            seconds -= 1
        }
        var header = LittleEndianBytes()
        header.append32(UInt32(clamping: seconds))
        header.append32(UInt32(fraction))
        header.append32(UInt32(clamping: bytes.count))
        header.append32(UInt32(clamping: max(originalLength ?? bytes.count, 0)))
        try write(header.bytes)
        try write(bytes)
    }

    /// Appends one record from an array.
    public func append(timestamp: Timestamp, bytes: [UInt8], originalLength: Int? = nil) throws(CaptureError) {
        var failure: CaptureError?
        bytes.withUnsafeBytes { raw in
            do throws(CaptureError) {
                try append(timestamp: timestamp, bytes: raw, originalLength: originalLength)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    /// Hands what is buffered to the system, so a reader of the file sees every record appended so far.
    public func flush() throws(CaptureError) {
        guard let open = file else { return }
        guard open.flush() else { throw CaptureError(path: path, .writeFailed(open.lastErrorMessage)) }
    }

    /// Flushes and closes the file.
    public func close() throws(CaptureError) {
        guard let open = file else { return }
        file = nil
        guard open.flush() else {
            throw CaptureError(path: path, .writeFailed(open.lastErrorMessage))
        }
    }

    private func write(_ bytes: [UInt8]) throws(CaptureError) {
        var ok = false
        bytes.withUnsafeBytes { ok = file?.write($0) ?? false }
        if !ok { throw CaptureError(path: path, .writeFailed(file?.lastErrorMessage ?? "file is closed")) }
    }

    private func write(_ bytes: UnsafeRawBufferPointer) throws(CaptureError) {
        guard file?.write(bytes) ?? false else {
            throw CaptureError(path: path, .writeFailed(file?.lastErrorMessage ?? "file is closed"))
        }
    }
}

/// A small byte builder for little-endian file headers.
struct LittleEndianBytes {
    var bytes: [UInt8] = []

    mutating func append16(_ value: UInt16) {
        bytes.append(UInt8(value & 0xFF))
        bytes.append(UInt8(value >> 8))
    }

    mutating func append32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8((value >> UInt32(shift)) & 0xFF)) }
    }
}
