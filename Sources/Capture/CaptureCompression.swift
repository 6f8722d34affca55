/// A compression format whose files sepbeat decompresses as it reads them.
public enum CaptureCompression: String, Sendable {
    case gzip
    case xz
    case bzip2

    /// The format whose magic number starts `first`, or nil: gzip (1f 8b), xz (fd '7zXZ' 00) and bzip2
    /// ('BZh' and a block size digit). zstd and lz4 are not read (see `CaptureReader.compression`).
    ///
    /// Fewer than 6 bytes are the whole file: one cut within xz's magic number, past the 4 bytes that tell it
    /// from any capture, is xz, so that the decoder names it cut short as it does a longer cut xz file (it
    /// was called no pcap file). Cut shorter, any file is too short for a capture header.
    public init?(magic first: [UInt8]) {
        let xzMagic: [UInt8] = [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]
        if first.starts(with: [0x1F, 0x8B]) {
            self = .gzip
        } else if first.starts(with: xzMagic)
            || (4..<xzMagic.count).contains(first.count) && xzMagic.starts(with: first) {
            self = .xz
        } else if first.count >= 4, first.starts(with: [0x42, 0x5A, 0x68]), (0x31...0x39).contains(first[3]) {
            self = .bzip2
        } else {
            return nil
        }
    }

    /// The most memory the xz decoder may take: enough for every preset (`xz -9` needs 65 MiB); a file
    /// whose dictionary asks for more is read no further, with a warning.
    static let xzMemoryLimit: UInt64 = 256 << 20
}
