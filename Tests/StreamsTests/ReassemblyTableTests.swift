import Core
import Records
import Streams
import Testing

/// Client ISN 1000 (data from 1001), server ISN 5000 (data from 5001).
private let handshake: [Seg] = [
    .c(1000, "", [.syn]),
    .s(5000, "", [.syn, .ack], ack: 1001),
    .c(1001, "", [.ack], ack: 5001),
]

/// One row: segments in, each direction's stream out (`<gap N>` marks a gap), and counters.
struct ReassemblyRow: Sendable, CustomTestStringConvertible {
    var name: String
    var segments: [Seg]
    var up: String
    var down: String
    var upAnomalies: StreamAnomalies
    var downAnomalies: StreamAnomalies
    var location: SourceLocation

    init(
        _ name: String, _ segments: [Seg], up: String, down: String = "",
        upAnomalies: StreamAnomalies = .init(), downAnomalies: StreamAnomalies = .init(),
        fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
    ) {
        self.name = name
        self.segments = segments
        self.up = up
        self.down = down
        self.upAnomalies = upAnomalies
        self.downAnomalies = downAnomalies
        self.location = SourceLocation(fileID: fileID, filePath: filePath, line: line, column: column)
    }

    var testDescription: String { name }
}

extension Seg {
    /// This segment again, as an exact copy (a SPAN port's second copy).
    func copy(ipID: UInt32) -> [Seg] {
        var s = self
        s.ipID = ipID
        return [s, s]
    }
}

