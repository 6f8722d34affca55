import Foundation
import Testing
import TestSupport

/// Many suites read the shared corpus; when it is missing they fail on counts. This one says why.
@Suite struct CorpusPresenceTests {
    @Test func sharedCorpusIsWhereTheTestsLookForIt() {
        var isFolder: ObjCBool = false
        let found = FileManager.default.fileExists(atPath: Fixtures.corpus, isDirectory: &isFolder)
            && isFolder.boolValue
        #expect(found, """
            the shared capture corpus was not found at \(Fixtures.corpus): place the shared folder beside the \
            repository (../shared/corpus) or set SEPBEAT_CORPUS to its path; suites that read it fail on counts \
            without it
            """)
        let readme = (try? String(contentsOfFile: Fixtures.corpus + "/README.md", encoding: .utf8)) ?? ""
        #expect(!found || !readme.isEmpty, "\(Fixtures.corpus) has no README.md: is it the shared corpus?")
    }
}
