import Core
import Foundation
import Heartbeat
import Records
import Reports
import Testing

/// A client whose interval changes and changes back (an administrator trying 60 s under a 300 s policy for an hour,
/// then reverting it), or changes twice: each stretch is judged against its own level, each change is an
/// `interval-change` finding (and the fleet's policy changes one each), and a fault inside a stretch is still found.
/// The client's one stretch at another level between two at the same one was read as early, accelerated and storm
/// gaps, since only the levels at the capture's ends were compared.
@Suite struct RevertedIntervalChangeTests {
    private struct Run {
        var report: HeartbeatReport
        var audit: FleetAudit
        func codes(_ code: FindingCode) -> Int { report.findings.count { $0.code == code } }
        func client(_ address: String) -> FleetAudit.Client? {
            audit.clients.first { $0.client.description == address }
        }
        func summary(_ address: String) -> ClientSummary? {
            report.clients.first { $0.client.description == address }
        }
    }

    private static let model = (try? ReferenceModel.builtIn.withServer("198.51.100.1")) ?? .builtIn

    /// Each client's idle check-ins at its times (seconds after the origin), analyzed and audited.
    private static func run(_ clients: [String: [Double]]) -> Run {
        var f = FleetRecords()
        for (client, times) in clients { for t in times { f.idle(client, at: t) } }
        var builder = SessionBuilder(model: model)
        for r in f.records.sorted(by: { $0.end < $1.end }) { builder.ingest(r) }
        let start = FleetRecords.origin
        let last = clients.values.compactMap(\.last).max() ?? 0
        let end = FleetRecords.origin.adding(seconds: last + 1)
        builder.noteCaptureSpan(first: start, last: end)
        let report = builder.finish()
        return Run(report: report, audit: FleetAudit(report: report, model: model, captureStart: start,
                                                     captureEnd: end))
    }

    /// Check-ins from `offset`, every `levels[0].every` seconds until the first at or after `levels[0].until`, from
    /// which the next level runs, and so on until `end`; those at the positions `skipped` left out.
    private static func times(_ levels: [(every: Double, until: Double)], end: Double, offset: Double = 0,
                              skipping skipped: Set<Int> = []) -> [Double] {
        var out: [Double] = []
        var t = offset
        var k = 0
        while t <= end {
            out.append(t)
            if k + 1 < levels.count, t >= levels[k].until { k += 1 }
            t += levels[k].every
        }
        return out.indices.filter { !skipped.contains($0) }.map { out[$0] }
    }

    /// 300 s, an hour at 60 s from 1 h, then 300 s again from 2 h until 5 h.
    private static func revert(offset: Double, skipping: Set<Int> = []) -> [Double] {
        times([(300, 3_600), (60, 7_200), (300, .infinity)], end: 5 * 3_600, offset: offset, skipping: skipping)
    }

    private static let fleet = ["10.0.0.1": 0.0, "10.0.0.2": 40, "10.0.0.3": 110, "10.0.0.4": 230]

