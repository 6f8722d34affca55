import Core
import Records
import Testing

@testable import Heartbeat

/// Cuts `record` into the pieces the traffic layer hands out when the connection is quiet past its
/// idle timeout: a new piece starts at each exchange index in `cuts`. Every piece but the last ends
/// open; every piece but the first has no SYN.
func idlePieces(of record: ConnectionRecord, cuts: [Int], firstID: UInt64 = 100) -> [ConnectionRecord] {
    let bounds = [0] + cuts + [record.exchanges.count]
    var out: [ConnectionRecord] = []
    for n in 0..<(bounds.count - 1) {
        let slice = Array(record.exchanges[bounds[n]..<bounds[n + 1]])
        guard let first = slice.first, let last = slice.last else { continue }
        let isFirst = n == 0
        let isLast = n == bounds.count - 2
        var p = record
        p.id = isFirst ? record.id : firstID + UInt64(n)
        p.exchanges = slice.enumerated().map { i, e in
            var e = e
            e.index = i
            return e
        }
        p.start = isFirst ? record.start : first.start
        p.end = isLast ? record.end : last.end
        p.bytesUp = slice.reduce(isFirst ? record.bytesUp - record.exchanges.reduce(0) { $0 + $1.bytesUp } : 0) {
            $0 + $1.bytesUp
        }
        p.bytesDown = slice.reduce(isFirst ? record.bytesDown - record.exchanges.reduce(0) { $0 + $1.bytesDown } : 0) {
            $0 + $1.bytesDown
        }
        if !isFirst {
            p.synTime = nil
            p.synAckTime = nil
            p.synCount = 0
            p.handshake = .midstream
            p.tls = nil
            p.state = record.state.subtracting([.syn, .synAck]).union(.midstream)
        }
        if !isLast {
            p.closeTime = nil
            p.state = p.state.subtracting([.finFromClient, .finFromServer, .rstFromClient, .rstFromServer])
                .union(.openAtEnd)
        }
        out.append(p)
    }
    return out
}

/// Connections the traffic layer emitted in pieces, push managers found from bursts, managers found
/// from failover, and unanswered connects the client gave up on.
@Suite struct PiecesAndFailoverTests {
    // MARK: - Rejoining pieces

    @Test func pushConnectionInIdlePiecesIsOneConnectionSplitIntoBursts() throws {
        var f = RecordFactory()
        let whole = f.push(start: at(0), bursts: [0, 300.5, 601, 901.5])
        let pieces = idlePieces(of: whole, cuts: [1, 2, 3])
        #expect(pieces.count == 4)
        let r = analyze(pieces)
        #expect(r.counts.rejoinedConnections == 3)
        #expect(r.counts.managerConnections == 4)
        #expect(r.managers.map(\.source) == ["inferred-tls"])
        #expect(r.sessions.count == 4)
        #expect(r.sessions.allSatisfy { $0.mode == .push })
        #expect(r.sessions.map { $0.steps.map(\.step) } == [[1, 2, 3], [3], [3], [3]])
        #expect(r.sessions.first?.steps[1].evidence.contains("TLS 1.2") == true)
        #expect(r.codes(.pushConnectionDropped).isEmpty)
        #expect(r.findings.isEmpty, "\(r.findings)")
    }

    @Test func droppedPushConnectionInPiecesIsReportedOnItsLastBurst() throws {
        var f = RecordFactory()
        let whole = f.push(start: at(0), bursts: [0, 300, 600], openAtEnd: false, close: .rstFromServer)
        let r = analyze(idlePieces(of: whole, cuts: [1, 2]))
        #expect(r.sessions.count == 3)
        #expect(r.sessions.last?.steps.last?.step == 7)
        #expect(r.codes(.pushConnectionDropped).count == 1)
    }

    @Test func pieceWithASynOrAfterAClosedPieceIsNotJoined() throws {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        // A closed connection, then a mid-stream piece on the same endpoints: not its continuation.
        let closed = f.idle(start: at(0))
        var later = f.idle(start: at(300))
        later.client = closed.client
        later.handshake = .midstream
        later.synTime = nil
        later.state = [.midstream, .finFromClient]
        // An open piece, then a new connection (with SYN) reusing its endpoints.
        var open = f.idle(start: at(600))
        open.state = [.syn, .synAck, .openAtEnd]
        var reused = f.idle(start: at(900))
        reused.client = open.client
        let r = analyze([closed, later, open, reused], model: model)
        #expect(r.counts.rejoinedConnections == 0)
        #expect(r.sessions.count == 4)
    }

    // MARK: - Push managers from bursts

