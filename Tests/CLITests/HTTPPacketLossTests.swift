import Testing

/// One plain-HTTP check-in with each of its packets lost in turn, and with its request and the first segment
/// of the answer lost together: the bytes lost are a capture gap on that check-in, not a check-in that
/// carried too few bytes (`idle-size-out-of-range`: an answer whose status line was lost is no answer of the
/// HTTP parser) or skipped a step (`step-missing`: the request was lost).
@Suite struct HTTPPacketLossTests {
    @Test func eachPacketOfAPlainHTTPCheckInLostInTurnAndTheRequestWithTheAnswersStart() throws {
        let dir = try TemporaryFolder()
        let path = try dir.simulatedCapture("http.pcap", [
            "--clients", "2", "--duration", "20m", "--seed", "9", "--push-share", "0", "--http-share", "1",
        ])
        let all = try ProxyPacketLossTests.packets(path)
        let client = try #require(all.first?.source)
        let syns = all.filter { $0.syn && $0.source == client }
        try #require(syns.count >= 2)
        let port = syns[1].sourcePort
        let members = all.indices.filter {
            (all[$0].source == client && all[$0].sourcePort == port) || all[$0].destinationPort == port
        }
        try #require(members.count >= 10)
        let clean = try ProxyPacketLossTests.judge(all, dropping: nil, client: client, in: dir)
        try #require(!clean.checkIns.isEmpty && clean.gaps.isEmpty)
        let request = try #require(members.first { all[$0].source == client && all[$0].payload > 0 })
        let answer = try #require(members.first { all[$0].source != client && all[$0].payload > 0 })
        for lost in members.map({ [$0] }) + [[request, answer]] {
            let kept = all.indices.filter { !lost.contains($0) }.map { all[$0] }
            let v = try ProxyPacketLossTests.judge(kept, dropping: nil, client: client, in: dir)
            let bytes = lost.reduce(0) { $0 + all[$1].payload }
            #expect(v.checkIns == clean.checkIns, "packets \(lost) (\(bytes) bytes) lost: \(v.checkIns)")
            for code in ["missed-heartbeat", "idle-size-out-of-range", "step-missing"] {
                #expect(!v.codes.contains(code), "packets \(lost) (\(bytes) bytes) lost: \(code)")
            }
            if bytes > 0 {
                #expect(v.gaps.contains { $0.contains("\(bytes) bytes not captured") },
                        "packets \(lost) (\(bytes) bytes) lost: \(v.gaps)")
            }
        }
    }

    /// A full check-in that lost the packets carrying the heads of its requests after the first: their bytes
    /// all land in step 3, which is no idle check-in (it read as one of 45,859 bytes, over the idle maximum).
    @Test func aFullCheckInThatLostItsLaterRequestHeadsIsNotJudgedAsAnIdleOne() throws {
        let dir = try TemporaryFolder()
        let path = try dir.simulatedCapture("full.pcap", [
            "--clients", "2", "--duration", "20m", "--seed", "9", "--push-share", "0", "--http-share", "1",
            "--full-share", "1",
        ])
        let all = try ProxyPacketLossTests.packets(path)
        let client = try #require(all.first?.source)
        let syns = all.filter { $0.syn && $0.source == client }
        try #require(syns.count >= 2)
        let port = syns[1].sourcePort
        /// Whether the packet's TCP payload begins with a request's method.
        func startsRequest(_ p: ProxyPacketLossTests.Packet) -> Bool {
            let tcp = 14 + Int(p.bytes[14] & 0x0f) * 4
            let start = tcp + Int(p.bytes[tcp + 12] >> 4) * 4
            let head = p.bytes.dropFirst(start).prefix(5)
            return head.elementsEqual("GET /".utf8) || head.elementsEqual("POST ".utf8)
        }
        let heads = all.indices.filter {
            all[$0].source == client && all[$0].sourcePort == port && all[$0].payload > 0 && startsRequest(all[$0])
        }
        try #require(heads.count == 4)
        let lost = Set(heads.dropFirst())
        let kept = all.indices.filter { !lost.contains($0) }.map { all[$0] }
        let clean = try ProxyPacketLossTests.judge(all, dropping: nil, client: client, in: dir)
        let v = try ProxyPacketLossTests.judge(kept, dropping: nil, client: client, in: dir)
        #expect(v.checkIns == clean.checkIns)
        #expect(!v.codes.contains("idle-size-out-of-range"), "\(v.codes)")
        #expect(v.gaps.count == 1, "\(v.gaps)")
    }
}
