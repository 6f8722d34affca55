import Core
import Testing
import TestSupport
@testable import Capture

#if canImport(Glibc)
import Glibc
#endif

/// The own classic pcap reader against libpcap: a file read with it (a read buffer given) and through libpcap
/// alone (no read buffer) gives the same records and statistics, the reader named apart; and each record
/// libpcap treats specially hands the rest of the file to libpcap.
@Suite struct ClassicPcapReaderTests {
    /// What reading `path` gave, or the error it threw.
    struct Outcome {
        var records: [ReadBack.Record] = []
        /// The statistics printed whole, with the reader left out (the one field the readers differ in), and
        /// each warning's code and offset (its text is in the statistics).
        var statistics = ""
        var reader: CaptureReaderKind?
        var error: String?
    }

    /// `path` read with a read buffer of `bufferBytes` (the own reader's, for a file it reads), or through
    /// libpcap alone when nil.
    static func read(_ path: String, bufferBytes: Int?) -> Outcome {
        var outcome = Outcome()
        do throws(CaptureError) {
            let read = try ReadBack(CaptureReader.open(path: path, readBufferBytes: bufferBytes))
            outcome.records = read.records
            outcome.reader = read.first?.reader
            outcome.statistics = read.statistics.map { statistics in
                var neutral = statistics
                neutral.reader = .libpcap
                let warnings = statistics.warnings.map {
                    "\($0.code.rawValue) at \($0.byteOffset.map(String.init) ?? "-")"
                }
                return String(describing: neutral) + "\n" + warnings.joined(separator: "\n")
            }.joined(separator: "\n")
        } catch {
            outcome.error = error.message
        }
        return outcome
    }

    /// Reads `path` both ways (the own reader with each buffer size), expects the same, and gives the own
    /// reader's outcome with the default buffer.
    @discardableResult
    static func expectSameAsLibpcap(_ path: String, bufferSizes: [Int] = [1 << 20, 4096],
                                    sourceLocation: SourceLocation = #_sourceLocation) -> Outcome {
        let libpcap = read(path, bufferBytes: nil)
        #expect(libpcap.reader == nil || libpcap.reader == .libpcap, sourceLocation: sourceLocation)
        var first: Outcome?
        for size in bufferSizes {
            let own = read(path, bufferBytes: size)
            #expect(own.records == libpcap.records, "\(path), buffer \(size)", sourceLocation: sourceLocation)
            #expect(own.statistics == libpcap.statistics, "\(path), buffer \(size)", sourceLocation: sourceLocation)
            #expect(own.error == libpcap.error, "\(path), buffer \(size)", sourceLocation: sourceLocation)
            if first == nil { first = own }
        }
        return first ?? libpcap
    }

    // MARK: - The corpus

    @Test func everyClassicCorpusCaptureReadsAsLibpcapReadsIt() throws {
        let folders = ["robustness", "pcapng", "oracle/http", "oracle/tls", "oracle/tcp", "oracle/link"]
        var classic = 0
        var ownAlone = 0
        var handedOver = 0
        for folder in folders.map({ Fixtures.corpus + "/" + $0 }) {
            for name in listFolder(folder) where name.hasSuffix(".pcap") || name.hasSuffix(".pcapng") {
                let path = folder + "/" + name
                guard let header = try? CaptureReader.readHeader(path: path),
                      header.format != .pcapng, header.compression == nil else { continue }
                classic += 1
                let own = Self.expectSameAsLibpcap(path)
                switch own.reader {
                case .ownPcap?: ownAlone += 1
                case .ownPcapThenLibpcap(let n)? where n > 0: handedOver += 1
                default: break
                }
            }
        }
        print("classic pcap corpus: \(classic) files, \(ownAlone) read by the own reader alone, "
              + "\(handedOver) handed over to libpcap part way")
        #expect(classic > 900)
        #expect(ownAlone > 700)
        #expect(handedOver > 0)
    }

