import Testing
import TestSupport
@testable import Capture

#if canImport(Glibc)
import Glibc
#endif

/// Capture files are read through stdio buffers of a chosen size: glibc keeps a 4 KiB buffer when
/// `setvbuf` is given a size without a buffer, which made one `read` system call every few packets.
@Suite struct StdioBufferTests {
    /// Bytes in the stdio buffer `file` reads into (glibc's public `_IO_FILE` fields).
    static func bufferSize(_ file: UnsafeMutablePointer<FILE>) -> Int {
        guard let base = file.pointee._IO_buf_base, let end = file.pointee._IO_buf_end else { return 0 }
        return end - base
    }

    @Test func aStreamGetsABufferOfTheSizeAsked() throws {
        let folder = TemporaryDirectory()
        let path = folder.write("bytes.bin", Array(repeating: 7, count: 3 * 4096))
        let file = try #require(fopen(path, "rb"))
        let buffer = try #require(StdioBuffer(file, bytes: 1 << 20))
        var byte: UInt8 = 0
        #expect(fread(&byte, 1, 1, file) == 1)
        #expect(byte == 7)
        #expect(Self.bufferSize(file) == 1 << 20)
        fclose(file)
        buffer.release()
    }

    @Test func aStreamFromAPipeHandsBackTheSniffedBytesThroughTheLargerBuffer() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let payload: [UInt8] = (0..<200).map { UInt8($0) }
        _ = payload.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        let input = try #require(try? StreamInput.open("/dev/fd/\(fds[0])").get())
        close(fds[0])
        #expect(input.sniff(count: 24).bytes == Array(payload.prefix(24)))
        let (file, buffer, _) = try #require(input.makeFile(bufferBytes: 256 * 1024))
        #expect(buffer != nil)
        #expect(Self.bufferSize(file) == 256 * 1024)
        var back = [UInt8](repeating: 0, count: 300)
        let n = back.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        #expect(Array(back.prefix(n)) == payload)
        fclose(file)
        buffer?.release()
    }

    @Test func libpcapReadsAFileByPathThroughTheLargeBuffer() throws {
        var capture = PcapBuilder()
        for i in 0..<50 {
            capture.record(seconds: 1_700_000_000 + UInt32(i), fraction: 0, data: Array(repeating: 0xAB, count: 60))
        }
        let folder = TemporaryDirectory()
        let path = folder.write("small.pcap", capture.bytes.bytes)
        let file = try LibpcapFile.open(path: path, bufferBytes: 1 << 20).get()
        var packets = 0
        while case .packet = file.next() { packets += 1 }
        #expect(packets == 50)
        #expect(file.streamBufferBytes == 1 << 20)
        // Without a size, libpcap opens the file itself, with the C library's buffer.
        let plain = try LibpcapFile.open(path: path, bufferBytes: nil).get()
        #expect(plain.streamBufferBytes < 1 << 20)
    }

    /// Every input is open (and its buffer filled) from the start of a run, so hundreds of inputs
    /// share 4 MiB of buffers rather than taking 1 MiB each.
    @Test func manyFilesShareTheBufferBudget() {
        #expect(CaptureReader.readBufferBytes(files: 1) == 1 << 20)
        #expect(CaptureReader.readBufferBytes(files: 4) == 1 << 20)
        #expect(CaptureReader.readBufferBytes(files: 16) == 256 << 10)
        #expect(CaptureReader.readBufferBytes(files: 64) == 64 << 10)
        #expect(CaptureReader.readBufferBytes(files: 65) == nil)
        #expect(CaptureReader.readBufferBytes(files: 0) == 1 << 20)
        for n in 1...2000 {
            #expect((CaptureReader.readBufferBytes(files: n) ?? 0) * n <= 4 << 20)
        }
    }
}
