import Core
import Testing

@testable import Heartbeat

/// A step keeps its name as its number and, for one exchange, its evidence as the words before its byte counts:
/// what it answers must be what a step given the whole text answers.
@Suite struct StepStorageTests {
    static func step(_ n: Int, up: Int64, down: Int64, evidence: String) -> StepReport {
        StepReport(step: n, start: Timestamp(nanoseconds: 5), end: Timestamp(nanoseconds: 9), bytesUp: up,
                   bytesDown: down, confidence: 0.9, evidence: evidence)
    }

    /// The same step with its evidence kept as `head` and `tail`.
    static func made(_ n: Int, up: Int64, down: Int64, head: String, tail: StepReport.Tail,
                     records: (Int, Int) = (0, 0)) -> StepReport {
        var st = step(n, up: up, down: down, evidence: "")
        st.setEvidence(head: head, tail: tail, records: records)
        return st
    }

    @Test func fitsInSixtyFourBytes() {
        #expect(MemoryLayout<StepReport>.stride == 64)
    }

    @Test func namesFollowTheStepNumber() {
        let names = (0...9).map { Self.step($0, up: 0, down: 0, evidence: "").name }
        #expect(names == ["select-server", "select-server", "connect", "index-check", "download-urls", "log-upload",
                          "sensor-upload", "disconnect", "disconnect", "disconnect"])
        var st = Self.step(3, up: 0, down: 0, evidence: "")
        st.step = 5
        #expect(st.name == "log-upload")
    }

    @Test func numbersBeyondThirtyTwoBitsAreKeptAsTheNearestThatFits() {
        var st = Self.step(Int.max, up: 0, down: 0, evidence: "")
        #expect(st.step == Int(Int32.max))
        st.step = Int.min
        #expect(st.step == Int(Int32.min))
        #expect(st.name == "select-server")
    }

    @Test func madeEvidenceReadsAsTheWholeText() {
        let cases: [(StepReport, String)] = [
            (Self.made(3, up: 133, down: 3692, head: "GET /secars/secars.dll?… → 200, request #1", tail: .bytes),
             "GET /secars/secars.dll?… → 200, request #1, 133 bytes up, 3692 down"),
            (Self.made(3, up: 515, down: 3696, head: "exchange #1: ", tail: .records, records: (1, 2)),
             "exchange #1: 515 bytes up in 1 record, 3696 down in 2 records"),
            (Self.made(4, up: .min, down: .max, head: "", tail: .records, records: (0, 255)),
             "-9223372036854775808 bytes up in 0 records, 9223372036854775807 down in 255 records"),
            (Self.made(5, up: -1, down: 0, head: "é", tail: .bytes), "é, -1 bytes up, 0 down"),
        ]
        for (st, text) in cases {
            #expect(st.evidenceIsMade)
            #expect(st.evidence == text)
            var bytes: [UInt8] = []
            st.withEvidenceUTF8 { bytes = Array($0) }
            #expect(bytes == Array(text.utf8))
            let whole = Self.step(st.step, up: st.bytesUp, down: st.bytesDown, evidence: text)
            #expect(!whole.evidenceIsMade)
            #expect(st == whole)
            #expect(st.hashValue == whole.hashValue)
            #expect(Set([st, whole]).count == 1)
        }
    }

    @Test func recordCountsBeyondAByteKeepTheHeadWhole() {
        let st = Self.made(3, up: 1, down: 2, head: "exchange #1: 1 bytes up in 256 records", tail: .records,
                           records: (256, 1))
        #expect(!st.evidenceIsMade)
        #expect(st.evidence == "exchange #1: 1 bytes up in 256 records")
    }

    @Test func changedCountsLeaveTheEvidenceAsItWas() {
        var st = Self.made(3, up: 133, down: 3692, head: "GET / → 200, request #1", tail: .bytes)
        st.bytesUp += 10
        st.bytesDown = 0
        #expect(!st.evidenceIsMade)
        #expect(st.evidence == "GET / → 200, request #1, 133 bytes up, 3692 down")
        #expect(st.bytesUp == 143 && st.bytesDown == 0)
        st.evidence = "other"
        #expect(st.evidence == "other")
    }

    @Test func stepsThatDifferAreUnequal() {
        let a = Self.made(3, up: 133, down: 3692, head: "GET / → 200, request #1", tail: .bytes)
        #expect(a != Self.made(3, up: 133, down: 3692, head: "GET / → 200, request #2", tail: .bytes))
        #expect(a != Self.made(3, up: 133, down: 3693, head: "GET / → 200, request #1", tail: .bytes))
        #expect(a != Self.step(3, up: 133, down: 3692, evidence: "GET / → 200, request #1, 133 bytes up, 3692"))
        #expect(a != Self.made(4, up: 133, down: 3692, head: "GET / → 200, request #1", tail: .bytes))
    }
}

/// A check-in keeps its one connection in place and what few have (attempts, a one-sided record-layer version,
/// other counts of connections) out of line: what it answers must be what it was given.
@Suite struct CheckInStorageTests {
    static func session(connections: [UInt64], attempts: [AttemptReport] = [], side: String? = nil) -> SessionReport {
        SessionReport(id: 1, client: IPAddress(ipv4: 0x0a14_0001), clientPort: 50_000,
                      server: IPAddress(ipv4: 0x0a01_000a), serverPort: 443, transport: .https, mode: .pull,
                      start: Timestamp(nanoseconds: 1), end: Timestamp(nanoseconds: 2), bytesUp: 3, bytesDown: 4,
                      failed: false, tlsImplausibleRecordSide: side, attempts: attempts, steps: [], findings: [],
                      connections: connections)
    }

    static let attempt = AttemptReport(server: "10.1.0.9", serverPort: 443, time: "2024-01-15T08:00:04.079371640Z",
                                       outcome: "refused", syns: 1)

    @Test func fitsIn128Bytes() {
        #expect(MemoryLayout<SessionReport>.stride == 128)
    }

    @Test func partsReadAsGiven() {
        for connections in [[], [7], [0], [.max], [3, 9], [5, 5, 5]] as [[UInt64]] {
            for attempts in [[], [Self.attempt]] {
                for side in [nil, "up 0x0304"] {
                    let s = Self.session(connections: connections, attempts: attempts, side: side)
                    #expect(s.connections == connections)
                    #expect(s.attempts == attempts)
                    #expect(s.tlsImplausibleRecordSide == side)
                    var read: [UInt64] = []
                    s.withConnections { read = Array($0) }
                    #expect(read == connections)
                }
            }
        }
    }

    @Test func equalCheckInsAreEqualHoweverTheyWereMade() {
        var a = Self.session(connections: [4, 5], attempts: [Self.attempt], side: "up 0x0304")
        a.connections = [6]
        a.attempts = []
        a.tlsImplausibleRecordSide = nil
        let b = Self.session(connections: [6])
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a != Self.session(connections: [7]))
        #expect(a != Self.session(connections: [6, 6]))
        #expect(a != Self.session(connections: [6], attempts: [Self.attempt]))
        #expect(a != Self.session(connections: [6], side: "down 0x0304"))
        #expect(Self.session(connections: [1, 2], side: "x") == Self.session(connections: [1, 2], side: "x"))
    }
}
