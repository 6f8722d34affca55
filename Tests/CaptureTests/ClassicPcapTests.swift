import Core
import Testing
import TestSupport
@testable import Capture

#if canImport(Glibc)
import Glibc
#endif

/// Hand-built classic pcap files, read through libpcap.
@Suite struct ClassicPcapTests {
    /// Three small frames at 1.000001 s, 2.5 s and 3.999999 s.
    static func file(bigEndian: Bool, nanoseconds: Bool) -> [UInt8] {
        var file = PcapBuilder(bigEndian: bigEndian, nanoseconds: nanoseconds)
        let scale: UInt32 = nanoseconds ? 1000 : 1
        file.record(seconds: 1, fraction: 1 * scale, data: [1, 2, 3, 4])
        file.record(seconds: 2, fraction: 500_000 * scale, data: [5, 6])
        file.record(seconds: 3, fraction: 999_999 * scale, data: Array(repeating: 7, count: 60), originalLength: 1514)
        return file.data
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func everyMagicAndByteOrderGivesTheSameNanoseconds(bigEndian: Bool, nanoseconds: Bool) throws {
        let folder = TemporaryDirectory()
        let path = folder.write("f.pcap", Self.file(bigEndian: bigEndian, nanoseconds: nanoseconds))
        let read = try ReadBack(path: path, fileIndex: 4)

        #expect(read.times == [1_000_001_000, 2_500_000_000, 3_999_999_000])
        #expect(read.records.map(\.bytes.count) == [4, 2, 60])
        #expect(read.records.first?.bytes == [1, 2, 3, 4])
        #expect(read.records.allSatisfy { $0.fileIndex == 4 && $0.linkType == 1 && $0.interface == 0 })

        let statistics = try #require(read.first)
        #expect(statistics.format == (nanoseconds ? .pcapNanoseconds : .pcap))
        #expect(statistics.byteOrder == (bigEndian ? .bigEndian : .littleEndian))
        #expect(statistics.reader == .ownPcap)
        #expect(statistics.packets == 3)
        #expect(statistics.capturedBytes == 66)
        #expect(statistics.originalBytes == 4 + 2 + 1514)
        #expect(statistics.truncatedRecords == 1)
        #expect(statistics.firstTimestamp?.nanoseconds == 1_000_001_000)
        #expect(statistics.lastTimestamp?.nanoseconds == 3_999_999_000)
        #expect(statistics.warnings.isEmpty)
    }

    // MARK: - Files that are not captures

    @Test func missingFileIsAClearError() {
        let folder = TemporaryDirectory()
        let error = openingError(folder.path + "/nothing.pcap")
        #expect(error?.message == folder.path + "/nothing.pcap: no such file")
        #expect(error?.exitStatus == 3)
    }

    @Test func directoryIsAClearError() {
        let folder = TemporaryDirectory()
        let inner = folder.makeFolder("sub.pcap")
        #expect(openingError(inner)?.message == inner + ": is a directory, not a capture file")
    }

    @Test func emptyFileIsAClearError() {
        let folder = TemporaryDirectory()
        let path = folder.write("empty.pcap", [])
        #expect(openingError(path)?.message == path + ": empty file (0 bytes)")
    }

    /// A file whose size stat gives as 0 though it holds bytes (Linux's /proc and /sys) is read, not refused
    /// as empty: what it holds is judged.
    @Test func aFileOfSizeZeroThatHoldsBytesIsRead() {
        let path = "/proc/self/status"
        var info = stat()
        guard stat(path, &info) == 0, info.st_size == 0 else { return }  // not Linux, or not such a file
        #expect(openingError(path)?.message == path + ": not a pcap or pcapng file (starts with 0x4e616d65)")
    }

    @Test func fileTooShortForAHeaderIsAClearError() {
        let folder = TemporaryDirectory()
        let two = folder.write("two.pcap", [0xD4, 0xC3])
        #expect(openingError(two)?.message == two + ": too short for a capture header (2 bytes, need at least 24)")
        let partial = folder.write("partial.pcap", Array(Self.file(bigEndian: false, nanoseconds: false).prefix(20)))
        #expect(openingError(partial)?.problem == "too short for a capture header (20 bytes, need at least 24)")
    }

    @Test func foreignFileNamesItsFirstBytes() {
        let folder = TemporaryDirectory()
        let path = folder.write("notes.pcap", Array("<?xml version=\"1.0\"?><a/>".utf8))
        let error = openingError(path)
        #expect(error?.message == path + ": not a pcap or pcapng file (starts with 0x3c3f786d)")
        #expect(error?.exitStatus == 3)
    }

    @Test func unreadableFileIsAClearErrorUnlessRunAsRoot() {
        let folder = TemporaryDirectory()
        let path = folder.write("locked.pcap", Self.file(bigEndian: false, nanoseconds: false))
        chmod(path, 0)
        let error = openingError(path)
        if getuid() == 0 {
            // root reads any file: the capture simply opens.
            #expect(error == nil)
        } else {
            #expect(error?.message == path + ": permission denied")
        }
    }

    @Test func headerOnlyFileWarnsThatItHoldsNoPackets() throws {
        let folder = TemporaryDirectory()
        let path = folder.write("header.pcap", PcapBuilder().data)
        let read = try ReadBack(path: path)
        #expect(read.records.isEmpty)
        #expect(read.warnings.map(\.description) == [path + ": file holds no packets"])
        #expect(read.warnings.first?.code == .noPackets)
    }

    // MARK: - Odd records

    @Test func truncatedLastRecordKeepsWholeRecordsAndGivesTheOffset() throws {
        let folder = TemporaryDirectory()
        let whole = Self.file(bigEndian: false, nanoseconds: false)
        // Records start at 24, 24 + 20 = 44 and 44 + 18 = 62; the third has 60 data bytes.
        let midData = folder.write("mid-data.pcap", Array(whole.prefix(62 + 16 + 10)))
        let midHeader = folder.write("mid-header.pcap", Array(whole.prefix(62 + 7)))
        for path in [midData, midHeader] {
            let read = try ReadBack(path: path)
            #expect(read.times == [1_000_001_000, 2_500_000_000])
            #expect(read.warnings.count == 1)
            #expect(read.warnings.first?.code == .truncated)
            #expect(read.warnings.first?.byteOffset == 62)
            #expect(read.warnings.first?.description
                    == path + ": file truncated mid-record at byte offset 62 after 2 whole records")
        }
    }

