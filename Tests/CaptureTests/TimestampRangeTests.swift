import Core
import Testing
import TestSupport
@testable import Capture

/// Times beyond what a `Timestamp` holds (Int64 nanoseconds: up to 2262-04-11T23:47:16.854775807Z)
/// are clamped, counted, and named in one warning.
@Suite struct TimestampRangeTests {
    static let frame: [UInt8] = Array(repeating: 0x11, count: 20)
    /// The last whole second a `Timestamp` holds.
    static let lastSecond: UInt64 = 9_223_372_036

    /// A pcapng file whose clock counts whole seconds (if_tsresol 10^0).
    static func secondsClockFile(_ seconds: [UInt64], in folder: TemporaryDirectory) -> String {
        var file = PcapNGBuilder()
        file.section()
        file.interface(linkType: 1, tsresol: 0)
        for s in seconds { file.enhancedPacket(interface: 0, ticks: s, data: Self.frame) }
        return folder.write("seconds.pcapng", file.data)
    }

    @Test func timeAtTheLastRepresentableSecondIsInRange() throws {
        let folder = TemporaryDirectory()
        let back = try ReadBack(path: Self.secondsClockFile([1_700_000_000, Self.lastSecond], in: folder))
        #expect(back.first?.timestampsOutOfRange == 0)
        #expect(back.warnings.isEmpty)
        #expect(back.times.last == Int64(Self.lastSecond) * 1_000_000_000)
    }

    @Test func timeOneSecondPastIsClampedCountedAndWarnedOnce() throws {
        let folder = TemporaryDirectory()
        let path = Self.secondsClockFile([Self.lastSecond + 1, 1_700_000_000_000_000, 1_700_000_000],
                                         in: folder)
        let back = try ReadBack(path: path)
        #expect(back.first?.timestampsOutOfRange == 2)
        #expect(back.times.prefix(2).allSatisfy { $0 == Int64.max })
        let warnings = back.warnings.filter { $0.code == .timestampOutOfRange }
        #expect(warnings.count == 1)
        #expect(warnings.first?.description.hasPrefix(path + ": 2 of 3 packets have times outside 1677-2262") == true)
    }

    @Test func ownReaderCountsTheSame() throws {
        let folder = TemporaryDirectory()
        let path = Self.secondsClockFile([Self.lastSecond, Self.lastSecond + 1], in: folder)
        let own = try PcapNGReaderTests.readOwn(path)
        #expect(own.records.map(\.time) == [Int64(Self.lastSecond) * 1_000_000_000, Int64.max])
        let interface = PcapNGInterface(linkType: LinkType(rawValue: 1), snapLength: 0)
        #expect(interface.checkedTimestamp(ticks: UInt64(Int64.max) / 1_000).inRange)
        #expect(!interface.checkedTimestamp(ticks: UInt64(Int64.max)).inRange)
    }

    /// A pcapng file of one interface with `tsresol` and `tsoffset`, a packet per tick count.
    static func clockFile(tsresol: UInt8? = nil, tsoffset: Int64? = nil, _ ticks: [UInt64],
                          in folder: TemporaryDirectory) -> String {
        var file = PcapNGBuilder()
        file.section()
        file.interface(linkType: 1, tsresol: tsresol, tsoffset: tsoffset)
        for t in ticks { file.enhancedPacket(interface: 0, ticks: t, data: Self.frame) }
        return folder.write("clock.pcapng", file.data)
    }

    /// libpcap hands a pcapng time of 2^63 seconds or more over wrapped around, before 1970: the own reader
    /// takes over there, and the time is clamped to the top of the range and counted.
    @Test(arguments: [UInt8(0), 0x80])
    func aTimePast2To63SecondsIsClampedToTheTopNotWrapped(tsresol: UInt8) throws {
        let folder = TemporaryDirectory()
        let path = Self.clockFile(tsresol: tsresol, [UInt64.max, 1_700_000_000, UInt64(Int64.max) + 2], in: folder)
        let back = try ReadBack(path: path)
        #expect(back.times == [Int64.max, 1_700_000_000_000_000_000, Int64.max])
        #expect(back.first?.timestampsOutOfRange == 2)
        #expect(back.warnings.filter { $0.code == .timestampOutOfRange }.count == 1)
        #expect(back.first?.readingStopped == nil)
    }

