import Core
import Testing
import TestSupport
@testable import Capture

#if canImport(Glibc)
import Glibc
#endif

/// FIFOs, pipes and standard input are read in one open: the magic is sniffed from the same
/// descriptor the reader then reads, so nothing hangs when the writer has gone.
@Suite(.serialized) struct StreamInputTests {
    static let frame: [UInt8] = Array(repeating: 0xCD, count: 60)

    static func classicFile(records: Int) -> [UInt8] {
        var file = PcapBuilder()
        for i in 0..<records {
            file.record(seconds: 1_700_000_000 + UInt32(i), fraction: 0, data: Self.frame)
        }
        return file.bytes.bytes
    }

    /// Writes `bytes` to `fd` on another thread, then closes it.
    final class Writer: @unchecked Sendable {
        let bytes: [UInt8]
        let path: String?
        let fd: Int32
        /// Bytes written before the writer pauses for 100 ms (to let the reader find the stream empty).
        let pauseAfter: Int?
        var thread = pthread_t()

        init(bytes: [UInt8], path: String? = nil, fd: Int32 = -1, pauseAfter: Int? = nil) {
            self.bytes = bytes
            self.path = path
            self.fd = fd
            self.pauseAfter = pauseAfter
            let context = Unmanaged.passRetained(self).toOpaque()
            pthread_create(&thread, nil, { raw in
                guard let raw else { return nil }
                let writer = Unmanaged<Writer>.fromOpaque(raw).takeRetainedValue()
                writer.run()
                return nil
            }, context)
        }

        func run() {
            // A FIFO's open waits here for the reader.
            let out = path.map { open($0, O_WRONLY) } ?? fd
            guard out >= 0 else { return }
            var done = 0
            bytes.withUnsafeBytes { raw in
                while done < raw.count, let base = raw.baseAddress {
                    // Small writes, so the reader sees the stream arrive in pieces.
                    let n = write(out, base + done, min(7, raw.count - done))
                    if n <= 0 { break }
                    if let pause = pauseAfter, done < pause, done + n >= pause { usleep(100_000) }
                    done += n
                }
            }
            close(out)
        }

        func join() { pthread_join(thread, nil) }
    }

