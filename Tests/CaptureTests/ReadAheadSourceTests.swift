import Core
import Synchronization
import Testing
import TestSupport
@testable import Capture
#if canImport(Glibc)
import Glibc
#endif

/// Set by a `ScriptedSource` when it is released (from whichever thread released it).
final class ReleaseFlag: Sendable {
    private let released = Atomic<Bool>(false)
    var value: Bool { released.load(ordering: .acquiring) }
    func set() { released.store(true, ordering: .releasing) }

    /// Waits up to `seconds` for the flag.
    func wait(seconds: Int) -> Bool {
        for _ in 0..<(seconds * 100) {
            if value { return true }
            usleep(10_000)
        }
        return value
    }
}

/// Packets made up on the fly: packet `i` has `sizes[i]` bytes, byte `j` being `(i * 31 + j) & 0xff`.
/// Every packet is written into the same buffer, so bytes kept past the next `next()` go wrong.
/// With `failAfter`, the call after that many packets throws a read error.
final class ScriptedSource: PacketSource {
    let sizes: [Int]
    let failAfter: Int?
    let flag: ReleaseFlag
    private var index = 0
    private var done = false
    private var buffer: UnsafeMutableRawBufferPointer
    private var stats = CaptureStatistics(path: "scripted", fileIndex: 0, format: .pcap,
                                          byteOrder: .littleEndian, reader: .libpcap)
    private(set) var filter: String?

    init(sizes: [Int], failAfter: Int? = nil, flag: ReleaseFlag = ReleaseFlag()) {
        self.sizes = sizes
        self.failAfter = failAfter
        self.flag = flag
        buffer = .allocate(byteCount: max(sizes.max() ?? 1, 1), alignment: 1)
    }

    deinit {
        buffer.deallocate()
        flag.set()
    }

    static let failure = CaptureError(path: "scripted", .readFailed(offset: 1234, problem: "device gone"))

    var statistics: [CaptureStatistics] { [stats] }

    func setFilter(_ expression: String) throws(CaptureError) { filter = expression }

    func next() throws(CaptureError) -> PacketRecord? {
        if done { return nil }
        if let failAfter, index == failAfter {
            done = true
            throw Self.failure
        }
        guard index < sizes.count else {
            done = true
            stats.warn(.noPackets, "end reached after \(stats.packets) packets")
            return nil
        }
        let size = sizes[index]
        for j in 0..<size { buffer[j] = UInt8(truncatingIfNeeded: index &* 31 &+ j) }
        let time = Timestamp(nanoseconds: Int64(index) * 1000)
        stats.count(timestamp: time, linkType: .ethernet, capturedLength: size, originalLength: size + 1,
                    snapshotLength: 0)
        let record = PacketRecord(timestamp: time, linkType: .ethernet, capturedLength: size,
                                  originalLength: size + 1, fileIndex: index % 3, interfaceIndex: index % 2,
                                  bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<size]))
        index += 1
        return record
    }
}

/// Small batches, so that tests cross many batch boundaries.
func smallBatches(bytes: Int = 512, packets: Int = 7, batches: Int = 2) -> ReadAheadConfiguration {
    var configuration = ReadAheadConfiguration()
    configuration.batchBytes = bytes
    configuration.batchPackets = packets
    configuration.batches = batches
    return configuration
}

/// What reading a source gave up to its end or error: records, the error's message, statistics.
func readToEnd(_ source: PacketSource) -> (records: [ReadBack.Record], error: String?, statistics: String) {
    var records: [ReadBack.Record] = []
    var failure: String?
    do throws(CaptureError) {
        while let r = try source.next() {
            records.append(ReadBack.Record(
                time: r.timestamp.nanoseconds, linkType: r.linkType.rawValue, captured: r.capturedLength,
                original: r.originalLength, fileIndex: r.fileIndex, interface: r.interfaceIndex,
                bytes: Array(r.bytes)))
        }
    } catch {
        failure = error.message
    }
    return (records, failure, String(describing: source.statistics))
}

@Suite struct ReadAheadSourceTests {
    static let mixedSizes = (0..<1000).map { ($0 * 37) % 211 }