    @Test func aLargeOffsetClampsToTheEndItPointsTo() throws {
        let folder = TemporaryDirectory()
        let stamps: [UInt64] = [1_700_000_000_000_000, 1_700_000_000_000_001]
        let ahead = try ReadBack(path: Self.clockFile(tsoffset: Int64.max, stamps, in: folder))
        #expect(ahead.times == [Int64.max, Int64.max])
        #expect(ahead.first?.timestampsOutOfRange == 2)
        let behind = try ReadBack(path: Self.clockFile(tsoffset: Int64.min, [1_700_000_000_000_000], in: folder))
        #expect(behind.times == [Int64.min])
        #expect(behind.first?.timestampsOutOfRange == 1)
        // Times of 2^63 seconds or more that a negative offset brings back into range are read exactly.
        let back = try ReadBack(path: Self.clockFile(tsresol: 0, tsoffset: Int64.min, [UInt64(Int64.max) + 6],
                                                     in: folder))
        #expect(back.times == [5_000_000_000])
        #expect(back.first?.timestampsOutOfRange == 0)
    }

    /// A clock of whole seconds with a positive offset: libpcap would wrap 2^64 - 10^9 seconds plus 2 * 10^9
    /// into 2001; the file is read with the own reader from the start.
    @Test func aWholeSecondClockWithAPositiveOffsetIsReadByTheOwnReader() throws {
        let folder = TemporaryDirectory()
        let back = try ReadBack(path: Self.clockFile(tsresol: 0, tsoffset: 2_000_000_000,
                                                     [UInt64.max - 999_999_999, 1_700_000_000], in: folder))
        #expect(back.times == [Int64.max, 3_700_000_000_000_000_000])
        #expect(back.first?.timestampsOutOfRange == 1)
        #expect(back.first?.reader == .own)
        #expect(back.warnings.first?.problem.hasPrefix("read with the own pcapng reader: an interface's clock counts "
            + "whole seconds with a positive if_tsoffset") == true)
    }

    @Test func aNegativeOffsetBeforeNineteenSeventyIsNotClamped() throws {
        let folder = TemporaryDirectory()
        let back = try ReadBack(path: Self.clockFile(tsoffset: -1_800_000_000, [1_700_000_000_000_000], in: folder))
        #expect(back.times == [-100_000_000_000_000_000])
        #expect(back.first?.timestampsOutOfRange == 0)
        #expect(back.warnings.map(\.code) == [.readerSwitched])
    }

    @Test func everyClockIsWorkedOutExactly() {
        func time(_ resolution: UInt8, offset: Int64 = 0, _ ticks: UInt64) -> (Int64, Bool) {
            var interface = PcapNGInterface(linkType: LinkType(rawValue: 1), snapLength: 0)
            interface.resolution = PcapNGInterface.Resolution(option: resolution)
            interface.offsetSeconds = offset
            let t = interface.checkedTimestamp(ticks: ticks)
            return (t.time.nanoseconds, t.inRange)
        }
        #expect(time(6, 1_500_001) == (1_500_001_000, true))
        #expect(time(12, 1_500_000_000_007) == (1_500_000_000, true))
        #expect(time(19, 15_000_000_000_000_000_000) == (1_500_000_000, true))
        #expect(time(27, UInt64.max) == (18, true))
        #expect(time(0x80 | 10, 3 * 1024 + 512) == (3_500_000_000, true))
        #expect(time(0x80 | 64, 1 << 63) == (500_000_000, true))
        #expect(time(0x80 | 63, UInt64.max) == (1_999_999_999, true))
        #expect(time(0, UInt64(Self.lastSecond)) == (Int64(Self.lastSecond) * 1_000_000_000, true))
        #expect(time(0, UInt64(Self.lastSecond) + 1) == (Int64.max, false))
        #expect(time(0, offset: -1, UInt64(Self.lastSecond) + 1) == (Int64(Self.lastSecond) * 1_000_000_000, true))
        #expect(time(0, offset: Int64.max, 1) == (Int64.max, false))
        #expect(time(0, offset: Int64.min, 0) == (Int64.min, false))
        #expect(time(0, offset: Int64.min, UInt64.max) == (Int64.max, false))
        #expect(time(9, offset: -10_000_000_000, 0) == (Int64.min, false))
    }
}
