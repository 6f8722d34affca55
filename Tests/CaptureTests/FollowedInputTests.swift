import Core
import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Capture

#if canImport(Glibc)
import Glibc
#endif

/// A pipe, FIFO or device given with a stop request is followed: it ends at its writer's end, or at once
/// when the request is made, even with a read waiting on a writer that sends nothing more.
@Suite(.serialized) struct FollowedInputTests {
    static let frame: [UInt8] = Array(repeating: 0xAB, count: 60)

    static func classicFile(records: Int) -> [UInt8] {
        var file = PcapBuilder()
        for i in 0..<records {
            file.record(seconds: 1_700_000_000 + UInt32(i), fraction: 0, data: Self.frame)
        }
        return file.data
    }

    /// A pipe holding `bytes`, its write end left open (a writer that goes on, silent) until
    /// `closeWriteEnd()`.
    final class OpenPipe: @unchecked Sendable {
        let readEnd: Int32
        private(set) var writeEnd: Int32

        init(_ bytes: [UInt8]) throws {
            var ends: [Int32] = [-1, -1]
            try #require(pipe(&ends) == 0)
            readEnd = ends[0]
            writeEnd = ends[1]
            let written = bytes.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) }
            try #require(written == bytes.count, "the bytes must fit in the pipe")
        }

        var path: String { "/dev/fd/\(readEnd)" }

        /// The writer ends: the reader finds the end after the bytes.
        func closeWriteEnd() {
            close(writeEnd)
            writeEnd = -1
        }

        deinit {
            close(readEnd)
            if writeEnd >= 0 { close(writeEnd) }
        }

        /// Bytes in the pipe not read yet.
        var unread: Int32 {
            var count: Int32 = 0
            return ioctl(writeEnd, UInt(FIONREAD), &count) == 0 ? count : -1
        }
    }

    /// Reads `source` to its end while another thread makes `stop`'s request once the reader has taken every
    /// byte of `pipe` (within 10 s): the reader's next read then waits on the silent pipe, or finds the
    /// request made.
    static func readUntilStopped(_ source: PacketSource, stop: LiveStopRequest, pipe: OpenPipe) throws -> ReadBack {
        let asker = Thread {
            let deadline = Date().addingTimeInterval(10)
            while pipe.unread != 0, Date() < deadline { usleep(1_000) }
            usleep(20_000)
            stop.request()
        }
        asker.start()
        return try ReadBack(source)
    }

    /// `bytes` written to a pipe kept open, opened as a followed input and read until a stop request once the
    /// reader has taken them all (`readUntilStopped`).
    static func readStopped(_ bytes: [UInt8]) throws -> ReadBack {
        let pipe = try OpenPipe(bytes)
        let stop = LiveStopRequest()
        let source = try CaptureReader.open(path: pipe.path, stop: stop)
        return try readUntilStopped(source, stop: stop, pipe: pipe)
    }

    @Test func aStopRequestEndsAReadWaitingOnASilentPipe() throws {
        let pipe = try OpenPipe(Self.classicFile(records: 3))
        let stop = LiveStopRequest()
        let source = try CaptureReader.open(path: pipe.path, stop: stop)
        #expect(stop.wouldEndCapture, "a followed input is being read")
        let back = try Self.readUntilStopped(source, stop: stop, pipe: pipe)
        #expect(back.records.count == 3)
        #expect(back.records.map(\.bytes) == Array(repeating: Self.frame, count: 3))
        #expect(back.first?.endedBy == "a stop request")
        #expect(back.first?.readingStopped == nil)
        #expect(back.warnings.isEmpty)
        #expect(!stop.wouldEndCapture)
        #expect(try source.next() == nil)
    }

    /// The stop comes with a record half read: the stop cut it, the input is not cut short.
    @Test(arguments: [5, 16, 40]) func aRecordCutByTheStopIsNoTruncation(extra: Int) throws {
        let whole = Self.classicFile(records: 3)
        let next = Array(Self.classicFile(records: 4)[whole.count...])
        let back = try Self.readStopped(whole + next.prefix(extra))
        #expect(back.records.count == 3)
        #expect(back.first?.endedBy == "a stop request")
        #expect(back.first?.readingStopped == nil)
        #expect(back.warnings.isEmpty, "\(back.warnings)")
    }

    /// The same bytes, ended by their writer: cut short, as before.
    @Test func aPipeItsWriterEndsHalfWayThroughARecordIsStillCutShort() throws {
        let whole = Self.classicFile(records: 3)
        let pipe = try OpenPipe(whole + Array(Self.classicFile(records: 4)[whole.count...].prefix(20)))
        pipe.closeWriteEnd()
        let stop = LiveStopRequest()
        let back = try ReadBack(CaptureReader.open(path: pipe.path, stop: stop))
        #expect(back.records.count == 3)
        #expect(back.first?.endedBy == nil)
        #expect(back.warnings.map(\.code) == [.truncated])
        #expect(!stop.wouldEndCapture, "the input ended: a signal would stop the process")
    }

    /// Records libpcap cut to the snaplen are counted on a pipe as in a file, at their offsets, and records
    /// exactly the snaplen long are not taken for cut ones.
    @Test func recordsCutToTheSnapLengthAreCountedOnAPipe() throws {
        var capture = PcapBuilder(snapLength: 60)
        for i in 0..<3 { capture.record(seconds: 1_700_000_000 + UInt32(i), fraction: 0, data: Self.frame) }
        let exact = capture.data
        capture.record(seconds: 1_700_000_010, fraction: 0, data: Array(repeating: 0xEE, count: 80))
        capture.record(seconds: 1_700_000_011, fraction: 0, data: Self.frame)
        capture.record(seconds: 1_700_000_012, fraction: 0, data: Array(repeating: 0xEE, count: 90))
        for (bytes, cut) in [(exact, false), (capture.data, true)] {
            let pipe = try OpenPipe(bytes)
            pipe.closeWriteEnd()
            let back = try ReadBack(CaptureReader.open(path: pipe.path, stop: LiveStopRequest()))
            #expect(back.records.count == (cut ? 6 : 3))
            #expect(back.first?.oversizedRecords == (cut ? 2 : 0))
            #expect(back.warnings.map(\.code) == (cut ? [.cutToSnapLength] : []))
            // 24-byte header and three records of 16 + 60 bytes before the first long one.
            #expect(back.warnings.first?.byteOffset == (cut ? 24 + 3 * 76 : nil))
            #expect(back.warnings.first?.problem.hasPrefix("2 records captured more bytes than the snaplen of 60")
                    ?? !cut)
        }
    }

    @Test func aPcapNGStreamCutMidBlockByTheStopIsNoTruncation() throws {
        var file = PcapNGBuilder()
        file.section()
        file.interface(linkType: 1)
        file.enhancedPacket(interface: 0, ticks: 1_000_000, data: Self.frame)
        file.enhancedPacket(interface: 0, ticks: 2_000_000, data: Self.frame)
        let whole = file.data
        file.enhancedPacket(interface: 0, ticks: 3_000_000, data: Self.frame)
        let back = try Self.readStopped(Array(file.data.prefix(whole.count + 30)))
        #expect(back.records.count == 2)
        #expect(back.first?.reader == .own)
        #expect(back.first?.endedBy == "a stop request")
        #expect(back.warnings.isEmpty, "\(back.warnings)")
    }

    /// The stop comes inside a block over the size limit, which the whole input would have passed over: the
    /// block is still named, but reading did not stop at a fault of the input.
    @Test func aBlockOverTheLimitCutByTheStopIsNamedNotAStop() throws {
        var file = PcapNGBuilder()
        file.section()
        file.interface(linkType: 1)
        file.enhancedPacket(interface: 0, ticks: 1_000_000, data: Self.frame)
        // A block of an unknown type claiming 20 MiB (more than the 16 MiB limit), of which 64 bytes come.
        var oversized: [UInt8] = []
        for value: UInt32 in [0x0BAD, 20 << 20] { withUnsafeBytes(of: value.littleEndian) { oversized += $0 } }
        oversized += [UInt8](repeating: 0xAB, count: 64)
        let back = try Self.readStopped(file.data + oversized)
        #expect(back.records.count == 1)
        #expect(back.first?.endedBy == "a stop request")
        #expect(back.first?.readingStopped == nil)
        #expect(back.warnings.map(\.code) == [.limitReached], "\(back.warnings)")
        #expect(back.warnings.first?.problem.hasSuffix("; the input was ended inside it by a stop request") == true)
    }

    /// A request made before reading: nothing more is read from the input (the header came at the open).
    @Test func aRequestMadeBeforeReadingEndsTheInputAtOnce() throws {
        let pipe = try OpenPipe(Self.classicFile(records: 2))
        let stop = LiveStopRequest()
        let source = try CaptureReader.open(path: pipe.path, stop: stop)
        stop.request(signal: SIGTERM)
        let back = try ReadBack(source)
        #expect(back.records.isEmpty)
        #expect(back.first?.endedBy == "SIGTERM")
        #expect(back.first?.packets == 0)
        #expect(back.warnings.map(\.problem) == ["no packet came before SIGTERM ended the input"])
    }

    /// Read ahead on its own thread (as every run reads), the stop ends the reader thread's wait too.
    @Test func aStopEndsTheReadAheadThreadWaitingOnThePipe() throws {
        let pipe = try OpenPipe(Self.classicFile(records: 4))
        let stop = LiveStopRequest()
        let source = ReadAheadSource(try CaptureReader.open(path: pipe.path, stop: stop))
        let back = try Self.readUntilStopped(source, stop: stop, pipe: pipe)
        // The batch is handed over when the input ends: the four records come together.
        #expect(back.records.count == 4)
        #expect(back.first?.endedBy == "a stop request")
    }

    /// Without a stop request, and for a regular file, nothing is followed.
    @Test func regularFilesAndRunsWithoutARequestAreNotFollowed() throws {
        let folder = TemporaryDirectory()
        let path = folder.write("capture.pcap", Self.classicFile(records: 2))
        let stop = LiveStopRequest()
        let file = try CaptureReader.open(path: path, stop: stop)
        #expect(!stop.wouldEndCapture)
        let descriptor = open(path, O_RDONLY)
        defer { close(descriptor) }
        let viaDescriptor = try CaptureReader.open(path: "/dev/fd/\(descriptor)", stop: stop)
        #expect(!stop.wouldEndCapture)
        let pipe = try OpenPipe(Self.classicFile(records: 2))
        pipe.closeWriteEnd()
        let unfollowed = try CaptureReader.open(path: pipe.path)
        #expect(!stop.wouldEndCapture)
        stop.request()
        #expect(try ReadBack(file).records.count == 2)
        #expect(try ReadBack(viaDescriptor).records.count == 2)
        let back = try ReadBack(unfollowed)
        #expect(back.records.count == 2)
        #expect(back.first?.endedBy == nil)
        #expect(try #require(try? StreamInput.open(path).get()).isFollowable == false)
        #expect(try #require(try? StreamInput.open(pipe.path).get()).isFollowable)
    }
}

