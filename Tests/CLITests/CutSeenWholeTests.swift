import Foundation
import Testing
import TestSupport

/// Packets the snap length cut, seen whole as well: a capture merged from two sensors of the same traffic (as
/// `mergecap` of a `-s 64` copy and a full one), the cut copy of each packet right before the whole one or right
/// after it. Either way the report is the whole capture's; before, a cut copy first kept its cut, so the status
/// lines in the cut part (`HTTP/1.1 5`, 10 bytes after 54 bytes of headers) were lost with their `http-error`s,
/// and TLS records lost their ends. Also a capture cut alone: a status line cut right after its code keeps it, and
/// one cut before it is still its request's answer.
@Suite struct CutSeenWholeTests {
    /// Each frame of the little-endian pcap at `path` twice, at its time: cut to its first `snap` bytes (original
    /// length kept) and whole, in that order when `cutFirst`. A frame no longer than `snap` is the same both times.
    static func merged(_ path: String, snap: Int, cutFirst: Bool, into folder: TemporaryFolder, name: String)
        throws -> String
    {
        let bytes = [UInt8](try #require(FileManager.default.contents(atPath: path)))
        func u32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        try #require(u32(0) == 0xA1B2_C3D4 || u32(0) == 0xA1B2_3C4D)
        var file = PcapBuilder(nanoseconds: u32(0) == 0xA1B2_3C4D, snapLength: 262_144)
        var at = 24
        while at + 16 <= bytes.count {
            let length = Int(u32(at + 8))
            let frame = Array(bytes[(at + 16)..<min(bytes.count, at + 16 + length)])
            let copies = cutFirst ? [Array(frame.prefix(snap)), frame] : [frame, Array(frame.prefix(snap))]
            for copy in copies {
                file.record(seconds: u32(at), fraction: u32(at + 4), data: copy, originalLength: u32(at + 12))
            }
            at += 16 + length
        }
        let out = folder.path + "/" + name
        try Data(file.data).write(to: URL(fileURLWithPath: out))
        return out
    }

    /// The JSON report of `analyze` on `path`.
    static func report(_ path: String, _ options: [String] = []) throws -> [String: Any] {
        let run = CLIRun(["analyze", "-q", "-F", "json"] + options + [path])
        return try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    }

    /// Each check-in's client, start, server and steps.
    static func checkIns(_ json: [String: Any]) -> [String] {
        (json["sessions"] as? [[String: Any]] ?? []).map { s in
            let steps = (s["steps"] as? [[String: Any]] ?? []).map { "\($0["step"] ?? "")" }
            return "\(s["client"] ?? "") \(s["start"] ?? "") \(s["server"] ?? "") \(steps)"
        }
    }

    static func messages(_ json: [String: Any], code: String) -> [String] {
        (json["findings"] as? [[String: Any]] ?? []).filter { $0["code"] as? String == code }
            .map { "\($0["client"] ?? "") \($0["message"] ?? "")" }
    }

    static func capture(_ json: [String: Any]) -> [String: Any] {
        (json["captures"] as? [[String: Any]])?.first ?? [:]
    }

    /// Plain HTTP (`server-error`: 503s and 400s) and TLS (`https-full`), both orders: the check-ins, their steps,
    /// the `http-error`s and the findings' codes are the whole capture's (no `capture-truncated`: every cut packet
    /// was seen whole), and no cut byte was seen too late.
    @Test(arguments: [("server-error", true), ("server-error", false), ("https-full", true), ("https-full", false)])
    func aMergedCaptureReadsAsTheWholeOne(name: String, cutFirst: Bool) throws {
        let folder = try TemporaryFolder()
        let whole = try Self.report(heartbeatCapture(name))
        let merged = try Self.report(try Self.merged(
            heartbeatCapture(name), snap: 64, cutFirst: cutFirst, into: folder, name: "merged.pcap"))
        #expect(Self.checkIns(merged) == Self.checkIns(whole))
        #expect(!Self.checkIns(whole).isEmpty)
        #expect(Self.messages(merged, code: "http-error") == Self.messages(whole, code: "http-error"))
        let codes = { (json: [String: Any]) in
            Set((json["findings"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String })
        }
        #expect(codes(merged) == codes(whole))
        let file = Self.capture(merged)
        #expect((file["truncated"] as? Int ?? 0) > 0)
        #expect((file["duplicatePackets"] as? Int ?? 0) > 0)
        #expect(file["cutBytesSeenLate"] == nil)
    }

    /// `validate` on the merged plain-HTTP capture, the cut copies first, fails its `http-status` check on the 503s
    /// and 400s as the whole capture does (it was not checked: no check-in was found).
    @Test func validateFailsAMergedCaptureOnItsErrors() throws {
        let folder = try TemporaryFolder()
        let merged = try Self.merged(
            heartbeatCapture("server-error"), snap: 64, cutFirst: true, into: folder, name: "merged.pcap")
        let run = CLIRun(["validate", "-q", "-F", "text", merged])
        let check = run.stdout.split(separator: "\n").first { $0.contains(" http-status ") }
        #expect(check?.hasPrefix("  FAIL") == true, "\(run.stdout)")
    }

    /// The cut capture alone, at 66 bytes (`HTTP/1.1 503`, `HTTP/1.1 400`: cut right after the code), its manager
    /// named (its targets are cut before the secars path): every `http-error` of the whole capture is there, and
    /// the verdict is its `fail` (it was `pass`, with no error).
    @Test func aStatusLineCutRightAfterItsCodeKeepsItsError() throws {
        let folder = try TemporaryFolder()
        let cut = try SnapLengthCaptureTests.cut(
            heartbeatCapture("server-error"), to: 66, into: folder, name: "cut.pcap")
        let server = ["--server", "198.51.100.10"]
        let whole = try Self.report(heartbeatCapture("server-error"), server)
        let report = try Self.report(cut, server)
        // The reasons were cut: each message up to its code is the whole capture's.
        let codes = { (json: [String: Any]) in
            Self.messages(json, code: "http-error").map { m in
                m.range(of: "answered ").map { String(m[..<m.index($0.upperBound, offsetBy: 3)]) } ?? m
            }
        }
        #expect(codes(whole).count == 5)
        #expect(codes(report) == codes(whole))
        let verdict = { (json: [String: Any]) in (json["summary"] as? [String: Any])?["verdict"] as? String }
        #expect(verdict(report) == "fail")
    }

    /// At 64 bytes (`HTTP/1.1 5`: cut before the code's end) each answer stays its request's, with its bytes and no
    /// status (`responseStatusCut`), instead of leaving the request unanswered and its bytes out of every exchange.
    @Test func anAnswerCutBeforeItsCodeKeepsItsBytesInItsExchange() throws {
        let folder = try TemporaryFolder()
        let cut = try SnapLengthCaptureTests.cut(
            heartbeatCapture("server-error"), to: 64, into: folder, name: "cut.pcap")
        let run = CLIRun(["flows", "-q", "--http", "-F", "json", cut])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let connections = try #require(json["connections"] as? [[String: Any]])
        let exchanges = connections.flatMap { $0["exchanges"] as? [[String: Any]] ?? [] }
        try #require(!exchanges.isEmpty)
        #expect(exchanges.allSatisfy { $0["responseStatusCut"] as? Bool == true })
        #expect(exchanges.allSatisfy { ($0["bytesDown"] as? Int ?? 0) > 0 && $0["status"] is NSNull })
        let text = CLIRun(["flows", "-q", "--http", "-F", "text", cut]).stdout
        #expect(text.contains("-> code cut"))
        #expect(!text.contains("-> no response"))
    }
}
