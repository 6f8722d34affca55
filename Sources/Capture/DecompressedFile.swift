/// A file compressed with gzip, xz or bzip2, read decompressed through the decompressor compressed captures
/// are read with, for inputs that are no captures (Zeek's logs, compressed as they are rotated). Memory stays
/// bounded as for captures: one fixed buffer of compressed bytes.
public final class DecompressedFile {
    public let compression: CaptureCompression
    private let input: CompressedInput

    private init(_ input: CompressedInput) {
        self.input = input
        compression = input.compression
    }

    /// Opens `path` to be read decompressed as `compression`; throws when it cannot be opened.
    public static func open(path: String, compression: CaptureCompression) throws(CaptureError) -> DecompressedFile {
        switch CompressedInput.open(path: path, compression: compression) {
        case .success(let input): return DecompressedFile(input)
        case .failure(let failure): throw CaptureError(path: path, opening: failure)
        }
    }

    /// Up to `buffer.count` decompressed bytes put at its start; 0 at the data's end or at a problem
    /// (`problem` then says which).
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        return input.read(into: base, count: buffer.count)
    }

    /// Why the data stopped before its end (cut short, corrupt, a read error), in words; nil while none did.
    public var problem: String? {
        input.problem.map { CompressedInput.describe($0, compression: compression) }
    }
}
