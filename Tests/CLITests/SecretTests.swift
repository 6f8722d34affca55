import Foundation
import Testing
import TestSupport

/// The SyLink.xml `Kcs` value is a secret: no command may print it, in any format,
/// on stdout or stderr, whether the file is good or broken.
@Suite struct SecretTests {
    static let kcs = "00112233445566778899AABBCCDDEEFF"
    static var example: String { Fixtures.packageRoot + "/../shared/docs/examples/SyLink.xml" }

    static func writeTemp(_ name: String, _ text: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sepbeat-secret-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(name).path
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    @Test(arguments: ["text", "json", "jsonl", "csv", "html"])
    func kcsAppearsInNoReport(_ format: String) throws {
        let text = try String(contentsOfFile: Self.example, encoding: .utf8)
        #expect(text.contains(Self.kcs), "the example file should hold the value this test looks for")
        let capture = heartbeatCapture("https-idle")
        for command in ["analyze", "audit", "validate"] {
            let run = sepbeat(command, "--sylink", Self.example, "-F", format, capture)
            #expect(run.status == 0 || run.status == 1, "\(command) \(format): \(run.stderr)")
            #expect(!run.stdout.contains(Self.kcs) && !run.stderr.contains(Self.kcs), "\(command) -F \(format)")
            #expect(!run.stdout.lowercased().contains(Self.kcs.lowercased()))
        }
        let model = sepbeat("model", "--sylink", Self.example)
        #expect(!model.stdout.contains(Self.kcs) && !model.stderr.contains(Self.kcs))
    }

    @Test func kcsAppearsInNoErrorAboutABrokenFile() {
        let secret = "A1B2C3D4E5F60718293A4B5C6D7E8F90"
        let broken = Self.writeTemp("broken.xml", """
            <ServerSettings><CommConf><AgentCommunicationSetting Kcs="\(secret)" CommunicationMode="SIDEWAYS"/>
            <ServerList><ServerPriorityBlock Name="Priority1"><Server Address="" HttpPort="99999"/>
            """)
        let runs = [["analyze", "--sylink", broken, heartbeatCapture("https-idle")], ["model", "--sylink", broken]]
        for arguments in runs {
            let run = CLIRun(arguments)
            #expect(run.status == 2)
            #expect(run.stderr.contains("broken.xml"), "the error names the file: \(run.stderr)")
            #expect(!run.stdout.contains(secret) && !run.stderr.contains(secret))
        }
    }
}

/// `sepbeat model --sylink` prints the model as a run with that file uses it.
@Suite struct ModelWithSyLinkTests {
    @Test func syLinkServersAndIntervalsShowInTheModel() throws {
        let plain = sepbeat("model")
        let merged = sepbeat("model", "--sylink", SecretTests.example)
        #expect(plain.status == 0 && merged.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(merged.stdout.utf8)) as? [String: Any]
        let servers = try #require(json?["servers"] as? [[String: Any]])
        // The example lists 198.51.100.1 (priority 1, ports 8014 and 443), 198.51.100.2 and a host name.
        let first = servers.filter { $0["host"] as? String == "198.51.100.1" }
        #expect(Set(first.compactMap { $0["port"] as? Int }) == [443, 8014])
        #expect(first.allSatisfy { $0["priority"] as? Int == 1 && $0["origin"] as? String == "sylink" })
        #expect(servers.contains { $0["host"] as? String == "sepm-dr.example.net" && $0["priority"] as? Int == 2 })
        #expect(!merged.stdout.contains(SecretTests.kcs))
        // --interval wins over the file's interval; the servers still come from the file.
        let pinned = sepbeat("model", "--sylink", SecretTests.example, "--interval", "600")
        #expect(pinned.stdout.contains("\"seconds\" : 600"))
    }
}
