import Foundation
import Testing
import TestSupport

@testable import CLI

/// Runs `sepbeat` in-process with stdout and stderr captured (neither is a terminal).
struct CLIRun {
    /// The debug build of the `sepbeat` executable, for tests that run it as a process of its own
    /// (under a resource limit, with a signal); the test fails when it is missing.
    static func builtBinary() throws -> String {
        let binary = Fixtures.packageRoot + "/.build/debug/sepbeat"
        try #require(FileManager.default.isExecutableFile(atPath: binary), "no built binary at \(binary)")
        return binary
    }

    var status: Int32
    var stdout: String
    var stderr: String

    init(_ arguments: [String]) {
        var output = Output()
        output.capture = true
        status = SepbeatCommand.run(arguments: arguments, output: &output)
        stdout = output.standardOutput
        stderr = output.standardError
    }
}

func sepbeat(_ arguments: String...) -> CLIRun { CLIRun(arguments) }

#if canImport(Glibc)
import Glibc

extension CLIRun {
    /// Starts `process` with SIGINT, SIGTERM and SIGHUP unblocked, so that it gets them as a command typed in a
    /// shell would: tests run on threads that block them, and a child inherits its starting thread's mask.
    static func runWithSignalsUnblocked(_ process: Process) throws {
        var three = sigset_t()
        sigemptyset(&three)
        for signal in Interruption.signals { sigaddset(&three, signal) }
        var mask = sigset_t()
        pthread_sigmask(SIG_UNBLOCK, &three, &mask)
        defer { pthread_sigmask(SIG_SETMASK, &mask, nil) }
        try process.run()
    }
}
#endif

/// Captures the report tests read: `Captures/heartbeat/NAME.pcap` of this repository.
func heartbeatCapture(_ name: String) -> String { Fixtures.captures + "/heartbeat/" + name + ".pcap" }

/// `text` (a JSON report or truth file) as its top-level object; the test stops when it is none.
func jsonObject(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                 sourceLocation: sourceLocation)
}

/// Compares `actual` with `Captures/expected/cli/NAME`, after making repository paths relative.
/// With `SEPBEAT_UPDATE_GOLDEN=1` the file is rewritten instead and the comparison passes.
enum Golden {
    static var folder: String { Fixtures.captures + "/expected/cli" }

    static var updating: Bool { ProcessInfo.processInfo.environment["SEPBEAT_UPDATE_GOLDEN"] == "1" }

    static func normalize(_ text: String) -> String {
        text.replacingOccurrences(of: Fixtures.packageRoot + "/", with: "")
    }

    static func check(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let path = folder + "/" + name
        let text = normalize(actual)
        if updating {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
            return
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            Issue.record("golden file \(name) is missing (run with SEPBEAT_UPDATE_GOLDEN=1)",
                         sourceLocation: sourceLocation)
            return
        }
        let expected = String(decoding: data, as: UTF8.self)
        if expected != text {
            let a = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let b = text.split(separator: "\n", omittingEmptySubsequences: false)
            let line = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
            let want = line < a.count ? String(a[line]) : "<end>"
            let got = line < b.count ? String(b[line]) : "<end>"
            Issue.record("\(name) differs at line \(line + 1):\n  expected: \(want)\n  actual:   \(got)",
                         sourceLocation: sourceLocation)
        }
    }
}

/// A temporary folder removed when the value goes away.
final class TemporaryFolder {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "sepbeat-cli-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) -> String {
        let p = path + "/" + name
        _ = FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
        return p
    }

    /// Writes a capture with `sepbeat simulate -q -o NAME ARGUMENTS` in the folder; returns its path.
    func simulatedCapture(_ name: String, _ arguments: [String]) throws -> String {
        let capture = path + "/" + name
        let made = CLIRun(["simulate", "-q", "-o", capture] + arguments)
        try #require(made.status == 0, "simulate: \(made.stderr)")
        return capture
    }

    /// `capture` with every occurrence of `from` replaced by `to` (the same length, so every record keeps
    /// its size; checksums are not recomputed, which sepbeat does not check), written as `name`; returns
    /// the new file and how many occurrences were replaced (at least one, or the test stops).
    func patchedCapture(_ capture: String, replacing from: String, with to: String, as name: String) throws
        -> (path: String, replaced: Int) {
        try #require(from.utf8.count == to.utf8.count)
        var bytes = try #require(FileManager.default.contents(atPath: capture))
        let (old, new) = (Data(from.utf8), Data(to.utf8))
        var replaced = 0
        while let r = bytes.range(of: old) {
            bytes.replaceSubrange(r, with: new)
            replaced += 1
        }
        try #require(replaced > 0)
        let patched = path + "/" + name
        try #require(FileManager.default.createFile(atPath: patched, contents: bytes))
        return (patched, replaced)
    }

    /// Writes a capture with `sepbeat simulate -q -o NAME ARGUMENTS`, then its first `keep(size)` bytes
    /// as `cut` with NAME's extension (a capture cut short); returns that file and the whole size.
    func cutSimulatedCapture(
        _ name: String, _ arguments: [String], keep: (Int) -> Int
    ) throws -> (path: String, wholeBytes: Int) {
        let whole = try simulatedCapture(name, arguments)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: whole))
        let extensionPart = name.lastIndex(of: ".").map { String(name[$0...]) } ?? ""
        let cut = path + "/cut" + extensionPart
        try bytes.prefix(keep(bytes.count)).write(to: URL(fileURLWithPath: cut))
        return (cut, bytes.count)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The classic pcap at `path`: its 24-byte file header and its records (each with its 16-byte record
/// header), for tests that cut or copy captures record by record. Little-endian files, as `simulate` writes.
func classicPcapRecords(_ path: String) throws -> (header: [UInt8], records: [ArraySlice<UInt8>]) {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    try #require(bytes.count >= 24)
    var records: [ArraySlice<UInt8>] = []
    var at = 24
    while at + 16 <= bytes.count {
        let length = Int(bytes[at + 8]) | Int(bytes[at + 9]) << 8 | Int(bytes[at + 10]) << 16
            | Int(bytes[at + 11]) << 24
        records.append(bytes[at..<min(bytes.count, at + 16 + length)])
        at += 16 + length
    }
    return (Array(bytes[0..<24]), records)
}

/// A JSON report without its capture summaries' `reader` lines: a plain classic pcap file named on the command
/// line is read by the own pcap reader, the same capture compressed or streamed by libpcap, and all else in
/// their reports is the same.
func withoutReaderLines(_ report: String) -> String {
    report.split(separator: "\n", omittingEmptySubsequences: false)
        .filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("\"reader\" : ") }
        .joined(separator: "\n")
}
