import Capture
import Core
import Foundation
import Testing
import TestSupport

/// Two capture points, one per direction, their clocks apart: every server packet stamped late (the client's
/// request is shown before the answer it follows, and acknowledges it; at 10 ms and more a whole check-in's
/// client side comes before the server's SYN-ACK) or early (an answer shown before the end of the request it
/// acknowledges). Both ways the acknowledgement numbers say which bytes were sent first, and the check-ins
/// read as in the capture with one clock: same steps, sizes and findings, same TLS exchanges.
@Suite struct DirectionClockSkewTests {
    typealias Packet = MidstreamCutTests.Packet
    typealias Late = LateServerFlightTests

    /// `clean` with every packet from the server's port 443 stamped `skew` nanoseconds later (negative:
    /// earlier), in capture order again.
    static func skewed(_ clean: [Packet], serverBy skew: Int64) throws -> [Packet] {
        var shifted: [(Packet, Int)] = []
        for (i, p) in clean.enumerated() {
            var p = p
            if try Late.tcp(p).sourcePort == 443 { p.time = p.time.adding(nanoseconds: skew) }
            shifted.append((p, i))
        }
        return shifted.sorted { ($0.0.time, $0.1) < ($1.0.time, $1.1) }.map(\.0)
    }

    /// Server 10 ms and 100 ms late, 0.5 ms early.
    static let skews: [Int64] = [10_000_000, 100_000_000, -500_000]

    @Test(arguments: Late.Source.allCases, skews)
    func checkInsReadTheSameWithTheServerClockApart(_ source: Late.Source, _ skew: Int64) throws {
        let clean = source.packets
        let sent = try Late.checkIns(clean)
        let got = try Late.checkIns(try Self.skewed(clean, serverBy: skew))
        try #require(sent.count >= 4)
        #expect(sent.contains { $0.steps.map { $0[0] } == [1, 2, 3, 4, 5, 6, 7] })
        #expect(got == sent)
    }

    @Test(arguments: Late.Source.allCases, skews)
    func theExchangesSplitAsSent(_ source: Late.Source, _ skew: Int64) throws {
        let clean = source.packets
        let port = try Late.fullCheckInPort(clean)
        let sent = try Late.exchanges(clean, port: port)
        let got = try Late.exchanges(try Self.skewed(clean, serverBy: skew), port: port)
        #expect(sent.count >= 5)
        #expect(got.map(\.sizes) == sent.map(\.sizes))
        // Requests keep their times (the client's clock is the reference).
        #expect(got.map(\.start) == sent.map(\.start))
    }
}
