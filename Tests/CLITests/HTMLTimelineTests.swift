import Core
import Foundation
import Testing
import TestSupport

@testable import Reports

/// The HTML timeline's time axis.
@Suite struct HTMLTimelineTests {
    @Test func ticksCarryTheirDateOnlyWhenTheSpanCrossesDays() {
        let t = Timestamp(seconds: 1_704_269_126, nanoseconds: 0)  // 2024-01-03T08:05:26Z
        #expect(HTMLCharts.clock(t) == "08:05:26")
        #expect(HTMLCharts.clock(t, dated: true) == "2024-01-03 08:05")
    }

    /// A two-day fleet (ticks 2.8 days apart read as hours of one day).
    @Test func aMultiDayAuditDatesItsTicks() throws {
        let folder = try TemporaryFolder()
        let capture = folder.path + "/days.pcap"
        let made = CLIRun(["simulate", "-o", capture, "--clients", "3", "--duration", "2d", "--interval", "3600",
                           "--push-share", "0", "-q"])
        #expect(made.status == 0, "\(made.stderr)")
        let html = CLIRun(["audit", "-q", "--interval", "3600", "-F", "html", capture]).stdout
        let ticks = html.components(separatedBy: "<text class=\"tick\"").dropFirst().compactMap { piece in
            piece.split(separator: ">", maxSplits: 1).last?.split(separator: "<").first.map(String.init)
        }
        let dated = ticks.filter {
            $0.range(of: #"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$"#, options: .regularExpression) != nil
        }
        #expect(dated.count == 6, "\(ticks)")
        // Within one day: times of day only.
        let short = CLIRun(["audit", "-q", "-F", "html", Fixtures.captures + "/heartbeat/fleet.pcap"]).stdout
        #expect(short.contains("<text class=\"tick\""))
        #expect(short.range(of: #">\d{4}-\d{2}-\d{2} \d{2}:\d{2}<"#, options: .regularExpression) == nil)
    }
}
