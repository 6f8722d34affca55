import Core
import Testing

/// A simulated push connection whose second burst lost the first and the last segments of its answer, the
/// middle one captured and acknowledged between them. The first hole is skipped once the client's ACK covers
/// it; the last segment, acknowledged while that hole still waited, must become a gap then too, on that burst,
/// not at the client's next keep-alive ACK 100 s later, where it made a check-in of its own (with
/// `interval-early` on it and on the next one, and `interval-mismatch` or `interval-late` from the odd gaps).
/// The first check-in, which lost nothing, has no `capture-gap` of its own.
@Suite struct PushBurstLossTests {
    @Test func aBurstThatLostTheFirstAndLastSegmentsOfItsAnswerStaysOneCheckInWithOneGapWarning() throws {
        let dir = try TemporaryFolder()
        let path = try dir.simulatedCapture("push.pcap", [
            "--clients", "2", "--duration", "20m", "--seed", "9", "--push-share", "1", "--http-share", "0",
        ])
        let all = try ProxyPacketLossTests.packets(path)
        let client = try #require(all.first?.source)
        let port = try #require(all.first { $0.syn && $0.source == client }?.sourcePort)
        let members = all.indices.filter {
            (all[$0].source == client && all[$0].sourcePort == port) || all[$0].destinationPort == port
        }
        // The connection's packets a pause of more than 10 s apart begin a new burst.
        var bursts: [[Int]] = [[]]
        for i in members {
            if let last = bursts[bursts.count - 1].last, all[i].time.seconds(since: all[last].time) > 10 {
                bursts.append([])
            }
            bursts[bursts.count - 1].append(i)
        }
        let withRequests = bursts.filter { b in b.contains { all[$0].source == client && all[$0].payload > 0 } }
        let second = try #require(withRequests.dropFirst().first)
        let answer = second.filter { all[$0].source != client && all[$0].payload > 0 }
        try #require(answer.count >= 3)
        let lost = try [#require(answer.first), #require(answer.last)]
        let clean = try ProxyPacketLossTests.judge(all, dropping: nil, client: client, in: dir)
        try #require(clean.gaps.isEmpty)
        let kept = all.indices.filter { !lost.contains($0) }.map { all[$0] }
        let v = try ProxyPacketLossTests.judge(kept, dropping: nil, client: client, in: dir)
        #expect(v.checkIns == clean.checkIns)
        for code in ["interval-early", "interval-late", "interval-mismatch", "missed-heartbeat"] {
            #expect(!v.codes.contains(code), "\(code)")
        }
        let bytes = lost.reduce(0) { $0 + all[$1].payload }
        // One warning, on the burst (a later burst counts its exchanges that lost bytes as its gaps).
        #expect(v.gaps.count == 1 && v.gaps.allSatisfy { $0.contains(" \(bytes) bytes not captured") }, "\(v.gaps)")
    }
}
