import Analysis
import Core
import Reports
import Testing
import TestSupport

/// A text report of several capture files ends its capture lines with their totals; of one file, with none.
@Suite struct CaptureTotalsTextTests {
    static func summary(_ path: String, packets: Int, bytes: Int64, from: Int64, to: Int64) -> CaptureSummary {
        var s = CaptureSummary(path: path)
        s.packets = packets
        s.capturedBytes = bytes
        s.first = Timestamp(nanoseconds: from * 1_000_000_000)
        s.last = Timestamp(nanoseconds: to * 1_000_000_000)
        return s
    }

    @Test func severalFilesEndWithTheirTotals() {
        // The second file starts earlier and the first ends later: the span runs from the earliest to the latest.
        let a = Self.summary("a.pcap", packets: 10, bytes: 1_048_576, from: 1_700_000_100, to: 1_700_003_700)
        let b = Self.summary("b.pcap", packets: 5, bytes: 524_288, from: 1_700_000_000, to: 1_700_000_600)
        let text = CaptureSummaryReport.text([a, b])
        #expect(text.hasPrefix(CaptureSummaryReport.text(a) + CaptureSummaryReport.text(b)))
        let last = text.split(separator: "\n").last.map(String.init)
        #expect(last == "2 files in all: 15 packets, 1.5 MiB, 2023-11-14T22:13:20.000000Z to "
            + "2023-11-14T23:15:00.000000Z (1 h 1 min)")
    }

    @Test func oneFileHasNoTotalLine() {
        let a = Self.summary("a.pcap", packets: 10, bytes: 1_048_576, from: 1_700_000_100, to: 1_700_003_700)
        #expect(CaptureSummaryReport.text([a]) == CaptureSummaryReport.text(a))
        #expect(CaptureSummaryReport.totalText([a]).isEmpty)
    }

    /// Through the commands: text and HTML of two files give their totals, of one file none.
    @Test func reportsOfTwoFilesGiveTheirTotals() {
        let files = [heartbeatCapture("fleet"), heartbeatCapture("https-idle")]
        for command in ["analyze", "audit", "validate"] {
            let text = CLIRun([command, "-q", "-F", "text"] + files)
            #expect(text.stdout.contains("\n2 files in all: "), "\(command)")
            let one = CLIRun([command, "-q", "-F", "text", files[0]])
            #expect(!one.stdout.contains("files in all"), "\(command)")
        }
        #expect(CLIRun(["analyze", "-q", "-F", "html"] + files).stdout.contains("2 files in all"))
        #expect(CLIRun(["flows", "-q", "-F", "text"] + files).stdout.contains("\n2 files in all: "))
    }
}
