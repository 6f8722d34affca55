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

/// A model file saved with `sepbeat model --interval N` pins its interval (`interval.pinned`): SyLink.xml's pull
/// interval is then set aside, which each command that reads both says on stderr unless `-q` (or `--interval`,
/// which the user gave knowingly, or when both intervals agree); the report names the model's interval.
@Suite struct PinnedModelSyLinkCLITests {
    @Test(arguments: ["analyze", "model"])
    func aPinnedModelSettingSyLinksIntervalAsideIsNamed(command: String) throws {
        let folder = try TemporaryFolder()
        let listed = try String(contentsOfFile: Fixtures.captures + "/heartbeat/failover.sylink.xml", encoding: .utf8)
        let sylink = folder.write("SyLink.xml", listed.replacingOccurrences(
            of: "CommunicationMode=\"PULL\"", with: "CommunicationMode=\"PULL\" PullHeartbeatSeconds=\"900\""))
        let pinned = folder.write("pinned.json", CLIRun(["model", "--interval", "600"]).stdout)
        let loose = folder.write("loose.json", CLIRun(["model"]).stdout)
        let same = folder.write("same.json", CLIRun(["model", "--interval", "900"]).stdout)
        let operands = command == "model" ? [] : [heartbeatCapture("failover")]
        let run = CLIRun([command, "--model", pinned, "--sylink", sylink] + operands)
        #expect(run.stderr == "sepbeat \(command): warning: \(sylink)'s pull interval (900 s) is not used: the model "
            + "file pins 600 s (its interval.pinned is true, as 'sepbeat model --interval' writes it; set it to false "
            + "to let SyLink.xml's interval apply)\n")
        if command == "analyze" { #expect(run.stdout.contains("Expected interval 600 s (from model)")) }
        #expect(CLIRun([command, "-q", "--model", pinned, "--sylink", sylink] + operands).stderr.isEmpty)
        #expect(CLIRun([command, "--model", pinned, "--interval", "600", "--sylink", sylink] + operands)
            .stderr.isEmpty)
        #expect(CLIRun([command, "--model", loose, "--sylink", sylink] + operands).stderr.isEmpty)
        #expect(CLIRun([command, "--model", same, "--sylink", sylink] + operands).stderr.isEmpty)
    }
}

/// A priority block whose name ends in no number comes after every numbered one: each command that reads the file
/// names such blocks and the priority their servers got, on stderr unless `-q`; `model` prints that priority. Before,
/// a `Backup` block second in the file took priority 2, tying with `Priority2`.
@Suite struct SyLinkUnnumberedBlockCLITests {
    @Test(arguments: ["analyze", "model"])
    func anUnnumberedBlockIsNamedWithItsPriority(command: String) throws {
        let folder = try TemporaryFolder()
        let listed = try String(contentsOfFile: Fixtures.captures + "/heartbeat/failover.sylink.xml", encoding: .utf8)
        let sylink = folder.write("SyLink.xml", listed.replacingOccurrences(
            of: "Name=\"Priority1\"", with: "Name=\"Main\""))
        let operands = command == "model" ? [] : [heartbeatCapture("failover")]
        let run = CLIRun([command, "--sylink", sylink] + operands)
        #expect(run.stderr == ("sepbeat \(command): warning: \(sylink): a ServerPriorityBlock whose name ends in "
            + "no number is taken after every numbered block, in file order (PriorityN gives priority N): \"Main\" "
            + "(line 14): priority 3\n"), "\(run.stderr)")
        if command == "model" { #expect(run.stdout.contains("\"priority\" : 3")) }
        #expect(CLIRun([command, "-q", "--sylink", sylink] + operands).stderr.isEmpty)
    }
}
