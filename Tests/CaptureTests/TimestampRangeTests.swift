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
}
