import Core
import Records
import Testing

@testable import Heartbeat

/// The audit's capture-edge notes of a client on another interval measure against that interval.
@Suite struct OtherIntervalEdgeTests {
    /// Client .1 checks in every 3600 s from 1500 s on, client .2 every 600 s from 400 s to 13,600 s, client
    /// .3 every 300 s over the whole capture (0 to 14,400 s), so that the built-in 300 s is the fleet's.
    @Test func aSlowTimerIsJudgedAtTheEdgesByItsOwnInterval() throws {
        var f = RecordFactory()
        var records: [ConnectionRecord] = []
        for k in 0...48 { records.append(f.idle(client: "10.0.3.3", start: at(Double(k * 300)))) }
        for k in 0..<22 { records.append(f.idle(client: "10.0.3.2", start: at(Double(400 + k * 600)))) }
        for k in 0..<4 { records.append(f.idle(client: "10.0.3.1", start: at(Double(1500 + k * 3600)))) }
        var b = SessionBuilder(model: .builtIn)
        for r in records.sorted(by: { $0.start < $1.start }) { b.ingest(r) }
        let audit = FleetAudit(report: b.finish(), model: .builtIn, captureStart: at(0), captureEnd: at(14_400))
        let hourly = try #require(audit.clients.first { $0.client == IPAddress("10.0.3.1") })
        #expect(hourly.judgedAgainst == 3600)
        // First check-in 1500 s in and last 2100 s before the end: both within one 3600 s interval.
        #expect(!hourly.appearedLate && !hourly.vanishedEarly)
        let slow = try #require(audit.clients.first { $0.client == IPAddress("10.0.3.2") })
        #expect(slow.judgedAgainst == 600)
        // 400 s in is within 600 s ± 30 s; the last check-in, at 13,000 s, is 1400 s before the end.
        #expect(!slow.appearedLate && slow.vanishedEarly)
    }
}