    @Test func backwardTimestampsKeepFileOrderAndAreCounted() throws {
        var file = PcapBuilder()
        file.record(seconds: 10, fraction: 0, data: [1])
        file.record(seconds: 5, fraction: 0, data: [2])
        file.record(seconds: 7, fraction: 0, data: [3])
        file.record(seconds: 6, fraction: 0, data: [4])
        let folder = TemporaryDirectory()
        let read = try ReadBack(path: folder.write("back.pcap", file.data))
        #expect(read.records.map(\.bytes) == [[1], [2], [3], [4]])
        #expect(read.first?.backwardTimestamps == 2)
        #expect(read.first?.firstTimestamp?.nanoseconds == 10_000_000_000)
        #expect(read.first?.earliestTimestamp?.nanoseconds == 5_000_000_000)
        #expect(read.first?.latestTimestamp?.nanoseconds == 10_000_000_000)
    }

    @Test func capturedLengthAboveOriginalLengthIsKeptAndCounted() throws {
        var file = PcapBuilder(snapLength: 128)
        file.record(seconds: 1, fraction: 0, data: Array(repeating: 9, count: 20), originalLength: 10)
        file.record(seconds: 2, fraction: 0, data: [1, 2])
        let folder = TemporaryDirectory()
        let read = try ReadBack(path: folder.write("big.pcap", file.data))
        #expect(read.records.map(\.captured) == [20, 2])
        #expect(read.records.first?.original == 10)
        #expect(read.first?.oversizedRecords == 1)
        #expect(read.first?.warnings.isEmpty == true)
    }

    @Test func capturedLengthAboveSnapLengthDoesNotCrash() throws {
        var file = PcapBuilder(snapLength: 64)
        file.record(seconds: 1, fraction: 0, data: Array(repeating: 9, count: 100))
        file.record(seconds: 2, fraction: 0, data: [1, 2])
        let folder = TemporaryDirectory()
        let read = try ReadBack(path: folder.write("snap.pcap", file.data))
        // libpcap 1.10 cuts such a record to the snaplen and skips the rest of its bytes.
        #expect(read.records.map(\.captured) == [64, 2])
        #expect(read.records.last?.bytes == [1, 2])
        #expect(read.records.first?.original == 100)
        #expect(read.first?.oversizedRecords == 1)
        #expect(read.warnings.map(\.byteOffset) == [24])
        #expect(read.warnings.first?.code == .cutToSnapLength)
    }

    @Test func hugeCapturedLengthStopsWithAWarningNamingTheOffset() throws {
        var file = PcapBuilder()
        file.record(seconds: 1, fraction: 0, data: [1, 2, 3])
        file.record(seconds: 2, fraction: 0, data: [4], capturedLength: 0x7FFF_FFF0)
        let folder = TemporaryDirectory()
        let path = folder.write("huge.pcap", file.data)
        let read = try ReadBack(path: path)
        #expect(read.records.map(\.bytes) == [[1, 2, 3]])
        #expect(read.warnings.count == 1)
        #expect(read.warnings.first?.byteOffset == 43)
        #expect(read.warnings.first?.description.hasPrefix(path + ": ") == true)
    }

