import Foundation
import Testing
import TestSupport

/// A stretch with no packets at all inside one file, longer than the pull interval plus the tolerance,
/// across which every client seen on both sides missed: still judged as time the capture ran, with a
/// `capture-gap` warning (and an audit note) naming it as where the capture may have stopped.
@Suite struct CaptureStopCLITests {
    /// `path` without the records from `from` to `to` seconds after the first one.
    static func cut(_ path: String, to out: String, from: Int64, to: Int64) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var written = Array(bytes.prefix(24))
        let records = try ClockSetBackCLITests.records(bytes)
        let first = records.first?.seconds ?? 0
        for (seconds, range) in records where !(seconds - first >= from && seconds - first < to) {
            written += bytes[range]
        }
        try Data(written).write(to: URL(fileURLWithPath: out))
    }

    @Test func aFleetWideStopIsNamedAndStillJudged() throws {
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture("fleet.pcap", [
            "--clients", "8", "--duration", "60m", "--http-share", "0", "--push-share", "0",
        ])
        let stopped = dir.path + "/stopped.pcap"
        try Self.cut(capture, to: stopped, from: 1200, to: 2100)
        let analyze = sepbeat("analyze", "-q", stopped).stdout
        let warning = analyze.split(separator: "\n").filter {
            $0.contains("warning capture-gap") && $0.contains("the capture may have stopped there")
        }
        #expect(warning.count == 1)
        #expect(warning.first?.contains("each of the 8 clients seen on both sides missed") == true)
        // Still judged as time the capture ran: the missed check-ins stand.
        #expect(analyze.contains("missed-heartbeat"))
        let audit = sepbeat("audit", "-q", stopped).stdout
        #expect(audit.contains("Note: no packets at all from "))
        #expect(!audit.contains(", 0 missed"))
        // The JSON gives the note too, as a `capture-gap` warning.
        let json = try #require(try JSONSerialization.jsonObject(
            with: Data(sepbeat("audit", "-q", "-F", "json", stopped).stdout.utf8)) as? [String: Any])
        let notes = try #require(json["notes"] as? [[String: Any]])
        #expect(notes.map { $0["code"] as? String } == ["capture-gap"])
        #expect(notes.first?["severity"] as? String == "warning")
        #expect((notes.first?["message"] as? String).map { audit.contains("Note: \($0)\n") } == true)

        // No note for the whole capture, nor for a short stop (its stretch with no packets, with the quiet
        // around it, stays below the pull interval plus the tolerance).
        #expect(!sepbeat("analyze", "-q", capture).stdout.contains("may have stopped"))
        let short = dir.path + "/short.pcap"
        try Self.cut(capture, to: short, from: 1200, to: 1260)
        #expect(!sepbeat("analyze", "-q", short).stdout.contains("may have stopped"))
        #expect(!sepbeat("audit", "-q", short).stdout.contains("Note: no packets at all"))
    }

    /// A rotated file missing between two others: the time it held is not judged, and `audit` says so under its
    /// fleet line (only `analyze` said it), in its text and its JSON `notes`.
    @Test func timeBetweenFilesIsANoteOfTheAudit() throws {
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture("fleet.pcap", [
            "--clients", "8", "--duration", "60m", "--http-share", "0", "--push-share", "0",
        ])
        let first = dir.path + "/first.pcap"
        let last = dir.path + "/last.pcap"
        try Self.cut(capture, to: first, from: 1200, to: 1_000_000)
        try Self.cut(capture, to: last, from: 0, to: 2100)
        let audit = sepbeat("audit", "-q", first, last).stdout
        let notes = audit.split(separator: "\n").filter { $0.hasPrefix("Note: no packets from ") }
        #expect(notes.count == 1, "\(audit)")
        #expect(notes.first?.contains("the capture does not cover this time (between capture files)") == true)
        let json = try #require(try JSONSerialization.jsonObject(
            with: Data(sepbeat("audit", "-q", "-F", "json", first, last).stdout.utf8)) as? [String: Any])
        let messages = try #require(json["notes"] as? [[String: Any]]).compactMap { $0["message"] as? String }
        #expect(messages.map { "Note: " + $0 } == notes.map(String.init))
        // One file alone has no such note.
        #expect(!sepbeat("audit", "-q", capture).stdout.contains("Note: no packets from"))
    }
}
