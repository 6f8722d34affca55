import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A followed input started where SIGINT is ignored (a script's background command): a line says that SIGTERM,
/// not Ctrl-C, ends it early. Not said when SIGINT works, nor for a regular file.
@Suite struct FollowedInputNoteTests {
    /// Runs `script` in `sh` with the built binary as `$0` and a capture as `$1`; its standard error.
    static func stderr(of script: String) throws -> (status: Int32, text: String) {
        let folder = try TemporaryFolder()
        let errors = folder.path + "/stderr"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script + " 2>\"$2\" >/dev/null", try CLIRun.builtBinary(),
                             Fixtures.captures + "/heartbeat/https-idle.pcap", errors]
        try CLIRun.runWithSignalsUnblocked(process)
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOfFile: errors, encoding: .utf8)) ?? "")
    }

    static let note = "sepbeat analyze: standard input is followed until its writer closes it; SIGINT is ignored "
        + "here, so SIGTERM ends it early (the report is then written)\n"

    @Test func aPipeWithSIGINTIgnoredIsNamed() throws {
        let run = try Self.stderr(of: #"trap '' INT; cat "$1" | "$0" analyze -F json -"#)
        #expect(run.status == 0)
        #expect(run.text == Self.note)
    }

    @Test func nothingIsSaidWhenSIGINTWorksOrTheInputIsAFile() throws {
        let pipe = try Self.stderr(of: #"cat "$1" | "$0" analyze -F json -"#)
        #expect(pipe.status == 0)
        #expect(pipe.text.isEmpty)
        let file = try Self.stderr(of: #"trap '' INT; "$0" analyze -F json - < "$1""#)
        #expect(file.status == 0)
        #expect(file.text.isEmpty)
        let quiet = try Self.stderr(of: #"trap '' INT; cat "$1" | "$0" analyze -q -F json -"#)
        #expect(quiet.text.isEmpty)
    }

    /// Where SIGTERM is ignored too, the line names the signal that still ends the input, or says that none does.
    @Test func theSignalThatStillEndsItIsNamed() throws {
        let hup = try Self.stderr(of: #"trap '' INT TERM; cat "$1" | "$0" analyze -F json -"#)
        #expect(hup.status == 0)
        #expect(hup.text == "sepbeat analyze: standard input is followed until its writer closes it; SIGINT and "
            + "SIGTERM are ignored here, so SIGHUP ends it early (the report is then written)\n")
        let none = try Self.stderr(of: #"trap '' INT TERM HUP; cat "$1" | "$0" analyze -F json -"#)
        #expect(none.status == 0)
        #expect(none.text == "sepbeat analyze: standard input is followed until its writer closes it; SIGINT, "
            + "SIGTERM and SIGHUP are ignored here, so no signal ends it early\n")
    }
}
