import Foundation
import Testing
import TestSupport

@testable import CLI

/// A report that replaces its file whole (`--every`, and the final report after it): a failed write says the
/// file still holds the report written before only when this run wrote one there and it is still there.
@Suite struct ReportReplaceTests {
    @Test func aFailedWriteNamesTheReportBeforeOnlyWhenThisRunWroteOne() throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/now.json"
        // A file of the user's own, never written by this run: no report before it is claimed.
        try Data("notes".utf8).write(to: URL(fileURLWithPath: path))
        #expect(ReportWriter.keptNote(path) == "")
        try ReportWriter.replace(command: "analyze", path: path) { try $0(Array("{}".utf8)) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "{}")
        #expect(ReportWriter.keptNote(path) == "; it still holds the report written before")
        // Gone (or replaced by something else than a regular file): nothing is claimed.
        try FileManager.default.removeItem(atPath: path)
        #expect(ReportWriter.keptNote(path) == "")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        #expect(ReportWriter.keptNote(path) == "")
    }
}
