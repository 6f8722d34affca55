import Foundation
import Testing

@testable import Simulation

#if canImport(Glibc)
import Glibc
#endif

/// A simulate run that fails part-way removes what it wrote, and only that.
@Suite struct OutputFileTests {
    @Test func discardRemovesTheRegularFileItWrote() throws {
        let dir = try TemporaryFolder()
        let file = try OutputFile(path: dir.file("a.pcap"))
        try [UInt8](repeating: 7, count: 100).withUnsafeBytes { try file.write($0) }
        #expect(file.discard())
        #expect(!FileManager.default.fileExists(atPath: dir.file("a.pcap")))
        #expect(!file.discard())  // a second call finds nothing of its own
    }

    @Test func discardLeavesAFilePutInItsPlace() throws {
        let dir = try TemporaryFolder()
        let file = try OutputFile(path: dir.file("a.pcap"))
        try FileManager.default.removeItem(atPath: dir.file("a.pcap"))
        #expect(FileManager.default.createFile(atPath: dir.file("a.pcap"), contents: Data("theirs".utf8)))
        #expect(!file.discard())
        #expect(try String(contentsOfFile: dir.file("a.pcap"), encoding: .utf8) == "theirs")
    }

    @Test func discardLeavesAFIFOAlone() throws {
        let dir = try TemporaryFolder()
        let fifo = dir.file("pipe")
        #expect(mkfifo(fifo, 0o600) == 0)
        // A reader, so that opening the FIFO for writing does not wait.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        defer { close(reader) }
        let file = try OutputFile(path: fifo)
        #expect(!file.discard())
        var info = stat()
        #expect(lstat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
    }

    @Test func discardLeavesTheTargetOfASymbolicLinkReplacedSince() throws {
        let dir = try TemporaryFolder()
        let target = dir.file("target.pcap")
        #expect(FileManager.default.createFile(atPath: target, contents: Data()))
        try FileManager.default.createSymbolicLink(atPath: dir.file("link.pcap"), withDestinationPath: target)
        let file = try OutputFile(path: dir.file("link.pcap"))  // written through the link
        // The path names a link, not the regular file written: nothing is removed.
        #expect(!file.discard())
        #expect(FileManager.default.fileExists(atPath: target))
    }
}
