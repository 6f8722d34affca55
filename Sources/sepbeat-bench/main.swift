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
//   sepbeat-bench parallel FILE...   one merged sequential analysis against one TrafficAnalyzer per file on
//                                    its own thread, records joined into one SessionBuilder; prints both
//                                    times and whether the heartbeat reports are identical
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

/// Reads every packet, touching one byte of each so the loop cannot be optimised away.
func readOnly(_ paths: [String]) throws(CaptureError) -> (packets: Int, bytes: Int64, seconds: Double) {
    let start = now()
    let source = try CaptureRun(paths: paths).open()
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
    let box = Builder()
    let files = try run.run(try run.open()) { box.value.ingest($0.record) }
    let merged = CaptureSummary.merged(files)
    if let first = merged.first, let last = merged.last { box.value.noteCaptureSpan(first: first, last: last) }
    return box.value.finish()
}

final class Builder {
    var value = SessionBuilder(model: ReferenceModel.builtIn)
}

/// Per-file results of the parallel run, filled by worker threads under a lock.
final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    var records: [[ConnectionRecord]]
    var spans: [(Timestamp, Timestamp)?]
    var errors: [String] = []

    init(count: Int) {
        records = Array(repeating: [], count: count)
        spans = Array(repeating: nil, count: count)
    }

    func store(_ i: Int, _ r: [ConnectionRecord], _ span: (Timestamp, Timestamp)?) {
        lock.lock()
        records[i] = r
        spans[i] = span
        lock.unlock()
    }

    func failed(_ message: String) {
        lock.lock()
        errors.append(message)
        lock.unlock()
    }
}

/// Each file through its own TrafficAnalyzer on its own thread; the connection records are then
/// numbered as one merged run would number them (by first packet time, then file order, then the
/// file's own order) and fed to one SessionBuilder.
///
/// This gives the merged run's report when connections do not span files and when no connection
/// is flushed for idleness differently in a file's own clock than in the merged clock (true for
/// captures split by client, as `sepbeat simulate --split` writes).
func parallelReport(_ paths: [String]) -> HeartbeatReport {
    let collected = Collected(count: paths.count)
    DispatchQueue.concurrentPerform(iterations: paths.count) { i in
        do throws(CaptureError) {
            let run = CaptureRun(paths: [paths[i]])
            var mine: [ConnectionRecord] = []
            let files = try run.run(try run.open()) { mine.append($0.record) }
            let s = CaptureSummary.merged(files)
            collected.store(i, mine, s.first.flatMap { f in s.last.map { (f, $0) } })
        } catch {
            collected.failed(error.message)
        }
    }
    if let e = collected.errors.first { fail("sepbeat-bench: \(e)") }
    var all: [(file: Int, record: ConnectionRecord)] = []
    for (i, list) in collected.records.enumerated() {
        for r in list.sorted(by: { $0.id < $1.id }) { all.append((i, r)) }
    }
    // Stable sort keeps each file's own order for equal (start, file).
    all = all.enumerated().sorted { a, b in
        (a.element.record.start, a.element.file, a.offset) < (b.element.record.start, b.element.file, b.offset)
    }.map(\.element)
    var builder = SessionBuilder(model: ReferenceModel.builtIn)
    for (n, item) in all.enumerated() {
        var r = item.record
        r.id = UInt64(n + 1)
        builder.ingest(r)
    }
    let spans = collected.spans.compactMap { $0 }
    if let first = spans.map(\.0).min(), let last = spans.map(\.1).max() {
        builder.noteCaptureSpan(first: first, last: last)
    }
    return builder.finish()
}

func json(_ r: HeartbeatReport) -> Data {
    (try? HeartbeatReport.encoder().encode(r)) ?? Data()
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard let mode = arguments.first, arguments.count >= 2 else {
    fail("usage: sepbeat-bench read|traffic|parallel FILE... [-o REPORT.json with parallel]")
}
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
    case "parallel":
        var start = now()
        let merged = try mergedReport(paths)
        let mergedSeconds = now() - start
        start = now()
        let parallel = parallelReport(paths)
        let parallelSeconds = now() - start
        let a = json(merged)
        let b = json(parallel)
        if let reportPath { _ = FileManager.default.createFile(atPath: reportPath, contents: b) }
        report([("files", "\(paths.count)"), ("merged_seconds", format(mergedSeconds)),
                ("parallel_seconds", format(parallelSeconds)),
                ("speedup", format(mergedSeconds / parallelSeconds, 2)),
                ("sessions", "\(merged.sessions.count)"), ("findings", "\(merged.findings.count)"),
                ("identical", a == b ? "yes" : "no")])
        if a != b { exit(1) }
    default:
        fail("sepbeat-bench: unknown mode '\(mode)' (read, traffic, parallel)")
    }
} catch {
    fail("sepbeat-bench: \(error.message)")
}