/// A followed input read ahead with a wait handler (the rolling reports of `--every`): the records read before
/// its writer goes quiet reach the consumer then, not when a batch fills or the input ends, and the handler is
/// called while the consumer waits.
@Suite(.serialized) struct FollowedReadAheadTests {
    @Test(arguments: [true, false]) func recordsReadBeforeAQuietStretchReachTheConsumer(readerThread: Bool) throws {
        let pipe = try FollowedInputTests.OpenPipe(FollowedInputTests.classicFile(records: 3))
        let stop = LiveStopRequest()
        // A guard against a test that would hang: the input ends after 20 s at the latest.
        let guardThread = Thread {
            let deadline = Date().addingTimeInterval(20)
            while !stop.isRequested, Date() < deadline { usleep(10_000) }
            stop.request()
        }
        guardThread.start()
        defer { stop.request() }
        var configuration = ReadAheadConfiguration.default
        configuration.readerThread = readerThread
        let source = ReadAheadSource(try CaptureReader.open(path: pipe.path, stop: stop), configuration: configuration)
        let waits = Atomic<Int>(0)
        source.setWaitHandler { waits.add(1, ordering: .relaxed) }
        var times: [Int64] = []
        for _ in 0..<3 {
            let record = try #require(try source.next())
            times.append(record.timestamp.nanoseconds)
        }
        #expect(times == [0, 1, 2].map { Int64(1_700_000_000 + $0) * 1_000_000_000 })
        #expect(!stop.isRequested, "the three records came before the guard's stop")
        // The writer is quiet: the consumer waits, and the handler is called meanwhile.
        let asker = Thread {
            let deadline = Date().addingTimeInterval(10)
            while waits.load(ordering: .relaxed) < 3, Date() < deadline { usleep(5_000) }
            pipe.closeWriteEnd()
        }
        asker.start()
        #expect(try source.next() == nil)
        #expect(waits.load(ordering: .relaxed) >= 3)
        #expect(source.statistics.first?.endedBy == nil, "the writer ended the input")
    }

