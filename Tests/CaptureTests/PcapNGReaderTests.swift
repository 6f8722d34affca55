import Core
import Testing
import TestSupport
@testable import Capture

/// Hand-built pcapng files: clocks, block kinds, corrupt blocks and the hand-over from libpcap.
@Suite struct PcapNGReaderTests {
    static let frame: [UInt8] = Array(repeating: 0xAB, count: 14)

    /// Reads with the own reader alone (no libpcap), as the fallback path does.
    static func readOwn(_ path: String) throws(CaptureError)
        -> (records: [ReadBack.Record], statistics: CaptureStatistics)
    {
        try readAll(PcapNGReader(path: path, fileIndex: 0, limits: .default), path: path)
    }

    /// Every record `reader` gives, and its statistics at the end.
    static func readAll(_ reader: PcapNGReader, path: String) throws(CaptureError)
        -> (records: [ReadBack.Record], statistics: CaptureStatistics)
    {
        var statistics = CaptureStatistics(path: path, fileIndex: 0, format: .pcapng, byteOrder: .littleEndian,
                                           reader: .own)
        var records: [ReadBack.Record] = []
        while let p = try reader.next(&statistics) {
            let r = p.record
            records.append(ReadBack.Record(time: r.timestamp.nanoseconds, linkType: r.linkType.rawValue,
                                           captured: r.capturedLength, original: r.originalLength,
                                           fileIndex: r.fileIndex, interface: r.interfaceIndex, bytes: Array(r.bytes)))
        }
        return (records, statistics)
    }

    @Test(arguments: [false, true])
    func clocksOfEveryResolutionAndOffsetBecomeNanoseconds(bigEndian: Bool) throws {
        var file = PcapNGBuilder(bigEndian: bigEndian)
        file.section()
        file.interface(linkType: 1)  // microseconds (no if_tsresol)
        file.interface(linkType: 1, tsresol: 9)  // nanoseconds
        file.interface(linkType: 101, tsresol: 0x80 | 10)  // 2^-10 s
        file.interface(linkType: 1, tsresol: 3, tsoffset: 1_000)  // milliseconds, +1000 s
        file.enhancedPacket(interface: 0, ticks: 1_500_000, data: Self.frame)
        file.enhancedPacket(interface: 1, ticks: 2_000_000_001, data: Self.frame)
        file.enhancedPacket(interface: 2, ticks: 3 * 1024 + 512, data: [0x45])
        file.enhancedPacket(interface: 3, ticks: 4_250, data: Self.frame)
        let folder = TemporaryDirectory()
        let path = folder.write("clocks.pcapng", file.data)

        let own = try Self.readOwn(path)
        #expect(own.records.map(\.time) == [1_500_000_000, 2_000_000_001, 3_500_000_000, 1_004_250_000_000])
        #expect(own.records.map(\.interface) == [0, 1, 2, 3])
        #expect(own.records.map(\.linkType) == [1, 1, 101, 1])

        // Through the public entry point: libpcap refuses the mixed link types, the own reader goes on.
        let read = try ReadBack(path: path)
        #expect(read.times == own.records.map(\.time))
        #expect(read.first?.byteOrder == (bigEndian ? .bigEndian : .littleEndian))
    }

    @Test func simpleAndObsoletePacketBlocksAreRead() throws {
        var file = PcapNGBuilder()
        file.section()
        file.interface(linkType: 1, snapLength: 8)
        file.simplePacket(data: Array(Self.frame.prefix(8)), originalLength: 60)
        file.obsoletePacket(interface: 0, ticks: 7_000_000, data: [1, 2, 3])
        let folder = TemporaryDirectory()
        let own = try Self.readOwn(folder.write("spb.pcapng", file.data))
        #expect(own.records.map(\.time) == [0, 7_000_000_000])
        #expect(own.records.map(\.captured) == [8, 3])
        #expect(own.records.map(\.original) == [60, 3])
        #expect(own.records.last?.bytes == [1, 2, 3])
    }

