import Foundation
import Heartbeat
import Testing
import TestSupport

@testable import CLI

/// `audit --allow-unhealthy`: a daily check of a large fleet passes with a few clients failing, and says how many
/// it allowed.
@Suite struct AllowUnhealthyTests {
    /// 40 clients over an hour, three of them missing three check-ins each (unhealthy).
    @Test func theVerdictPassesWithinTheAllowance() throws {
        let folder = try TemporaryFolder()
        let path = try folder.simulatedCapture("fleet.pcap", ["--clients", "40", "--duration", "1h", "--fault",
                                                              "missed=3", "--seed", "4"])
        let cases: [([String], Int32, String)] = [
            ([], 1, "fail (3 unhealthy clients)"),
            (["--allow-unhealthy", "2"], 1, "fail (3 unhealthy clients, at most 2 allowed)"),
            (["--allow-unhealthy", "3"], 0, "pass (3 unhealthy clients, at most 3 allowed)"),
            (["--allow-unhealthy", "5%"], 1, "fail (3 unhealthy clients, at most 2 allowed, 5% of 40 judged)"),
            (["--allow-unhealthy", "7.5%"], 0, "pass (3 unhealthy clients, at most 3 allowed, 7.5% of 40 judged)"),
            (["--allow-unhealthy", "3", "--fail-on", "warning"], 0,
             "pass (3 unhealthy clients and 0 degraded, at most 3 allowed)"),
        ]
        for (options, status, verdict) in cases {
            let run = CLIRun(["audit", "-q", "--color", "never"] + options + [path])
            #expect(run.status == status, "\(options): \(run.stderr)")
            #expect(run.stdout.hasSuffix("Verdict: \(verdict)\n"), "\(options)")
        }
        let json = CLIRun(["audit", "-q", "-F", "json", "--allow-unhealthy", "10%", path])
        #expect(json.status == 0)
        for member in ["\"allowUnhealthy\" : \"10%\",", "\"allowedFailing\" : 4,", "\"verdict\" : \"pass\""] {
            #expect(json.stdout.contains(member))
        }
        // Without the option the JSON has neither member.
        #expect(!CLIRun(["audit", "-q", "-F", "json", path]).stdout.contains("allow"))
    }

    /// No client judged fails whatever the allowance: a sensor that saw nothing is no healthy fleet.
    @Test func noClientJudgedStillFails() throws {
        let folder = try TemporaryFolder()
        let path = try folder.simulatedCapture("one.pcap", ["--clients", "1", "--duration", "4m"])
        let run = CLIRun(["audit", "-q", "--color", "never", "--allow-unhealthy", "100%", path])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stdout.hasSuffix("Verdict: fail (no client seen)\n"))
    }

    @Test func badAllowancesAreUsageErrors() {
        for value in ["x", "-1", "101%", "%", "1.5", "5 %", "1e2%"] {
            let run = CLIRun(["audit", "--allow-unhealthy", value, heartbeatCapture("https-idle")])
            #expect(run.status == 2, "\(value)")
            #expect(run.stderr == "sepbeat audit: --allow-unhealthy takes a number of clients (0 or more) or a "
                + "percentage from 0 to 100 (1.5%), got '\(value)'\n")
        }
        // analyze and validate judge findings and checks, not a count of clients.
        for command in ["analyze", "validate"] {
            #expect(CLIRun([command, "--allow-unhealthy", "1", heartbeatCapture("https-idle")]).status == 2)
        }
    }

    @Test func percentagesRoundDown() {
        #expect(FailingAllowance.percent(1).clients(outOf: 150) == 1)
        #expect(FailingAllowance.percent(1).clients(outOf: 99) == 0)
        #expect(FailingAllowance.clients(7).clients(outOf: 3) == 7)
        #expect(FailingAllowance.percent(1.5).text == "1.5%")
    }
}
