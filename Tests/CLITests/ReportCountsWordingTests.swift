import Foundation
import Testing
import TestSupport

/// What a reader of the reports found unclear: counts that did not add up, a check shown
/// as passed that could not be made, a finding's client missing, and singular/plural slips.
@Suite struct ReportCountsWordingTests {
    let pipelined = Fixtures.corpus + "/oracle/http/pipelined-requests.pcap"

    @Test func connectionCountsAddUpInTextAndJSON() throws {
        let text = sepbeat("analyze", pipelined)
        #expect(text.stdout.contains(
            "Connections: 1 read: 0 to managers, 1 to other servers on management ports, 0 on other ports\n"))
        let json = sepbeat("analyze", "-F", "json", pipelined)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let counts = try #require(report["counts"] as? [String: Int])
        #expect(counts["otherServerConnections"] == 1)
        let parts = ["managerConnections", "otherServerConnections", "ignoredConnections", "droppedByLimits"]
        #expect(parts.reduce(0) { $0 + (counts[$1] ?? -1) } == counts["connections"])
    }

    @Test func oneConnectionToOtherServersIsSingular() {
        let r = sepbeat("analyze", "--server", "10.0.0.1", pipelined)
        #expect(r.stdout.contains("the 1 connection on management ports goes to other servers than"))
    }

    /// The text row of check `id` in `validate`'s output.
    func row(_ r: CLIRun, _ id: String) throws -> Substring {
        try #require(r.stdout.split(separator: "\n").first { $0.contains("  \(id)  ") })
    }

    @Test func managerPriorityWithoutPrioritiesIsNotChecked() throws {
        let r = sepbeat("validate", heartbeatCapture("old-tls"))
        let found = try row(r, "manager-priority")
        #expect(found.hasPrefix("  n/a "))
        #expect(found.contains("not checked: no manager priorities known"))
        #expect(r.stdout.contains("11 of 13 checks passed, 1 not checked; failed: 1 error check"))
        let csv = sepbeat("validate", "-F", "csv", heartbeatCapture("old-tls"))
        #expect(csv.stdout.contains("check,manager-priority,"))
        #expect(csv.stdout.split(separator: "\r\n").contains { $0.contains("manager-priority") && $0.contains(",n/a,") })
        // With a SyLink.xml giving priorities the check is made (and passes).
        let sylink = Fixtures.captures + "/heartbeat/failover.sylink.xml"
        let made = sepbeat("validate", "--sylink", sylink, heartbeatCapture("failover"))
        #expect(!(try row(made, "manager-priority")).contains("n/a"))
    }

    @Test func firstFindingNamesItsClient() {
        let r = sepbeat("validate", heartbeatCapture("old-tls"))
        #expect(r.stdout.contains("first: tls-below-1.2 (client 192.0.2.21): "))
    }

    @Test func fleetLineUsesOneNameForInsufficientAndNoShareWhenNoneJudged() throws {
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture("short.pcap", ["--clients", "2", "--duration", "5m", "--http-share", "0"])
        let r = sepbeat("audit", "--server", "10.1.0.10", "--server", "10.1.0.11", capture)
        let fleet = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("Fleet: ") })
        #expect(fleet.contains("2 clients seen, 0 healthy, 0 degraded, 0 unhealthy, 2 insufficient (too few check-ins)"))
        let judged = sepbeat("audit", heartbeatCapture("server-error"))
        #expect(judged.stdout.contains("1 healthy (100%)"))
    }

    @Test func oneRecordCutToTheSnaplenIsSingular() {
        let r = sepbeat("flows", Fixtures.corpus + "/robustness/zeek-trunc-hdr.pcap")
        #expect(r.stderr.contains("1 record captured more bytes than the snaplen of 1; only the first byte of it "
            + "was kept (at byte offset"))
    }

    @Test func durationInRefusalIsPrintedAsTyped() throws {
        let dir = try TemporaryFolder()
        let r = sepbeat("simulate", "-o", dir.path + "/big.pcap", "--clients", "100000", "--duration", "1d")
        #expect(r.status == 2)
        #expect(r.stderr.contains("--clients 100000 over --duration 86400 s would plan about"))
    }

    @Test func modelRefusalSpeaksOfTheModelNotAReport() throws {
        let dir = try TemporaryFolder()
        let model = dir.write("m.json", sepbeat("model").stdout)
        let r = sepbeat("model", "--model", model, "-o", model)
        #expect(r.status == 2)
        #expect(r.stderr.contains("the model written would overwrite it"))
    }

    @Test func tlsVersionIsNotCheckedWithoutATLSCheckIn() throws {
        let plain = try row(sepbeat("validate", heartbeatCapture("http-plain")), "tls-version")
        #expect(plain.hasPrefix("  n/a "))
        #expect(plain.contains("not checked: no check-in over TLS"))
        #expect(try row(sepbeat("validate", heartbeatCapture("https-idle")), "tls-version").hasPrefix("  pass "))
    }

    /// The check's title names the model's minimum, not always 1.2.
    @Test func tlsVersionTitleNamesTheModelsMinimum() throws {
        let dir = try TemporaryFolder()
        let builtIn = sepbeat("validate", "-F", "json", heartbeatCapture("https-idle"))
        #expect(builtIn.stdout.contains("\"title\" : \"TLS 1.2 or later (the model's minimum)\""))
        let model = dir.write("m13.json", #"{"schema":"sepbeat-model/1","tls":{"minimumVersion":"1.3"}}"#)
        let strict = sepbeat("validate", "-F", "json", "--model", model, heartbeatCapture("https-idle"))
        #expect(strict.stdout.contains("\"title\" : \"TLS 1.3 or later (the model's minimum)\""), "\(strict.stderr)")
        #expect(try row(sepbeat("validate", "--model", model, heartbeatCapture("https-idle")), "tls-version")
            .hasPrefix("  FAIL "))
    }
}
