import Foundation
import Testing
import TestSupport

@testable import CLI

/// A pcapng file cut mid-block: libpcap stops there and the own reader meets the same cut, which is
/// one problem and gets one warning line (the own reader's, with the byte offset).
@Suite struct CutPcapNGWarningTests {
    @Test func cutPcapNGGivesOneWarningLine() throws {
        let dir = try TemporaryFolder()
        let (cut, wholeBytes) = try dir.cutSimulatedCapture(
            "whole.pcapng", ["--clients", "5", "--duration", "1h", "--seed", "2"], keep: { _ in 300_000 })
        try #require(wholeBytes > 300_000)
        let r = CLIRun(["analyze", "-F", "json", cut])
        #expect(r.status == 1 || r.status == 0, "\(r.stderr)")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(lines.first?.hasPrefix("sepbeat: warning: \(cut): file truncated mid-block at byte offset") == true)
        #expect(r.stdout.contains("\"capture-truncated\""))
    }
}
