import Core
import Records
import Testing

@testable import Heartbeat

/// The report's check-ins come in start, client and client-port order, ties in the order the clients'
/// lists gave them, however they are sorted.
@Suite struct StartOrderTests {
    func session(_ position: Int, start: Int64, client: UInt32, port: UInt16) -> SessionReport {
        SessionReport(
            id: position, client: IPAddress(ipv4: client), clientPort: port, server: IPAddress(ipv4: 1),
            serverPort: 443, transport: .https, mode: .pull, start: Timestamp(nanoseconds: start),
            end: Timestamp(nanoseconds: start),
            bytesUp: 0, bytesDown: 0, failed: false, attempts: [], steps: [], findings: [], connections: [])
    }

    @Test func sameOrderAsAStableSortByTheKeys() {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: UInt64) -> UInt64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (seed >> 33) % n
        }
        for count in [0, 1, 2, 3, 17, 200, 1_000] {
            // Few distinct starts, clients and ports, so that many check-ins tie on all three.
            var sessions = (0..<count).map { i in
                session(i, start: Int64(next(20)) * 1_000, client: UInt32(next(4)), port: UInt16(next(3)))
            }
            let expected = sessions.sorted {
                ($0.start, $0.client, $0.clientPort) < ($1.start, $1.client, $1.clientPort)
            }.map(\.id)
            SessionBuilder.sortInStartOrder(&sessions)
            #expect(sessions.map(\.id) == expected, "\(count) check-ins")
        }
    }

    @Test func checkInsKeepTheirContents() {
        var sessions = (0..<50).map { i in session(i, start: Int64((i * 37) % 50), client: 7, port: 1) }
        for i in sessions.indices { sessions[i].steps = [StepReport(
            step: 3, start: sessions[i].start, end: sessions[i].end, bytesUp: Int64(i),
            bytesDown: 0, confidence: 1, evidence: "exchange \(i)")] }
        SessionBuilder.sortInStartOrder(&sessions)
        #expect(sessions.map(\.start.nanoseconds) == (0..<50).map(Int64.init))
        for s in sessions { #expect(s.steps.first?.evidence == "exchange \(s.id)") }
    }
}

/// Step texts made through one client's memo share one copy when their bytes are equal, and only then.
@Suite struct TextMemoTests {
    func buffer(_ text: String) -> EvidenceText {
        var t = EvidenceText()
        t.add(text)
        return t
    }

    @Test func equalBytesGiveTheFirstText() {
        var memo = StepClassifier.TextMemo()
        let first = memo.text(of: buffer("TCP handshake, SYN-ACK after 1.2 ms"))
        let again = memo.text(of: buffer("TCP handshake, SYN-ACK after 1.2 ms"))
        let other = memo.text(of: buffer("TCP handshake, SYN-ACK after 1.3 ms"))
        #expect(first == again)
        #expect(other == "TCP handshake, SYN-ACK after 1.3 ms")
        // One copy: the same storage.
        var a = first
        var b = again
        let same = a.withUTF8 { x in b.withUTF8 { y in x.baseAddress == y.baseAddress } }
        #expect(same)
        #expect(memo.shared("TCP handshake, SYN-ACK after 1.3 ms") == other)
        #expect(memo.text(of: buffer("")) == "")
    }

    @Test func canonicallyEqualTextsStayApart() {
        var memo = StepClassifier.TextMemo()
        let composed = memo.text(of: buffer("SNI caf\u{e9}"))
        let decomposed = memo.text(of: buffer("SNI cafe\u{301}"))
        #expect(Array(composed.utf8) == Array("SNI caf\u{e9}".utf8))
        #expect(Array(decomposed.utf8) == Array("SNI cafe\u{301}".utf8))
        #expect(Array(memo.shared("SNI cafe\u{301}").utf8) == Array("SNI cafe\u{301}".utf8))
    }

