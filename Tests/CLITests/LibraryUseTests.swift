import Analysis
import Foundation
import Heartbeat
import Reports
import Testing
import TestSupport

/// What docs/library.md shows a package that uses `SepbeatKit`: its example, run here, gives the report of
/// `sepbeat analyze` for the same files.
@Suite struct LibraryUseTests {
    /// The example of docs/library.md, as written there.
    func analyzeReport(paths: [String], format: ReportFormat) throws -> String {
        let model = ReferenceModel.builtIn
        var builder = SessionBuilder(model: model)
        let run = CaptureRun(paths: paths)
        let files = try run.run(try run.open()) { connection in builder.ingest(connection.record) }
        builder.noteCaptures(files)
        let report = builder.finish()
        return try ReportBundle(kind: .analyze, heartbeat: report, captures: files, model: model).render(format)
    }

    /// A fleet rotated into files with one of them missing: without the capture summaries noted, the builder
    /// judged the hour the capture did not cover as if it had run (every client missed check-ins there).
    @Test func theExampleGivesTheCommandsReportOfFilesWithOneMissing() throws {
        let folder = try TemporaryFolder()
        var parts = try RotatedFilesTests.rotated(Fixtures.captures + "/heartbeat/fleet.pcap", perFile: 200,
                                                  into: folder)
        try #require(parts.count >= 5)
        parts.remove(at: parts.count / 2)
        for format in [ReportFormat.json, .text] {
            let command = CLIRun(["analyze", "-q", "-F", format.rawValue, "--color", "never", "--jobs", "1"] + parts)
            #expect(try analyzeReport(paths: parts, format: format) == command.stdout)
        }
    }

    /// A capture cut short inside a record: the `capture-truncated` finding comes from its summary alone.
    @Test func theExampleNamesACutFile() throws {
        let folder = try TemporaryFolder()
        let whole = try Data(contentsOf: URL(fileURLWithPath: heartbeatCapture("https-idle")))
        let cut = folder.path + "/cut.pcap"
        try whole.prefix(whole.count - 7).write(to: URL(fileURLWithPath: cut))
        let text = try analyzeReport(paths: [cut], format: .json)
        #expect(text.contains("\"capture-truncated\""))
        #expect(text == CLIRun(["analyze", "-q", "-F", "json", cut]).stdout)
    }

    /// A bundle's audit follows its report: one made for a fleet, then given an empty report, audited the fleet.
    @Test func aBundlesAuditFollowsAReportSetLater() throws {
        let model = ReferenceModel.builtIn
        let (files, connections) = try CaptureRun(paths: [heartbeatCapture("fleet")]).connections()
        var builder = SessionBuilder(model: model)
        for c in connections { builder.ingest(c.record) }
        var bundle = ReportBundle(kind: .audit, heartbeat: builder.finish(), captures: files, model: model)
        try #require(bundle.audit.summary.clients > 0)
        var none = SessionBuilder(model: model)
        bundle.heartbeat = none.finish()
        #expect(bundle.audit.summary.clients == 0)
    }

    /// The example's lines are the ones docs/library.md shows, so the page cannot drift from what is tested.
    @Test func theDocumentShowsTheTestedExample() throws {
        let page = try String(contentsOfFile: Fixtures.packageRoot + "/docs/library.md", encoding: .utf8)
        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        let start = try #require(page.range(of: "func analyzeReport("))
        let end = try #require(page.range(of: "\n}\n", range: start.upperBound..<page.endIndex))
        for line in page[start.lowerBound..<end.lowerBound].split(separator: "\n") {
            #expect(source.contains("    " + line), "docs/library.md: \(line)")
        }
    }
}
