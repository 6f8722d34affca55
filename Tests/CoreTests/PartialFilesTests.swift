import Foundation
import Testing
@testable import Core

/// `PartialFiles` lets go of each file it was given, slot and path, so that a run writing a file every second
/// (`--every 1`) neither fills the table nor keeps a path for each file. `removeAll()` is not called here: it
/// would remove the files other tests of this process are writing.
@Suite struct PartialFilesTests {
    @Test func aFileLetGoOfFreesItsSlotForTheNext() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("partial-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("report.json").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        defer { close(fd) }
        let identity = try #require(RegularFileIdentity(fd))
        // Three times the table's size, each let go of before the next: every one gets a slot.
        var registered = 0
        for _ in 0..<(3 * PartialFiles.capacity) {
            let token = PartialFiles.register(path: path, identity: identity)
            if token != nil { registered += 1 }
            PartialFiles.unregister(token)
        }
        #expect(registered == 3 * PartialFiles.capacity)
        #expect(FileManager.default.fileExists(atPath: path), "letting go of a file leaves it where it is")
    }
}