    @Test func buffersAreEmptiedWhenTaken() {
        var memo = StepClassifier.TextMemo()
        var b = memo.takeBuffer(2)
        b.add("abc")
        #expect(memo.text(of: b, returning: 2) == "abc")
        let again = memo.takeBuffer(2)
        #expect(again.count == 0)
        #expect(again.text(from: 0) == "")
    }
}

/// The path of a request target found in place gives what splitting its bytes gives.
@Suite struct TargetPieceTests {
    func bySplitting(_ t: String) -> (String, Bool) {
        let u = t.utf8
        let path = u.split(separator: UInt8(ascii: "?"), maxSplits: 1).first ?? u[...]
        return (String(decoding: path, as: UTF8.self), u.contains(UInt8(ascii: "?")))
    }

    func inPlace(_ t: String) -> (String, Bool) {
        let bytes = Array(t.utf8)
        return bytes.withUnsafeBufferPointer { b in
            let (path, marked) = StepClassifier.firstPiece(b)
            return (String(decoding: b[path], as: UTF8.self), marked)
        }
    }

    @Test func firstPieceAgreesWithSplitting() {
        let targets = ["/secars/secars.dll?…", "/a?b?c", "?x", "??", "", "?", "/plain", "??a??b", "a?", "a??",
                       "/secars/secars.dll", "???x?y", "/x?"]
        for t in targets { #expect(inPlace(t) == bySplitting(t), "\(t)") }
    }

    @Test func standAloneMarksAgreeInPlace() {
        let targets = ["/secars/secars.dll?…", "/a?b?c", "?x", "??", "", "/plain", "/caf\u{e9}?q", "/x?\u{301}y",
                       "\u{600}?z", "/a\u{301}?b", "?\u{2026}", "/\u{1F600}?\u{1F600}", "/a?b\u{301}", "?\u{E2}",
                       "x?\u{2026}\u{2026}", "?\u{2027}"]
        for t in targets {
            let bytes = Array(t.utf8)
            let inPlace = bytes.withUnsafeBufferPointer { StepClassifier.questionMarksStandAlone($0) }
            #expect(inPlace == StepClassifier.questionMarksStandAlone(t.utf8), "\(t)")
        }
    }
}

/// The managers' check-in counts and ports, tallied client by client and added up, are those of the run's
/// check-ins taken together.
@Suite struct ServerTallyTests {
    func session(client: UInt32, server: UInt32, port: UInt16) -> SessionReport {
        SessionReport(
            id: 0, client: IPAddress(ipv4: client), clientPort: 50_000, server: IPAddress(ipv4: server),
            serverPort: port, transport: .https, mode: .pull, start: Timestamp(nanoseconds: 0),
            end: Timestamp(nanoseconds: 0),
            bytesUp: 0, bytesDown: 0, failed: false, attempts: [], steps: [], findings: [], connections: [])
    }

    @Test func addedUpClientByClientAsTheWholeRun() {
        let first = [session(client: 1, server: 9, port: 443), session(client: 1, server: 9, port: 8014),
                     session(client: 1, server: 8, port: 443)]
        let second = [session(client: 2, server: 9, port: 443), session(client: 2, server: 9, port: 80)]
        var tally = SessionBuilder.ServerTally()
        tally.add(SessionBuilder.ServerTally(first))
        tally.add(SessionBuilder.ServerTally([]))
        tally.add(SessionBuilder.ServerTally(second))
        let whole = SessionBuilder.ServerTally(first + second)
        #expect(tally.byAddress.count == 2)
        for address in [IPAddress(ipv4: 8), IPAddress(ipv4: 9)] {
            #expect(tally.byAddress[address]?.count == whole.byAddress[address]?.count)
            #expect(tally.byAddress[address]?.ports == whole.byAddress[address]?.ports)
        }
        #expect(tally.byAddress[IPAddress(ipv4: 9)]?.count == 4)
        #expect(tally.byAddress[IPAddress(ipv4: 9)]?.ports == [80, 443, 8014])
    }
}
