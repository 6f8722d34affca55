import Foundation
import Testing
import TestSupport

@testable import CLI

/// A pcapng file cut mid-block: libpcap stops there and the own reader meets the same cut, which is
/// one problem and gets one warning line (the own reader's, with the byte offset).
@Suite struct CutPcapNGWarningTests {
    @Test func cutPcapNGGivesOneWarningLine() throws {
        let dir = try TemporaryFolder()
        let whole = dir.path + "/whole.pcapng"
        let made = CLIRun(["simulate", "-q", "-o", whole, "--clients", "5", "--duration", "1h", "--seed", "2"])
        try #require(made.status == 0, "\(made.stderr)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: whole))
        try #require(bytes.count > 300_000)
        let cut = dir.path + "/cut.pcapng"
        try bytes.prefix(300_000).write(to: URL(fileURLWithPath: cut))
        let r = CLIRun(["analyze", "-F", "json", cut])
        #expect(r.status == 1 || r.status == 0, "\(r.stderr)")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(lines.first?.hasPrefix("sepbeat: warning: \(cut): file truncated mid-block at byte offset") == true)
        #expect(r.stdout.contains("\"capture-truncated\""))
    }
}
