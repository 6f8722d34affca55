import Analysis
import Core
import Foundation
@testable import Heartbeat
import Reports
import Testing
import TestSupport

@testable import CLI

/// Strings from a capture can hold markup or control characters: HTML escapes them through one
/// function, text sanitises them, and colour appears only when asked for and allowed.
@Suite struct EscapingAndColourTests {
    static let hostile = "<script>alert('x')</script>&\"<img src=x onerror=alert(1)>"

    @Test func escapeFunctionNeutralisesMarkup() {
        #expect(HTML.escape("<script>") == "&lt;script&gt;")
        #expect(HTML.escape("a&b \"c\" 'd'") == "a&amp;b &quot;c&quot; &#39;d&#39;")
        #expect(HTML.escape("bell\u{07}esc\u{1b}") == "bell\u{FFFD}esc\u{FFFD}")
        #expect(HTML.escape("plain text 300 s") == "plain text 300 s")
    }

    @Test func captureStringsRenderAsTextInHTML() throws {
        let (report, model, _, _) = FleetTests.fleet()
        var heartbeat = report
        heartbeat.findings.append(Finding(code: .httpError, severity: .error, message: Self.hostile,
                                          client: heartbeat.clients.first?.client))
        heartbeat.managers.append(ManagerReport(
            address: Self.hostile, hostName: Self.hostile, source: "option", resolution: nil, priority: 1,
            ports: [443], sessions: 0))
        var capture = CaptureSummary(path: "/tmp/" + Self.hostile + ".pcap")
        capture.warnings = [Self.hostile]
        let validation = DeploymentValidation(
            report: heartbeat, audit: FleetAudit(report: heartbeat, model: model))
        let bundle = ReportBundle(kind: .validate, heartbeat: heartbeat, captures: [capture], model: model,
                                  validation: validation)
        let html = try bundle.render(.html)
        #expect(!html.contains("<script"))
        #expect(!html.contains("<img"))
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"))
        #expect(html.contains("&lt;img src=x onerror=alert(1)&gt;"))
    }

    @Test func textReportsCarryNoControlCharactersFromCaptures() throws {
        let (report, model, _, _) = FleetTests.fleet()
        var heartbeat = report
        heartbeat.findings.append(Finding(code: .httpError, severity: .error, message: "evil\u{1b}[2Jline\nforged"))
        let text = try ReportBundle(kind: .analyze, heartbeat: heartbeat, captures: [], model: model).render(.text)
        #expect(!text.contains("\u{1b}"))
        #expect(text.contains("evil?[2Jline?forged"))
    }

    @Test func csvQuotesAndDefusesFormulas() {
        #expect(CSV.cell("a,b") == "\"a,b\"")
        #expect(CSV.cell("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSV.cell("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\"")
        #expect(CSV.cell("-0.00516") == "-0.00516")
        #expect(CSV.cell("line\nbreak") == "\"line\nbreak\"")
    }

    /// A reason phrase from the capture carrying ESC and a right-to-left override:
    /// shown as `?` in CSV as in text, since CSV files are read in terminals and pagers too.
    @Test func csvShowsControlAndHiddenCharactersAsQuestionMarks() {
        #expect(CSV.cell("=1+2\u{1b}[2J\u{202e}<i>&x\"\r!") == "\"'=1+2?[2J?<i>&x\"\"\r!\"")
        #expect(CSV.cell("Service\u{1b}]0;title\u{7}Unavailable") == "Service?]0;title?Unavailable")
        #expect(CSV.cell("a\u{200b}b\u{85}c\u{7f}") == "a?b?c?")
        #expect(CSV.cell("tab\there") == "tab\there")
        #expect(CSV.cell("café ü") == "café ü")
    }

    // MARK: - Colour

    @Test func colourFollowsTheTerminalAndNOCOLOR() {
        let none: (String) -> String? = { _ in nil }
        let noColor: (String) -> String? = { $0 == "NO_COLOR" ? "" : nil }
        #expect(ColorChoice.enabled(.auto, stdoutIsTerminal: true, environment: none))
        #expect(!ColorChoice.enabled(.auto, stdoutIsTerminal: false, environment: none))
        #expect(ColorChoice.enabled(.always, stdoutIsTerminal: false, environment: none))
        #expect(!ColorChoice.enabled(.never, stdoutIsTerminal: true, environment: none))
        #expect(!ColorChoice.enabled(.auto, stdoutIsTerminal: true, environment: noColor), "NO_COLOR set, even empty")
        #expect(!ColorChoice.enabled(.always, stdoutIsTerminal: true, environment: noColor))
    }

    @Test func nonTerminalOutputHasNoEscapeCodes() {
        let path = heartbeatCapture("old-tls")
        for command in ["analyze", "audit", "validate"] {
            let auto = CLIRun([command, "-q", path])
            #expect(!auto.stdout.contains("\u{1b}["), "\(command) coloured a non-terminal")
            let never = CLIRun([command, "-q", "--color", "never", path])
            #expect(!never.stdout.contains("\u{1b}["))
        }
        if getenv("NO_COLOR") == nil {
            let always = CLIRun(["validate", "-q", "--color", "always", path])
            #expect(always.stdout.contains("\u{1b}[31mFAIL\u{1b}[0m"))
        }
    }

    @Test func noColorEnvironmentWinsInTheExecutable() throws {
        let binary = try CLIRun.builtBinary()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["validate", "-q", "--color", "always", heartbeatCapture("old-tls")]
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        #expect(!String(decoding: data, as: UTF8.self).contains("\u{1b}"))
        #expect(String(decoding: data, as: UTF8.self).contains("tls-version"))
    }
}