private let rows: [ReassemblyRow] = [
    ReassemblyRow(
        "in order both ways",
        handshake + [
            .c(1001, "GET /"), .s(5001, "200 OK"), .c(1006, "", [.fin, .ack]), .s(5007, "", [.fin, .ack]),
        ],
        up: "GET /", down: "200 OK"),
    ReassemblyRow(
        "sequence numbers wrap around 2^32",
        [.c(0xFFFF_FFFC, "", [.syn]), .c(0xFFFF_FFFD, "ab"), .c(0xFFFF_FFFF, "cd"), .c(1, "ef")],
        up: "abcdef"),
    ReassemblyRow(
        "out of order across the wrap",
        [.c(0xFFFF_FFF0, "", [.syn]), .c(1, "qrs"), .c(0xFFFF_FFF1, "abcdefghijklmnop")],
        up: "abcdefghijklmnopqrs", upAnomalies: anomalies(outOfOrder: 1)),
    ReassemblyRow(
        "out of order is held until the hole fills",
        handshake + [.c(1001, "abc"), .c(1007, "ghi"), .c(1004, "def")],
        up: "abcdefghi", upAnomalies: anomalies(outOfOrder: 1)),
    ReassemblyRow(
        "retransmission with the same bytes",
        handshake + [.c(1001, "abc"), .c(1001, "abc"), .c(1004, "d")],
        up: "abcd", upAnomalies: anomalies(retransmissions: 1, repeatedBytes: 3)),
    ReassemblyRow(
        "retransmission with different bytes: first copy wins",
        handshake + [.c(1001, "abc"), .c(1001, "aXc")],
        up: "abc", upAnomalies: anomalies(retransmissions: 1, conflicts: 1, repeatedBytes: 3)),
    ReassemblyRow(
        "conflict with a held out-of-order copy",
        handshake + [.c(1004, "def"), .c(1004, "dEf"), .c(1001, "abc")],
        up: "abcdef", upAnomalies: anomalies(retransmissions: 1, conflicts: 1, outOfOrder: 1, repeatedBytes: 3)),
    ReassemblyRow(
        "overlap at the front is trimmed",
        handshake + [.c(1001, "abcd"), .c(1003, "cdef")],
        up: "abcdef", upAnomalies: anomalies(retransmissions: 1, repeatedBytes: 2)),
    ReassemblyRow(
        "overlap at the back is trimmed",
        handshake + [.c(1001, "ab"), .c(1005, "efgh"), .c(1003, "cdefg")],
        up: "abcdefgh", upAnomalies: anomalies(retransmissions: 1, outOfOrder: 1, repeatedBytes: 3)),
    ReassemblyRow(
        "overlap on both sides",
        handshake + [.c(1001, "ab"), .c(1005, "ef"), .c(1002, "bcdefgh")],
        up: "abcdefgh", upAnomalies: anomalies(retransmissions: 1, outOfOrder: 1, repeatedBytes: 3)),
    ReassemblyRow(
        "a hole open for the hole timeout becomes a gap and the stream continues",
        handshake + [.c(1001, "abc", at: 10), .c(1007, "ghi", at: 20), .c(1010, "jkl", at: 4000)],
        up: "abc<gap 3>ghijkl", upAnomalies: anomalies(gaps: 1, gapBytes: 3, outOfOrder: 1)),
    ReassemblyRow(
        "a hole open just under the hole timeout still fills",
        handshake + [.c(1001, "abc", at: 0), .c(1007, "ghi", at: 10), .c(1004, "def", at: 3009)],
        up: "abcdefghi", upAnomalies: anomalies(outOfOrder: 1)),
    ReassemblyRow(
        "data arriving after its gap was declared counts as a retransmission",
        handshake + [
            .c(1001, "abc", at: 0), .c(1007, "ghi", at: 10), .c(1010, "j", at: 3100), .c(1004, "def", at: 3200),
        ],
        up: "abc<gap 3>ghij",
        upAnomalies: anomalies(gaps: 1, gapBytes: 3, retransmissions: 1, outOfOrder: 1, repeatedBytes: 3)),
    ReassemblyRow(
        "a hole still open at the end becomes a gap",
        handshake + [.c(1001, "abc"), .c(1007, "ghi")],
        up: "abc<gap 3>ghi", upAnomalies: anomalies(gaps: 1, gapBytes: 3, outOfOrder: 1)),
    ReassemblyRow(
        "capture started mid-connection",
        [.c(7000, "GET"), .s(9000, "HTTP"), .c(7003, "/")],
        up: "GET/", down: "HTTP"),
    ReassemblyRow(
        "midstream: bytes before the first segment seen count as retransmission",
        [.c(7000, "GET"), .c(6990, "0123456789")],
        up: "GET", upAnomalies: anomalies(retransmissions: 1, repeatedBytes: 10)),
    ReassemblyRow(
        "data on SYN (TCP Fast Open) is delivered",
        [.c(1000, "hi", [.syn]), .s(5000, "", [.syn, .ack], ack: 1003), .c(1003, "yo")],
        up: "hiyo"),
    ReassemblyRow(
        "RST payload is counted but not delivered",
        handshake + [.c(1001, "abc"), .s(5001, "oops", [.rst, .ack])],
        up: "abc"),
    ReassemblyRow(
        "FIN from the server first",
        handshake + [.c(1001, "q"), .s(5001, "r"), .s(5002, "", [.fin, .ack]), .c(1002, "", [.fin, .ack])],
        up: "q", down: "r"),
    ReassemblyRow(
        "FIN seen before the data it follows",
        handshake + [.c(1004, "", [.fin, .ack]), .c(1001, "abc")],
        up: "abc"),
    ReassemblyRow(
        "FIN after missing data leaves a gap of known size",
        handshake + [.c(1001, "abc"), .c(1007, "", [.fin, .ack])],
        up: "abc<gap 3>", upAnomalies: anomalies(gaps: 1, gapBytes: 3)),
    ReassemblyRow(
        "an ACK seen before the data it acknowledges declares no gap",
        handshake + [.s(5001, "", [.ack], ack: 1007), .c(1004, "def"), .c(1001, "abc")],
        up: "abcdef", upAnomalies: anomalies(outOfOrder: 1)),
    ReassemblyRow(
        "SPAN duplicates are dropped from reassembly",
        handshake + Seg.c(1001, "abc").copy(ipID: 7) + Seg.c(1004, "def").copy(ipID: 8),
        up: "abcdef", upAnomalies: anomalies(duplicates: 2, repeatedBytes: 6)),
    // The cut bytes are skipped as a gap of known size, but counted as a cut packet only: no packet was lost.
    ReassemblyRow(
        "snap length cut becomes a gap of known size",
        handshake + [.c(1001, "abcdef", wire: 10), .c(1011, "xyz")],
        up: "abcdef<gap 4>xyz", upAnomalies: anomalies(truncated: 1)),
    ReassemblyRow(
        "snap length cut on a held segment",
        handshake + [.c(1011, "xyz"), .c(1001, "abcdef", wire: 10)],
        up: "abcdef<gap 4>xyz", upAnomalies: anomalies(outOfOrder: 1, truncated: 1)),
    ReassemblyRow(
        "snap length cut beside a lost segment: only the lost one is a gap",
        handshake + [.c(1001, "abc", wire: 5), .c(1010, "xyz"), .s(5001, "", [.ack], ack: 1013)],
        up: "abc<gap 2><gap 4>xyz", upAnomalies: anomalies(gaps: 1, gapBytes: 4, outOfOrder: 1, truncated: 1)),
]

@Suite struct ReassemblyTableTests {
    @Test(arguments: rows)
    func segmentsInStreamsOut(_ row: ReassemblyRow) throws {
        let (recorder, _) = run(row.segments)

        #expect(recorder.records.count == 1, sourceLocation: row.location)
        #expect(recorder.text(1, .up) == row.up, sourceLocation: row.location)
        #expect(recorder.text(1, .down) == row.down, sourceLocation: row.location)
        let record = try #require(recorder.record(1), sourceLocation: row.location)
        #expect(record.anomaliesUp == row.upAnomalies, sourceLocation: row.location)
        #expect(record.anomaliesDown == row.downAnomalies, sourceLocation: row.location)
    }
}