    /// A pcapng stream (read by the own reader, which holds the statistics through each read): a handler that
    /// asks for them while the read waits gets those before it, and the read goes on.
    @Test(arguments: [true, false]) func aPcapNGStreamsStatisticsCanBeReadWhileItWaits(readerThread: Bool) throws {
        var file = PcapNGBuilder()
        file.section()
        file.interface(linkType: 1)
        file.enhancedPacket(interface: 0, ticks: 1_000_000, data: FollowedInputTests.frame)
        file.enhancedPacket(interface: 0, ticks: 2_000_000, data: FollowedInputTests.frame)
        let pipe = try FollowedInputTests.OpenPipe(file.data)
        let stop = LiveStopRequest()
        defer { stop.request() }
        var configuration = ReadAheadConfiguration.default
        configuration.readerThread = readerThread
        let source = ReadAheadSource(try CaptureReader.open(path: pipe.path, stop: stop), configuration: configuration)
        let seen = Mutex<[Int]>([])
        source.setWaitHandler { [unowned source] in
            let packets = source.statistics.first?.packets ?? -1
            seen.withLock { $0.append(packets) }
        }
        #expect(try source.next() != nil)
        #expect(try source.next() != nil)
        let asker = Thread {
            let deadline = Date().addingTimeInterval(10)
            while seen.withLock({ $0.count }) < 2, Date() < deadline { usleep(5_000) }
            pipe.closeWriteEnd()
        }
        asker.start()
        #expect(try source.next() == nil)
        #expect(seen.withLock { $0.last } == 2)
        #expect(source.statistics.first?.reader == .own)
    }
}
