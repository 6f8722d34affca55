import Foundation
import Testing

/// Help and report wordings kept in step with the README.
@Suite struct HelpReadmeAgreementTests {
    @Test func serverHelpTakesABareIPv6AddressAndBracketsOneWithAPort() {
        for command in ["analyze", "audit", "validate", "model"] {
            let help = CLIRun([command, "--help"]).stdout
            #expect(help.contains("an IPv4 address, an IPv6 address or a name, optionally with a port (an IPv6 "
                + "address with a port in brackets: [2001:db8::1]:443)"), "\(command)")
        }
        // The refusal names the bracketed form as the README does.
        let run = CLIRun(["model", "--server", "sepm_1"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("an IPv6 address ([IPv6]:PORT with a port)"), "\(run.stderr)")
    }

    @Test func validateHelpNamesNotApplicable() {
        #expect(CLIRun(["validate", "--help"]).stdout.contains("Prints each check with pass, fail or n/a"))
    }

    @Test func simulateHelpNumbersSplitFilesFromOne() {
        #expect(CLIRun(["simulate", "--help"]).stdout.contains("in x-(k mod N + 1).pcap"))
    }

    /// A CONNECT target whose port is unusable is shown in brackets, as written (the README's example).
    @Test func anUnusablePortTargetIsShownInBrackets() throws {
        let dir = try TemporaryFolder()
        let proxied = try dir.simulatedCapture("proxied.pcap", ["--clients", "1", "--duration", "15m", "--seed", "3",
                                                               "--http-share", "0", "--proxy", "10.5.5.5:8080"])
        var bytes = try #require(FileManager.default.contents(atPath: proxied))
        var replaced = 0
        for from in ["CONNECT 10.1.0.10:443", "CONNECT 10.1.0.11:443"] {
            while let r = bytes.range(of: Data(from.utf8)) {
                bytes.replaceSubrange(r, with: Data("CONNECT 1.1.0.1:99999".utf8))
                replaced += 1
            }
        }
        try #require(replaced > 0)
        let broken = dir.path + "/port.pcap"
        _ = FileManager.default.createFile(atPath: broken, contents: bytes)
        let flows = CLIRun(["flows", "-q", broken])
        #expect(flows.stdout.contains("tls via CONNECT [1.1.0.1:99999]"), "\(flows.stdout)")
    }
}