    /// Three bursts on one connection, the later two `gap` seconds after the one before.
    private func pushBursts(gap: Double) -> HeartbeatReport {
        var f = RecordFactory()
        let first = 0.06  // the first exchange follows the handshake
        return analyze([f.push(start: at(0), bursts: [0, first + gap, first + 2 * gap])])
    }

    @Test func burstsAtTheIntervalPlusToleranceMakeAPushManager() {
        let r = pushBursts(gap: 330)
        #expect(r.managers.map(\.source) == ["inferred-tls"])
        #expect(r.sessions.count == 3)
        #expect(r.sessions.allSatisfy { $0.mode == .push })
    }

    @Test func burstsPastTheToleranceMakeNoManager() {
        let r = pushBursts(gap: 330.001)
        #expect(r.managers.isEmpty)
        #expect(r.sessions.isEmpty)
    }

    // MARK: - Managers from failover

    /// A refused connect to .1, then check-ins to .2 (periodic, so inferred) whose first SYN comes
    /// `after` seconds after the refusal ended, on `port`.
    private func refusedThenSecondary(after: Double, port: UInt16 = 443) -> HeartbeatReport {
        var f = RecordFactory()
        let refused = f.failed(server: "198.51.100.1", port: port, start: at(0), refused: true)
        let syn = refused.end.adding(seconds: after)
        let reached = (0..<3).map { f.idle(server: "198.51.100.2", start: syn.adding(seconds: Double($0) * 300)) }
        return analyze([refused] + reached)
    }

    @Test func failedConnectAtTheAttemptWindowMakesAFailoverManager() throws {
        let r = refusedThenSecondary(after: 45)
        #expect(r.managers.map(\.source) == ["inferred-failover", "inferred-tls"])
        #expect(r.managers.first?.address == "198.51.100.1")
        #expect(r.sessions.count == 3)
        let s = try #require(r.sessions.first)
        #expect(s.start == at(0))
        #expect(s.attempts.map(\.outcome) == ["refused"])
        #expect(r.codes(.connectFailed).count == 1)
        let failover = try #require(r.codes(.failover).first)
        #expect(failover.message == "reached 198.51.100.2:443 after 1 failed connect to 198.51.100.1:443")
        #expect(r.summary.verdict == "fail")
    }

    @Test func failedConnectPastTheAttemptWindowIsNotAManager() {
        let r = refusedThenSecondary(after: 45.001)
        #expect(r.managers.map(\.source) == ["inferred-tls"])
        #expect(r.sessions.count == 3)
        #expect(r.sessions.allSatisfy { $0.attempts.isEmpty })
        #expect(r.findings.isEmpty, "\(r.findings)")
    }

    @Test func failedConnectOnAnotherPortIsNotAFailover() {
        let r = refusedThenSecondary(after: 1, port: 8014)
        #expect(r.managers.map(\.source) == ["inferred-tls"])
        #expect(r.codes(.failover).isEmpty)
    }

    // MARK: - Unanswered connects

    @Test func unansweredConnectTheClientMovedOnFromIsATimeoutEvenNearTheEnd() throws {
        var f = RecordFactory()
        let sylink = try SyLinkFile.load(path: exampleSyLinkPath)
        let records = [f.failed(server: "198.51.100.1", start: at(0), refused: false, syns: 4),
                       f.idle(server: "198.51.100.2", start: at(10))]
        let r = analyze(records, sylink: sylink, captureEnd: at(15))
        let timeout = try #require(r.codes(.connectTimeout).first)
        #expect(timeout.message == "connect to 198.51.100.1:443 (priority 1) unanswered for 10 s (4 SYNs) "
            + "until the client moved on to 198.51.100.2:443")
        #expect(r.codes(.failover).first?.message
            == "reached 198.51.100.2:443 (priority 2) after 1 failed connect to 198.51.100.1:443 (priority 1)")
        #expect(r.sessions.first?.steps.first?.evidence.contains("198.51.100.1:443 (priority 1) unanswered") == true)
    }

    /// An unanswered connect the client did not move on from, the capture ending `end` s after the SYN.
    private func lonelyUnanswered(captureEnd end: Double) throws -> HeartbeatReport {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        return analyze([f.failed(server: "198.51.100.1", start: at(0), refused: false, syns: 3)], model: model,
                       captureEnd: at(end))
    }

    @Test func unansweredConnectIsJudgedWhenTheCaptureRanPastTheTimeout() throws {
        #expect(try lonelyUnanswered(captureEnd: 30.000_000_001).codes(.connectTimeout).count == 1)
    }

    @Test func unansweredConnectIsNotJudgedWhenTheCaptureEndedSooner() throws {
        #expect(try lonelyUnanswered(captureEnd: 29.999).codes(.connectTimeout).isEmpty)
    }
}
