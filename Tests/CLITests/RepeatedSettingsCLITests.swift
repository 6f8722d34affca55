import Foundation
import Testing
import TestSupport

/// A settings file that says one thing twice is refused before anything is read (exit status 2), with one
/// line naming the file and both places: a model file's repeated key, SyLink.xml's second `<CommConf>`.
@Suite struct RepeatedSettingsCLITests {
    @Test(arguments: ["analyze", "audit", "validate", "model", "simulate"])
    func aModelKeyGivenTwiceIsRefused(command: String) throws {
        let folder = try TemporaryFolder()
        let model = folder.write("site.json", """
            {
              "interval": {
                "seconds": 600
              },
              "interval": {
                "seconds": 900
              }
            }
            """)
        let operands = command == "model" ? [] : command == "simulate" ? ["-o", folder.path + "/fleet.pcap"]
            : [heartbeatCapture("https-idle")]
        let run = CLIRun([command, "--model", model] + operands)
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr == "sepbeat \(command): \(model): line 5: field \"interval\" is given twice (first on "
            + "line 2); only one value can count: remove one\n", "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/fleet.pcap"))
    }

    @Test(arguments: ["validate", "model"])
    func aSecondCommConfIsRefused(command: String) throws {
        let folder = try TemporaryFolder()
        let example = try String(contentsOfFile: Fixtures.exampleSyLink, encoding: .utf8)
        // The example's CommConf again, after the first, with another manager and mode.
        let start = try #require(example.range(of: "  <CommConf>"))
        let end = try #require(example.range(of: "</CommConf>\n"))
        let second = String(example[start.lowerBound..<end.upperBound])
            .replacingOccurrences(of: "198.51.100.1\"", with: "203.0.113.1\"")
            .replacingOccurrences(of: "\"PULL\"", with: "\"PUSH\"")
        let text = example.replacingOccurrences(of: "</ServerSettings>", with: second + "</ServerSettings>")
        let path = folder.write("SyLink.xml", text)
        let firstLine = example[..<start.lowerBound].filter { $0 == "\n" }.count + 1
        let secondStart = try #require(text.range(of: "<CommConf>", range: end.upperBound..<text.endIndex))
        let secondLine = text[..<secondStart.lowerBound].filter { $0 == "\n" }.count + 1
        let operands = command == "model" ? [] : [heartbeatCapture("https-idle")]
        let run = CLIRun([command, "--sylink", path] + operands)
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr == "sepbeat \(command): \(path): line \(secondLine): a second <CommConf> (the first on "
            + "line \(firstLine)); a client goes by one, and which is not known, so the file is refused: keep the "
            + "one the client uses\n", "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(!run.stderr.contains("00112233445566778899AABBCCDDEEFF"))
    }
}
