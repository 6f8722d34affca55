import CBzip2
import CLzma
import CZlib

/// Compresses bytes in memory through the C libraries' own encoders (zlib, liblzma, libbz2), so the
/// `compressed` target's samples, and the captures its second mode compresses, need no tool.
public enum Compressor {
    /// The ways a capture is compressed, as `gzip`, `cat a.gz b.gz`, `xz` and `bzip2` write it.
    public enum Format: UInt8, CaseIterable, Sendable {
        case gzip
        /// Two gzip members one after the other (files joined with `cat`), cut where the caller says.
        case gzipMembers
        case xz
        case bzip2
    }

    /// `bytes` compressed as `format`; `split` is where a `gzipMembers` file's second member starts
    /// (clamped to the bytes), unused for the others. Empty only if an encoder fails, which it does only
    /// out of memory.
    public static func compress(_ bytes: [UInt8], as format: Format, split: Int = 0) -> [UInt8] {
        switch format {
        case .gzip: return gzip(bytes)
        case .gzipMembers:
            let cut = min(max(0, split), bytes.count)
            return gzip(Array(bytes[..<cut])) + gzip(Array(bytes[cut...]))
        case .xz: return xz(bytes)
        case .bzip2: return bzip2(bytes)
        }
    }

    /// One gzip member.
    static func gzip(_ bytes: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        guard sepbeat_deflate_init_gzip(&stream, 6) == Z_OK else { return [] }
        defer { deflateEnd(&stream) }
        // A gzip member's bound: zlib's for raw deflate data, plus the gzip header and trailer.
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 32)
        var input = bytes
        let result = input.withUnsafeMutableBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = UInt32(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = UInt32(target.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard result == Z_STREAM_END else { return [] }
        out.removeLast(Int(stream.avail_out))
        return out
    }

    /// One .xz stream (preset 6, CRC64 check, as `xz` writes by default).
    static func xz(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: lzma_stream_buffer_bound(bytes.count))
        var written = 0
        let result = bytes.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, nil, source.baseAddress, source.count,
                                        target.baseAddress, &written, target.count)
            }
        }
        guard result == LZMA_OK else { return [] }
        out.removeLast(out.count - written)
        return out
    }

    /// One bzip2 stream in 100 kB blocks (`bzip2 -1`: the captures here are small).
    static func bzip2(_ bytes: [UInt8]) -> [UInt8] {
        // libbz2's documented bound: 1% more than the input, plus 600 bytes.
        var length = UInt32(bytes.count + bytes.count / 100 + 600)
        var out = [UInt8](repeating: 0, count: Int(length))
        var input = bytes
        let result = input.withUnsafeMutableBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                source.withMemoryRebound(to: CChar.self) { s in
                    target.withMemoryRebound(to: CChar.self) { t in
                        BZ2_bzBuffToBuffCompress(t.baseAddress, &length, s.baseAddress, UInt32(s.count), 1, 0, 0)
                    }
                }
            }
        }
        guard result == BZ_OK else { return [] }
        out.removeLast(out.count - Int(length))
        return out
    }
}
