import Core
import Testing
import TestSupport
@testable import Capture

/// A pcapng block longer than `CaptureLimits.maximumBlockLength`: passed over when its length is repeated
/// at its end (counted, reading goes on), otherwise reading stops there and the stop is recorded.
@Suite struct OversizedBlockTests {
    /// A limit small enough for hand-built files.
    static var limits: CaptureLimits {
        var limits = CaptureLimits()
        limits.maximumBlockLength = 256
        return limits
    }

    static let big: [UInt8] = Array(repeating: 0x5A, count: 400)

    /// Packets 1 and 2, an oversized block built by `oversized`, then packets 3 and 4.
    static func file(_ oversized: (inout PcapNGBuilder) -> Void) -> [UInt8] {
        var file = PcapNGBuilder()
        file.section()
        file.interface(linkType: 1)
        file.enhancedPacket(interface: 0, ticks: 1, data: [1])
        file.enhancedPacket(interface: 0, ticks: 2, data: [2])
        oversized(&file)
        file.enhancedPacket(interface: 0, ticks: 3, data: [3])
        file.enhancedPacket(interface: 0, ticks: 4, data: [4])
        return file.data
    }

    /// Reads `path` with the own reader under `limits`: by path (the oversized body passed over with a
    /// seek), or as a stream (read and dropped).
    static func read(_ path: String, seeking: Bool) throws
        -> (records: [ReadBack.Record], statistics: CaptureStatistics)
    {
        let reader: PcapNGReader
        if seeking {
            reader = try PcapNGReader(path: path, fileIndex: 0, limits: limits)
        } else {
            guard case .success(let file) = CFile.open(path, mode: "rb") else {
                Issue.record("cannot open \(path)")
                throw CaptureError(path: path, .missing)
            }
            reader = try PcapNGReader(file: file, path: path, fileIndex: 0, limits: limits)
        }
        return try PcapNGReaderTests.readAll(reader, path: path)
    }

