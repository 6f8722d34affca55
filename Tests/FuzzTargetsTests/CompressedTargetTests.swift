@_spi(Fuzzing) import Capture
import Core
import FuzzTargets
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The `compressed` target's samples and its bound on a decompression bomb.
@Suite struct CompressedTargetTests {
    /// Every compressed sample reads back as exactly the packets (bytes and times) of the capture it was
    /// compressed from, with no warning the plain capture does not give.
    @Test func samplesDecompressToThePlainCapturesPackets() throws {
        let folder = TemporaryDirectory()
        let samples = FuzzTarget.compressedSamples
        #expect(Set(samples.map(\.format)) == Set(Compressor.Format.allCases))
        for (i, sample) in samples.enumerated() {
            let plainPath = folder.write("plain-\(i)", sample.plain)
            let filePath = folder.write("compressed-\(i)", sample.file)
            let (expected, plainStatistics) = try Self.read(plainPath)
            let (got, statistics) = try Self.read(filePath)
            #expect(!expected.isEmpty)
            #expect(statistics.compression != nil, "\(sample.format)")
            #expect(got.count == expected.count, "\(sample.format)")
            for (a, b) in zip(got, expected) {
                #expect(a.timestamp == b.timestamp && a.bytes == b.bytes, "\(sample.format)")
            }
            #expect(statistics.warnings.map(\.code) == plainStatistics.warnings.map(\.code), "\(sample.format)")
        }
    }

    /// Two gzip members really are two: the second starts with its own gzip header.
    @Test func gzipMembersAreTwo() {
        let plain = [UInt8](repeating: 7, count: 100)
        let whole = Compressor.compress(plain, as: .gzip)
        let first = Compressor.compress(Array(plain[..<40]), as: .gzip)
        let joined = Compressor.compress(plain, as: .gzipMembers, split: 40)
        #expect(whole.starts(with: [0x1F, 0x8B]))
        #expect(joined.starts(with: first))
        #expect(joined[first.count...].starts(with: [0x1F, 0x8B]))
    }

    /// A file of 4 GiB decompressed (a capture header, then gzip members of zeros: empty records) runs in
    /// bounded time and memory: the target reads up to its limit and keeps nothing of what it decompresses.
    @Test func aDecompressionBombCostsBoundedMemory() {
        let header = Compressor.compress(Self.pcapHeader, as: .gzip)
        let zeros = Compressor.compress([UInt8](repeating: 0, count: 1 << 20), as: .gzip)
        var bomb = [UInt8]()
        bomb.reserveCapacity(header.count + 4_096 * zeros.count)
        bomb += header
        for _ in 0..<4_096 { bomb += zeros }

        let folder = TemporaryDirectory()
        let path = folder.write("bomb.gz", bomb)
        let size = CaptureReader.decompressedSize(path: path, compression: .gzip, limit: 64 << 20)
        #expect(size?.bytes == 64 << 20)
        #expect(size?.whole == nil, "the limit comes before the data's end")

        let before = Self.peakMemory()
        let start = ContinuousClock.now
        FuzzTarget.compressed.run([0] + bomb)
        FuzzTarget.compressed.run([1, Compressor.Format.bzip2.rawValue, 0, 0] + Self.pcapHeader
            + [UInt8](repeating: 0, count: 1 << 20))
        #expect(ContinuousClock.now - start < .seconds(60))
        // The peak is the process's (other tests run alongside): it may have been higher before, but 4 GiB
        // held would raise it.
        #expect(Self.peakMemory() - before < 512 << 20)
    }

    /// Classic pcap, little-endian, microseconds, Ethernet.
    static let pcapHeader: [UInt8] = [0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0] + [UInt8](repeating: 0, count: 8)
        + [0xFF, 0xFF, 0, 0, 1, 0, 0, 0]

    /// The process's peak resident memory, in bytes.
    static func peakMemory() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss * 1_024
    }

    static func read(_ path: String) throws -> ([(timestamp: Timestamp, bytes: [UInt8])], CaptureStatistics) {
        let source = try CaptureReader.open(path: path)
        var records: [(timestamp: Timestamp, bytes: [UInt8])] = []
        while let record = try source.next() { records.append((record.timestamp, Array(record.bytes))) }
        return (records, source.statistics[0])
    }
}