    @Test func otherBlocksAreSkipped() throws {
        var file = PcapNGBuilder()
        file.section()
        file.block(type: 4, body: [0, 0, 0, 0])  // NRB with only the end record
        file.interface(linkType: 1)
        file.block(type: 5, body: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])  // ISB
        file.block(type: 0xBAD, body: [1, 2, 3])  // unknown
        file.block(type: 0x0000_0BAD, body: Array(repeating: 0, count: 8))  // custom block
        file.enhancedPacket(interface: 0, ticks: 1, data: [9])
        let folder = TemporaryDirectory()
        let own = try Self.readOwn(folder.write("other.pcapng", file.data))
        #expect(own.records.map(\.bytes) == [[9]])
        #expect(own.statistics.warnings.isEmpty)
    }

    @Test func packetOnUndeclaredInterfaceIsSkippedAndCounted() throws {
        var file = PcapNGBuilder()
        file.section()
        file.interface(linkType: 1)
        file.enhancedPacket(interface: 0, ticks: 1, data: [1])
        file.enhancedPacket(interface: 5, ticks: 2, data: [2])
        file.enhancedPacket(interface: 0, ticks: 3, data: [3])
        let folder = TemporaryDirectory()
        let own = try Self.readOwn(folder.write("ghost.pcapng", file.data))
        #expect(own.records.map(\.bytes) == [[1], [3]])
        #expect(own.statistics.skippedRecords == 1)
        // SHB 28 + IDB 20 + EPB 36: the second EPB starts at 84.
        #expect(own.statistics.warnings.map(\.byteOffset) == [84])
    }

    @Test func capturedLengthBeyondTheBlockIsSkipped() throws {
        var file = PcapNGBuilder()
        file.section()
        file.interface(linkType: 1)
        var body = EndianBytes(bigEndian: false)
        for value: UInt32 in [0, 0, 1, 400, 400] { body.u32(value) }  // claims 400 bytes, holds 4
        body.u32(0xDEAD_BEEF)
        file.block(type: 6, body: body.bytes)
        file.enhancedPacket(interface: 0, ticks: 3, data: [3])
        let folder = TemporaryDirectory()
        let own = try Self.readOwn(folder.write("overlong.pcapng", file.data))
        #expect(own.records.map(\.bytes) == [[3]])
        #expect(own.statistics.skippedRecords == 1)
        #expect(own.statistics.warnings.first?.code == .skippedRecords)
    }

    @Test func capturedLengthAboveSnapAndOriginalIsKeptAndCounted() throws {
        var file = PcapNGBuilder()
        file.section()
        file.interface(linkType: 1, snapLength: 4)
        file.enhancedPacket(interface: 0, ticks: 1, data: [1, 2, 3, 4, 5, 6], originalLength: 5)
        let folder = TemporaryDirectory()
        let read = try ReadBack(path: folder.write("odd.pcapng", file.data))
        // libpcap refuses the record ("bigger than snaplen"); the own reader keeps all six bytes.
        #expect(read.records.first?.bytes == [1, 2, 3, 4, 5, 6])
        #expect(read.records.first?.original == 5)
        #expect(read.first?.packets == 1)
        #expect(read.first?.oversizedRecords == 1)
        #expect(read.first?.reader == .libpcapThenOwn(packets: 0))
        // libpcap read nothing: the own reader read the whole file, and the report says just that.
        #expect(read.first?.reader.description == "own pcapng reader")
    }

    // MARK: - Corrupt and truncated files

    /// A good file of SHB (28) + IDB (20) + three EPBs (36 each: offsets 48, 84, 120), 156 bytes.
    static func threePackets() -> [UInt8] {
        var file = PcapNGBuilder()
        file.section()
        file.interface(linkType: 1)
        for i: UInt8 in 1...3 { file.enhancedPacket(interface: 0, ticks: UInt64(i), data: [i]) }
        return file.data
    }

    @Test func truncatedMidBlockKeepsWholePacketsAndGivesTheOffset() throws {
        let folder = TemporaryDirectory()
        let whole = Self.threePackets()
        #expect(whole.count == 156)
        for cut in [120 + 5, 120 + 20] {
            let path = folder.write("cut\(cut).pcapng", Array(whole.prefix(cut)))
            for read in [try ReadBack(path: path)] {
                #expect(read.records.map(\.bytes) == [[1], [2]])
                let truncated = read.warnings.filter { $0.code == .truncated }
                #expect(truncated.count == 1)
                #expect(truncated.first?.byteOffset == 120)
                #expect(truncated.first?.description.hasPrefix(path + ": file truncated mid-block at byte offset 120")
                        == true)
                #expect(truncated.first?.description.hasSuffix("after 2 whole packets") == true)
            }
            let own = try Self.readOwn(path)
            #expect(own.records.count == 2)
        }
    }

    /// Cut in the second packet block, one whole packet came before: the count is singular. Cut in the first,
    /// none did: plural again.
    @Test(arguments: [(84 + 5, "after 1 whole packet"), (48 + 5, "after 0 whole packets")])
    func truncationCountsItsWholePacketsInTheRightNumber(cut: Int, ending: String) throws {
        let folder = TemporaryDirectory()
        let path = folder.write("cut.pcapng", Array(Self.threePackets().prefix(cut)))
        let read = try ReadBack(path: path)
        let truncated = read.warnings.first { $0.code == .truncated }
        #expect(truncated?.description.hasSuffix(ending) == true, "\(truncated?.description ?? "no warning")")
    }

    /// Cut inside the interface block, the file is refused by libpcap at open and read by the own
    /// reader, which meets the same cut: one warning (the cut, with its offset), not one per reader.
    @Test(arguments: [29, 36, 47])
    func cutInsideTheFirstInterfaceBlockGivesOneWarning(cut: Int) throws {
        let folder = TemporaryDirectory()
        let path = folder.write("cut.pcapng", Array(Self.threePackets().prefix(cut)))
        let read = try ReadBack(path: path)
        #expect(read.records.isEmpty)
        #expect(read.warnings.map(\.code) == [.truncated, .noPackets])
        #expect(read.warnings.first?.byteOffset == 28)
    }

    /// An interface block whose trailing length does not match: libpcap refuses the file at open and
    /// the own reader stops on the same block: one warning (the own reader's, with the offset).
    @Test func corruptFirstInterfaceBlockGivesOneWarning() throws {
        var file = PcapNGBuilder()
        file.section()
        file.block(type: 1, body: [1, 0, 0, 0, 0, 0, 4, 0], trailingLength: 99)
        file.enhancedPacket(interface: 0, ticks: 1, data: [1])
        let folder = TemporaryDirectory()
        let path = folder.write("bad-idb.pcapng", file.data)
        let read = try ReadBack(path: path)
        #expect(read.records.isEmpty)
        #expect(read.warnings.map(\.code) == [.corrupt, .noPackets], "\(read.warnings)")
        #expect(read.warnings.first?.byteOffset == 28)
    }

    @Test(arguments: [(UInt32(30), UInt32(30)), (8, 8), (36, 40), (0x4000_0000, 0x4000_0000)])
    func corruptBlockLengthStopsWithAWarningAtItsOffset(total: UInt32, trailing: UInt32) throws {
        var file = PcapNGBuilder()
        file.section()
        file.interface(linkType: 1)
        file.enhancedPacket(interface: 0, ticks: 1, data: [1])
        file.block(type: 6, body: Array(repeating: 0, count: 24), totalLength: total, trailingLength: trailing)
        file.enhancedPacket(interface: 0, ticks: 3, data: [3])
        let folder = TemporaryDirectory()
        let path = folder.write("corrupt.pcapng", file.data)
        let own = try Self.readOwn(path)
        #expect(own.records.map(\.bytes) == [[1]])
        #expect(own.statistics.warnings.count == 1)
        #expect(own.statistics.warnings.first?.byteOffset == 84)
        #expect(own.statistics.warnings.first.map { [.corrupt, .limitReached].contains($0.code) } == true)
        #expect(own.statistics.warnings.first?.description.hasPrefix(path + ": ") == true)
        // Through the public entry point the same packet comes out once, with one warning: libpcap
        // stops at the same block, and saying the own reader "read on" would promise more packets.
        let read = try ReadBack(path: path)
        #expect(read.records.map(\.bytes) == [[1]])
        #expect(read.warnings.count == 1)
        #expect(read.warnings.first?.byteOffset == 84)
    }

    @Test func firstBlockThatIsNoSectionHeaderIsAnError() {
        var bytes: [UInt8] = [0x0A, 0x0D, 0x0D, 0x0A, 28, 0, 0, 0, 0x11, 0x22, 0x33, 0x44]
        bytes += Array(repeating: 0, count: 16)
        let folder = TemporaryDirectory()
        let path = folder.write("badbom.pcapng", bytes)
        let error = openingError(path)
        #expect(error?.message == path + ": corrupt Section Header Block at byte offset 0: "
                + "byte-order magic 0x11223344 (bytes in file order)")
        #expect(error?.exitStatus == 3)
    }

    // MARK: - Hand-over from libpcap

    @Test func libpcapHandsOverMidFileWithoutLosingOrRepeatingPackets() throws {
        var file = PcapNGBuilder()
        file.section()
        file.interface(linkType: 1)
        file.enhancedPacket(interface: 0, ticks: 1, data: [1])
        file.enhancedPacket(interface: 0, ticks: 2, data: [2])
        file.interface(linkType: 101)
        file.enhancedPacket(interface: 1, ticks: 3, data: [0x45])
        file.enhancedPacket(interface: 0, ticks: 4, data: [4])
        file.section(bigEndian: true)
        file.interface(linkType: 1)
        file.enhancedPacket(interface: 0, ticks: 5, data: [5])
        let folder = TemporaryDirectory()
        let read = try ReadBack(path: folder.write("switch.pcapng", file.data))
        #expect(read.records.map(\.bytes) == [[1], [2], [0x45], [4], [5]])
        #expect(read.times == [1_000, 2_000, 3_000, 4_000, 5_000])
        #expect(read.records.map(\.interface) == [0, 0, 1, 0, 0])
        let statistics = try #require(read.first)
        #expect(statistics.reader == .libpcapThenOwn(packets: 2))
        #expect(statistics.reader.description == "libpcap for 2 packets, then own pcapng reader")
        #expect(statistics.packets == 5)
        #expect(statistics.byteOrder == .mixed)
        #expect(statistics.warnings.map(\.code) == [.readerSwitched])
    }
}
