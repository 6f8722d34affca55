import Foundation
import Testing
import TestSupport

@testable import CLI

/// File names on stderr (errors and warnings) carry no control character: a name holding a line
/// break or an escape sequence is shown as the text report shows it (`?` for each), so every message
/// stays one line and cannot drive the terminal.
@Suite struct StderrFileNameTests {
    static let hostileName = "evil\nname\u{1b}[31m\r\u{7}\u{85}.pcap"
    static let shown = "evil?name?[31m???.pcap"

    static func assertOneCleanLine(
        _ stderr: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(stderr.hasSuffix("\n"), "\(what): \(stderr)", sourceLocation: sourceLocation)
        let body = stderr.dropLast()
        #expect(!body.contains("\n"), "\(what): \(stderr)", sourceLocation: sourceLocation)
        let controls = body.unicodeScalars.filter { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) }
        #expect(controls.isEmpty, "\(what): \(stderr)", sourceLocation: sourceLocation)
    }

    @Test func errorAndWarningLinesShowControlCharactersAsQuestionMarks() throws {
        let dir = try TemporaryFolder()
        let garbage = dir.write(Self.hostileName, "garbage")
        let bad = sepbeat("analyze", garbage)
        #expect(bad.status == ExitStatus.unreadableInput)
        Self.assertOneCleanLine(bad.stderr, "not a capture")
        #expect(bad.stderr.contains(Self.shown + ": not a pcap or pcapng file"), "\(bad.stderr)")

        // A capture cut mid-record: the warning on stderr names the file in one line.
        let whole = try dir.simulatedCapture("whole.pcap", ["--clients", "2", "--duration", "10m", "--seed", "2"])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: whole))
        let cut = dir.path + "/" + Self.hostileName
        try bytes.prefix(bytes.count - 7).write(to: URL(fileURLWithPath: cut))
        let warned = sepbeat("analyze", "-F", "json", "-o", dir.path + "/r.json", cut)
        #expect([ExitStatus.ok, ExitStatus.findings].contains(warned.status), "\(warned.stderr)")
        Self.assertOneCleanLine(warned.stderr, "truncated")
        #expect(warned.stderr.hasPrefix("sepbeat: warning: \(dir.path)/\(Self.shown): file truncated"),
                "\(warned.stderr)")

        // The same file named twice, and as -o: each message one clean line.
        let twice = sepbeat("analyze", "-F", "json", "-o", dir.path + "/r2.json", cut,
                            dir.path + "/./" + Self.hostileName)
        let lines = twice.stderr.split(separator: "\n")
        #expect(lines.count == 2, "\(twice.stderr)")
        for line in lines { Self.assertOneCleanLine(String(line) + "\n", "named twice") }
        let overwrite = sepbeat("analyze", "-o", cut, cut)
        #expect(overwrite.status == ExitStatus.usage)
        Self.assertOneCleanLine(overwrite.stderr, "-o an input")
        let model = sepbeat("analyze", "--model", garbage, whole)
        #expect(model.status == ExitStatus.usage)
        Self.assertOneCleanLine(model.stderr, "--model")
        #expect(model.stderr.contains(Self.shown), "\(model.stderr)")
    }
}