    @Test func secondsAreUnsigned32BitAsTsharkReadsThem() throws {
        // tshark -T fields -e frame.time_epoch: time_2038_overflow.pcap 2147483648, time_2106_max.pcap 4294967295.
        let overflow = try ReadBack(path: Fixtures.corpus + "/robustness/time_2038_overflow.pcap")
        #expect(overflow.times == [2_147_483_648_000_000_000])
        let max = try ReadBack(path: Fixtures.corpus + "/robustness/time_2106_max.pcap")
        #expect(max.times == [4_294_967_295_000_000_000])
    }

    @Test func fractionOfAFullSecondIsCarriedAndCounted() throws {
        var file = PcapBuilder()
        file.record(seconds: 10, fraction: 999_999, data: [1])
        file.record(seconds: 10, fraction: 1_000_000, data: [2])
        let folder = TemporaryDirectory()
        let read = try ReadBack(path: folder.write("fraction.pcap", file.data))
        #expect(read.times == [10_999_999_000, 11_000_000_000])
        #expect(read.first?.invalidTimestampFractions == 1)
    }

    @Test func rawLinkTypeIsReportedAsLinktypeNumber() throws {
        var file = PcapBuilder(linkType: 101)
        file.record(seconds: 1, fraction: 0, data: [0x45, 0])
        let folder = TemporaryDirectory()
        let read = try ReadBack(path: folder.write("raw.pcap", file.data))
        #expect(read.records.first?.linkType == 101)
        #expect(read.first?.linkTypes == [LinkTypeCount(linkType: .raw, packets: 1)])
    }
}

/// Classic pcap files joined end to end (`cat a.pcap b.pcap`): the second file header is passed over
/// and its records read on, with one warning; one of another link type stops reading there, saying
/// the rest was not read.
@Suite struct JoinedPcapFilesTests {
    static func file(linkType: UInt32 = 1, nanoseconds: Bool = false, from second: UInt32) -> [UInt8] {
        var file = PcapBuilder(nanoseconds: nanoseconds, linkType: linkType)
        for n in 0..<3 { file.record(seconds: second + UInt32(n), fraction: 0, data: [UInt8](repeating: 9, count: 60)) }
        return file.data
    }

    @Test func aSecondHeaderOfTheSameKindIsReadPast() throws {
        let folder = TemporaryDirectory()
        let a = Self.file(from: 100)
        let path = folder.write("joined.pcap", a + Self.file(from: 200) + Self.file(from: 300))
        let read = try ReadBack(path: path)
        #expect(read.times == [100, 101, 102, 200, 201, 202, 300, 301, 302].map { Int64($0) * 1_000_000_000 })
        #expect(read.first?.packets == 9)
        let warnings = read.warnings
        #expect(warnings.map(\.code) == [.joinedFiles])
        #expect(warnings.first?.byteOffset == a.count)
        #expect(warnings.first?.problem.hasPrefix("2 further pcap file headers inside the file (first at byte offset "
            + "\(a.count)): captures joined end to end") == true, "\(warnings)")
    }

    @Test func aSecondHeaderOfAnotherKindStopsWithAWarning() throws {
        let folder = TemporaryDirectory()
        let a = Self.file(from: 100)
        let others = [("link", Self.file(linkType: 101, from: 200)), ("ns", Self.file(nanoseconds: true, from: 200))]
        for (name, b) in others {
            let path = folder.write("joined-\(name).pcap", a + b)
            let read = try ReadBack(path: path)
            #expect(read.first?.packets == 3, "\(name)")
            let warning = try #require(read.warnings.first { $0.code == .corrupt }, "\(name)")
            #expect(warning.byteOffset == a.count)
            #expect(warning.problem.contains("a pcap file header "), "\(warning)")
            #expect(warning.problem.hasSuffix("the rest of the file was not read: give the files one by one"))
        }
    }

    /// A file that ends inside a further header of its own kind is cut short there, not of another format.
    @Test func aSecondHeaderCutShortIsATruncation() throws {
        let folder = TemporaryDirectory()
        let a = Self.file(from: 100)
        let path = folder.write("joined-cut.pcap", a + Self.file(from: 200).prefix(20))
        let read = try ReadBack(path: path)
        #expect(read.first?.packets == 3)
        let warning = try #require(read.warnings.first, "\(read.warnings)")
        #expect(warning.code == .truncated, "\(warning)")
        #expect(warning.byteOffset == a.count)
        #expect(!warning.problem.contains("another format"))
    }
}
