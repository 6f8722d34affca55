import Analysis
import Core
@testable import Heartbeat
@testable import Reports
import Testing

/// Reports handed to a sink in pieces are the reports rendered whole, piece for piece, and no piece
/// holds much more than the chunk size.
@Suite struct StreamedReportTests {
    /// A fleet report with findings of every severity, and a manager.
    static func bundle(_ kind: ReportKind) -> ReportBundle {
        let (report, model, _, _) = FleetTests.fleet()
        var heartbeat = report
        heartbeat.findings.append(Finding(code: .httpError, severity: .info, message: "first info"))
        heartbeat.findings.append(Finding(code: .httpError, severity: .error, message: "late error\r\nforged"))
        heartbeat.findings.append(Finding(code: .httpError, severity: .warning, message: "a warning"))
        heartbeat.findings.append(Finding(code: .httpError, severity: .info, message: "second info"))
        heartbeat.managers.append(ManagerReport(
            address: "10.9.9.9", hostName: "sepm", source: "option", resolution: nil, priority: 1,
            ports: [443], sessions: 0))
        let audit = FleetAudit(report: heartbeat, model: model)
        let validation = kind == .validate ? DeploymentValidation(report: heartbeat, audit: audit) : nil
        return ReportBundle(kind: kind, heartbeat: heartbeat, captures: [CaptureSummary(path: "fleet.pcap")],
                            model: model, validation: validation, audit: audit)
    }

    @Test(arguments: [ReportKind.analyze, .audit, .validate], ReportFormat.allCases)
    func piecesJoinToTheWholeReport(_ kind: ReportKind, _ format: ReportFormat) throws {
        let bundle = Self.bundle(kind)
        for palette in [Palette(enabled: false), Palette(enabled: true)] {
            let chunkSize = 64
            var pieces: [[UInt8]] = []
            try bundle.write(format, palette: palette, chunkSize: chunkSize) { pieces.append($0) }
            let whole = try bundle.render(format, palette: palette)
            #expect(String(decoding: pieces.joined(), as: UTF8.self) == whole)
            #expect(!pieces.contains { $0.isEmpty })
            // A piece is handed over once it passes the chunk size; only the last may be shorter.
            #expect(pieces.dropLast().allSatisfy { $0.count > chunkSize })
        }
    }

    @Test func textAndHTMLAreHandedOverRowByRow() throws {
        let bundle = Self.bundle(.analyze)
        let sessions = bundle.heartbeat.sessions.count
        #expect(sessions > 10)
        for format in [ReportFormat.text, .html] {
            var pieces = 0
            var longest = 0
            try bundle.write(format, chunkSize: 1) { piece in
                pieces += 1
                longest = max(longest, piece.count)
            }
            // Text: a piece per client's table and per check-in's steps; HTML: a timeline row per client, a
            // table row per client and per finding.
            let clients = bundle.heartbeat.clients.count
            let rows = format == .text
                ? clients + sessions : bundle.audit.clients.count * 2 + bundle.heartbeat.findings.count
            #expect(pieces >= rows)
            #expect(longest < 16_384, "no piece holds more than one client's table or a few rows")
        }
    }

    @Test func analyzeTextInPiecesIsTheTextWhole() throws {
        let b = Self.bundle(.analyze)
        let report = AnalyzeReport(heartbeat: b.heartbeat, captures: b.captures)
        var streamed: [UInt8] = []
        var pieces = 0
        try report.writeText(palette: Palette(enabled: true), chunkSize: 100) { piece in
            pieces += 1
            streamed += piece
        }
        #expect(streamed.elementsEqual(report.textBytes(palette: Palette(enabled: true))))
        #expect(String(decoding: streamed, as: UTF8.self) == report.text(palette: Palette(enabled: true)))
        #expect(pieces > 10)
    }

    @Test func findingsBySeverityReadInPlaceKeepTheSortedOrder() {
        let heartbeat = Self.bundle(.analyze).heartbeat
        var seen: [Finding] = []
        heartbeat.forEachFindingBySeverity { seen.append($0) }
        #expect(seen == heartbeat.findingsBySeverity)
        #expect(seen.map(\.severity).contains(.info) && seen.first?.severity == .error)
    }

    @Test func columnsWrittenRowByRowMatchTheTable() {
        let columns: [(String, TextTable.Alignment)] = [("name", .left), ("n", .right), ("note", .left)]
        let rows: [[String]] = [
            ["plain", "1", "ascii"],
            ["crlf\r\nsplit", "22", "two controls count as two"],
            ["é accent", "333"],  // short: the missing cell is empty
            ["c1\u{85}byte", "4", "x", "past the last column"],
            ["", "", ""],
        ]
        var table = TextTable(columns)
        for r in rows { table.append(r) }
        let style: (Int, Int, String) -> String = { row, column, text in column == 1 ? "<\(row)>" + text : text }
        let whole = table.render(indent: "  ", style: style)

        var t = TextColumns(columns)
        for r in rows { t.measure(r) }
        var out: [UInt8] = []
        t.appendHead(indent: "  ", to: &out)
        for (n, r) in rows.enumerated() {
            t.appendRow(r, indent: "  ", style: { column, text in style(n, column, text) }, to: &out)
        }
        #expect(String(decoding: out, as: UTF8.self) == whole)
        #expect(whole.contains("crlf??split"))
        #expect(whole.split(separator: "\n").count == rows.count + 2)
    }
}
