import Core
import Testing
import TestSupport
@testable import Capture

/// The pcapng conformance files (pcapng-test-generator) and a few multi-interface traces.
@Suite struct PcapNGConformanceTests {
    static let folder = Fixtures.corpus + "/pcapng"

    /// Packet blocks (EPB + SPB + PB) listed under "Block counts:" in a `.txt` description.
    static func expectedPackets(description: String) -> Int {
        var total = 0
        var inCounts = false
        for line in description.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("Block counts:") {
                inCounts = true
                continue
            }
            guard inCounts else { continue }
            let fields = line.split(separator: ":").map { String($0.filter { $0 != " " && $0 != "\t" }) }
            guard fields.count == 2, let count = Int(fields[1]) else {
                if !line.allSatisfy({ $0 == " " || $0 == "\t" }) { break }
                continue
            }
            if ["EPB", "SPB", "PB"].contains(fields[0]) { total += count }
        }
        return total
    }

    struct Read {
        var records: [(time: Timestamp, linkType: LinkType, interface: Int, captured: Int, original: Int)] = []
        var statistics: CaptureStatistics?
    }

    static func read(_ path: String) throws(CaptureError) -> Read {
        let source = try CaptureReader.open(path: path)
        var result = Read()
        while let r = try source.next() {
            result.records.append((r.timestamp, r.linkType, r.interfaceIndex, r.capturedLength, r.originalLength))
        }
        result.statistics = source.statistics.first
        return result
    }

    static var conformanceNames: [String] {
        listFolder(folder).filter { ($0.hasPrefix("le-") || $0.hasPrefix("be-")) && $0.hasSuffix(".pcapng") }
    }

    @Test func conformanceFilesGiveTheDescribedPacketCounts() throws {
        let names = Self.conformanceNames
        #expect(names.count == 48)
        for name in names {
            let base = Self.folder + "/" + name.dropLast(".pcapng".count)
            let text = try readText(base + ".txt")
            let expected = Self.expectedPackets(description: text)
            let read = try Self.read(base + ".pcapng")
            #expect(read.records.count == expected, "\(name)")
            #expect(read.statistics?.packets == expected, "\(name)")
        }
    }

    // Expected values below were checked against tshark 4.x on this corpus:
    //   tshark -r F -T fields -e frame.time_epoch -e frame.interface_id -e frame.cap_len -e frame.len \
    //       -e frame.encap_type
    // (tshark also lists custom blocks as frames; those are not packets here.)

    @Test func multiInterfaceTraceIsReadFullyWithTsharksTimes() throws {
        // zeek-pcapng-multi-interface: two Ethernet interfaces, nanosecond and microsecond clocks.
        let read = try Self.read(Self.folder + "/zeek-pcapng-multi-interface.pcapng")
        #expect(read.records.map(\.time.nanoseconds) == [
            1_767_663_089_500_330_493, 1_767_663_089_514_291_940, 1_767_663_437_111_897_000,
            1_767_663_437_126_460_000, 1_767_663_437_128_303_000, 1_767_663_437_140_942_000,
        ])
        #expect(read.records.map(\.captured) == [96, 214, 70, 166, 70, 182])
        #expect(read.statistics?.linkTypes == [LinkTypeCount(linkType: .ethernet, packets: 6)])
    }

    @Test func sectionsOfBothByteOrdersWithMixedLinkTypesAreReadFully() throws {
        // difficult-test202: three sections (le/be/le or be/le/be), five interfaces of types 1 and 0, SPBs.
        for name in ["le-difficult-test202.pcapng", "be-difficult-test202.pcapng"] {
            let read = try Self.read(Self.folder + "/" + name)
            let base: Int64 = 1_340_954_905_000_000_000
            #expect(read.records.map(\.time.nanoseconds) == [
                base + 298_858_000, base + 298_858_000, base + 301_858_000, 0,
                base + 298_858_000, 0, base + 298_858_000, base + 301_858_000,
            ], "\(name)")
            #expect(read.records.map(\.captured) == [96, 96, 168, 128, 128, 128, 128, 168], "\(name)")
            #expect(read.records.map(\.original) == [314, 342, 168, 314, 342, 314, 342, 168], "\(name)")
            #expect(read.records.map(\.linkType.rawValue) == [1, 1, 0, 1, 1, 1, 1, 0], "\(name)")
            #expect(read.records.map(\.interface) == [0, 0, 1, 0, 0, 0, 0, 1], "\(name)")
            let statistics = try #require(read.statistics)
            #expect(statistics.byteOrder == .mixed)
            #expect(statistics.reader == .libpcapThenOwn(packets: 0))
            #expect(statistics.packetsWithoutTimestamp == 2)
            #expect(statistics.truncatedRecords == 6)
            #expect(statistics.linkTypes == [LinkTypeCount(linkType: .ethernet, packets: 6),
                                             LinkTypeCount(linkType: .null, packets: 2)])
        }
    }

    @Test func secondInterfaceWithOtherLinkTypeHandsOverWithoutLosingPackets() throws {
        // basic-test006: IDB Ethernet, IDB NULL, five EPBs alternating interfaces.
        let read = try Self.read(Self.folder + "/le-basic-test006.pcapng")
        #expect(read.records.map(\.interface) == [0, 1, 0, 0, 0])
        #expect(read.records.map(\.time.nanoseconds).first == 1_340_954_905_298_858_000)
        #expect(read.records.map(\.time.nanoseconds).last == 1_340_954_905_302_858_000)
        // advanced-test100: libpcap returns one packet, then meets an IDB of another type.
        let advanced = try Self.read(Self.folder + "/le-advanced-test100.pcapng")
        #expect(advanced.statistics?.reader == .libpcapThenOwn(packets: 1))
        #expect(advanced.records.count == 5)
        let codes = advanced.statistics?.warnings.map(\.code) ?? []
        // Its Simple Packet Block has no time, and is warned about.
        #expect(codes == [.readerSwitched, .noTimestamps])
        #expect((advanced.statistics?.packetsWithoutTimestamp ?? 0) > 0)
        // Worded as what happened (nothing lost), not as a stop.
        let text = advanced.statistics?.warnings.first?.problem ?? ""
        #expect(text.hasPrefix("read with the own pcapng reader from packet 2 on, as libpcap cannot read this "
            + "pcapng file past there ("), "\(text)")
        #expect(text.hasSuffix("); the switch itself loses no packet"), "\(text)")
        #expect(!text.contains("stopped"))
    }

    @Test func timeBeyond2106IsKept() throws {
        // tcpdump time_2106_overflow: tshark prints 4294967296.000000000.
        let read = try Self.read(Self.folder + "/tcpdump-time_2106_overflow.pcapng")
        #expect(read.records.map(\.time.nanoseconds) == [4_294_967_296_000_000_000])
    }

    @Test func emptyFilesWarnThatTheyHoldNoPackets() throws {
        for name in ["le-basic-test002.pcapng", "be-basic-test003.pcapng", "le-difficult-test200.pcapng"] {
            let read = try Self.read(Self.folder + "/" + name)
            #expect(read.records.isEmpty)
            let warning = read.statistics?.warnings.last
            #expect(warning?.code == .noPackets, "\(name)")
            #expect(warning?.description == Self.folder + "/" + name + ": file holds no packets")
        }
    }

    @Test func descriptionParserCountsPacketBlocksOnly() {
        let text = "Description: x\nCategory: advanced\n\nBlock counts:\n\tEPB: 3\n\tIDB: 3\n\tSPB: 2\n\tPB: 1\n\n"
            + "Block sequence: SHB, IDB, EPB\n"
        #expect(Self.expectedPackets(description: text) == 6)
    }
}

/// The whole of a small text file (test fixtures only).
func readText(_ path: String) throws -> String {
    guard let file = fopen(path, "rb") else { throw FixtureMissing(path: path) }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, 4096, file) }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

struct FixtureMissing: Error {
    var path: String
}

#if canImport(Glibc)
import Glibc
#endif
