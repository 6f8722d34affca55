@testable import CLI
import Core
import Foundation
import Testing
import TestSupport

/// Runs `sepbeat analyze` on every recording in `Captures/heartbeat`, through the command's own
/// entry point with captured output, and checks the result two ways:
///
/// 1. against the expected reports committed in `Captures/expected/<name>.analyze.json` and
///    `.analyze.txt` (set `SEPBEAT_UPDATE_GOLDEN=1` to rewrite them after a deliberate change);
/// 2. independently, against the generator's ground truth `<name>.truth.json`: clients, check-in
///    count and start times (within 1 s), transport, mode, steps, connect attempts, the finding codes
///    each injected fault must produce (and no others), sizes, and the exit status.
@Suite struct EndToEndTests {
    /// One analyze run: a capture, extra options, and the name of its expected reports.
    struct Case: CustomTestStringConvertible, Sendable {
        var capture: String
        var options: [String] = []
        var golden: String

        var testDescription: String { golden }
    }

    static let heartbeatFolder = Fixtures.captures + "/heartbeat"
    static let expectedFolder = Fixtures.captures + "/expected"

    /// Every `.pcap` in `Captures/heartbeat`, plus the failover capture read with its SyLink.xml.
    static var cases: [Case] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: heartbeatFolder)) ?? []
        var out = names.filter { $0.hasSuffix(".pcap") }.sorted().map { file in
            Case(capture: String(file.dropLast(5)), golden: String(file.dropLast(5)))
        }
        out.append(Case(capture: "failover", options: ["--sylink", heartbeatFolder + "/failover.sylink.xml"],
                        golden: "failover.sylink"))
        return out
    }

    struct Run {
        var status: Int32
        var text: String
        var json: String
    }

    /// Runs analyze twice (text, then JSON); paths under the package root are made relative so the
    /// reports do not depend on where the repository is checked out.
    static func analyze(_ c: Case) -> (text: Run, json: Run, stderr: String) {
        let path = heartbeatFolder + "/\(c.capture).pcap"
        func run(_ extra: [String]) -> (Int32, String, String) {
            var output = Output(capture: true)
            let status = SepbeatCommand.run(arguments: ["analyze"] + c.options + extra + [path], output: &output)
            let root = Fixtures.packageRoot + "/"
            return (status, output.standardOutput.replacingOccurrences(of: root, with: ""),
                    output.standardError)
        }
        let (textStatus, text, textErr) = run([])
        let (jsonStatus, json, jsonErr) = run(["--format", "json"])
        return (Run(status: textStatus, text: text, json: ""), Run(status: jsonStatus, text: "", json: json),
                textErr + jsonErr)
    }

    // MARK: - Expected reports

    @Test(arguments: cases)
    func reportMatchesTheExpectedReport(_ c: Case) throws {
        let (text, json, stderr) = Self.analyze(c)
        #expect(stderr.isEmpty, "stderr: \(stderr)")
        #expect(text.status == json.status)
        try compareGolden(text.text, file: "\(c.golden).analyze.txt")
        try compareGolden(json.json, file: "\(c.golden).analyze.json")
    }

    private func compareGolden(_ actual: String, file: String) throws {
        let path = Self.expectedFolder + "/" + file
        if ProcessInfo.processInfo.environment["SEPBEAT_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(atPath: Self.expectedFolder, withIntermediateDirectories: true)
            try Data(actual.utf8).write(to: URL(fileURLWithPath: path))
            return
        }
        let expected = try String(contentsOfFile: path, encoding: .utf8)
        guard expected != actual else { return }
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let line = zip(a, e).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, e.count)
        let got = line < a.count ? String(a[line]) : "<end>"
        let want = line < e.count ? String(e[line]) : "<end>"
        let message = "\(file) differs at line \(line + 1):\n  expected: \(want)\n  actual:   \(got)\n"
            + "(SEPBEAT_UPDATE_GOLDEN=1 swift test --filter EndToEndTests rewrites it after a deliberate change)"
        Issue.record(Comment(rawValue: message))
    }

    @Test func everyCaptureHasTruthAndExpectedReports() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.heartbeatFolder)
        let captures = names.filter { $0.hasSuffix(".pcap") }.map { String($0.dropLast(5)) }
        #expect(captures.count == 9)
        for name in captures {
            #expect(names.contains("\(name).truth.json"), "\(name) has no truth file")
        }
        // While the expected reports are being rewritten (in parallel) the folder is in flux.
        guard ProcessInfo.processInfo.environment["SEPBEAT_UPDATE_GOLDEN"] != "1" else { return }
        // Reports of the other commands live in the `cli` subfolder (GoldenReportTests).
        let expected = Set(try FileManager.default.contentsOfDirectory(atPath: Self.expectedFolder)
            .filter { $0.contains(".analyze.") })
        let wanted = Set(Self.cases.flatMap { ["\($0.golden).analyze.json", "\($0.golden).analyze.txt"] })
        #expect(expected == wanted, "stale or missing expected reports: \(expected.symmetricDifference(wanted))")
    }

    // MARK: - Against the ground truth

    /// Finding codes whose default severity is `error` (docs/findings.md).
    static let errorCodes: Set<String> = ["missed-heartbeat", "connect-failed", "connect-timeout", "tls-below-1.2",
                                          "http-error"]

    @Test(arguments: cases)
    func reportAgreesWithTheGroundTruth(_ c: Case) throws {
        let truth = try CaptureTruth.load(path: Self.heartbeatFolder + "/\(c.capture).truth.json")
        let (_, json, _) = Self.analyze(c)
        let report = try ReportView.decode(json.json)

        // Verdict and exit status.
        let required = truth.requiredCodes
        let shouldFail = !required.isDisjoint(with: Self.errorCodes)
        #expect(report.summary.verdict == (shouldFail ? "fail" : "pass"))
        #expect(json.status == (shouldFail ? 1 : 0))
        #expect((report.summary.errors > 0) == shouldFail)

        // Clients, and one session per truth check-in.
        #expect(Set(report.clients.map(\.client)) == Set(truth.clients.map(\.address)))
        #expect(report.sessions.count == truth.checkins.count)
        var unmatched = report.sessions
        for t in truth.checkins {
            let start = Timestamp(epoch: t.startEpoch)
            let index = unmatched.firstIndex { s in
                guard s.client == t.client, let begin = s.startTime else { return false }
                return abs(begin.seconds(since: start)) <= 1
            }
            guard let index else {
                Issue.record("check-in \(t.seq) of \(t.client) at \(start.rfc3339()) has no session")
                continue
            }
            let s = unmatched.remove(at: index)
            check(s, against: t, truth: truth, report: report)
        }

        // Findings: every code the faults call for, and nothing else.
        let codes = Set(report.findings.map(\.code))
        #expect(required.isSubset(of: codes), "missing findings: \(required.subtracting(codes))")
        let unexpected = report.findings.filter { !required.contains($0.code) }
        #expect(codes.isSubset(of: required), "unexpected findings: \(unexpected)")
        for f in truth.faults where f.kind == "missed-checkin" {
            #expect(report.clients.first { $0.client == f.client }?.missed == 1)
        }
        for client in truth.clients {
            let accelerated = truth.checkins.filter { $0.client == client.address && $0.accelerated == true }.count
            #expect(report.clients.first { $0.client == client.address }?.accelerated == accelerated)
        }
    }

    private func check(
        _ s: ReportView.Session, against t: CaptureTruth.CheckIn, truth: CaptureTruth, report: ReportView
    ) {
        let label = "check-in \(t.seq) (\(t.client))"
        #expect(s.transport == truth.transport, "\(label)")
        #expect(s.mode == t.mode, "\(label)")
        #expect(s.server == t.manager && s.serverPort == t.port, "\(label)")
        #expect(s.steps.map(\.step) == t.steps.compactMap { CaptureTruth.stepNumbers[$0] }, "\(label)")

        // Failed connects before the one that succeeded, with their findings.
        let failed = t.connectionAttempts.filter { $0.result != "connected" }
        #expect(s.attempts.map { "\($0.server):\($0.serverPort) \($0.outcome)" }
            == failed.map { "\($0.manager):\($0.port) \($0.result == "refused" ? "refused" : "unanswered")" },
            "\(label)")
        let codes = Set(s.findings.map(\.code))
        for a in failed {
            let code = a.result == "refused" ? "connect-failed" : "connect-timeout"
            #expect(s.findings.contains { $0.code == code && $0.server == "\(a.manager):\(a.port)" }, "\(label)")
        }
        if let a = failed.last, a.manager != t.manager {
            #expect(s.findings.contains { $0.code == "failover" && $0.message.contains(a.manager)
                && $0.message.contains(t.manager) }, "\(label)")
        }
        for f in truth.faults where f.kind == "http-status" && f.checkins?.contains(t.seq) == true {
            #expect(s.findings.contains { $0.code == "http-error" && $0.message.contains("\(f.status ?? 0)") },
                    "\(label)")
        }
        if t.lateBy != nil { #expect(codes.contains("interval-late"), "\(label)") }

        // Uploads are told apart by order only (docs/heartbeat-model.md): the first upload is step 5,
        // so it carries at least the first log-upload request; the URL list reply is step 4.
        if let logs = t.requests.first(where: { $0.step == "log-upload" && $0.status == 200 }) {
            #expect((s.steps.first { $0.step == 5 }?.bytesUp ?? 0) >= logs.requestBytes, "\(label)")
        }
        if let urls = t.requests.first(where: { $0.step == "download-urls" && $0.status == 200 }) {
            #expect((s.steps.first { $0.step == 4 }?.bytesDown ?? 0) >= urls.replyBodyBytes, "\(label)")
        }

        // Sizes: the requests and reply bodies the generator sent, plus header and record overhead.
        let sent = t.requests.reduce(0) { $0 + $1.requestBytes + $1.replyBodyBytes }
        if t.outcome == "ok" {
            #expect(s.contentBytes >= sent && s.contentBytes <= sent + 512 * t.requests.count,
                    "\(label): steps 3-6 carried \(s.contentBytes) bytes, the generator sent \(sent)")
        }
    }
}