    @Test func recordsComeInOrderAcrossBatchBoundaries() {
        let plain = readToEnd(ScriptedSource(sizes: Self.mixedSizes))
        for configuration in [smallBatches(), smallBatches(bytes: 64, packets: 1), .default] {
            let ahead = readToEnd(ReadAheadSource(ScriptedSource(sizes: Self.mixedSizes),
                                                  configuration: configuration))
            #expect(ahead.records.count == 1000)
            #expect(ahead.records == plain.records)
            #expect(ahead.error == nil)
            #expect(ahead.statistics == plain.statistics)
        }
    }

    @Test func packetLargerThanABatchGetsABatchOfItsOwn() {
        let sizes = [10, 5000, 10, 3000, 3000, 0, 1024, 1025, 9000]
        let plain = readToEnd(ScriptedSource(sizes: sizes))
        let ahead = readToEnd(ReadAheadSource(ScriptedSource(sizes: sizes), configuration: smallBatches(bytes: 1024)))
        #expect(ahead.records == plain.records)
        #expect(ahead.records.map(\.bytes.count) == sizes)
    }

    @Test func errorSurfacesAfterThePacketsReadBeforeIt() throws {
        for failAfter in [0, 1, 6, 7, 8, 25] {
            let source = ReadAheadSource(ScriptedSource(sizes: Self.mixedSizes, failAfter: failAfter),
                                         configuration: smallBatches())
            var seen = 0
            do throws(CaptureError) {
                while let record = try source.next() {
                    #expect(record.timestamp.nanoseconds == Int64(seen) * 1000)
                    seen += 1
                }
                Issue.record("no error after \(failAfter) packets")
            } catch {
                #expect(error.message == ScriptedSource.failure.message)
                #expect(error.exitStatus == 3)
            }
            #expect(seen == failAfter)
            #expect(source.statistics.first?.packets == failAfter)
            #expect(try source.next() == nil, "the error is thrown once, then the source is at its end")
        }
    }

    @Test func emptySourceEndsAtOnceWithFinalStatistics() throws {
        let source = ReadAheadSource(ScriptedSource(sizes: []))
        #expect(try source.next() == nil)
        #expect(try source.next() == nil)
        let statistics = try #require(source.statistics.first)
        #expect(statistics.packets == 0)
        #expect(statistics.warnings.map(\.problem) == ["end reached after 0 packets"])
    }

    @Test func statisticsAreTheWrappedSourcesFinalValuesAfterTheEnd() throws {
        let source = ReadAheadSource(ScriptedSource(sizes: Self.mixedSizes), configuration: smallBatches())
        #expect(source.statistics.first?.packets == 0, "before reading, the wrapped source answers")
        _ = try source.next()
        #expect((source.statistics.first?.packets ?? 0) >= 1)
        while try source.next() != nil {}
        let statistics = try #require(source.statistics.first)
        #expect(statistics.packets == 1000)
        #expect(statistics.capturedBytes == Self.mixedSizes.reduce(0, +))
        #expect(statistics.warnings.count == 1)
    }

    @Test func filterGoesToTheWrappedSourceBeforeReading() throws {
        let inner = ScriptedSource(sizes: [1, 2, 3])
        let source = ReadAheadSource(inner)
        try source.setFilter("tcp port 80")
        #expect(inner.filter == "tcp port 80")
        #expect(readToEnd(source).records.count == 3)
    }

    @Test func consumerStoppingEarlyEndsTheReaderThread() throws {
        let flag = ReleaseFlag()
        do {
            let source = ReadAheadSource(ScriptedSource(sizes: Array(repeating: 100, count: 100_000), flag: flag),
                                         configuration: smallBatches(bytes: 1000, packets: 4))
            for _ in 0..<5 { _ = try source.next() }
        }
        #expect(flag.wait(seconds: 10), "the reader thread let go of the wrapped source")
    }

    @Test func sourceNeverReadIsReleasedAtOnce() {
        let flag = ReleaseFlag()
        do { _ = ReadAheadSource(ScriptedSource(sizes: [1, 2], flag: flag)) }
        #expect(flag.value)
    }

