import Foundation
import Testing
import TestSupport

/// A `Server` of SyLink.xml outside its `ServerList` is no manager: it was ignored without a word, and a user who
/// took it for one got no hint why its check-ins went unjudged. Each command that reads the file says so on
/// stderr, once, unless `-q`; the report is the same.
@Suite struct SyLinkIgnoredServerCLITests {
    @Test(arguments: ["analyze", "model"])
    func serversOutsideTheListAreNamed(command: String) throws {
        let folder = try TemporaryFolder()
        let listed = try String(contentsOfFile: Fixtures.captures + "/heartbeat/failover.sylink.xml", encoding: .utf8)
        let plain = folder.write("plain.xml", listed)
        let sylink = folder.write("SyLink.xml", listed.replacingOccurrences(of: "  </CommConf>\n", with: """
              </CommConf>
              <Backup>
                <Server Address="203.0.113.9"/>
              </Backup>

            """))
        let operands = command == "model" ? [] : [heartbeatCapture("failover")]
        let run = CLIRun([command, "--sylink", sylink] + operands)
        #expect(run.stderr == "sepbeat \(command): warning: \(sylink): a Server element outside the ServerList is "
            + "ignored (only the list's servers are managers): \"203.0.113.9\" (line 25)\n")
        #expect(run.stdout == CLIRun([command, "--sylink", plain] + operands).stdout)
        #expect(CLIRun([command, "-q", "--sylink", sylink] + operands).stderr.isEmpty)
    }
}
