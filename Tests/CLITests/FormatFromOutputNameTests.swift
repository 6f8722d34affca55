import Foundation
import Testing
import TestSupport

@testable import CLI

/// Without `-F`, the extension of the `-o` file's name picks the report's format when the command writes
/// that format; `-F` always wins, and any other name keeps text.
@Suite struct FormatFromOutputNameTests {
    /// Runs `arguments` with `-o dir/NAME` added and returns the status and the file's text.
    private func report(_ arguments: [String], to name: String, in dir: TemporaryFolder) throws -> (Int32, String) {
        let path = dir.path + "/" + name
        let run = CLIRun(arguments + ["-o", path])
        try #require(run.status < 2, "\(arguments) -o \(name): \(run.stderr)")
        return (run.status, try String(contentsOfFile: path, encoding: .utf8))
    }

    @Test(arguments: ["analyze", "audit", "validate"])
    func theExtensionNamesTheFormat(_ command: String) throws {
        let dir = try TemporaryFolder()
        let capture = heartbeatCapture("https-idle")
        let named: [(String, String)] = [("r.json", "json"), ("r.jsonl", "jsonl"), ("r.ndjson", "jsonl"),
                                         ("r.csv", "csv"), ("r.html", "html"), ("r.htm", "html"), ("r.txt", "text"),
                                         ("R.JSON", "json"), ("r.Html", "html"), ("d.x/r.CSV", "csv")]
        try FileManager.default.createDirectory(atPath: dir.path + "/d.x", withIntermediateDirectories: false)
        for (name, format) in named {
            let expected = CLIRun([command, "-q", "-F", format, capture])
            let (status, text) = try report([command, "-q", capture], to: name, in: dir)
            #expect(status == expected.status, "\(command) -o \(name)")
            #expect(text == expected.stdout, "\(command) -o \(name) is not \(format)")
        }
    }

    @Test func givenFormatWinsAndOtherNamesKeepText() throws {
        let dir = try TemporaryFolder()
        let capture = heartbeatCapture("https-idle")
        let text = CLIRun(["analyze", "-q", capture]).stdout
        let json = CLIRun(["analyze", "-q", "-F", "json", capture]).stdout
        #expect(try report(["analyze", "-q", "-F", "text", capture], to: "a.html", in: dir).1 == text)
        #expect(try report(["analyze", "-q", "--format=json", capture], to: "b.csv", in: dir).1 == json)
        #expect(try report(["analyze", "-qFjson", capture], to: "c.txt", in: dir).1 == json)
        for name in ["d.pdf", "e", ".json", "f.json.bak", "g.jsonx"] {
            #expect(try report(["analyze", "-q", capture], to: name, in: dir).1 == text, "\(name)")
        }
    }

    /// `flows` writes text and JSON only: `-o x.csv` or `x.html` is written in text, not refused.
    @Test func flowsTakesOnlyTheFormatsItWrites() throws {
        let dir = try TemporaryFolder()
        let capture = heartbeatCapture("https-idle")
        let text = CLIRun(["flows", "-q", capture]).stdout
        let json = CLIRun(["flows", "-q", "-F", "json", capture]).stdout
        #expect(try report(["flows", "-q", capture], to: "f.json", in: dir).1 == json)
        #expect(try report(["flows", "-q", capture], to: "f.TXT", in: dir).1 == text)
        for name in ["f.csv", "f.jsonl", "f.html"] {
            #expect(try report(["flows", "-q", capture], to: name, in: dir).1 == text, "\(name)")
        }
        // model prints JSON in both of its formats, and refuses no name either.
        let model = CLIRun(["model"]).stdout
        for name in ["m.json", "m.txt", "m.csv"] {
            #expect(try report(["model"], to: name, in: dir).1 == model, "\(name)")
        }
    }

    /// `--per` sets the rows of the format the name picks, as it does with `-F`.
    @Test func perAppliesToTheNamedFormat() throws {
        let dir = try TemporaryFolder()
        let capture = heartbeatCapture("https-idle")
        for format in ["csv", "jsonl"] {
            let expected = CLIRun(["audit", "-q", "-F", format, "--per", "checkin", capture]).stdout
            #expect(try report(["audit", "-q", "--per", "checkin", capture], to: "p.\(format)", in: dir).1 == expected)
        }
    }

    @Test func helpNamesTheExtensions() {
        #expect(CLIRun(["analyze", "--help"]).stdout.contains("Without -F, an -o FILE ending in .txt, .json, .jsonl, "
            + ".ndjson, .csv, .html, .htm (any case) is written in that format, any other in text."))
        #expect(CLIRun(["flows", "--help"]).stdout.contains("Without -F, an -o FILE ending in .txt, .json (any case)"))
    }
}
