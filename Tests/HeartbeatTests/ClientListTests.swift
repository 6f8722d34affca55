import Core
import Records
import Testing

@testable import Heartbeat

/// A client's kept records: filed in start order (equal starts in the order they came), in a list grown by
/// an eighth rather than doubled.
@Suite struct ClientListTests {
    private func record(_ id: UInt64, start: Int64) -> ConnectionRecord {
        var r = ConnectionRecord(
            id: id, client: Endpoint(address: IPAddress(ipv4: 0x0a14_0001), port: UInt16(1_024 + id % 60_000)),
            server: Endpoint(address: IPAddress(ipv4: 0x0a01_000a), port: 8014),
            start: Timestamp(nanoseconds: start), end: Timestamp(nanoseconds: start + 1_000))
        r.handshake = .established
        r.synTime = r.start
        r.state = [.syn, .synAck, .finFromClient]
        return r
    }

    @Test func recordsAreFiledInStartOrderAndEqualStartsKeepTheirOrder() {
        var list: [ConnectionRecord] = []
        let starts: [Int64] = [50, 10, 30, 30, 90, 10, 70, 30]
        for (i, s) in starts.enumerated() { SessionBuilder.file(record(UInt64(i), start: s), into: &list) }
        #expect(list.map(\.start.nanoseconds) == starts.sorted())
        #expect(list.filter { $0.start.nanoseconds == 30 }.map(\.id) == [2, 3, 7])
        #expect(list.filter { $0.start.nanoseconds == 10 }.map(\.id) == [1, 5])
    }

    @Test func theListHoldsLittleSpareRoom() {
        var builder = SessionBuilder(model: .builtIn)
        var rng = SystemRandomNumberGenerator()
        let n = 3_000
        for i in 0..<n {
            let jitter = Int64.random(in: 0..<600_000_000_000, using: &rng)
            builder.ingest(record(UInt64(i), start: Int64(i) * 300_000_000_000 + jitter))
        }
        let kept = builder.keptRecords
        #expect(kept.count == n)
        #expect(zip(kept, kept.dropFirst()).allSatisfy { $0.start <= $1.start })
        let capacity = builder.keptCapacity(of: IPAddress(ipv4: 0x0a14_0001))
        // Doubling would hold 4,096 here.
        #expect(capacity >= n)
        #expect(capacity <= n + n / 8 + 4)
    }
}
