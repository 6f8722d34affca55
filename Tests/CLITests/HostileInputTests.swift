import Analysis
import Core
import Foundation
import Heartbeat
import Records
import Reports
import Testing
import TestSupport

/// Regressions for hostile or careless input at the command line and in the text report.
@Suite struct HostileInputTests {
    private func temporaryFile(_ name: String, _ text: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sepbeat-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func syLink(_ settings: String) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <ServerSettings DomainId="D0"><CommConf><AgentCommunicationSetting CommunicationMode="PULL" \(settings)/>
        <ServerList Name="Default"><ServerPriorityBlock Name="Priority1"><Server Address="198.51.100.10"
        HttpPort="8014" HttpsPort="443"/></ServerPriorityBlock></ServerList></CommConf></ServerSettings>
        """
    }

    // MARK: - Intervals

    @Test(arguments: ["analyze", "audit", "validate"])
    func hugeSyLinkIntervalIsAUsageErrorNamingFileAndField(_ command: String) throws {
        let path = try temporaryFile("SyLink.xml", syLink(#"PullHeartbeatSeconds="99999999999""#))
        let run = sepbeat(command, "-q", "--sylink", path, heartbeatCapture("https-idle"))
        #expect(run.status == 2)
        #expect(run.stderr.contains(path) && run.stderr.contains("PullHeartbeatSeconds"))
        let push = try temporaryFile("SyLink.xml", syLink(#"PushHeartbeatSeconds="9223372036854775807""#))
        let pushRun = sepbeat(command, "-q", "--sylink", push, heartbeatCapture("https-idle"))
        #expect(pushRun.status == 2 && pushRun.stderr.contains("PushHeartbeatSeconds"))
    }

    @Test func hugeModelIntervalIsAUsageError() throws {
        let path = try temporaryFile("model.json", #"{"interval": {"seconds": 1e12}}"#)
        let run = sepbeat("analyze", "-q", "--model", path, heartbeatCapture("https-idle"))
        #expect(run.status == 2)
        #expect(run.stderr.contains("\"interval.seconds\""))
    }

    @Test func shortIntervalWorksAndShowsDerivedExpectations() {
        let run = sepbeat("analyze", "-q", "--interval", "60", heartbeatCapture("https-idle"))
        #expect(run.status != 2, "\(run.stderr)")
        // The push heartbeat keeps the model's own rules, so the line names them apart.
        #expect(run.stdout.contains("Expected interval 60 s (from option) ± 6 s, accelerated 0-12 s for at most 60 s; "
            + "push 300 s ± 30 s, accelerated 0-60 s for at most 300 s\n"))
        let edge = sepbeat("analyze", "-q", "--interval", "604800", heartbeatCapture("https-idle"))
        #expect(edge.status != 2)
    }

    @Test(arguments: ["0", "-5", "0x10", "1e3", "inf", "nan", "604801", "", "1.2.3"])
    func unusableIntervalTextIsRefused(_ text: String) {
        let run = sepbeat("analyze", "-q", "--interval", text, heartbeatCapture("https-idle"))
        #expect(run.status == 2)
        #expect(run.stderr.contains("--interval"))
    }

    // MARK: - Text report

    @Test func failedOnlyCheckInIsNotCountedAsACheckIn() {
        var f = FleetRecords()
        f.idle("10.0.0.1", at: 0)
        f.idle("10.0.0.1", at: 300)
        f.refused("10.0.0.2", at: 10)
        var model = ReferenceModel.builtIn
        model.servers = [.init(host: "198.51.100.1", port: 443)]
        var builder = SessionBuilder(model: model)
        for r in f.records { builder.ingest(r) }
        let report = builder.finish()
        let text = AnalyzeReport(heartbeat: report, captures: []).text()
        #expect(text.contains("Client 10.0.0.1: 2 check-ins,"))
        #expect(text.contains("Client 10.0.0.2: 0 check-ins, 1 failed (connect, TLS handshake or answer failed)"))
        #expect(text.contains("Verdict: fail (2 clients, 2 check-ins, 1 failed (connect, TLS handshake or answer failed))"))
        let json = (try? report.jsonData()).map { String(decoding: $0, as: UTF8.self) } ?? ""
        #expect(json.contains("\"checkIns\" : 2") && json.contains("\"failed\" : 1"))
    }

    @Test func textGroupsSessionsPerClientInStartOrder() {
        var f = FleetRecords()
        for k in 0..<3 {
            for c in 1...40 { f.idle("10.0.1.\(c)", at: Double(k) * 300 + Double(c)) }
        }
        var model = ReferenceModel.builtIn
        model.servers = [.init(host: "198.51.100.1", port: 443)]
        var builder = SessionBuilder(model: model)
        for r in f.records { builder.ingest(r) }
        let text = AnalyzeReport(heartbeat: builder.finish(), captures: []).text()
        let clientPart = text.components(separatedBy: "\nSteps of each check-in").first ?? ""
        let blocks = clientPart.components(separatedBy: "\nClient ").dropFirst()
        #expect(blocks.count == 40)
        for block in blocks {
            let client = String(block.prefix { $0 != ":" })
            let rows = block.split(separator: "\n").filter { $0.contains("198.51.100.1:443") }
            #expect(rows.count == 3, "\(client)")
        }
    }

    @Test func rejoinedConnectionsAreShownWhenPresent() throws {
        // The traffic layer's idle timeout (3600 s) now keeps push-mode.pcap in one piece, so the
        // count is set on a real report to check the rendering.
        let run = CaptureRun(paths: [heartbeatCapture("push-mode")])
        final class Box { var builder = SessionBuilder(model: .builtIn) }
        let box = Box()
        let files = try run.run(try run.open()) { box.builder.ingest($0.record) }
        var heartbeat = box.builder.finish()
        #expect(heartbeat.counts.rejoinedConnections == 0)
        heartbeat.counts.rejoinedConnections = 7
        let text = AnalyzeReport(heartbeat: heartbeat, captures: files).text()
        let line = text.split(separator: "\n").first { $0.hasPrefix("Connections:") } ?? ""
        #expect(line.contains("7 rejoined"))
        let idle = sepbeat("analyze", "-q", heartbeatCapture("https-idle"))
        #expect(!idle.stdout.contains("rejoined"))
    }

    // MARK: - Captures named twice

    @Test func sameCaptureTwiceIsReadOnceWithAWarning() throws {
        let path = heartbeatCapture("https-idle")
        let once = sepbeat("flows", "-F", "json", path)
        let twice = sepbeat("flows", "-F", "json", path, path)
        #expect(twice.stdout == once.stdout)
        let warnings = twice.stderr.split(separator: "\n").filter { $0.contains("more than once") }
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains(path) == true)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sepbeat-link-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let link = dir.appendingPathComponent("alias.pcap").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        let aliased = sepbeat("analyze", "-F", "json", path, link)
        #expect(aliased.stderr.contains("alias.pcap is the same file as \(path), given already; it is read once"))
        #expect(aliased.stdout == sepbeat("analyze", "-F", "json", path).stdout)
        let quiet = sepbeat("flows", "-q", path, path)
        #expect(quiet.stderr.isEmpty)
    }

    // MARK: - Formats

    @Test(arguments: [("flows", "jsonl"), ("flows", "csv"), ("flows", "html"), ("model", "csv"),
                      ("model", "html"), ("model", "jsonl")])
    func unsupportedFormatIsAUsageError(_ command: String, _ format: String) {
        let run = command == "model" ? sepbeat(command, "-F", format)
            : sepbeat(command, "-F", format, heartbeatCapture("https-idle"))
        #expect(run.status == 2)
        #expect(run.stderr.contains("--format takes text or json, got '\(format)'"))
    }

    @Test func helpListsExactlyTheSupportedFormats() {
        for command in ["flows", "model"] {
            let help = sepbeat(command, "--help").stdout
            #expect(help.contains("Output format: text (default) or json."), "\(command)")
            #expect(!help.contains("jsonl") && !help.contains("csv") && !help.contains("html"), "\(command)")
        }
        #expect(sepbeat("analyze", "--help").stdout.contains("text (default), json, jsonl, csv or html."))
        #expect(sepbeat("model", "-F", "text").stdout == sepbeat("model", "-F", "json").stdout)
    }
}
