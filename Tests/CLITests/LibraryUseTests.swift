import Analysis
import Core
import Foundation
import Heartbeat
import Records
import Reports
import Testing
import TestSupport
import ZeekLogs

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

    /// The Zeek example of docs/library.md, as written there.
    func zeekReport(folder: String, format: ReportFormat) throws -> String {
        let model = ReferenceModel.builtIn
        var builder = SessionBuilder(model: model)
        let logs = try ZeekConnections(try ZeekConnections.Paths(directory: folder))
        let read = try logs.run { builder.ingest($0) }
        var input = CaptureSummary(path: folder)
        input.format = "zeek"
        (input.first, input.last) = (read.first, read.last)
        (input.timelineStart, input.timelineEnd) = (read.clockFirst ?? read.first, read.clockLast ?? read.last)
        input.offClock = read.offClock
        input.logs = read.logs
        builder.noteCaptures([input])
        let report = builder.finish()
        return try ReportBundle(kind: .analyze, heartbeat: report, captures: [input], model: model).render(format)
    }

    @Test func theZeekExampleGivesTheCommandsReport() throws {
        let folder = try TemporaryFolder()
        let logs = ZeekLogsCLITests.fleet(folder)
        for format in [ReportFormat.json, .text] {
            let command = CLIRun(["analyze", "-q", "-F", format.rawValue, "--color", "never", "--zeek", logs])
            #expect(try zeekReport(folder: logs, format: format) == command.stdout)
        }
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

    /// `validate` and `--fail-on` through the library: `ReportBundle.command` gives the command's report and
    /// `failed` its exit status, with and without SyLink.xml, at either severity.
    @Test(arguments: [ReportKind.analyze, .audit, .validate])
    func theCommandsBundleGivesItsReportAndStatus(kind: ReportKind) throws {
        let model = ReferenceModel.builtIn
        let path = heartbeatCapture("fleet")
        let sylinkPath = Fixtures.exampleSyLink
        let sylink = try SyLinkFile.load(path: sylinkPath)
        for (file, failOn) in [(nil, Severity.error), (sylink, .warning)] {
            let run = CaptureRun(paths: [path])
            var builder = SessionBuilder(model: model, sylink: file)
            let files = try run.run(try run.open()) { builder.ingest($0.record) }
            builder.noteCaptures(files)
            let bundle = ReportBundle.command(kind, heartbeat: builder.finish(), captures: files, model: model,
                                              sylink: file, failOn: failOn)
            let options = ["-q", "-F", "json", "--jobs", "1", "--fail-on", failOn.rawValue]
                + (file == nil ? [] : ["--sylink", sylinkPath])
            let command = CLIRun([kind.rawValue] + options + [path])
            #expect(try bundle.render(.json) == command.stdout)
            #expect(bundle.failed(failOn: failOn) == (command.status == 1), "\(command.stderr)")
        }
    }

    /// `failed(failOn:)` judges at the severity asked, also for `validate`, and a bundle made without
    /// `ReportBundle.command` (no checks made yet) is judged by the checks the command would make: a client that
    /// went silent fails a warning check only.
    @Test func validatesFailedFollowsTheSeverityAsked() throws {
        let folder = try TemporaryFolder()
        let path = try folder.simulatedCapture("silent.pcap", ["--clients", "6", "--duration", "1h", "--fault",
                                                               "silent=1", "--http-share", "0", "--seed", "2"])
        let model = ReferenceModel.builtIn
        let (files, connections) = try CaptureRun(paths: [path]).connections()
        var builder = SessionBuilder(model: model)
        for c in connections { builder.ingest(c.record) }
        builder.noteCaptures(files)
        let report = builder.finish()
        for failOn in [Severity.error, .warning] {
            let status = CLIRun(["validate", "-q", "--fail-on", failOn.rawValue, path]).status
            let plain = ReportBundle(kind: .validate, heartbeat: report, captures: files, model: model)
            #expect(plain.failed(failOn: failOn) == (status == 1), "\(failOn)")
            for madeWith in [Severity.error, .warning] {
                let bundle = ReportBundle.command(.validate, heartbeat: report, captures: files, model: model,
                                                  failOn: madeWith)
                #expect(bundle.failed(failOn: failOn) == (status == 1), "made with \(madeWith), asked \(failOn)")
            }
        }
        #expect(CLIRun(["validate", "-q", path]).status == 0)
        #expect(CLIRun(["validate", "-q", "--fail-on", "warning", path]).status == 1)
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

    /// A plain-HTTP check-in of one connection, as a reader of logs makes it: no packets behind it.
    static func checkIn(id: UInt64, at seconds: Int64, up: Int64 = 133, down: Int64 = 4_000) -> ConnectionRecord {
        let start = Timestamp(seconds: 1_705_305_600 + seconds, nanoseconds: 0)
        let end = start.adding(seconds: 0.02)
        var r = ConnectionRecord(id: id, client: Endpoint(address: IPAddress(ipv4: 0x0A14_0001), port: 50_000),
                                 server: Endpoint(address: IPAddress(ipv4: 0x0A01_000A), port: 8014),
                                 start: start, end: end)
        r.state = [.syn, .synAck, .finFromClient, .finFromServer]
        r.handshake = .established
        r.application = .http
        r.synTime = start
        r.synCount = 1
        r.bytesUp = up
        r.bytesDown = down
        var e = Exchange(index: 0, kind: .http, start: start.adding(seconds: 0.001), end: end)
        var h = HTTPTransaction(method: "GET", target: "/secars/secars.dll?h=00", version: "HTTP/1.1")
        h.status = 200
        e.http = h
        e.bytesUp = up
        e.bytesDown = down
        r.exchanges = [e]
        return r
    }

    /// Byte counts a hand-made record may carry (a log reader holding a 64-bit count at `Int64.max`, or a
    /// negative one), sent or lost in gaps, are summed without overflow: the check-in's, the gaps' and the
    /// charts' sums trapped, ending the program that embeds sepbeat.
    @Test func extremeByteCountsOfRecordsMadeByHandDoNotTrap() throws {
        let model = ReferenceModel.builtIn
        for extreme in [Int64.max, Int64.min] {
            var builder = SessionBuilder(model: model)
            for k in 0..<4 { builder.ingest(Self.checkIn(id: UInt64(k + 1), at: Int64(k) * 300)) }
            for (id, at) in [(UInt64(5), Int64(1_250)), (6, 1_260)] {
                var r = Self.checkIn(id: id, at: at, up: extreme, down: extreme)
                // Bytes lost in gaps, as a record of the stream's holes says them.
                var lost = StreamAnomalies()
                lost.gaps = 1
                lost.gapBytes = extreme
                r.setAnomalies(up: lost, down: lost)
                r.exchanges[0].missingBytes = extreme
                builder.ingest(r)
            }
            let report = builder.finish()
            #expect(report.sessions.contains { $0.bytesUp == extreme })
            for kind in [ReportKind.analyze, .audit] {
                let bundle = ReportBundle(kind: kind, heartbeat: report, captures: [CaptureSummary(path: "logs")],
                                          model: model)
                for format in ReportFormat.allCases { #expect(try !bundle.render(format).isEmpty) }
            }
        }
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
