import Foundation
import Testing
import TestSupport
@testable import Capture

/// A long BPF expression (a fleet allow-list) is compiled without libpcap's optimizer, whose time
/// grows with about the cube of the length, and matches the same packets as a short equivalent.
@Suite struct LongFilterTests {
    /// `host 10.0.X.Y or ...`: `count` hosts, none of them in the test captures.
    static func decoyHosts(_ count: Int) -> [String] {
        (0..<count).map { "host 10.0.\($0 / 250).\($0 % 250)" }
    }

    /// Compiled without the optimizer (see the next test; optimized, this one takes about 50 s, as written
    /// about 2 s: a benchmark's figures, not asserted here, as no test times itself).
    @Test func thousandHostFilterCompilesAndMatchesAsTheShortOne() throws {
        let path = Fixtures.captures + "/heartbeat/failover.pcap"
        var hosts = Self.decoyHosts(999)
        hosts.insert("host 198.51.100.11", at: 500)
        let long = hosts.joined(separator: " or ")
        #expect(long.utf8.count > BPFProgram.optimizedExpressionBytes)

        let filtered = try CaptureReader.open(path: path)
        try filtered.setFilter(long)
        let short = try CaptureReader.open(path: path)
        try short.setFilter("host 198.51.100.11")

        let kept = try ReadBack(filtered)
        let expected = try ReadBack(short)
        #expect(!expected.records.isEmpty)
        #expect(kept.records == expected.records)
        #expect(kept.first?.filteredOut == expected.first?.filteredOut)
        #expect((expected.first?.filteredOut ?? 0) > 0)
    }

    /// Spaces change the length and nothing else: at the limit the program is optimized, one byte
    /// past it is not (and is longer).
    @Test func optimizerIsUsedUpToTheLimitAndNotPastIt() throws {
        let list = Self.decoyHosts(100).joined(separator: " or ")
        let limit = BPFProgram.optimizedExpressionBytes
        try #require(list.utf8.count < limit)
        let atLimit = list + String(repeating: " ", count: limit - list.utf8.count)
        let past = atLimit + " "
        let optimized = try BPFProgram.compile(atLimit, linkType: .ethernet).get()
        let asWritten = try BPFProgram.compile(past, linkType: .ethernet).get()
        #expect(optimized.instructionCount < asWritten.instructionCount / 4,
                "\(optimized.instructionCount) and \(asWritten.instructionCount) instructions")
    }

    /// An interface's filter follows the same rule: a thousand hosts with the loopback's own among them compile
    /// as written (optimized, libpcap took minutes), and the check-ins' packets are kept (filtered by libpcap in
    /// this process, as the program is too long for the kernel's filter).
    @Test(.enabled(if: canCaptureLoopback)) func anInterfacesLongFilterIsCompiledAsWrittenAndKeepsItsPackets() throws {
        let server = try #require(LoopbackCheckIns())
        var settings = LiveCaptureSettings()
        settings.packetLimit = 4
        settings.durationNanoseconds = 20_000_000_000
        let source = try LiveSource(interface: "lo", settings: settings)
        var terms = Self.decoyHosts(999)
        terms.insert("(\(server.filter))", at: 500)
        let long = terms.joined(separator: " or ")
        #expect(!BPFProgram.optimizes(long))
        try source.setFilter(long)
        let client = Thread { server.checkIn(count: 2) }
        client.start()
        var kept = 0
        while try source.next() != nil { kept += 1 }
        #expect(kept == 4)
    }
}