    @Test func changeAndRevertIsTwoChangesAndNoFault() throws {
        let r = Self.run(Self.fleet.mapValues { Self.revert(offset: $0) })
        for code in [FindingCode.intervalEarly, .intervalLate, .acceleratedHeartbeat, .heartbeatStorm,
                     .missedHeartbeat, .wentSilent, .intervalMismatch, .captureGap] {
            #expect(r.codes(code) == 0, "\(code): \(r.report.findings.filter { $0.code == code }.map(\.message))")
        }
        // Two per client, and the fleet's two policy changes: to 60 s, then back to 300 s.
        #expect(r.codes(.intervalChange) == 10)
        let policy = r.report.findings.filter { $0.code == .intervalChange && $0.client == nil }.map(\.message)
        #expect(policy.count == 2)
        #expect(policy.first?.hasPrefix("4 of 4 clients with a regular interval changed their interval from 300 s to "
            + "60 s (medians)") == true, "\(policy)")
        #expect(policy.last?.contains("from 60 s to 300 s") == true, "\(policy)")
        for address in Self.fleet.keys {
            let s = try #require(r.summary(address))
            #expect(s.intervalChanges.map(\.fromSeconds) == [300, 60])
            #expect(s.intervalChanges.map(\.toSeconds) == [60, 300])
            #expect(s.intervalChanges.map(\.matchesExpected) == ["from", "to"])
            #expect(s.intervalChange == s.intervalChanges.first)
            #expect(s.judgedAgainstSeconds == nil && s.missed == 0 && s.accelerated == 0)
            let c = try #require(r.client(address))
            #expect(c.health == .healthy, "\(c.reasons)")
            #expect((c.missed, c.late, c.early, c.accelerated, c.storms) == (0, 0, 0, 0, 0))
            #expect(c.matchesExpected == true && c.judgedAgainst == nil && c.wentSilent == nil)
            #expect(c.intervalChanges == s.intervalChanges)
            #expect(c.reasons == s.intervalChanges.map(\.text))
        }
        // Each change at the check-in from which the new level runs: the first at or after 1 h and 2 h.
        let first = try #require(r.summary("10.0.0.1"))
        #expect(first.intervalChanges.map(\.at) == [3_600, 7_200].map { FleetRecords.origin.adding(seconds: $0) })
    }

    /// A change to 60 s and then to 1200 s: three levels, the last one judged against the expected 300 s (a mismatch
    /// since the last change); the hour at 60 s, within the 300 s accelerated range, is no storm.
    @Test func changeAndAnotherChange() throws {
        let t = Self.times([(300, 3_600), (60, 7_200), (1_200, .infinity)], end: 8 * 3_600)
        let r = Self.run(["10.0.0.1": t])
        let s = try #require(r.summary("10.0.0.1"))
        #expect(s.intervalChanges.map(\.toSeconds) == [60, 1_200])
        #expect(s.intervalChanges.map(\.matchesExpected) == ["from", "neither"])
        #expect(s.judgedAgainstSeconds == 1_200)
        for code in [FindingCode.intervalEarly, .acceleratedHeartbeat, .heartbeatStorm, .missedHeartbeat] {
            #expect(r.codes(code) == 0, "\(code)")
        }
        let mismatch = r.report.findings.filter { $0.code == .intervalMismatch }.map(\.message)
        #expect(mismatch == ["pull check-ins every 1200 s since the last change (median of 18), expected 300 s "
            + "± 30 s; its gaps are judged against 1200 s"])
        let c = try #require(r.client("10.0.0.1"))
        #expect(c.health == .unhealthy)
        #expect(c.reasons.first == "now 1200 s, expected 300 s ± 30 s (after the last change)")
    }

    /// Faults inside the stretches are still found, each against its own stretch's level: a check-in missing in the
    /// hour at 60 s, and one in the last 300 s stretch.
    @Test func faultsInsideTheStretchesAreFound() throws {
        // Check-ins 0-12 are at 300 s; 13-72 at 60 s (the 40th of them missing); then 300 s (the 80th missing).
        let t = Self.revert(offset: 0, skipping: [40, 80])
        var clients = Self.fleet.mapValues { Self.revert(offset: $0) }
        clients["10.0.0.1"] = t
        let r = Self.run(clients)
        let missed = r.report.findings.filter { $0.code == .missedHeartbeat }
        #expect(missed.map(\.message) == ["no check-in for 120 s: 1 missed (interval 60 s ± 6 s)",
                                          "no check-in for 600 s: 1 missed (interval 300 s ± 30 s)"])
        #expect(missed.allSatisfy { $0.client?.description == "10.0.0.1" })
        #expect(r.summary("10.0.0.1")?.intervalChanges.count == 2)
        #expect(r.client("10.0.0.1")?.missed == 2)
        #expect(r.codes(.intervalEarly) + r.codes(.acceleratedHeartbeat) + r.codes(.heartbeatStorm) == 0)
    }

    /// Check-ins 30 s apart for 10 minutes between 300 s ones, shorter than three 300 s intervals: a storm, as
    /// before, not a change to 30 s and back; for 15 minutes (three intervals), a stretch at its own level.
    @Test(arguments: [(20, false), (30, true)])
    func shortStretchInTheAcceleratedRangeIsAStorm(count: Int, level: Bool) throws {
        let t = Self.series([(10, 300), (count, 30), (10, 300)])
        let r = Self.run(["10.0.0.1": t])
        #expect(r.summary("10.0.0.1")?.intervalChanges.count == (level ? 2 : 0))
        #expect(r.codes(.heartbeatStorm) == (level ? 0 : 1))
    }

    /// Late check-ins in a row at one steady level between 300 s ones are those faults, as before: five (fewer than
    /// twice `mismatchMinIntervals`) are no change to 350 s and back; six are a stretch at its own level.
    @Test(arguments: [(5, false), (6, true)])
    func lateCheckInsInARowAreNoChange(count: Int, level: Bool) throws {
        let t = Self.series([(10, 300), (count, 350), (10, 300)])
        let r = Self.run(["10.0.0.1": t])
        #expect(r.summary("10.0.0.1")?.intervalChanges.count == (level ? 2 : 0))
        #expect(r.codes(.intervalLate) == (level ? 0 : count))
    }

    /// Check-ins from 0, each group `count` gaps of `every` seconds after the last check-in before it.
    private static func series(_ groups: [(count: Int, every: Double)]) -> [Double] {
        var out = [0.0]
        for (count, every) in groups {
            for _ in 0..<count { out.append((out.last ?? 0) + every) }
        }
        return out
    }

    /// An outage, then a short burst of retries, then the usual interval: the missed check-ins and a storm, as
    /// before, not a change to the retries' level and back. Counted with the outage gap leading into it, the burst
    /// (12 check-ins 30 s apart after 20 minutes of silence, or 17 at 43 s after 10) lasted long enough for a level.
    @Test(arguments: [(1_200.0, 12, 30.0, 3), (600, 17, 43, 1)])
    func outageThenRetriesIsNoChange(outage: Double, retries: Int, every: Double, missed: Int) throws {
        let t = Self.series([(12, 300), (1, outage), (retries, every), (20, 300)])
        let r = Self.run(["10.0.0.1": t])
        #expect(r.summary("10.0.0.1")?.intervalChanges.isEmpty == true)
        #expect(r.codes(.intervalChange) == 0)
        #expect(r.codes(.heartbeatStorm) == 1)
        #expect(r.client("10.0.0.1")?.missed == missed)
    }

    /// Late (or early) check-ins at both edges of a capture otherwise on the expected interval: three at each end
    /// stay six `interval-late` (`interval-early`), as before, not a policy left at the start and taken back at the
    /// end; six at each end, as many as a middle stretch needs, are a change and its revert.
    @Test(arguments: [(350.0, 3, false), (250, 3, false), (350, 6, true)])
    func offTheIntervalAtBothEnds(every: Double, count: Int, level: Bool) throws {
        let t = Self.series([(count, every), (40, 300), (count, every)])
        let r = Self.run(["10.0.0.1": t])
        #expect(r.summary("10.0.0.1")?.intervalChanges.count == (level ? 2 : 0))
        let code: FindingCode = every > 300 ? .intervalLate : .intervalEarly
        #expect(r.codes(code) == (level ? 0 : 2 * count))
        #expect(r.codes(.intervalMismatch) == (level ? 1 : 0))
    }

    /// A capture beginning one check-in before an accelerated episode (under 300 s of check-ins 20 s or 15.6 s
    /// apart), maybe ending with late check-ins: the episode and the late check-ins, not a change from the episode's
    /// level to 300 s (and another to 400 s); the 300 s gap before the episode is no part of it.
    @Test(arguments: [(12, 20.0, 3), (17, 15.6, 0)])
    func acceleratedAtTheStartIsNoLevel(count: Int, every: Double, late: Int) throws {
        let t = Self.series([(1, 300), (count, every), (40, 300), (late, 400)])
        let r = Self.run(["10.0.0.1": t])
        #expect(r.summary("10.0.0.1")?.intervalChanges.isEmpty == true)
        #expect(r.summary("10.0.0.1")?.intervalChange == nil)
        #expect(r.codes(.acceleratedHeartbeat) == 1)
        #expect(r.codes(.intervalLate) == late)
        #expect(r.codes(.intervalMismatch) + r.codes(.missedHeartbeat) == 0)
    }

    // MARK: - Simulated captures

    /// A fleet trying 60 s for an hour and reverting, with missed and late check-ins injected: `analyze` reports
    /// exactly the changes and the faults the truth file lists (each change at the check-in the truth names, each
    /// fault's finding at its time), and the fleet's two policy changes; `audit` gives every change in its JSON and
    /// its rows' reasons.
    @Test func simulatedChangeAndRevertWithFaults() throws {
        let folder = try TemporaryFolder()
        let capture = try folder.simulatedCapture("revert.pcap", [
            "--clients", "12", "--duration", "5h", "--interval-change", "1h:60", "--interval-change", "2h:300",
            "--fault", "missed=2", "--fault", "late=2", "--seed", "5",
        ])
        let analyze = CLIRun(["analyze", "-q", "-F", "json", capture])
        let report = try jsonObject(analyze.stdout)
        let clients = try #require(report["clients"] as? [[String: Any]])
        let findings = try #require(report["findings"] as? [[String: Any]])
        let truth = try jsonObject(try String(contentsOfFile: capture + ".truth.json", encoding: .utf8))
        var expected: Set<String> = []
        var changes: [String: [String]] = [:]
        for c in try #require(truth["clients"] as? [[String: Any]]) {
            let address = try #require(c["address"] as? String)
            for f in try #require(c["expectedFindings"] as? [[String: Any]]) {
                expected.insert("\(f["code"] ?? "") \(address) \(f["time"] ?? "")")
            }
            let planned = try #require(c["intervalChanges"] as? [[String: Any]])
            changes[address] = planned.compactMap { $0["at"] as? String }
        }
        #expect(["missed-heartbeat", "interval-late"].allSatisfy { code in expected.contains { $0.hasPrefix(code) } })
        let found = Set(findings.filter { $0["code"] as? String != "interval-change" }.map {
            "\($0["code"] ?? "") \($0["client"] ?? "") \($0["time"] ?? "")"
        })
        #expect(found == expected, "\(found.symmetricDifference(expected))")
        #expect(findings.count { $0["code"] as? String == "interval-change" && $0["client"] == nil } == 2)
        #expect(clients.count == 12)
        for c in clients {
            let address = try #require(c["client"] as? String)
            let listed = try #require(c["intervalChanges"] as? [[String: Any]])
            #expect(listed.compactMap { $0["at"] as? String } == changes[address], "\(address)")
            #expect(listed.compactMap { $0["matchesExpected"] as? String } == ["from", "to"])
            // The first change stays where a reader of one change finds it.
            let first = try #require(c["intervalChange"] as? [String: Any])
            #expect(first["at"] as? String == changes[address]?.first)
        }
        let audit = try jsonObject(CLIRun(["audit", "-q", "-F", "json", capture]).stdout)
        let audited = try #require(audit["clients"] as? [[String: Any]])
        #expect(audited.allSatisfy { ($0["intervalChanges"] as? [[String: Any]])?.count == 2 })
        #expect((audit["notes"] as? [[String: Any]])?.count == 2)
        let csv = CLIRun(["audit", "-q", "-F", "csv", capture]).stdout
        #expect(csv.components(separatedBy: "interval changed from 300 s to").count == 13)
        #expect(csv.components(separatedBy: "s to 300 s at").count == 13)
    }

    /// Accelerated and early faults on clients that try 60 s for an hour and revert: each is drawn before the first
    /// change, where its gap is judged against the interval it was drawn from, so `analyze` finds what the truth
    /// file lists (a check-in 30 s after another in the hour at 60 s is an early one at that level, not accelerated).
    @Test func simulatedAcceleratedAndEarlyFaultsWithAChangeAndItsRevert() throws {
        let folder = try TemporaryFolder()
        let capture = try folder.simulatedCapture("faults.pcap", [
            "--clients", "20", "--duration", "5h", "--interval-change", "1h:60", "--interval-change", "2h:300",
            "--fault", "accelerated=3", "--fault", "early=3", "--seed", "3", "--http-share", "0",
        ])
        let report = try jsonObject(CLIRun(["analyze", "-q", "-F", "json", capture]).stdout)
        let findings = try #require(report["findings"] as? [[String: Any]])
        let truth = try jsonObject(try String(contentsOfFile: capture + ".truth.json", encoding: .utf8))
        var expected: Set<String> = []
        for c in try #require(truth["clients"] as? [[String: Any]]) {
            for f in try #require(c["expectedFindings"] as? [[String: Any]]) {
                expected.insert("\(f["code"] ?? "") \(c["address"] ?? "") \(f["time"] ?? "")")
            }
        }
        #expect(expected.count { $0.hasPrefix("accelerated-heartbeat") } == 3)
        #expect(expected.count { $0.hasPrefix("interval-early") } == 3)
        let found = Set(findings.filter { $0["code"] as? String != "interval-change" }.map {
            "\($0["code"] ?? "") \($0["client"] ?? "") \($0["time"] ?? "")"
        })
        #expect(found == expected, "\(found.symmetricDifference(expected))")
    }

    /// A fleet spending most of the capture at 60 s under a 300 s policy (from 30 min to 4 h 30 min): its 300 s
    /// stretches at both ends are neither missed check-ins nor a mismatch, and nobody went silent.
    @Test func simulatedFleetMostlyAtTheShorterInterval() throws {
        let folder = try TemporaryFolder()
        let capture = try folder.simulatedCapture("most.pcap", [
            "--clients", "8", "--duration", "5h", "--interval-change", "30m:60", "--interval-change", "4h30m:300",
        ])
        let analyze = CLIRun(["analyze", "-q", "-F", "json", capture])
        #expect(analyze.status == 0, "\(analyze.stdout.prefix(2_000))")
        let report = try jsonObject(analyze.stdout)
        let codes = try #require(report["findings"] as? [[String: Any]]).compactMap { $0["code"] as? String }
        #expect(Set(codes) == ["interval-change", "plaintext-http"], "\(codes)")
        #expect(codes.count { $0 == "interval-change" } == 18)
        let audit = try jsonObject(CLIRun(["audit", "-q", "-F", "json", capture]).stdout)
        let fleet = try #require(audit["fleet"] as? [String: Any])
        #expect(fleet["healthy"] as? Int == 8)
    }
}