    // MARK: - Files the own reader reads to the end

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func everyMagicAndByteOrder(bigEndian: Bool, nanoseconds: Bool) {
        let folder = TemporaryDirectory()
        var file = PcapBuilder(bigEndian: bigEndian, nanoseconds: nanoseconds)
        let scale: UInt32 = nanoseconds ? 1000 : 1
        // Fractions of a full second or more, and with the top bit set, as libpcap hands them over.
        for (i, fraction) in [1 * scale, 999_999 * scale, 1_000_000_000, 0xFFFF_FFF0, 0x8000_0000].enumerated() {
            file.record(seconds: UInt32(i) + 0xFFFF_FFF0, fraction: fraction, data: [UInt8](repeating: 7, count: i),
                        originalLength: UInt32(i * 3))
        }
        file.record(seconds: 9, fraction: 0, data: [1, 2, 3], originalLength: 2)
        let path = folder.write("f.pcap", file.data)
        let own = Self.expectSameAsLibpcap(path)
        #expect(own.reader == .ownPcapThenLibpcap(packets: 0), "the first record, of 0 bytes, is libpcap's")
        let rest = Array(file.data.prefix(24)) + file.data.dropFirst(24 + 16)
        let whole = Self.expectSameAsLibpcap(folder.write("g.pcap", rest))
        #expect(whole.reader == .ownPcap)
        #expect(whole.records.count == 5)
    }

    @Test func aRecordLargerThanTheBufferGrowsIt() {
        let folder = TemporaryDirectory()
        var file = PcapBuilder(snapLength: 0)
        file.record(seconds: 1, fraction: 0, data: [UInt8](repeating: 1, count: 100))
        file.record(seconds: 2, fraction: 0, data: (0..<200_000).map { UInt8(truncatingIfNeeded: $0) })
        file.record(seconds: 3, fraction: 0, data: [UInt8](repeating: 3, count: 5000))
        let own = Self.expectSameAsLibpcap(folder.write("big.pcap", file.data), bufferSizes: [4096, 65_536])
        #expect(own.reader == .ownPcap)
        #expect(own.records.map(\.captured) == [100, 200_000, 5000])
    }

    @Test func manyRecordsAcrossBufferRefills() {
        let folder = TemporaryDirectory()
        var file = PcapBuilder()
        for i in 0..<3000 {
            file.record(seconds: UInt32(i), fraction: 0, data: [UInt8](repeating: UInt8(i & 0xFF), count: 1 + i % 1500))
        }
        let own = Self.expectSameAsLibpcap(folder.write("many.pcap", file.data), bufferSizes: [4096, 65_536, 1 << 20])
        #expect(own.reader == .ownPcap)
        #expect(own.records.count == 3000)
    }

    @Test func otherFilesStayWithLibpcap() {
        let folder = TemporaryDirectory()
        // The other byte order with a pseudo-header libpcap turns (Linux cooked), and an older version.
        var swapped = PcapBuilder(bigEndian: true, linkType: 113)
        swapped.record(seconds: 1, fraction: 0, data: [UInt8](repeating: 0, count: 20))
        #expect(Self.expectSameAsLibpcap(folder.write("sll.pcap", swapped.data)).reader == .libpcap)
        var old = PcapBuilder()
        old.record(seconds: 1, fraction: 0, data: [1, 2, 3, 4], originalLength: 2)
        var bytes = old.data
        bytes[6] = 3
        #expect(Self.expectSameAsLibpcap(folder.write("v23.pcap", bytes)).reader == .libpcap)
        // With no read buffer (the files of a large merge, the probe of a deferred file): libpcap.
        let plain = folder.write("plain.pcap", ClassicPcapTests.file(bigEndian: false, nanoseconds: false))
        #expect(Self.read(plain, bufferBytes: nil).reader == .libpcap)
    }

    // MARK: - Records handed over to libpcap

    @Test func aRecordLibpcapCutsToTheSnapLength() {
        let folder = TemporaryDirectory()
        var file = PcapBuilder(snapLength: 100)
        for i in 0..<50 { file.record(seconds: UInt32(i), fraction: 0, data: [UInt8](repeating: 1, count: 90)) }
        file.record(seconds: 60, fraction: 0, data: [UInt8](repeating: 2, count: 150))
        file.record(seconds: 61, fraction: 0, data: [UInt8](repeating: 3, count: 40))
        file.record(seconds: 62, fraction: 0, data: [UInt8](repeating: 4, count: 400))
        let own = Self.expectSameAsLibpcap(folder.write("cut.pcap", file.data), bufferSizes: [4096, 1 << 20])
        #expect(own.reader == .ownPcapThenLibpcap(packets: 50))
        #expect(own.reader?.description == "own pcap reader for 50 packets, then libpcap")
        #expect(own.records.map(\.captured).suffix(3) == [100, 40, 100])
        #expect(own.statistics.contains("cut-to-snaplen at 5324"))
    }

