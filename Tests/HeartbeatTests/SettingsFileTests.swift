import Foundation
import Testing

@testable import Heartbeat

/// Model and SyLink files are read whole, within a size limit, from a file or a stream.
@Suite struct SettingsFileTests {
    /// A path naming the read end of a pipe holding `bytes` (as `<(command)` gives one).
    static func pipePath(holding bytes: [UInt8]) -> (String, Pipe) {
        let pipe = Pipe()
        DispatchQueue.global().async {
            pipe.fileHandleForWriting.write(Data(bytes))
            try? pipe.fileHandleForWriting.close()
        }
        return ("/dev/fd/\(pipe.fileHandleForReading.fileDescriptor)", pipe)
    }

    @Test func aPipeIsReadWhole() throws {
        let text = Array(#"{"interval": {"seconds": 600}}"#.utf8)
        let (path, pipe) = Self.pipePath(holding: text)
        let model = try ReferenceModel.load(path: path)
        #expect(model.interval.seconds == 600)
        _ = pipe
    }

    /// A file whose size stat gives as 0 though it holds bytes (Linux's /proc) is read to its end: a model or
    /// SyLink.xml file there is judged by what it holds, not taken for an empty one.
    @Test func aFileOfSizeZeroThatHoldsBytesIsReadWhole() throws {
        let path = "/proc/self/status"
        var info = stat()
        guard stat(path, &info) == 0, info.st_size == 0 else { return }  // not Linux, or not such a file
        let bytes = try SettingsFile.read(path: path, limit: 1 << 20).get()
        #expect(bytes.starts(with: Data("Name:".utf8)))
        #expect(bytes.count > 100)
    }

    @Test func aPipeOverTheLimitIsRefused() {
        let (path, pipe) = Self.pipePath(holding: [UInt8](repeating: 0x20, count: 2_000))
        #expect(SettingsFile.read(path: path, limit: 1_000) == .failure(.tooLarge(nil)))
        _ = pipe
    }

    @Test func missingAndDirectoryGetTheirOwnWords() {
        #expect(SettingsFile.read(path: "/nonexistent/m.json", limit: 10) == .failure(.missing))
        #expect(SettingsFile.read(path: "/tmp", limit: 10) == .failure(.directory))
        let problem = SettingsFile.Problem.directory.text(limit: 10, limitText: "10 B", what: "model files")
        #expect(problem == "is a directory, not a file")
    }
}
