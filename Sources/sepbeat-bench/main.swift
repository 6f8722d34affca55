import Analysis
import Capture
import Core
import Dispatch
import Foundation
import Heartbeat
import Records

// sepbeat-bench: throughput measurements for the benchmark script.
//
//   sepbeat-bench read FILE...       the floor: a read-only loop over CaptureReader (files merged in time order)
//   sepbeat-bench traffic FILE...    the read loop, then TrafficAnalyzer (decode, reassemble, parse) in the
//                                    same run; prints both throughputs and their ratio
//   sepbeat-bench heartbeat FILE...  the connection records of the files (read once), then the heartbeat
//                                    layer alone: ingest and finish on 1 thread and on 2, best of 3 each;
//                                    prints both times and whether the reports are identical
//   sepbeat-bench parallel FILE...   one merged sequential analysis against ParallelCaptureRun (one
//                                    TrafficAnalyzer per file on its own thread), records joined into one
//                                    SessionBuilder; prints both times and whether the heartbeat reports
//                                    are identical (or `fallback=REASON` when the files must be read in order)
//
// Results go to stdout as `key=value` lines so a script can pick them up.

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

func report(_ pairs: [(String, String)]) {
    for (k, v) in pairs { print("\(k)=\(v)") }
}

func format(_ v: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", v) }

/// Reads every packet on the calling thread (no read-ahead), touching one byte of each so the loop
/// cannot be optimised away.
func readOnly(_ paths: [String]) throws(CaptureError) -> (packets: Int, bytes: Int64, seconds: Double) {
    let start = now()
    // The plain loop on this thread: no read-ahead thread copying records, and libpcap's reading (the floor
    // the analysis is measured against).
    var run = CaptureRun(paths: paths)
    run.readAhead = nil
    run.ownPcapReader = false
    let source = try run.open()
    var packets = 0
    var bytes: Int64 = 0
    var touch: UInt8 = 0
    while let p = try source.next() {
        packets &+= 1
        bytes &+= Int64(p.capturedLength)
        if let b = p.bytes.first { touch ^= b }
    }
    if touch == 0x5A && packets < 0 { print("") }
    return (packets, bytes, now() - start)
}

/// Runs the traffic layers only (no heartbeat work), counting connections.
func traffic(_ paths: [String]) throws(CaptureError) -> (connections: Int, seconds: Double) {
    let start = now()
    let run = CaptureRun(paths: paths)
    var connections = 0
    _ = try run.run(try run.open()) { _ in connections += 1 }
    return (connections, now() - start)
}

/// The heartbeat report of `paths` read as one merged stream (what `sepbeat analyze` does).
func mergedReport(_ paths: [String]) throws(CaptureError) -> HeartbeatReport {
    let run = CaptureRun(paths: paths)
    let ingest = IngestQueue(SessionBuilder(model: ReferenceModel.builtIn))
    let files = try run.run(try run.open()) { ingest.ingest($0.record) }
    var builder = ingest.finish()
    let merged = CaptureSummary.merged(files)
    if let first = merged.first, let last = merged.last { builder.noteCaptureSpan(first: first, last: last) }
    return builder.finish()
}

/// Each file through its own TrafficAnalyzer on its own thread (`ParallelCaptureRun`, as
/// `sepbeat analyze --jobs` runs it), the records then fed to one SessionBuilder. Nil when the run
/// answers that the files must be read in order (the reason is printed).
func parallelReport(_ paths: [String]) throws(CaptureError) -> HeartbeatReport? {
    let run = ParallelCaptureRun(paths: paths, jobs: paths.count)
    switch run.run(try run.open()) {
    case .failure(let fallback):
        report([("fallback", fallback.reason)])
        return nil
    case .success(let result):
        var builder = SessionBuilder(model: ReferenceModel.builtIn)
        for c in result.connections { builder.ingest(c.record) }
        let merged = CaptureSummary.merged(result.files)
        if let first = merged.first, let last = merged.last { builder.noteCaptureSpan(first: first, last: last) }
        return builder.finish()
    }
}

/// Every connection record of `paths`, in the order the traffic layers hand them out.
func records(_ paths: [String]) throws(CaptureError) -> (records: [ConnectionRecord], files: [CaptureSummary]) {
    let run = CaptureRun(paths: paths)
    final class Sink { var records: [ConnectionRecord] = [] }
    let sink = Sink()
    let files = try run.run(try run.open()) { sink.records.append($0.record) }
    return (sink.records, files)
}

/// Ingest and finish on `threads` threads, best of `rounds` runs: the report and the best time.
func heartbeat(_ input: (records: [ConnectionRecord], files: [CaptureSummary]), threads: Int, rounds: Int = 3)
    -> (report: HeartbeatReport, seconds: Double) {
    var best = Double.infinity
    var last: HeartbeatReport?
    for _ in 0..<rounds {
        let start = now()
        var builder = SessionBuilder(model: ReferenceModel.builtIn)
        builder.threads = threads
        for r in input.records { builder.ingest(r) }
        let merged = CaptureSummary.merged(input.files)
        if let first = merged.first, let last = merged.last { builder.noteCaptureSpan(first: first, last: last) }
        let report = builder.finish()
        best = min(best, now() - start)
        last = report
    }
    guard let last else { fail("sepbeat-bench: no rounds") }
    return (last, best)
}

/// Whether two reports say the same, member by member (without encoding them: Foundation's encoder
/// would hold several times the report in memory and dominate the peak this tool reports).
func same(_ a: HeartbeatReport, _ b: HeartbeatReport) -> Bool {
    a.sessions == b.sessions && a.findings == b.findings && a.clients == b.clients && a.managers == b.managers
        && a.counts == b.counts && a.summary == b.summary && a.silences == b.silences
}

func json(_ r: HeartbeatReport) -> Data {
    (try? HeartbeatReport.encoder().encode(r)) ?? Data()
}

let arguments = Array(CommandLine.arguments.dropFirst())
let usage = "usage: sepbeat-bench read|traffic|heartbeat|parallel FILE... [-o REPORT.json with parallel]"
if let first = arguments.first, ["-h", "--help", "help"].contains(first) {
    print(usage)
    exit(0)
}
guard let mode = arguments.first, arguments.count >= 2 else { fail(usage) }
var paths = Array(arguments.dropFirst())
var reportPath: String?
if let o = paths.firstIndex(of: "-o"), o + 1 < paths.count {
    reportPath = paths[o + 1]
    paths.removeSubrange(o...(o + 1))
}

do throws(CaptureError) {
    switch mode {
    case "read":
        let r = try readOnly(paths)
        report([("packets", "\(r.packets)"), ("bytes", "\(r.bytes)"), ("seconds", format(r.seconds)),
                ("mb_per_s", format(Double(r.bytes) / 1e6 / r.seconds, 1)),
                ("packets_per_s", format(Double(r.packets) / r.seconds, 0))])
    case "traffic":
        let floor = try readOnly(paths)
        let t = try traffic(paths)
        let mb = Double(floor.bytes) / 1e6
        report([("packets", "\(floor.packets)"), ("bytes", "\(floor.bytes)"), ("connections", "\(t.connections)"),
                ("read_seconds", format(floor.seconds)), ("read_mb_per_s", format(mb / floor.seconds, 1)),
                ("read_packets_per_s", format(Double(floor.packets) / floor.seconds, 0)),
                ("traffic_seconds", format(t.seconds)), ("traffic_mb_per_s", format(mb / t.seconds, 1)),
                ("traffic_packets_per_s", format(Double(floor.packets) / t.seconds, 0)),
                ("traffic_over_read", format(t.seconds / floor.seconds, 2))])
    case "heartbeat":
        let input = try records(paths)
        let one = heartbeat(input, threads: 1)
        let two = heartbeat(input, threads: 2)
        let same = same(one.report, two.report)
        report([("records", "\(input.records.count)"), ("sessions", "\(one.report.sessions.count)"),
                ("heartbeat_seconds", format(one.seconds)), ("heartbeat_2_threads_seconds", format(two.seconds)),
                ("speedup", format(one.seconds / two.seconds, 2)), ("identical", same ? "yes" : "no")])
        if !same { exit(1) }
    case "parallel":
        var start = now()
        let merged = try mergedReport(paths)
        let mergedSeconds = now() - start
        start = now()
        guard let parallel = try parallelReport(paths) else { exit(1) }
        let parallelSeconds = now() - start
        let identical = same(merged, parallel)
        if let reportPath { _ = FileManager.default.createFile(atPath: reportPath, contents: json(parallel)) }
        report([("files", "\(paths.count)"), ("merged_seconds", format(mergedSeconds)),
                ("parallel_seconds", format(parallelSeconds)),
                ("speedup", format(mergedSeconds / parallelSeconds, 2)),
                ("sessions", "\(merged.sessions.count)"), ("findings", "\(merged.findings.count)"),
                ("identical", identical ? "yes" : "no")])
        if !identical { exit(1) }
    default:
        fail("sepbeat-bench: unknown mode '\(mode)' (read, traffic, heartbeat, parallel)")
    }
} catch {
    fail("sepbeat-bench: \(error.message)")
}