    @Test func sourceReadToItsEndReleasesTheWrappedSource() throws {
        let flag = ReleaseFlag()
        do {
            let source = ReadAheadSource(ScriptedSource(sizes: Self.mixedSizes, flag: flag))
            while try source.next() != nil {}
        }
        #expect(flag.wait(seconds: 10))
    }

    // MARK: - Real captures

    /// Every corpus capture reads the same, records, errors and statistics, with and without read-ahead.
    @Test(arguments: ["robustness", "pcapng", "oracle/http", "oracle/tls", "oracle/tcp", "oracle/link"])
    func corpusReadsTheSameWithReadAhead(folder: String) throws {
        let directory = Fixtures.corpus + "/" + folder
        var files = 0
        for name in listFolder(directory) where name.hasSuffix(".pcap") || name.hasSuffix(".pcapng") {
            let path = directory + "/" + name
            let plain: PacketSource
            let wrapped: PacketSource
            do throws(CaptureError) {
                plain = try CaptureReader.open(path: path)
                wrapped = ReadAheadSource(try CaptureReader.open(path: path),
                                          configuration: smallBatches(bytes: 4096, packets: 16))
            } catch {
                continue
            }
            files += 1
            let expected = readToEnd(plain)
            let got = readToEnd(wrapped)
            #expect(got.records == expected.records, "\(path)")
            #expect(got.error == expected.error, "\(path)")
            #expect(got.statistics == expected.statistics, "\(path)")
        }
        #expect(files > 10)
    }

    @Test func mergedAndFilteredFilesReadTheSameWithReadAhead() throws {
        let folder = Fixtures.corpus + "/oracle/http"
        let names = listFolder(folder).filter { $0.hasSuffix(".pcap") }.prefix(8)
        let paths = names.map { folder + "/" + $0 }
        func merged() throws(CaptureError) -> PacketSource {
            var sources: [PacketSource] = []
            for (i, path) in paths.enumerated() { sources.append(try CaptureReader.open(path: path, fileIndex: i)) }
            return MergedSource(sources)
        }
        let plain = try merged()
        try plain.setFilter("tcp[tcpflags] & tcp-syn != 0")
        let wrapped = ReadAheadSource(try merged(), configuration: smallBatches(bytes: 2048, packets: 5))
        try wrapped.setFilter("tcp[tcpflags] & tcp-syn != 0")
        let expected = readToEnd(plain)
        let got = readToEnd(wrapped)
        #expect(expected.records.count > 10)
        #expect(got.records == expected.records)
        #expect(got.statistics == expected.statistics)
        #expect(wrapped.statistics.map(\.filteredOut).reduce(0, +) > 0)
    }
}

/// When no reader thread can be started, the source is read on the consumer's thread with the same
/// records, error and statistics.
@Suite struct ReadAheadWithoutThreadTests {
    static func noThread() -> ReadAheadConfiguration {
        var c = smallBatches()
        c.readerThread = false
        return c
    }

    @Test func recordsAndStatisticsAreThoseOfThePlainSource() {
        let plain = readToEnd(ScriptedSource(sizes: ReadAheadSourceTests.mixedSizes))
        let direct = readToEnd(ReadAheadSource(ScriptedSource(sizes: ReadAheadSourceTests.mixedSizes),
                                               configuration: Self.noThread()))
        #expect(direct.records.count == 1000)
        #expect(direct.records == plain.records)
        #expect(direct.error == nil)
        #expect(direct.statistics == plain.statistics)
    }

    @Test func errorIsThrownOnceAfterThePacketsBeforeIt() throws {
        let source = ReadAheadSource(ScriptedSource(sizes: ReadAheadSourceTests.mixedSizes, failAfter: 9),
                                     configuration: Self.noThread())
        var seen = 0
        do throws(CaptureError) {
            while try source.next() != nil { seen += 1 }
            Issue.record("no error")
        } catch {
            #expect(error.message == ScriptedSource.failure.message)
        }
        #expect(seen == 9)
        #expect(try source.next() == nil)
        #expect(source.statistics.first?.packets == 9)
    }
}