    @Test func fifoIsReadInOneOpenAndEndsWhenTheWriterCloses() throws {
        let folder = TemporaryDirectory()
        let fifo = folder.reserve("capture.fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        let writer = Writer(bytes: Self.classicFile(records: 3), path: fifo)
        let back = try ReadBack(path: fifo)
        writer.join()
        #expect(back.records.count == 3)
        #expect(back.records.map(\.bytes) == Array(repeating: Self.frame, count: 3))
        #expect(back.first?.reader == .libpcap)
        #expect(back.warnings.isEmpty)
    }

    @Test func pcapngThroughAFifoGoesToTheOwnReader() throws {
        var file = PcapNGBuilder()
        file.section()
        file.interface(linkType: 1)
        file.interface(linkType: 101)  // a second link type: libpcap would refuse part way
        file.enhancedPacket(interface: 0, ticks: 1_000_000, data: Self.frame)
        file.enhancedPacket(interface: 1, ticks: 2_000_000, data: [0x45])
        let folder = TemporaryDirectory()
        let fifo = folder.reserve("capture-ng.fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        let writer = Writer(bytes: file.data, path: fifo)
        let back = try ReadBack(path: fifo)
        writer.join()
        #expect(back.records.map(\.linkType) == [1, 101])
        #expect(back.times == [1_000_000_000, 2_000_000_000])
        #expect(back.first?.reader == .own)
    }

    /// Runs `body` with standard input replaced by a pipe that a thread fills with `bytes` (pausing
    /// after `pauseAfter` bytes, if given); `nonBlocking` sets O_NONBLOCK on the pipe's reading end.
    static func withStandardInput<T>(_ bytes: [UInt8], pauseAfter: Int? = nil, nonBlocking: Bool = false,
                                     _ body: () throws -> T) rethrows -> T {
        var ends: [Int32] = [0, 0]
        precondition(pipe(&ends) == 0)
        if nonBlocking { _ = fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK) }
        let saved = dup(0)
        dup2(ends[0], 0)
        close(ends[0])
        let writer = Writer(bytes: bytes, fd: ends[1], pauseAfter: pauseAfter)
        defer {
            writer.join()
            dup2(saved, 0)
            close(saved)
        }
        return try body()
    }

    @Test func dashReadsStandardInput() throws {
        let back = try Self.withStandardInput(Self.classicFile(records: 5)) { try ReadBack(path: "-") }
        #expect(back.records.count == 5)
        #expect(back.first?.path == "-")
        // Offsets still come out of a stream: none is needed here, and none is wrong.
        #expect(back.warnings.isEmpty)
    }

    /// A standard input left in non-blocking mode is read to its end, not up to the first moment the
    /// writer is slower than the reader ("try again" taken for the end of the stream).
    @Test func nonBlockingStandardInputIsReadToItsEnd() throws {
        let whole = Self.classicFile(records: 20)
        let back = try Self.withStandardInput(whole, pauseAfter: 24 + 5 * 76, nonBlocking: true) {
            try ReadBack(path: "-")
        }
        #expect(back.records.count == 20)
        #expect(back.warnings.isEmpty)
    }

    /// A regular file given as standard input, from its start or after its first bytes were read
    /// elsewhere: positions are counted from the stream's start, so records exactly the snaplen are
    /// not taken for cut ones, and one longer than the snaplen is reported at its offset.
    @Test(arguments: [0, 100])
    func standardInputFromAFileReportsCutsAtTheirOffsets(skipped: Int) throws {
        var capture = PcapBuilder(snapLength: 60)
        for i in 0..<4 { capture.record(seconds: 1_700_000_000 + UInt32(i), fraction: 0, data: Self.frame) }
        let exact = capture.data
        capture.record(seconds: 1_700_000_010, fraction: 0, data: Array(repeating: 0xEE, count: 80))
        let folder = TemporaryDirectory()
        for (bytes, cut) in [(exact, false), (capture.data, true)] {
            let path = folder.write("offset-\(cut).bin", Array(repeating: 0x4A, count: skipped) + bytes)
            let fd = open(path, O_RDONLY)
            #expect(fd >= 0)
            #expect(lseek(fd, off_t(skipped), SEEK_SET) == off_t(skipped))
            let saved = dup(0)
            dup2(fd, 0)
            close(fd)
            defer {
                dup2(saved, 0)
                close(saved)
            }
            let back = try ReadBack(path: "-")
            #expect(back.records.count == (cut ? 5 : 4))
            #expect(back.first?.oversizedRecords == (cut ? 1 : 0))
            // 24-byte header and four records of 16 + 60 bytes before the long one.
            #expect(back.warnings.map(\.code) == (cut ? [.cutToSnapLength] : []))
            #expect(back.warnings.first?.byteOffset == (cut ? 24 + 4 * 76 : nil))
        }
    }

    @Test func truncatedStreamIsAWarningWithItsOffset() throws {
        let whole = Self.classicFile(records: 2)
        let back = try Self.withStandardInput(Array(whole.dropLast(10))) { try ReadBack(path: "-") }
        #expect(back.records.count == 1)
        // 24-byte header, one 16 + 60 byte record: the second record starts at 100.
        #expect(back.warnings.map(\.code) == [.truncated])
        #expect(back.warnings.first?.byteOffset == 100)
    }

    @Test func shortAndForeignStreamsGetClearErrors() {
        let tooShort = Self.withStandardInput([0xD4, 0xC3]) { openingError("-") }
        #expect(tooShort?.message == "-: too short for a capture header (2 bytes, need at least 24)")
        let empty = Self.withStandardInput([]) { openingError("-") }
        #expect(empty?.message == "-: empty file (0 bytes)")
        let zero = openingError("/dev/zero")
        #expect(zero?.message == "/dev/zero: not a pcap or pcapng file (starts with 0x00000000)")
        #expect(zero?.exitStatus == 3)
    }
}
