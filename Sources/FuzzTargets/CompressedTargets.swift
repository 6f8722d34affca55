@_spi(Fuzzing) import Capture
import Core

/// Compressed capture files (gzip, xz, bzip2), read through `CaptureReader.open` as a user's file is:
/// the decompressing `FILE *` (`CompressedInput`) and the readers behind it.
enum CompressedTargets {
    /// Decompressed bytes a run reads at most: a file that decompresses to more (a decompression bomb) is
    /// read only that far, so a run's time stays bounded; its memory is bounded whatever the size.
    static let decompressedLimit = 4 << 20

    /// Limits for the readers, smaller than the product's so a run stays quick.
    static var limits: CaptureLimits {
        var limits = CaptureLimits()
        limits.maximumBlockLength = 1 << 20
        return limits
    }

    /// Byte 0 chooses the mode. Even: the rest is the file as it is. Odd: the rest after three more
    /// control bytes is a plain capture, compressed here first, so that mutations reach the readers behind
    /// the decompressor instead of failing its checksums: byte 1 the format (`Compressor.Format`), byte 2
    /// where a second gzip member starts (a share of the capture), byte 3 where the compressed file is cut
    /// (a share of it; 0 keeps it whole).
    static func compressed(_ bytes: UnsafeRawBufferPointer) {
        var input = FuzzInput(bytes)
        guard input.byte() & 1 == 1 else {
            read(input.rest, plain: nil)
            return
        }
        let format = Compressor.Format(rawValue: input.byte() % 4) ?? .gzip
        let split = Int(input.byte())
        let cut = Int(input.byte())
        let plain = Array(input.rest)
        var file = Compressor.compress(plain, as: format, split: split * plain.count / 256)
        guard !file.isEmpty else { return }
        if cut > 0 { file.removeLast(file.count - cut * file.count / 256) }
        file.withUnsafeBytes { read($0, plain: (plain, whole: cut == 0)) }
    }

    /// Reads `file` as a compressed capture. `plain` is the capture it was compressed from, when known, and
    /// whether the file holds all of it: the packets read cannot add up to more than it holds, and from a
    /// whole file they must be exactly those (bytes and times) the plain capture gives.
    static func read(_ file: UnsafeRawBufferPointer, plain: (bytes: [UInt8], whole: Bool)?) {
        guard let compression = CaptureCompression(magic: Array(file.prefix(6))) else { return }
        TemporaryFile.with(file) { path in
            let size = CaptureReader.decompressedSize(path: path, compression: compression, limit: decompressedLimit)
            if let plain, let size {
                precondition(size.bytes <= plain.bytes.count, "more bytes decompressed than were compressed")
                if plain.whole {
                    precondition(size.bytes == plain.bytes.count && size.whole == true,
                                 "a whole file decompresses to \(size.bytes) of \(plain.bytes.count) bytes")
                }
            }
            let compare = plain.flatMap { $0.whole && CaptureCompression(magic: Array($0.bytes.prefix(6))) == nil }
                ?? false
            let read = packets(path: path, keep: compare)
            if let read {
                let statistics = read.statistics
                precondition(statistics.compression == compression, "a compressed file read as \(statistics.format)")
                if let size, size.whole != nil {
                    precondition(statistics.capturedBytes <= size.bytes, "more bytes captured than decompressed")
                }
                if read.finished, size?.whole == false {
                    precondition(statistics.warnings.contains { $0.code == .truncated || $0.code == .corrupt },
                                 "cut or corrupt compressed data read without a warning")
                }
            }
            guard compare, let plain else { return }
            let expected = plain.bytes.withUnsafeBytes { raw in
                TemporaryFile.with(raw) { plainPath in packets(path: plainPath, keep: true) }
            }
            precondition((read == nil) == (expected == nil), "one of a capture and its compressed file opens")
            guard let read, let expected, read.finished, expected.finished else { return }
            precondition(read.records.count == expected.records.count,
                         "\(read.records.count) packets decompressed, \(expected.records.count) in the capture")
            for (got, want) in zip(read.records, expected.records) {
                precondition(got.timestamp == want.timestamp && got.bytes == want.bytes,
                             "a packet decompressed differs from the capture's")
            }
        }
    }

    /// What reading `path` gave: its statistics, the packets (time and bytes) when `keep`, and whether it was
    /// read to its end (no error thrown, not stopped at `decompressedLimit`); nil when it does not open.
    static func packets(path: String, keep: Bool)
        -> (statistics: CaptureStatistics, records: [(timestamp: Timestamp, bytes: [UInt8])], finished: Bool)?
    {
        guard let source = try? CaptureReader.open(path: path, limits: limits, readBufferBytes: nil) else { return nil }
        var records: [(timestamp: Timestamp, bytes: [UInt8])] = []
        var packets = 0
        var captured = 0
        var finished = false
        while true {
            let next: PacketRecord?
            do { next = try source.next() } catch { break }
            guard let record = next else {
                finished = true
                break
            }
            precondition(record.bytes.count == record.capturedLength, "captured length is not the byte count")
            _ = record.bytes.reduce(0, &+)  // every byte readable (ASan checks the range)
            if keep { records.append((record.timestamp, Array(record.bytes))) }
            packets += 1
            captured += record.capturedLength
            // Each record takes at least 16 bytes of header: past the limit, this is a bomb's data.
            if captured + 16 * packets > decompressedLimit { break }
        }
        let statistics = source.statistics
        precondition(statistics.count == 1, "one file, one statistics entry")
        precondition(statistics[0].packets == packets, "packets counted differ from packets returned")
        precondition(statistics[0].capturedBytes == captured, "bytes counted differ from bytes returned")
        return (statistics[0], records, finished)
    }
}
