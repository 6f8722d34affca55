import Core
import Foundation
import Records
import Testing

@testable import Heartbeat

/// `IngestQueue` files records on its own thread; the builder must come back as if fed directly.
@Suite struct IngestQueueTests {
    /// Several clients: pull check-ins with a missed one, a refused connect before a failover, a push
    /// connection, and traffic that is not management traffic.
    static func fleet() -> [ConnectionRecord] {
        var f = RecordFactory()
        var out: [ConnectionRecord] = []
        for n in 0..<5 {
            let client = "10.0.1.\(n + 10)"
            for k in 0..<12 where !(n == 2 && k == 6) {
                out.append(f.idle(client: client, start: at(Double(k) * 300 + Double(n) * 7)))
            }
        }
        out.append(f.failed(client: "10.0.1.10", server: "198.51.100.9", start: at(3_700), refused: true))
        out.append(f.idle(client: "10.0.1.10", start: at(3_700.2)))
        out.append(f.push(client: "10.0.1.20", start: at(10), bursts: [0, 300, 600, 900]))
        out.append(f.idle(client: "10.0.1.21", server: "203.0.113.80", port: 8_080, start: at(42)))
        return out.sorted { $0.end < $1.end }
    }

    static func json(_ report: HeartbeatReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }

    static func direct(_ records: [ConnectionRecord], limits: SessionBuilder.Limits = .init()) -> HeartbeatReport {
        var b = SessionBuilder(model: .builtIn, limits: limits)
        for r in records { b.ingest(r) }
        return b.finish()
    }

    static func queued(_ records: [ConnectionRecord], limits: SessionBuilder.Limits = .init(), batch: Int,
                       inFlight: Int) -> HeartbeatReport {
        let q = IngestQueue(SessionBuilder(model: .builtIn, limits: limits), batchSize: batch,
                            maxBatchesInFlight: inFlight)
        for r in records { q.ingest(r) }
        var b = q.finish()
        return b.finish()
    }

    @Test(arguments: [(1, 1), (3, 2), (32, 4), (10_000, 8)])
    func queuedReportEqualsDirectReport(batch: Int, inFlight: Int) throws {
        let records = Self.fleet()
        let want = Self.direct(records)
        let got = Self.queued(records, batch: batch, inFlight: inFlight)
        #expect(want.sessions.count > 50)
        #expect(want.counts.connections == records.count)
        #expect(try Self.json(got) == Self.json(want))
    }

    /// A snapshot part-way (a live capture's rolling report) holds every record given so far, whatever the
    /// batches in flight, and the queue goes on to the same final builder.
    @Test(arguments: [(1, 1, true), (5, 2, true), (32, 4, true), (5, 2, false)])
    func snapshotsHoldEveryRecordGivenSoFar(batch: Int, inFlight: Int, ownThread: Bool) throws {
        let records = Self.fleet()
        let q = IngestQueue(SessionBuilder(model: .builtIn), batchSize: batch, maxBatchesInFlight: inFlight,
                            ownThread: ownThread)
        for (i, r) in records.enumerated() {
            q.ingest(r)
            if i == 17 || i == records.count / 2 {
                let part = q.snapshot().report()
                #expect(try Self.json(part) == Self.json(Self.direct(Array(records.prefix(i + 1)))))
                #expect(part.counts.connections == i + 1)
            }
        }
        var b = q.finish()
        #expect(try Self.json(b.finish()) == Self.json(Self.direct(records)))
    }

    /// Which records a limit drops depends on their order: the queue must keep it.
    @Test func limitsDropTheSameRecordsAsDirectFeeding() throws {
        let records = Self.fleet()
        let limits = SessionBuilder.Limits(maxClients: 3, maxConnectionsPerClient: 7)
        let want = Self.direct(records, limits: limits)
        let got = Self.queued(records, limits: limits, batch: 5, inFlight: 2)
        #expect(want.counts.droppedByLimits > 0)
        #expect(got.counts.droppedByLimits == want.counts.droppedByLimits)
        #expect(try Self.json(got) == Self.json(want))
    }

    /// Without a thread of its own (the system refused one), records are filed as they come.
    @Test func withoutAThreadTheReportIsTheSame() throws {
        let records = Self.fleet()
        let q = IngestQueue(SessionBuilder(model: .builtIn), batchSize: 3, ownThread: false)
        #expect(!q.hasOwnThread)
        for r in records { q.ingest(r) }
        var b = q.finish()
        #expect(try Self.json(b.finish()) == Self.json(Self.direct(records)))
        #expect(IngestQueue(SessionBuilder(model: .builtIn)).hasOwnThread)
    }

    /// A queue let go before `finish()` (the capture failed) ends its thread and frees its records.
    @Test func queueLetGoWithoutFinishEndsItsThread() {
        weak var weakBox: Box?
        do {
            let box = Box()
            weakBox = box
            let q = IngestQueue(SessionBuilder(model: .builtIn), batchSize: 2, maxBatchesInFlight: 1)
            for r in Self.fleet().prefix(9) { q.ingest(r) }
            box.queue = q
        }
        // The consumer held only the shared state, which goes once its thread ends.
        #expect(weakBox == nil)
    }

    final class Box { var queue: IngestQueue? }

    @Test func nothingIngestedGivesAnEmptyBuilder() {
        let q = IngestQueue(SessionBuilder(model: .builtIn))
        var b = q.finish()
        let r = b.finish()
        #expect(r.sessions.isEmpty && r.counts.connections == 0)
    }
}
