// How a compressed capture file is handed to the readers (a `FILE *` that decompresses), and read once
// from its start without them: its first bytes, or through to a damage its checks find (see
// CompressedInput.swift).

#if canImport(Glibc)
import Glibc
#endif

extension CompressedInput {
    /// A buffered `FILE *` reading the decompressed bytes of `path`, with a stdio buffer of `bufferBytes`
    /// (nil: glibc's own), and the object behind it (for its `problem` once read). The stream owns the
    /// file (closed by `fclose`, or libpcap's `pcap_close`) and the caller the buffer, released after the
    /// stream is closed.
    static func makeFile(path: String, compression: CaptureCompression, bufferBytes: Int?)
        -> Result<(file: UnsafeMutablePointer<FILE>, buffer: StdioBuffer?, input: CompressedInput), CaptureError>
    {
        let input: CompressedInput
        switch open(path: path, compression: compression) {
        case .success(let opened): input = opened
        case .failure(let failure): return .failure(CaptureError(path: path, opening: failure))
        }
        return makeFile(reading: input, path: path, bufferBytes: bufferBytes)
    }

    /// A buffered `FILE *` reading the decompressed bytes of `input` (see `makeFile(path:)`).
    static func makeFile(reading input: CompressedInput, path: String, bufferBytes: Int?)
        -> Result<(file: UnsafeMutablePointer<FILE>, buffer: StdioBuffer?, input: CompressedInput), CaptureError>
    {
        guard let file = CookieStream.open(input) else {
            return .failure(CaptureError(path: path, .cannotOpen("cannot set up a decompressing reader")))
        }
        let buffer = bufferBytes.flatMap { StdioBuffer(file, bytes: $0) }
        return .success((file, buffer, input))
    }

    /// The first up to `count` decompressed bytes of `path` (fewer at the data's end or at a problem,
    /// then given too).
    static func head(path: String, compression: CaptureCompression, count: Int)
        -> Result<(bytes: [UInt8], problem: Problem?), CFile.OpenFailure>
    {
        let input: CompressedInput
        switch open(path: path, compression: compression) {
        case .success(let opened): input = opened
        case .failure(let failure): return .failure(failure)
        }
        let bytes = input.readAhead(count: count)
        return .success((bytes, input.problem))
    }

    /// Decompresses `path` from its start, keeping nothing, until its data ends, a problem stops it, or `limit`
    /// bytes came: how many came, and the problem met.
    static func scan(path: String, compression: CaptureCompression, limit: Int)
        -> Result<(decompressed: Int, problem: Problem?), CFile.OpenFailure>
    {
        let input: CompressedInput
        switch open(path: path, compression: compression) {
        case .success(let opened): input = opened
        case .failure(let failure): return .failure(failure)
        }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: inputBytes, alignment: 16)
        defer { scratch.deallocate() }
        var total = 0
        while total < limit, let base = scratch.baseAddress {
            let n = input.read(into: base, count: min(scratch.count, limit - total))
            if n <= 0 { break }
            total += n
        }
        return .success((total, input.problem))
    }

    /// `problem` in words, naming the format: what a warning or an error says.
    static func describe(_ problem: Problem, compression: CaptureCompression) -> String {
        switch problem {
        case .cutShort:
            return "the \(compression.rawValue) data ends before its end (the compressed file is cut short)"
        case .corrupt(let why):
            return "the \(compression.rawValue) data is corrupt (\(oneLine(why)))"
        case .unsupported(let why):
            return "the \(compression.rawValue) data cannot be decompressed here (\(why))"
        case .readFailed(let why):
            return "read error in the compressed file (\(why))"
        }
    }
}

extension CaptureReader {
    /// For the fuzz targets: what the `compression` data of `path` decompresses to, read through one fixed
    /// buffer and nothing kept, up to `limit` bytes: the bytes decompressed, and whether the data ended where
    /// it should (nil when `limit` came first, a bomb's case); nil when the file cannot be opened.
    @_spi(Fuzzing)
    public static func decompressedSize(path: String, compression: CaptureCompression, limit: Int)
        -> (bytes: Int, whole: Bool?)?
    {
        guard case .success(let scanned) = CompressedInput.scan(path: path, compression: compression, limit: limit)
        else { return nil }
        return (scanned.decompressed, scanned.decompressed < limit ? scanned.problem == nil : nil)
    }
}