    @Test(arguments: [true, false])
    func aPacketBlockPastTheLimitIsPassedOverCountedAndReadingGoesOn(seeking: Bool) throws {
        let bytes = Self.file { $0.enhancedPacket(interface: 0, ticks: 9, data: Self.big) }
        let folder = TemporaryDirectory()
        let path = folder.write("big.pcapng", bytes)
        let read = try Self.read(path, seeking: seeking)
        #expect(read.records.map(\.bytes) == [[1], [2], [3], [4]])
        #expect(read.statistics.readingStopped == nil)
        #expect(read.statistics.skippedRecords == 1)
        #expect(read.statistics.warnings.map(\.code) == [.skippedRecords])
        #expect(read.statistics.warnings.first?.byteOffset == 120)
        #expect(read.statistics.warnings.first?.problem == "skipped 1 block longer than the limit of 256 bytes unread "
            + "(first at byte offset 120): 1 packet block (its packet is not analysed)")
    }

    @Test func otherBlocksPastTheLimitAreCountedApartFromPackets() throws {
        let bytes = Self.file { file in
            file.block(type: 0x0BAD, body: Self.big)
            file.enhancedPacket(interface: 0, ticks: 9, data: Self.big)
            file.block(type: 0x0BAD, body: Self.big)
        }
        let folder = TemporaryDirectory()
        let read = try Self.read(folder.write("big.pcapng", bytes), seeking: true)
        #expect(read.records.map(\.bytes) == [[1], [2], [3], [4]])
        #expect(read.statistics.skippedRecords == 1)
        #expect(read.statistics.warnings.first?.problem == "skipped 3 blocks longer than the limit of 256 bytes unread "
            + "(first at byte offset 120): 1 packet block (its packet is not analysed), 2 other blocks (no packet "
            + "in them)")
    }

    @Test func anInterfacePastTheLimitKeepsItsNumber() throws {
        var file = PcapNGBuilder()
        file.section()
        file.interface(linkType: 1)
        // Interface 1: an Interface Description Block padded past the limit with an unknown option.
        var body = EndianBytes(bigEndian: false)
        body.u16(101)
        body.u16(0)
        body.u32(0)
        body.u16(0x7FFF)
        body.u16(UInt16(Self.big.count))
        body.bytes += Self.big
        body.u32(0)
        file.block(type: 1, body: body.bytes)
        file.interface(linkType: 101)
        file.enhancedPacket(interface: 0, ticks: 1, data: [1])
        file.enhancedPacket(interface: 1, ticks: 2, data: [2])
        file.enhancedPacket(interface: 2, ticks: 3, data: [0x45])
        let folder = TemporaryDirectory()
        let read = try Self.read(folder.write("idb.pcapng", file.data), seeking: true)
        #expect(read.records.map(\.interface) == [0, 1, 2])
        #expect(read.records.map(\.linkType) == [1, 0xFFFF, 101])
        #expect(read.statistics.skippedRecords == 1)
        #expect(read.statistics.warnings.first?.problem.hasSuffix("1 Interface Description Block (its packets are "
            + "read with an unknown link type)") == true)
    }

    @Test(arguments: [true, false])
    func aLengthNotRepeatedAtTheBlockEndStopsReadingThere(seeking: Bool) throws {
        let bytes = Self.file { file in
            file.block(type: 6, body: Array(repeating: 0, count: 400), trailingLength: 0x1234)
        }
        let folder = TemporaryDirectory()
        let path = folder.write("corrupt.pcapng", bytes)
        let read = try Self.read(path, seeking: seeking)
        #expect(read.records.map(\.bytes) == [[1], [2]])
        #expect(read.statistics.readingStopped?.byteOffset == 120)
        #expect(read.statistics.warnings.map(\.code) == [.limitReached])
        #expect(read.statistics.readingStopped?.problem == "block at byte offset 120 (type 0x00000006) claims 412 "
            + "bytes, more than the limit of 256, but its trailing copy of the length says 4660 (a corrupt length); "
            + "reading stopped")
    }

    @Test(arguments: [true, false])
    func aLengthPastTheFileEndStopsReadingThere(seeking: Bool) throws {
        let bytes = Self.file { file in
            file.block(type: 6, body: Array(repeating: 0, count: 20), totalLength: 0x7FFF_FFF0)
        }
        let folder = TemporaryDirectory()
        let path = folder.write("huge.pcapng", bytes)
        let read = try Self.read(path, seeking: seeking)
        #expect(read.records.map(\.bytes) == [[1], [2]])
        #expect(read.statistics.readingStopped?.byteOffset == 120)
        #expect(read.statistics.warnings.map(\.code) == [.limitReached])
        #expect(read.statistics.warnings.first?.problem.hasSuffix("and the file ends before that (a corrupt length, "
            + "or a file cut short); reading stopped") == true)
    }

    @Test func aSectionHeaderPastTheLimitStopsReading() throws {
        let bytes = Self.file { file in
            var body = EndianBytes(bigEndian: false)
            body.u32(0x1A2B_3C4D)
            body.u16(1)
            body.u16(0)
            body.u64(UInt64.max)
            body.bytes += Self.big
            file.block(type: 0x0A0D_0D0A, body: body.bytes)
        }
        let folder = TemporaryDirectory()
        let read = try Self.read(folder.write("shb.pcapng", bytes), seeking: true)
        #expect(read.records.map(\.bytes) == [[1], [2]])
        #expect(read.statistics.readingStopped?.byteOffset == 120)
        #expect(read.statistics.readingStopped?.problem.hasPrefix("Section Header Block at byte offset 120") == true)
    }

    /// Every way reading stops before the end is recorded, not only in a warning: a file cut mid-block, a
    /// corrupt block, and a classic pcap record past the snaplen libpcap refuses.
    @Test func everyEarlyStopIsRecordedWithItsOffset() throws {
        let folder = TemporaryDirectory()
        let whole = Self.file { _ in }
        let cut = try ReadBack(path: folder.write("cut.pcapng", Array(whole.dropLast(6))))
        #expect(cut.first?.readingStopped?.byteOffset == 156)
        let corrupt = try ReadBack(path: folder.write("corrupt.pcapng", Self.file { file in
            file.block(type: 6, body: Array(repeating: 0, count: 24), totalLength: 30)
        }))
        #expect(corrupt.first?.readingStopped?.byteOffset == 120)

        var pcap = PcapBuilder()
        pcap.record(seconds: 1, fraction: 0, data: [1, 2, 3])
        pcap.record(seconds: 2, fraction: 0, data: [4], capturedLength: 0x7FFF_0000)
        let classic = try ReadBack(path: folder.write("caplen.pcap", pcap.data))
        #expect(classic.records.count == 1)
        #expect(classic.first?.readingStopped?.byteOffset == 43)

        let clean = try ReadBack(path: folder.write("clean.pcapng", whole))
        #expect(clean.first?.readingStopped == nil)
    }

    /// Through the public entry point with the default limit: libpcap refuses the 17 MiB block, the own
    /// reader takes over from there and passes over it.
    @Test func aBlockPastTheDefaultLimitIsPassedOverAfterLibpcap() throws {
        let bytes = Self.file { file in
            file.enhancedPacket(interface: 0, ticks: 9, data: Array(repeating: 0, count: 17 << 20))
        }
        let folder = TemporaryDirectory()
        let read = try ReadBack(path: folder.write("jumbo.pcapng", bytes))
        #expect(read.records.map(\.bytes) == [[1], [2], [3], [4]])
        #expect(read.first?.readingStopped == nil)
        #expect(read.first?.skippedRecords == 1)
        #expect(read.warnings.map(\.code) == [.readerSwitched, .skippedRecords])
    }
}
