import Core
import Protocols
import Records
import Testing
import TestSupport

/// A record header read where it lies in a chunk (`TLSStreamParser.beginRecordInPlace`, taken when all five
/// bytes are in the chunk at a record boundary) and one gathered across chunks (the general path) must give
/// the same events and the same parser: the streams below are fed whole, a byte at a time, and cut in two
/// at every offset, all at one time so that only the path differs.
@Suite struct TLSHeaderInPlaceTests {
    private static let time = Timestamp(seconds: 7, nanoseconds: 0)

    /// The parser's public state and its events after `chunks` (and a gap of `gapAfter.bytes` after chunk
    /// `gapAfter.chunk`, when given), finished.
    private func run(_ chunks: [[UInt8]], midstream: Bool = false, gapAfter: (chunk: Int, bytes: Int)? = nil)
        -> [String]
    {
        var parser = TLSStreamParser(midstream: midstream)
        var events: [TLSEvent] = []
        for (i, chunk) in chunks.enumerated() {
            chunk.withUnsafeBytes { parser.feed($0, time: Self.time, into: &events) }
            if let gap = gapAfter, gap.chunk == i { parser.skip(gapBytes: gap.bytes, time: Self.time, into: &events) }
        }
        parser.finish(time: Self.time, into: &events)
        return events.map { "\($0)" } + [
            "stop \(String(describing: parser.stopReason))", "offset \(parser.streamOffset)",
            "ignored \(parser.ignoredBytes)", "records \(parser.recordCount)", "encrypted \(parser.encrypted)",
            "sslv2 \(parser.startedWithSSLv2)", "version \(String(describing: parser.applicationDataVersion))",
            "implausible \(String(describing: parser.implausibleApplicationDataVersion))",
            "changes \(parser.applicationDataVersionChanges)",
            "first \(String(describing: parser.firstRecordType))",
        ]
    }

    /// Whole, a byte at a time, and in two pieces at every offset: all the same.
    private func expectSameEverySplit(_ stream: [UInt8], midstream: Bool = false,
                                      sourceLocation: SourceLocation = #_sourceLocation) {
        let whole = run([stream], midstream: midstream)
        #expect(run(stream.map { [$0] }, midstream: midstream) == whole, sourceLocation: sourceLocation)
        for cut in 1..<stream.count {
            let pieces = splitBytes(stream, at: [cut])
            #expect(run(pieces, midstream: midstream) == whole, "cut at \(cut)", sourceLocation: sourceLocation)
        }
    }

    @Test func handshakeThenApplicationDataOfSeveralVersionsAndKinds() {
        var stream = TLSBuild.modernClientHelloRecord()
        stream += TLSBuild.record(20, [1])
        stream += TLSBuild.record(23, Array(repeating: 0xab, count: 40))
        stream += TLSBuild.record(23, [])  // empty: begun and ended by its header
        stream += TLSBuild.record(23, Array(repeating: 0xcd, count: 7), version: 0x0301)  // version changed
        stream += TLSBuild.record(23, [1, 2, 3], version: 0x0304)  // implausible record-layer version
        stream += TLSBuild.record(21, [1, 0])
        stream += TLSBuild.record(24, [1, 0, 3, 9, 9, 9])
        stream += TLSBuild.record(23, Array(repeating: 0xef, count: 300))
        expectSameEverySplit(stream)
    }

    @Test func badAndOversizeHeadersAfterRecordsTakeTheScanAlike() {
        var stream = TLSBuild.record(23, Array(repeating: 1, count: 20))
        stream += [0x30, 0x03, 0x03, 0x00, 0x02, 9, 9]  // no content type: a scan
        stream += TLSBuild.record(23, Array(repeating: 2, count: 12))
        stream += [23, 0x03, 0x03, 0xff, 0xff]  // over the length limit: a scan
        stream += TLSBuild.record(23, Array(repeating: 3, count: 9))
        stream += TLSBuild.record(23, Array(repeating: 4, count: 5))
        expectSameEverySplit(stream)
    }

    @Test func midstreamStartsAlike() {
        // Midstream: a record's tail, then records found by the scan and confirmed by the next header.
        var tail: [UInt8] = Array(repeating: 0x77, count: 11)
        tail += TLSBuild.record(23, Array(repeating: 5, count: 30))
        tail += TLSBuild.record(23, Array(repeating: 6, count: 3), version: 0x0302)
        tail += TLSBuild.record(23, Array(repeating: 7, count: 8))
        expectSameEverySplit(tail, midstream: true)
    }

    @Test func sslv2HelloFirstTakesTheGeneralPath() {
        // An SSLv2-format CLIENT-HELLO (3.1 inside), then TLS records.
        let challenge = Array(repeating: UInt8(0x11), count: 16)
        let body: [UInt8] = [1, 3, 1, 0, 3, 0, 0, 0, 16, 0x00, 0x00, 0x2f] + challenge
        var stream: [UInt8] = [0x80 | UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
        stream += TLSBuild.record(22, TLSBuild.handshake(2, TLSBuild.serverHelloBody(suite: 0x002f)))
        stream += TLSBuild.record(23, Array(repeating: 8, count: 10))
        expectSameEverySplit(stream)
    }

    @Test func headersAfterAGapInsideARecordAlike() {
        // A gap inside the second record keeps framing; the records after it are read as usual.
        let first = TLSBuild.record(23, Array(repeating: 1, count: 10))
        let second = TLSBuild.record(23, Array(repeating: 2, count: 50))
        let rest = TLSBuild.record(23, Array(repeating: 3, count: 6)) + TLSBuild.record(21, [1, 0])
        let before = first + second.prefix(20)
        let after = Array(second.dropFirst(30)) + rest
        let whole = run([before, after], gapAfter: (0, 10))
        #expect(whole.contains { $0.hasPrefix("cutApplicationData") })
        #expect(run(before.map { [$0] } + after.map { [$0] }, gapAfter: (before.count - 1, 10)) == whole)
    }
}