    @Test func aCapturedLengthOverLibpcapsLimit() {
        let folder = TemporaryDirectory()
        var file = PcapBuilder(snapLength: 0)
        file.record(seconds: 1, fraction: 0, data: [1, 2, 3])
        file.record(seconds: 2, fraction: 0, data: [UInt8](repeating: 0, count: 100), capturedLength: 300_000)
        let own = Self.expectSameAsLibpcap(folder.write("huge.pcap", file.data))
        #expect(own.reader == .ownPcapThenLibpcap(packets: 1))
        #expect(own.statistics.contains("bigger than snaplen of 262144"))
    }

    @Test func aRecordOfNoBytes() {
        let folder = TemporaryDirectory()
        var file = PcapBuilder()
        file.record(seconds: 1, fraction: 0, data: [1, 2, 3])
        file.record(seconds: 2, fraction: 0, data: [], originalLength: 60)
        file.record(seconds: 3, fraction: 0, data: [4, 5])
        let own = Self.expectSameAsLibpcap(folder.write("empty-record.pcap", file.data))
        #expect(own.reader == .ownPcapThenLibpcap(packets: 1))
        #expect(own.records.map(\.captured) == [3, 0, 2])
    }

    @Test func filesJoinedEndToEnd() {
        let folder = TemporaryDirectory()
        let one = ClassicPcapTests.file(bigEndian: false, nanoseconds: false)
        let joined = Self.expectSameAsLibpcap(folder.write("joined.pcap", one + one + one))
        #expect(joined.reader == .ownPcapThenLibpcap(packets: 3))
        #expect(joined.records.count == 9)
        #expect(joined.statistics.contains("joined-files at 138"))
        // Another link type after the join: libpcap's path stops there, as it would.
        let other = PcapBuilder(linkType: 101).data
        let stopped = Self.expectSameAsLibpcap(folder.write("other.pcap", one + other + Array(one.dropFirst(24))))
        #expect(stopped.reader == .ownPcapThenLibpcap(packets: 3))
        #expect(stopped.records.count == 3)
    }

    @Test func aFileCutInsideARecordHeaderOrItsData() {
        let folder = TemporaryDirectory()
        var file = PcapBuilder()
        for i in 0..<20 { file.record(seconds: UInt32(i), fraction: 0, data: [UInt8](repeating: 9, count: 700)) }
        let whole = file.data
        // Inside the last record's header (7 of its 16 bytes), then inside its data (300 of 700 bytes).
        for keep in [whole.count - 700 - 9, whole.count - 400] {
            let path = folder.write("cut-\(keep).pcap", Array(whole.prefix(keep)))
            let own = Self.expectSameAsLibpcap(path, bufferSizes: [4096, 1 << 20])
            #expect(own.reader == .ownPcapThenLibpcap(packets: 19))
            #expect(own.records.count == 19)
            #expect(own.statistics.contains("truncated at \(24 + 19 * 716)"))
        }
        // Cut right after the file header: no record, and no hand-over.
        let bare = Self.expectSameAsLibpcap(folder.write("bare.pcap", Array(whole.prefix(24))))
        #expect(bare.reader == .ownPcap)
        #expect(bare.records.isEmpty)
    }

    /// A file cut shorter while it is read (`tcpdump -w` started again on it, `> file`), below the bytes the
    /// own reader already holds: libpcap, reading through a buffer of the same size, says the file is cut at
    /// the record the bytes ran out in; so must the hand-over, which finds that record gone, or the file too
    /// short for a header, when libpcap reads the file again.
    @Test(arguments: [100, 10])
    func aFileCutShorterWhileItIsRead(keep: Int) throws {
        let folder = TemporaryDirectory()
        var file = PcapBuilder()
        for i in 0..<20 { file.record(seconds: UInt32(i), fraction: 0, data: [UInt8](repeating: 9, count: 700)) }
        let path = folder.write("shrinks.pcap", file.data)
        // The first 4,096 bytes hold 5 whole records (716 bytes each, after the 24 of the file header); the
        // sixth runs on past them.
        let source = try CaptureReader.open(path: path, readBufferBytes: 4096)
        #expect(try source.next() != nil)
        #expect(truncate(path, off_t(keep)) == 0)
        var records = 1
        while try source.next() != nil { records += 1 }
        let statistics = try #require(source.statistics.first)
        #expect(records == 5)
        #expect(statistics.readingStopped?.byteOffset == 24 + 5 * 716)
        #expect(statistics.warnings.map(\.description) == ["\(path): file truncated mid-record at byte offset "
            + "\(24 + 5 * 716) after 5 whole records"])
    }
}
