import Analysis
import Capture
import Foundation
import Heartbeat
import Records
import Reports
import Testing
import TestSupport

@testable import CLI

#if canImport(Glibc)
import Glibc
#endif

/// A report so far (`--every`) is what the final report would say if the capture ended at that moment: the
/// connections handed out so far and, made into provisional records, those still open (`TrafficAnalyzer.soFar`).
@Suite(.serialized) struct OpenConnectionsSoFarTests {
    /// Pull and push clients, plain HTTP and HTTPS.
    static let mixed = ["--clients", "6", "--duration", "40m", "--push-share", "0.5", "--http-share", "0.5",
                        "--seed", "3"]
    /// Push clients only: each keeps one connection open the whole capture.
    static let push = ["--clients", "4", "--duration", "30m", "--push-share", "1", "--http-share", "0", "--seed", "5"]

    /// What a record (a classic pcap record with an Ethernet and IPv4 header) carries: its TCP flags and
    /// payload length.
    static func tcp(_ record: ArraySlice<UInt8>) -> (flags: UInt8, payload: Int) {
        let b = Array(record)
        let ip = 16 + 14
        let ipHeader = Int(b[ip] & 0x0f) * 4
        let total = Int(b[ip + 2]) << 8 | Int(b[ip + 3])
        let tcpHeader = Int(b[ip + ipHeader + 12] >> 4) * 4
        return (b[ip + ipHeader + 13], total - ipHeader - tcpHeader)
    }

    /// Where to cut: a quarter in; a check-in's fourth packet (its request or hello sent, no answer yet) past
    /// the half, when a connection opens there; and inside a burst of data packets (one with payload, followed
    /// by another) past three quarters: on a push connection, a check-in pushed part-way.
    static func cuts(_ records: [ArraySlice<UInt8>]) throws -> [Int] {
        let n = records.count
        let packets = records.map(tcp)
        let burst = try #require((3 * n / 4..<n - 1).first { packets[$0].payload > 0 && packets[$0 + 1].payload > 0 })
        var cuts: Set = [n / 4, burst + 1]
        // Push clients alone open their connections at the start only.
        if let syn = (n / 2..<n - 4).first(where: { packets[$0].flags & 0x12 == 0x02 }) { cuts.insert(syn + 4) }
        return cuts.sorted()
    }

