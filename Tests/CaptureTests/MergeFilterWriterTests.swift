import Core
import Testing
import TestSupport
@testable import Capture

/// A minimal IPv4 packet: 20-byte header with `protocolNumber`, then `payload` zero bytes.
func ipv4Packet(protocolNumber: UInt8, payload: Int) -> [UInt8] {
    let total = 20 + payload
    var packet: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 1, 0x40, 0, 64, protocolNumber, 0, 0,
                           192, 0, 2, 1, 198, 51, 100, 7]
    packet += Array(repeating: 0, count: payload)
    return packet
}

/// `packet` behind an Ethernet II header carrying IPv4.
func ethernetFrame(_ packet: [UInt8]) -> [UInt8] {
    [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00] + packet
}

@Suite struct MergedSourceTests {
    @Test func mergeInterleavesByTimeAndBreaksTiesByFileOrder() throws {
        let folder = TemporaryDirectory()
        var a = PcapBuilder(nanoseconds: true)
        for (t, tag) in [(1, 10), (3, 11), (3, 12), (9, 13)] as [(UInt32, UInt8)] {
            a.record(seconds: t, fraction: 0, data: [tag])
        }
        var b = PcapBuilder(bigEndian: true)
        for (t, tag) in [(2, 20), (3, 21), (8, 22), (4, 23), (10, 24)] as [(UInt32, UInt8)] {
            b.record(seconds: t, fraction: 0, data: [tag])
        }
        let sources = [try CaptureReader.open(path: folder.write("a.pcap", a.data), fileIndex: 0),
                       try CaptureReader.open(path: folder.write("b.pcap", b.data), fileIndex: 1)]
        let merged = MergedSource(sources)
        let read = try ReadBack(merged)

        // b's clock goes back from 8 to 4: b keeps its own order, so 23 follows 22.
        let tags: [UInt8] = read.records.compactMap { $0.bytes.first }
        #expect(tags == [10, 20, 11, 12, 21, 22, 23, 13, 24])
        #expect(read.records.map(\.fileIndex) == [0, 1, 0, 0, 1, 1, 1, 0, 1])
        #expect(read.statistics.count == 2)
        #expect(read.statistics.map(\.packets) == [4, 5])
        #expect(read.statistics.map(\.backwardTimestamps) == [0, 1])
    }

    @Test func borrowedBytesStayValidUntilTheNextCall() throws {
        let folder = TemporaryDirectory()
        var a = PcapBuilder()
        var b = PcapBuilder()
        for i: UInt32 in 0..<50 {
            a.record(seconds: 2 * i, fraction: 0, data: Array(repeating: UInt8(i), count: 100))
            b.record(seconds: 2 * i + 1, fraction: 0, data: Array(repeating: UInt8(100 + i), count: 3000))
        }
        let merged = MergedSource([try CaptureReader.open(path: folder.write("a.pcap", a.data)),
                                   try CaptureReader.open(path: folder.write("b.pcap", b.data))])
        var count = 0
        while let record = try merged.next() {
            let expected = UInt8(count % 2 == 0 ? count / 2 : 100 + count / 2)
            #expect(record.bytes.allSatisfy { $0 == expected })
            count += 1
        }
        #expect(count == 100)
    }

    @Test func emptyMergeEnds() throws {
        #expect(try MergedSource([]).next() == nil)
    }
}

@Suite struct PacketFilterTests {
    static func mixedFile() -> [UInt8] {
        var file = PcapBuilder()
        file.record(seconds: 1, fraction: 0, data: ethernetFrame(ipv4Packet(protocolNumber: 6, payload: 20)))
        file.record(seconds: 2, fraction: 0, data: ethernetFrame(ipv4Packet(protocolNumber: 17, payload: 8)))
        file.record(seconds: 3, fraction: 0, data: ethernetFrame(ipv4Packet(protocolNumber: 6, payload: 20)))
        return file.data
    }

    @Test func filterKeepsMatchingPacketsAndCountsTheRest() throws {
        let folder = TemporaryDirectory()
        let source = try CaptureReader.open(path: folder.write("mixed.pcap", Self.mixedFile()))
        try source.setFilter("tcp")
        let read = try ReadBack(source)
        #expect(read.times == [1_000_000_000, 3_000_000_000])
        #expect(read.first?.packets == 3)
        #expect(read.first?.filteredOut == 1)
    }

    @Test func badExpressionIsAUsageError() throws {
        let folder = TemporaryDirectory()
        let path = folder.write("mixed.pcap", Self.mixedFile())
        let source = try CaptureReader.open(path: path)
        do throws(CaptureError) {
            try source.setFilter("tcp and and")
            Issue.record("a bad expression was accepted")
        } catch {
            #expect(error.exitStatus == 2)
            #expect(error.isFilterError)
            #expect(error.message.hasPrefix(path + ": bad filter expression \"tcp and and\": "))
            #expect(!error.message.contains("\n"))
        }
    }

