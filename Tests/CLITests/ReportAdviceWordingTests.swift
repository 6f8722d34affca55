import Foundation
import Heartbeat
import Records
import Reports
import Testing
import TestSupport

/// A read of the reports: messages that told the user to do what they had done, counts that named
/// the wrong reason, a JSON member the README said was left out, and a check row that said 0 failing
/// clients beside FAIL.
@Suite struct ReportAdviceWordingTests {
    let servers = ["--server", "10.1.0.10", "--server", "10.1.0.11"]

    /// Two HTTPS clients over 5 minutes: each has one check-in, too few to judge an interval.
    func shortFleet(in dir: TemporaryFolder, name: String = "short.pcap") throws -> String {
        try dir.simulatedCapture(name, ["--clients", "2", "--duration", "5m", "--http-share", "0"])
    }

    /// A copy of the classic little-endian pcap at `path` with every packet `seconds` later (as
    /// `editcap -t` writes it), at `to`.
    func shifted(_ path: String, by seconds: UInt32, to: String) throws -> String {
        var bytes = [UInt8](try #require(FileManager.default.contents(atPath: path)))
        // a1b2c3d4 (microseconds) or a1b23c4d (nanoseconds), written little-endian.
        try #require(bytes.count >= 24 && bytes[2] == 0xb2 && bytes[3] == 0xa1, "not a little-endian pcap")
        func u32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        var at = 24
        while at + 16 <= bytes.count {
            let time = u32(at) &+ seconds
            for k in 0..<4 { bytes[at + k] = UInt8(truncatingIfNeeded: time >> (8 * UInt32(k))) }
            at += 16 + Int(u32(at + 8))
        }
        _ = FileManager.default.createFile(atPath: to, contents: Data(bytes))
        return to
    }

    /// F5: a SyLink or model gave priorities, but no check-in reached one of those managers: the row says
    /// that, not "give --sylink".
    @Test func managerPriorityNotCheckedSaysWhyWhenPrioritiesWereGiven() throws {
        var f = FleetRecords()
        for t in [0.0, 300, 600] { f.idle("10.0.0.1", at: t) }
        var model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        model.servers.append(.init(host: "10.9.9.9", priority: 1))
        model.servers.append(.init(host: "10.9.9.8", priority: 2))
        var builder = SessionBuilder(model: model)
        for r in f.records { builder.ingest(r) }
        let report = builder.finish()
        let check = DeploymentValidation(report: report, audit: FleetAudit(report: report, model: model))
            .checks.first { $0.id == "manager-priority" }
        #expect(check?.result == "n/a")
        #expect(check?.detail == "not checked: no check-in reached any of the 2 managers with a priority "
            + "(10.9.9.8, 10.9.9.9)", "\(check?.detail ?? "")")
        // No priority given at all: the row still says how to give some.
        let plain = CLIRun(["validate", "--color", "never", "--server", "10.1.0.10", heartbeatCapture("server-error")])
        #expect(plain.stdout.contains("not checked: no manager priorities known (give --sylink or a model with "
            + "servers)"), "\(plain.stdout)")
    }

    /// F7: the JSON fleet summary leaves `healthyShare` out when no client was judged, as the text does.
    @Test func healthyShareIsLeftOutOfTheJSONWhenNoClientWasJudged() throws {
        let dir = try TemporaryFolder()
        let capture = try shortFleet(in: dir)
        let json = CLIRun(["audit", "-q", "-F", "json"] + servers + [capture])
        let top = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let fleet = try #require(top["fleet"] as? [String: Any], "\(top.keys)")
        #expect(fleet["insufficient"] as? Int == 2)
        #expect(fleet["healthyShare"] == nil, "\(fleet)")
        // A fleet with a judged client has it.
        let judged = CLIRun(["audit", "-q", "-F", "json", heartbeatCapture("server-error")])
        let other = try #require(try JSONSerialization.jsonObject(with: Data(judged.stdout.utf8)) as? [String: Any])
        #expect((other["fleet"] as? [String: Any])?["healthyShare"] as? Double == 1)
    }

    /// F8: clients with two check-ins whose interval a silence between files hid are not "too few check-ins":
    /// the fleet line counts the two reasons apart; the help's exit status says what "judged" needs.
    @Test func fleetLineCountsTheTwoReasonsForInsufficientApart() throws {
        let dir = try TemporaryFolder()
        let first = try shortFleet(in: dir)
        let second = try shifted(first, by: 7_200, to: dir.path + "/later.pcap")
        let r = CLIRun(["audit", "--color", "never"] + servers + [first, second])
        #expect(r.stdout.contains("0 unhealthy, 2 insufficient (2 with no interval observed); "), "\(r.stdout)")
        #expect(!r.stdout.contains("too few check-ins"), "\(r.stdout)")
        #expect(r.status == 1)
        // With one client of a single check-in beside them, both counts.
        let third = try dir.simulatedCapture("one.pcap", ["--clients", "3", "--duration", "5m", "--http-share", "0"])
        let mixed = CLIRun(["audit", "--color", "never"] + servers + [first, second, third])
        #expect(mixed.stdout.contains("3 insufficient (1 with too few check-ins, 2 with no interval observed); "),
                "\(mixed.stdout)")
        let help = CLIRun(["audit", "--help"])
        #expect(help.stdout.contains("Exit status: 0 some client judged (two check-ins or more with an interval "
            + "observed between them)"), "\(help.stdout)")
    }

    /// F9: a check failed with no client failing (none judged) shows `-`, not 0, and its reason in place of
    /// the pass condition.
    @Test func intervalFailedWithNoClientJudgedShowsItsReasonInTheRow() throws {
        let dir = try TemporaryFolder()
        let capture = try shortFleet(in: dir)
        let r = CLIRun(["validate", "--color", "never"] + servers + [capture])
        let row = try #require(r.stdout.split(separator: "\n").first { $0.contains("  interval  ") }, "\(r.stdout)")
        let words = row.split(separator: " ")
        #expect(words.prefix(4) == ["FAIL", "error", "interval", "-"], "\(row)")
        #expect(row.hasSuffix("no missed or failed check-ins, interval mismatch or long heartbeat storm: no client "
            + "judged: 2 clients seen, each with fewer than 2 check-ins"), "\(row)")
        // A check failed by clients still counts them.
        let failing = CLIRun(["validate", "--color", "never", heartbeatCapture("server-error")])
        let status = try #require(failing.stdout.split(separator: "\n").first { $0.contains("  http-status  ") })
        #expect(status.split(separator: " ").prefix(4) == ["FAIL", "error", "http-status", "1"], "\(status)")
    }

    /// F11: a CONNECT target without a port shows in brackets, as one with an unusable port does.
    @Test func aTargetWithoutAPortIsBracketedInFlows() throws {
        let dir = try TemporaryFolder()
        let proxied = try dir.simulatedCapture("proxied.pcap", ["--clients", "2", "--duration", "30m", "--seed", "3",
                                                               "--http-share", "0", "--proxy", "10.5.5.5:8080"])
        // `CONNECT 10.1.0.1X:443 HTTP/1.1` becomes `CONNECT 10.1.0.1X     HTTP/1.1` (no port, same length).
        let (broken, _) = try dir.patchedCapture(
            proxied, replacing: ":443 HTTP/1.1\r\nHost", with: "     HTTP/1.1\r\nHost", as: "noport.pcap")
        let flows = CLIRun(["flows", "-q", broken]).stdout
        #expect(flows.contains("tls via CONNECT [10.1.0.1"), "\(flows)")
        #expect(!flows.contains("tls via CONNECT 10.1.0.1"), "\(flows)")
        // A good tunnel is not bracketed.
        #expect(CLIRun(["flows", "-q", proxied]).stdout.contains("tls via CONNECT 10.1.0.1"))
    }

    /// tunnels whose target is tied to no address hide their clients' check-ins: the audit notes it
    /// under its fleet line, and validate fails capture-quality (a warning) with the count.
    @Test func untiedTunnelTargetsAreNotedByAuditAndValidate() throws {
        let dir = try TemporaryFolder()
        let proxied = try dir.simulatedCapture("proxied.pcap", ["--clients", "4", "--duration", "1h", "--seed", "3",
                                                               "--http-share", "0", "--proxy", "10.5.5.5:8080"])
        // One manager's targets in hex (0x0a01000b is 10.1.0.11 to inet_aton), the same length as before.
        let (broken, replaced) = try dir.patchedCapture(
            proxied, replacing: "CONNECT 10.1.0.11:443", with: "CONNECT 0xa01000b:443", as: "hex.pcap")
        let audit = CLIRun(["audit", "--color", "never", broken])
        #expect(audit.stdout.contains("\nNote: \(replaced) proxy connections whose target (CONNECT or absolute-form) "
            + "is tied to no address (numeric but not dotted decimal, or no usable port; the odd: line counts them) "
            + "are judged as connections to the proxy: check-ins in them are in no client's row, and the verdict "
            + "does not cover those clients\n"), "\(audit.stdout)")
        let validate = CLIRun(["validate", "--color", "never", broken])
        #expect(validate.stdout.contains("  capture-quality: \(replaced) proxy connections whose target (CONNECT or "
            + "absolute-form) is tied to no address"), "\(validate.stdout)")
        let row = validate.stdout.split(separator: "\n").first { $0.contains("  capture-quality  ") }
        #expect(row?.split(separator: " ").prefix(4) == ["FAIL", "warning", "capture-quality", "-"], "\(row ?? "")")
        // Without such targets: no note, and capture-quality passes.
        let fine = CLIRun(["audit", "--color", "never", proxied])
        #expect(!fine.stdout.contains("tied to no address"))
        let fineRow = CLIRun(["validate", "--color", "never", proxied]).stdout.split(separator: "\n")
            .first { $0.contains("  capture-quality  ") }
        #expect(fineRow?.hasPrefix("  pass") == true, "\(fineRow ?? "")")
    }

    /// Plain HTTP in absolute form to a host tied to no address makes the proxy a manager (`inferred-http`): the
    /// check-ins are in the clients' rows as check-ins to the proxy, and the audit's note and validate say so.
    @Test func untiedAbsoluteFormTargetsAreInTheClientsRowsAsCheckInsToTheProxy() throws {
        let dir = try TemporaryFolder()
        let proxied = try dir.simulatedCapture("http.pcap", ["--clients", "2", "--duration", "1h", "--seed", "3",
                                                            "--http-share", "1", "--proxy", "10.5.5.5:8080"])
        let (broken, replaced) = try dir.patchedCapture(
            proxied, replacing: "http://10.1.0.10:", with: "http://0xa01000a:", as: "hex-http.pcap")
        #expect(replaced > 0)
        let audit = CLIRun(["audit", "--color", "never", broken])
        #expect(audit.stdout.contains(" proxy connections whose target (CONNECT or absolute-form) "
            + "is tied to no address (numeric but not dotted decimal, or no usable port; the odd: line counts them) "
            + "are judged as connections to the proxy: they went to a proxy taken for a manager, so check-ins in "
            + "them are in their clients' rows as check-ins to the proxy, not to their target, and the verdict "
            + "judges them as such\n"), "\(audit.stdout)")
        #expect(!audit.stdout.contains("in no client's row"))
        let validate = CLIRun(["validate", "--color", "never", broken])
        #expect(validate.stdout.contains("judged as connections to the proxy: all of them went to a proxy taken for a "
            + "manager, and check-ins in them are judged as check-ins to the proxy, not to their target"),
                "\(validate.stdout)")
    }
}
