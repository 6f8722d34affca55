import Core
import Protocols
import Records
import Testing
import TestSupport

/// Truncated and mutated inputs must never trap; the parser must account for every byte.
@Suite struct TLSRobustnessTests {
    static let serverFlight = TLSBuild.record(22, TLSBuild.handshake(2, TLSBuild.serverHelloBody(suite: 0xc02f))
        + TLSBuild.handshake(11, TLSBuild.certificateBody([X509Fixtures.rsa2048SelfSigned, X509Fixtures.ecP521Leaf])))
        + TLSBuild.record(20, [1]) + TLSBuild.record(23, [1, 2, 3])

    @Test func everyTruncationOfAClientHelloAndACertificateFlight() {
        let flightEnd = Self.serverFlight.count
        let inputs = [
            (TLSBuild.modernClientHelloRecord(), Set<Int>()),
            (Self.serverFlight, [flightEnd - 14, flightEnd - 8] as Set),  // before CCS, before data
        ]
        for (input, recordBoundaries) in inputs {
            for n in 0...input.count {
                let events = parseTLS([Array(input.prefix(n))])
                if n < input.count && n > 0 && !recordBoundaries.contains(n) {
                    #expect(events.contains { $0.anomaly.map { if case .truncatedAtEnd = $0 { true } else { false } }
                        ?? false }, "prefix \(n)")
                }
            }
        }
    }

    @Test func randomMutationsNeverTrapAndOffsetsAddUp() {
        var rng = SplitMix64(seed: 0x715_0001)
        var sawHello = 0
        for input in [TLSBuild.modernClientHelloRecord(), Self.serverFlight] {
            for _ in 0..<2500 {
                var b = input
                for _ in 0..<Int(rng.next() % 6 + 1) {
                    b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
                let cut = Int(rng.next() % UInt64(b.count))
                var parser = TLSStreamParser()
                var events: [TLSEvent] = []
                Array(b[..<cut]).withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
                if rng.next() % 4 == 0 { parser.skip(gapBytes: Int(rng.next() % 40) + 1, time: .zero, into: &events) }
                Array(b[cut...]).withUnsafeBytes { parser.feed($0, time: .zero, into: &events) }
                parser.finish(time: .zero, into: &events)
                #expect(parser.streamOffset >= Int64(b.count))
                if events.contains(where: { $0.clientHello != nil || $0.serverHello != nil }) { sawHello += 1 }
            }
        }
        #expect(sawHello > 100)
    }

    @Test func randomBytesAfterAValidRecordNeverTrap() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<500 {
            var b = TLSBuild.record(23, [0])
            for _ in 0..<200 { b.append(UInt8(truncatingIfNeeded: rng.next())) }
            var conversation = TLSConversation()
            var exchanges: [Exchange] = []
            b.withUnsafeBytes { conversation.feed($0, direction: .down, time: .zero, into: &exchanges) }
            conversation.finish(time: .zero, into: &exchanges)
            #expect(exchanges.count == 1)
        }
    }
}