    @Test func filterAppliesPerLinkTypeInPcapNG() throws {
        var file = PcapNGBuilder()
        file.section()
        file.interface(linkType: 1)
        file.interface(linkType: 101)
        file.enhancedPacket(interface: 0, ticks: 1, data: ethernetFrame(ipv4Packet(protocolNumber: 6, payload: 20)))
        file.enhancedPacket(interface: 1, ticks: 2, data: ipv4Packet(protocolNumber: 6, payload: 20))
        file.enhancedPacket(interface: 1, ticks: 3, data: ipv4Packet(protocolNumber: 17, payload: 8))
        let folder = TemporaryDirectory()
        let path = folder.write("two-links.pcapng", file.data)

        let tcp = try CaptureReader.open(path: path)
        try tcp.setFilter("tcp")
        #expect(try ReadBack(tcp).times == [1_000, 2_000])

        // An Ethernet-only filter cannot apply to raw IP: those packets are left out, with a warning.
        let ether = try CaptureReader.open(path: path)
        try ether.setFilter("ether src 02:00:00:00:00:01")
        let read = try ReadBack(ether)
        #expect(read.times == [1_000])
        #expect(read.first?.filteredOut == 2)
        #expect(read.warnings.filter { $0.code == .filterNotApplicable }.count == 1)
    }

    /// A classic pcap of a link type libpcap cannot filter (4242), or raw IP with an Ethernet-only
    /// filter: no usage error about the expression, but a warning naming the file and its link type,
    /// and its packets left out (as for such an interface in a pcapng file). A bad expression is
    /// still a usage error.
    @Test func filterNotApplicableToAClassicFilesLinkTypeLeavesItsPacketsOut() throws {
        let folder = TemporaryDirectory()
        var odd = PcapBuilder(linkType: 4242)
        odd.record(seconds: 1, fraction: 0, data: [1, 2, 3])
        let oddPath = folder.write("odd.pcap", odd.data)
        var raw = PcapBuilder(linkType: 101)
        raw.record(seconds: 2, fraction: 0, data: ipv4Packet(protocolNumber: 6, payload: 20))
        let rawPath = folder.write("raw.pcap", raw.data)
        for (path, expression) in [(oddPath, "tcp"), (rawPath, "ether host 02:00:00:00:00:01")] {
            let source = try CaptureReader.open(path: path)
            try source.setFilter(expression)
            let read = try ReadBack(source)
            #expect(read.records.isEmpty)
            #expect(read.first?.filteredOut == 1)
            let warning = try #require(read.warnings.first { $0.code == .filterNotApplicable })
            #expect(warning.description.hasPrefix(path + ": filter \"\(expression)\" cannot apply to link type "),
                    "\(warning)")
        }
        let bad = try CaptureReader.open(path: oddPath)
        #expect(throws: CaptureError.self) { try bad.setFilter("tcp and and") }
        // Merged with a good file, the good file's packets still come through.
        var good = PcapBuilder(linkType: 101)
        good.record(seconds: 3, fraction: 0, data: ipv4Packet(protocolNumber: 6, payload: 20))
        let goodPath = folder.write("good.pcap", good.data)
        let merged = MergedSource(try CaptureReader.open(paths: [oddPath, goodPath]))
        try merged.setFilter("tcp")
        #expect(try ReadBack(merged).records.count == 1)
    }
}

@Suite struct PcapFileWriterTests {
    @Test func writtenFileReadsBackThroughLibpcap() throws {
        let folder = TemporaryDirectory()
        let path = folder.reserve("out.pcap")
        let writer = try PcapFileWriter(path: path, linkType: .raw, snapLength: 96)
        let packets = [ipv4Packet(protocolNumber: 6, payload: 20), ipv4Packet(protocolNumber: 17, payload: 60)]
        try writer.append(timestamp: Timestamp(nanoseconds: 1_700_000_000_123_456_789), bytes: packets[0])
        try writer.append(timestamp: Timestamp(nanoseconds: 1_700_000_001_000_000_001), bytes: packets[1],
                          originalLength: 1500)
        try writer.close()

        let read = try ReadBack(path: path)
        #expect(read.times == [1_700_000_000_123_456_789, 1_700_000_001_000_000_001])
        #expect(read.records.map(\.bytes) == packets)
        #expect(read.records.map(\.original) == [40, 1500])
        #expect(read.records.allSatisfy { $0.linkType == 101 })
        #expect(read.first?.format == .pcapNanoseconds)
        #expect(read.first?.byteOrder == .littleEndian)
    }

    @Test func pcapngWriterWritesInterfacesOfDifferentLinkTypes() throws {
        let folder = TemporaryDirectory()
        let path = folder.reserve("out.pcapng")
        let writer = try PcapNGFileWriter(path: path)
        let ethernet = try writer.addInterface(linkType: .ethernet, snapLength: 1514)
        let tcp = ipv4Packet(protocolNumber: 6, payload: 20)
        try writer.append(interface: ethernet, timestamp: Timestamp(nanoseconds: 5_000_000_001),
                          bytes: ethernetFrame(tcp))
        let raw = try writer.addInterface(linkType: .raw)
        try writer.append(interface: raw, timestamp: Timestamp(nanoseconds: 6_000_000_002), bytes: [0x45, 0, 0],
                          originalLength: 40)
        try writer.close()

        let read = try ReadBack(path: path)
        #expect(read.times == [5_000_000_001, 6_000_000_002])
        #expect(read.records.map(\.linkType) == [1, 101])
        #expect(read.records.map(\.interface) == [0, 1])
        #expect(read.records.first?.bytes == ethernetFrame(tcp))
        #expect(read.records.last?.original == 40)
        #expect(read.first?.reader == .libpcapThenOwn(packets: 1))
    }

    @Test func unwritablePathIsAClearError() {
        do throws(CaptureError) {
            _ = try PcapFileWriter(path: "/nonexistent-folder/out.pcap", linkType: .ethernet)
            Issue.record("writer opened a path in a missing folder")
        } catch {
            #expect(error.message.hasPrefix("/nonexistent-folder/out.pcap: cannot open"))
        }
    }
}