    static func packets(_ text: String?) -> Int? {
        guard let data = text?.data(using: .utf8),
              let report = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return nil }
        return (report["captures"] as? [[String: Any]])?.first?["packets"] as? Int
    }

    static func checkIns(_ text: String?) -> Int? {
        guard let data = text?.data(using: .utf8),
              let report = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return nil }
        return (report["summary"] as? [String: Any])?["checkIns"] as? Int
    }

    static func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    /// Runs `analyze -F json` on a pipe fed `header` and then `parts` one after another; after each part but
    /// the last, waits for the report so far that counts every packet written and keeps it. Returns those
    /// reports and the final one. `every` false: no report so far (the parts are written at once).
    static func followed(header: [UInt8], parts: [[UInt8]], counts: [Int], every: Bool, folder: String) throws
        -> (soFar: [String], final: String) {
        let report = folder + "/now.json"
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        let run = try FollowedInputCLITests.Run(
            ["analyze", "-q", "-F", "json"] + (every ? ["--every", "1"] : []) + ["-o", report, "-"],
            input: ends[0], folder: folder)
        close(ends[0])
        var writing = true
        defer { if writing { close(ends[1]) } }
        try FollowedInputCLITests.write(header, to: ends[1])
        var soFar: [String] = []
        for (part, count) in zip(parts, counts) {
            try FollowedInputCLITests.write(part, to: ends[1])
            guard every, count >= 0 else { continue }
            #expect(run.wait { packets(read(report)) == count }, "stderr: \(run.stderr)")
            soFar.append(read(report) ?? "")
        }
        close(ends[1])
        writing = false
        #expect(run.finish() == ExitStatus.ok, "stderr: \(run.stderr)")
        return (soFar, read(report) ?? "")
    }

    /// 1: a report so far made after packet k is the final report of the capture cut after packet k, whole (its
    /// check-ins, findings, counts and capture summary), but for the capture's name ("-": standard input).
    /// 2: the final report of the run with reports so far is the one of a run without.
    @Test(arguments: [mixed, push]) func aReportSoFarIsTheFinalReportOfTheCaptureCutThere(simulate: [String])
        throws {
        let folder = try TemporaryFolder()
        let capture = try folder.simulatedCapture("fleet.pcap", simulate)
        let (header, records) = try classicPcapRecords(capture)
        let cuts = try Self.cuts(records)
        var parts: [[UInt8]] = []
        var done = 0
        for k in cuts + [records.count] {
            parts.append(records[done..<k].flatMap { Array($0) })
            done = k
        }
        let withEvery = try TemporaryFolder()
        let (soFar, final) = try Self.followed(header: header, parts: parts, counts: cuts + [-1], every: true,
                                               folder: withEvery.path)
        try #require(soFar.count == cuts.count)
        for (k, report) in zip(cuts, soFar) {
            let cut = folder.path + "/cut-\(k).pcap"
            try #require(FileManager.default.createFile(
                atPath: cut, contents: Data(header + records[..<k].flatMap { Array($0) })))
            let out = folder.path + "/cut-\(k).json"
            let made = CLIRun(["analyze", "-q", "-F", "json", "-o", out, cut])
            #expect(made.status <= ExitStatus.findings, "\(made.stderr)")
            let expected = withoutReaderLines(try #require(Self.read(out)).replacingOccurrences(of: cut, with: "-"))
            // The one line a report so far adds: its capture marked so far (`soFar`), which the final one is not.
            let marked = report.split(separator: "\n", omittingEmptySubsequences: false)
            let mark = marked.filter { $0.trimmingCharacters(in: .whitespaces) == #""soFar" : true,"# }
            #expect(mark.count == 1, "cut after packet \(k)")
            let unmarked = marked.filter { $0.trimmingCharacters(in: .whitespaces) != #""soFar" : true,"# }
            #expect(withoutReaderLines(unmarked.joined(separator: "\n")) == expected,
                    "cut after packet \(k) of \(records.count)")
        }
        let without = try TemporaryFolder()
        let plain = try Self.followed(header: header, parts: parts, counts: cuts + [-1], every: false,
                                      folder: without.path)
        #expect(!final.isEmpty)
        #expect(final == plain.final)
        #expect(!final.contains("soFar"))
    }

    /// The model's report of `open` and the records handed out before it (`ReportCommand.finish`).
    static func checkIns(handedOut: [ConnectionRecord], open: [CompletedConnection], files: [CaptureSummary]) -> Int {
        var builder = SessionBuilder(model: .builtIn)
        for r in handedOut { builder.ingest(r) }
        for c in open { builder.ingest(c.record) }
        return ReportCommand.finish(&builder, files: files).summary.checkIns
    }

    /// 3: a push client's connection stays open the whole capture, so none is handed out before the end; its
    /// check-ins are in the reports so far all the same, more as the capture goes on, up to the final report's.
    @Test func aPushClientsCheckInsAreInTheReportsSoFarWhileItsConnectionIsOpen() throws {
        let folder = try TemporaryFolder()
        let capture = try folder.simulatedCapture("push.pcap", Self.push)
        var run = CaptureRun(paths: [capture])
        var handedOut: [ConnectionRecord] = []
        var reports: [(handedOut: Int, open: Int, checkIns: Int)] = []
        // A report so far every 64 packets (the interval is always past).
        run.rolling = RollingReports(intervalNanoseconds: 1) { soFar in
            reports.append((handedOut.count, soFar.open.count,
                            Self.checkIns(handedOut: handedOut, open: soFar.open, files: soFar.files)))
        }
        let files = try run.run(try run.open()) { handedOut.append($0.record) }
        try #require(reports.count >= 4)
        #expect(reports.allSatisfy { $0.handedOut == 0 && $0.open == 4 })
        #expect(reports.map(\.checkIns).last ?? 0 > reports.map(\.checkIns).first ?? 0)
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.checkIns <= $1.checkIns })
        let final = Self.checkIns(handedOut: handedOut, open: [], files: files)
        #expect(final > 0)
        #expect(reports.last.map { $0.checkIns > 0 && $0.checkIns <= final } ?? false)
    }

    /// 2, in the library: reports so far made every 64 packets leave the records and summaries of the run as
    /// they are without them.
    @Test func reportsSoFarChangeNothingInTheRun() throws {
        let folder = try TemporaryFolder()
        let capture = try folder.simulatedCapture("fleet.pcap", Self.mixed)
        let plain = try CaptureRun(paths: [capture]).connections()
        var run = CaptureRun(paths: [capture])
        var reports = 0
        run.rolling = RollingReports(intervalNanoseconds: 1) { soFar in
            reports += soFar.open.isEmpty ? 0 : 1
        }
        var records: [ConnectionRecord] = []
        let files = try run.run(try run.open()) { records.append($0.record) }
        #expect(reports > 10)
        records.sort { $0.id < $1.id }
        #expect(records == plain.connections.map(\.record))
        #expect(files.map(CaptureSummaryReport.json) == plain.files.map(CaptureSummaryReport.json))
    }

    /// 4: with no connection open (nothing read yet), and with thousands (2,500 push clients, nearly each with
    /// its connection open at the end): the capture so far taken after the last packet is what the end gives.
    @Test func noConnectionOpenAndThousandsOpen() throws {
        let empty = TrafficAnalyzer { _ in }
        let none = empty.soFar(fileStatistics: [])
        #expect(none.open.isEmpty)
        #expect(none.files.isEmpty)

        let folder = try TemporaryFolder()
        let capture = try folder.simulatedCapture("push.pcap", [
            "--clients", "2500", "--duration", "5m", "--push-share", "1", "--http-share", "0", "--seed", "5"])
        let run = CaptureRun(paths: [capture])
        let source = try run.open()
        var handedOut: [CompletedConnection] = []
        let analyzer = TrafficAnalyzer { handedOut.append($0) }
        while let packet = try source.next() { analyzer.process(packet) }
        let soFar = analyzer.soFar(fileStatistics: source.statistics)
        let before = handedOut.count
        analyzer.finish()
        analyzer.adopt(fileStatistics: source.statistics)
        #expect(soFar.open.count >= 2000)
        #expect(soFar.open.map(\.record) == handedOut[before...].map(\.record))
        #expect(soFar.open.map(\.longestQuietBound) == handedOut[before...].map(\.longestQuietBound))
        #expect(soFar.files.map(CaptureSummaryReport.json) == analyzer.files.map(CaptureSummaryReport.json))
    }

    /// 4: a pull client's capture whose table clock then moves two hours on (a live capture's quiet interface):
    /// every connection is handed out, none is open, and the capture so far is the connections handed out.
    @Test func aQuietCaptureHasNoConnectionOpen() throws {
        let run = CaptureRun(paths: [heartbeatCapture("https-idle")])
        let source = try run.open()
        var handedOut: [ConnectionRecord] = []
        let analyzer = TrafficAnalyzer { handedOut.append($0.record) }
        while let packet = try source.next() { analyzer.process(packet) }
        let last = try #require(analyzer.summary.last)
        analyzer.advanceClock(to: last.adding(nanoseconds: 7_200_000_000_000))
        let soFar = analyzer.soFar(fileStatistics: source.statistics)
        #expect(soFar.open.isEmpty)
        #expect(handedOut.count == 6)
        #expect(Self.checkIns(handedOut: handedOut, open: soFar.open, files: soFar.files) == 6)
    }
}
