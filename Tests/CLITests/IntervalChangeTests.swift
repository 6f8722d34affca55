import Core
import Foundation
import Heartbeat
import Records
import Reports
import Testing

/// A client changing its heartbeat interval halfway (an administrator's policy change, taken by each client at its
/// next check-in) is judged on each side against its own interval: no missed, late or early check-ins for the
/// change itself, an `interval-change` finding per client, and one for the fleet when many change near one time.
/// A missed check-in or two, an outage, an accelerated run or one odd gap is no change.
@Suite struct IntervalChangeTests {
    private static func model(interval: Double? = nil) -> ReferenceModel {
        do {
            let m = try ReferenceModel.builtIn.withServer("198.51.100.1")
            guard let interval else { return m }
            return try m.withInterval(seconds: interval)
        } catch { return .builtIn }
    }

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
        /// The fleet's own `interval-change` finding (no client).
        var fleetChange: Finding? { report.findings.first { $0.code == .intervalChange && $0.client == nil } }
    }

    /// Each client's idle check-ins at its times (seconds after the origin), analyzed and audited.
    private static func run(_ clients: [String: [Double]], model: ReferenceModel = model(),
                            silences: [CaptureSilence] = []) -> Run {
        var f = FleetRecords()
        for (client, times) in clients { for t in times { f.idle(client, at: t) } }
        var builder = SessionBuilder(model: model)
        for r in f.records.sorted(by: { $0.end < $1.end }) { builder.ingest(r) }
        builder.noteCaptureSilences(silences)
        let start = FleetRecords.origin
        let last = clients.values.compactMap(\.last).max() ?? 0
        let end = FleetRecords.origin.adding(seconds: last + 1)
        builder.noteCaptureSpan(first: start, last: end)
        let report = builder.finish()
        return Run(report: report, audit: FleetAudit(report: report, model: model, captureStart: start,
                                                     captureEnd: end))
    }

    /// Check-ins every `first` seconds from `offset` until `at`, then every `then` seconds until `until`.
    private static func times(_ first: Double, until at: Double, then: Double, until end: Double,
                              offset: Double = 0) -> [Double] {
        var out: [Double] = []
        var t = offset
        while t < at {
            out.append(t)
            t += first
        }
        while t <= end {
            out.append(t)
            t += then
        }
        return out
    }

    private static func one(_ times: [Double], model: ReferenceModel = model()) -> Run {
        run(["10.0.0.1": times], model: model)
    }

    // MARK: - Changes

    /// 60 s to 300 s where 300 s is expected: the side on 60 s is judged against 60 s, the client is healthy.
    @Test func shorterToExpectedIsHealthy() throws {
        let r = Self.one(Self.times(60, until: 3_600, then: 300, until: 3 * 3_600))
        let c = try #require(r.client("10.0.0.1"))
        #expect(c.health == .healthy, "\(c.reasons)")
        #expect((c.missed, c.late, c.early, c.accelerated) == (0, 0, 0, 0))
        #expect(c.matchesExpected == true)
        let change = try #require(c.intervalChange)
        #expect((change.mode, change.fromSeconds, change.toSeconds) == (.pull, 60, 300))
        #expect(change.matchesExpected == "to")
        #expect(change.at == FleetRecords.origin.adding(seconds: 3_600))
        #expect(c.reasons == ["pull interval changed from 60 s to 300 s at 2026-01-01T01:00:00.000Z"])
        #expect(r.codes(.intervalChange) == 1)
        #expect(r.codes(.missedHeartbeat) + r.codes(.intervalLate) + r.codes(.intervalEarly) == 0)
        #expect(r.codes(.acceleratedHeartbeat) + r.codes(.heartbeatStorm) + r.codes(.intervalMismatch) == 0)
        let s = try #require(r.summary("10.0.0.1"))
        #expect(s.missed == 0 && s.accelerated == 0)
        #expect(s.expectedIntervalSeconds == 300)
        #expect(s.intervalChange == change)
        // The analyze statistics take both sides' regular gaps, as the audit's spread.
        #expect(s.intervalSeconds?.count == c.spread?.count)
    }

    /// 300 s to 60 s with `--interval 60`: the finding says the expected interval is the new one.
    @Test func longerToPinnedIsHealthyAndNamesTheSide() throws {
        let r = Self.one(Self.times(300, until: 3 * 3_600, then: 60, until: 5 * 3_600),
                         model: Self.model(interval: 60))
        let c = try #require(r.client("10.0.0.1"))
        #expect(c.health == .healthy, "\(c.reasons)")
        #expect((c.missed, c.late, c.early) == (0, 0, 0))
        #expect(c.intervalChange?.fromSeconds == 300)
        #expect(c.intervalChange?.toSeconds == 60)
        let f = try #require(r.report.findings.first { $0.code == .intervalChange })
        #expect(f.severity == .info)
        #expect(f.message.hasPrefix("pull interval changed from 300 s to 60 s at 2026-01-01T03:00:00.000Z"))
        #expect(f.message.hasSuffix("the expected 60 s (option) is the new one"))
        #expect(r.codes(.missedHeartbeat) == 0)
    }

    /// 1800 s to 60 s where 300 s is expected: no missed check-ins, but the interval it runs now is another one.
    @Test func changeAwayFromExpectedIsAMismatchOfTheLaterSide() throws {
        let r = Self.one(Self.times(1_800, until: 4 * 3_600, then: 60, until: 6 * 3_600))
        let c = try #require(r.client("10.0.0.1"))
        #expect(c.health == .unhealthy)
        #expect(c.missed == 0 && c.late == 0 && c.early == 0 && c.storms == 0)
        #expect(c.matchesExpected == false)
        #expect(c.judgedAgainst == 60)
        #expect(c.reasons.first == "now 60 s, expected 300 s ± 30 s (after the change)")
        #expect(c.intervalChange?.matchesExpected == "neither")
        #expect(r.codes(.intervalChange) == 1)
        #expect(r.codes(.intervalMismatch) == 1)
        #expect(r.codes(.missedHeartbeat) + r.codes(.heartbeatStorm) + r.codes(.acceleratedHeartbeat) == 0)
        let mismatch = try #require(r.report.findings.first { $0.code == .intervalMismatch })
        #expect(mismatch.message.hasPrefix("pull check-ins every 60 s since the change (median of"))
    }

    /// An accelerated run right after the change (normal after a policy change) is counted, not a change of its own.
    @Test func acceleratedRunAtTheChange() throws {
        var t = Self.times(60, until: 3_600, then: 300, until: 3_600)
        let last = t.last ?? 0
        t += [last + 20, last + 40, last + 55]
        t += stride(from: last + 355, through: last + 3 * 3_600, by: 300).map { $0 }
        let r = Self.one(t)
        let c = try #require(r.client("10.0.0.1"))
        #expect(c.intervalChange?.toSeconds == 300)
        #expect(c.missed == 0 && c.late == 0 && c.early == 0)
        #expect(c.accelerated == 3 && c.acceleratedRuns == 1)
        #expect(c.health == .healthy, "\(c.reasons)")
    }

    // MARK: - Not a change

    /// A client on 300 s all along with one odd stretch: judged as before, no change found.
    @Test(arguments: [
        ("one missed", [600.0]),
        ("two missed in a row", [900.0]),
        ("two missed at the end", [600.0, 600]),
        ("an outage", [3_600.0]),
        ("a clock step", [420.0]),
        ("an accelerated run", [20.0, 20, 20, 240]),
        ("a short storm", [Double](repeating: 30, count: 12) + [270]),
    ])
    func oddStretchIsNoChange(name: String, odd: [Double]) throws {
        var t = stride(from: 0.0, through: 3_000, by: 300).map { $0 }
        for d in odd { t.append((t.last ?? 0) + d) }
        if name != "two missed at the end" {
            let last = t.last ?? 0
            t += stride(from: last + 300, through: last + 3_000, by: 300).map { $0 }
        }
        let r = Self.one(t)
        let c = try #require(r.client("10.0.0.1"))
        #expect(c.intervalChange == nil, "\(name)")
        #expect(r.codes(.intervalChange) == 0, "\(name)")
        #expect(r.summary("10.0.0.1")?.intervalChange == nil)
    }

    /// Gaps at twice or three times the expected interval for the first or last hour are a client missing every
    /// other (or two of three) check-ins, as far as timing tells: its missed check-ins are counted, not hidden
    /// behind a change to or from 600 s that read healthy.
    @Test(arguments: [(600.0, true), (900.0, true), (600.0, false), (900.0, false)])
    func gapsAtAMultipleOfTheOtherLevelAreMissedCheckIns(gap: Double, first: Bool) throws {
        let t = first ? Self.times(gap, until: 3_600, then: 300, until: 3 * 3_600)
            : Self.times(300, until: 2 * 3_600, then: gap, until: 3 * 3_600 + 1)
        let r = Self.one(t)
        let c = try #require(r.client("10.0.0.1"))
        #expect(c.intervalChange == nil)
        #expect(r.codes(.intervalChange) == 0)
        #expect(c.missed == (gap == 600 ? 6 : 8), "\(c.missed)")
        #expect(c.health == .unhealthy)
    }

    /// A stretch between capture files hides the gap across it: not observed, no part in finding a change.
    @Test func silenceBetweenFilesIsNoChange() throws {
        let t = stride(from: 0.0, through: 3_000, by: 300).map { $0 } + stride(from: 7_200.0, through: 10_200, by: 300)
        let silence = CaptureSilence(start: FleetRecords.origin.adding(seconds: 3_010),
                                     end: FleetRecords.origin.adding(seconds: 7_190), betweenFiles: true)
        let r = Self.run(["10.0.0.1": t], silences: [silence])
        let c = try #require(r.client("10.0.0.1"))
        #expect(c.intervalChange == nil)
        #expect(c.notObserved == 1 && c.missed == 0)
        #expect(r.codes(.intervalChange) == 0)
    }

    /// Too few gaps at the new level (two) is no lasting change yet.
    @Test func tooFewGapsAtTheNewLevel() throws {
        let r = Self.one(Self.times(60, until: 3_600, then: 300, until: 3_600 + 600))
        #expect(r.client("10.0.0.1")?.intervalChange == nil)
    }

    /// An accelerated run at either edge of the capture (a client restarted just before it began, or taking a new
    /// policy just before it ended) is that run, counted as accelerated: not a change to or from 20 s, which made the
    /// client unhealthy (`now 20 s, expected 300 s`) or appear mid-capture by a 20 s level.
    @Test(arguments: [true, false])
    func acceleratedRunAtAnEdgeIsNoChange(atEnd: Bool) throws {
        let steady = stride(from: 0.0, through: 3_000, by: 300).map { $0 + (atEnd ? 0 : 360) }
        let run: [Double] = atEnd ? [3_020, 3_040, 3_060] : [0, 20, 40, 60]
        let r = Self.one((atEnd ? steady + run : run + steady).sorted())
        let c = try #require(r.client("10.0.0.1"))
        #expect(c.intervalChange == nil)
        #expect(r.codes(.intervalChange) + r.codes(.intervalMismatch) == 0)
        #expect(c.accelerated == 3 && c.acceleratedRuns == 1)
        #expect(c.health == .healthy, "\(c.reasons)")
        #expect(r.summary("10.0.0.1")?.accelerated == 3)
    }

    // MARK: - The fleet

    /// Every client switching within one old interval: the fleet finding, said once.
    @Test func fleetSwitchingIsAPolicyChange() throws {
        var clients: [String: [Double]] = [:]
        for i in 1...6 {
            clients["10.0.0.\(i)"] = Self.times(60, until: 3_600 + Double(i) * 9, then: 300, until: 3 * 3_600,
                                                offset: Double(i) * 9)
        }
        let r = Self.run(clients)
        #expect(r.codes(.intervalChange) == 7)
        let f = try #require(r.fleetChange)
        #expect(f.message.hasPrefix("6 of 6 clients with a regular interval changed their interval from 60 s to "
            + "300 s (medians) between"))
        #expect(f.message.hasSuffix("a policy change; each client's gaps are judged against its own interval on "
            + "each side"))
        #expect(r.audit.summary.healthy == 6)
        #expect(r.audit.summary.missed == 0)
    }

    /// Only some clients switching (fewer than half), or switching hours apart: no fleet finding, each client's own.
    @Test func fewOrScatteredSwitchesAreNoPolicyChange() throws {
        var some: [String: [Double]] = [:]
        for i in 1...6 {
            some["10.0.0.\(i)"] = i <= 2 ? Self.times(60, until: 3_600, then: 300, until: 3 * 3_600)
                : stride(from: 0.0, through: 3 * 3_600, by: 300).map { $0 }
        }
        let r = Self.run(some)
        #expect(r.fleetChange == nil)
        #expect(r.codes(.intervalChange) == 2)

        var scattered: [String: [Double]] = [:]
        for i in 1...4 {
            scattered["10.0.0.\(i)"] = Self.times(60, until: Double(i) * 3_600, then: 300, until: 6 * 3_600)
        }
        let s = Self.run(scattered)
        #expect(s.fleetChange == nil)
        #expect(s.codes(.intervalChange) == 4)
    }

    /// Clients going both ways at one time (three from 60 s to 300 s, two from 300 s to 60 s) follow no one policy:
    /// the note counts the three going one way, with their levels, not five of six 'from 60 s to 300 s'; two going
    /// each way made it read 'from 300 s to 300 s'.
    @Test func changesBothWaysAreCountedOneWay() throws {
        var clients: [String: [Double]] = ["10.0.0.6": stride(from: 0.0, through: 3 * 3_600, by: 300).map { $0 }]
        for i in 1...5 {
            clients["10.0.0.\(i)"] = i <= 3 ? Self.times(60, until: 3_600, then: 300, until: 3 * 3_600)
                : Self.times(300, until: 3_600, then: 60, until: 3 * 3_600)
        }
        let r = Self.run(clients)
        #expect(r.codes(.intervalChange) == 6)
        let f = try #require(r.fleetChange)
        #expect(f.message.hasPrefix("3 of 6 clients with a regular interval changed their interval from 60 s to "
            + "300 s (medians) between"))

        var even: [String: [Double]] = [:]
        for i in 1...4 {
            even["10.0.0.\(i)"] = i <= 2 ? Self.times(60, until: 3_600, then: 300, until: 3 * 3_600)
                : Self.times(300, until: 3_600, then: 60, until: 3 * 3_600)
        }
        let message = try #require(Self.run(even).fleetChange?.message)
        #expect(!message.contains("from 300 s to 300 s") && !message.contains("from 60 s to 60 s"), "\(message)")
        #expect(message.hasPrefix("2 of 4 clients"))
    }

    // MARK: - Simulated captures

    /// Pull and push clients, HTTP and HTTPS, the whole fleet going from 60 s to 300 s: healthy against 300 s.
    @Test func simulatedFleetChangeToExpected() throws {
        let folder = try TemporaryFolder()
        let capture = try folder.simulatedCapture("change.pcap", [
            "--clients", "12", "--duration", "4h", "--interval", "60", "--interval-change", "2h:300",
            "--http-share", "0.4", "--push-share", "0", "--seed", "11",
        ])
        let audit = CLIRun(["audit", "-q", "-F", "json", capture])
        #expect(audit.status == 0, "\(audit.stdout)")
        let fleet = try #require(try jsonObject(audit.stdout)["fleet"] as? [String: Any])
        #expect(fleet["healthy"] as? Int == 12)
        #expect(fleet["missed"] as? Int == 0)
        let text = CLIRun(["audit", "-q", capture])
        #expect(text.stdout.contains("Note: 12 of 12 clients with a regular interval changed their interval from"))
        // The JSON gives the same note, with its code and time.
        let notes = try #require(try jsonObject(audit.stdout)["notes"] as? [[String: Any]])
        #expect(notes.count == 1)
        #expect(notes.first?["code"] as? String == "interval-change")
        #expect(notes.first?["severity"] as? String == "info")
        #expect(notes.first?["time"] is String)
        let message = try #require(notes.first?["message"] as? String)
        #expect(text.stdout.contains("Note: \(message)\n"))
        let analyze = CLIRun(["analyze", "-q", "-F", "json", capture])
        let clients = try #require(try jsonObject(analyze.stdout)["clients"] as? [[String: Any]])
        #expect(clients.count == 12)
        // The truth file names the change, and each client's check-in from which the new interval runs: the
        // time analyze gives the change.
        let truth = try jsonObject(try String(contentsOfFile: capture + ".truth.json", encoding: .utf8))
        let policy = try #require(truth["intervalChange"] as? [String: Any])
        #expect(policy["atSeconds"] as? Double == 7_200)
        #expect(policy["seconds"] as? Double == 300)
        #expect(policy["share"] as? Double == 1)
        var changedAt: [String: String] = [:]
        for c in try #require(truth["clients"] as? [[String: Any]]) {
            if let address = c["address"] as? String { changedAt[address] = c["intervalChangedAt"] as? String }
        }
        #expect(changedAt.count == 12)
        for c in clients {
            let change = try #require(c["intervalChange"] as? [String: Any])
            // One change: no list of changes beside it (that comes with two or more).
            #expect(c["intervalChanges"] == nil)
            #expect(change["mode"] as? String == "pull")
            #expect(change["toSeconds"] as? Double == 300)
            #expect(change["matchesExpected"] as? String == "to")
            #expect(c["missed"] as? Int == 0)
            let address = try #require(c["client"] as? String)
            #expect(change["at"] as? String == changedAt[address])
        }
    }

    /// Push and pull clients going from 300 s to 1200 s, three of ten only: each changed client is judged against
    /// 1200 s after the change (a mismatch with the expected 300 s, no missed check-in); the others are healthy, and
    /// so few changes are no policy change.
    @Test func simulatedPartialChangeWithPushClients() throws {
        let folder = try TemporaryFolder()
        let capture = try folder.simulatedCapture("partial.pcap", [
            "--clients", "10", "--duration", "8h", "--interval-change", "3h:1200:0.3", "--push-share", "0.5",
            "--http-share", "0.2", "--seed", "13",
        ])
        let analyze = CLIRun(["analyze", "-q", "-F", "json", capture])
        let clients = try #require(try jsonObject(analyze.stdout)["clients"] as? [[String: Any]])
        #expect(clients.count == 10)
        var modes: Set<String> = []
        var changed = 0
        for c in clients {
            #expect(c["missed"] as? Int == 0)
            guard let change = c["intervalChange"] as? [String: Any] else { continue }
            changed += 1
            modes.insert(change["mode"] as? String ?? "?")
            #expect(change["fromSeconds"] as? Double == 300)
            #expect(change["matchesExpected"] as? String == "from")
        }
        #expect(changed == 3)
        #expect(modes == ["pull", "push"])
        let audit = CLIRun(["audit", "-q", "-F", "json", capture])
        // The audit's JSON gives each changed client's change as analyze's does, its levels to the microsecond.
        let audited = try #require(try jsonObject(audit.stdout)["clients"] as? [[String: Any]])
        let auditedChanges = audited.compactMap { $0["intervalChange"] as? [String: Any] }
        #expect(auditedChanges.count == 3)
        for change in auditedChanges {
            let to = try #require(change["toSeconds"] as? Double)
            #expect(abs(to - 1_200) < 30 && (to * 1e6).rounded() == to * 1e6, "\(to)")
            #expect(change["fromSeconds"] as? Double == 300)
        }
        let csv = CLIRun(["audit", "-q", "-F", "csv", capture]).stdout
        #expect(!csv.contains("intervalChange"))
        let fleet = try #require(try jsonObject(audit.stdout)["fleet"] as? [String: Any])
        #expect(fleet["healthy"] as? Int == 7)
        #expect(fleet["unhealthy"] as? Int == 3)
        #expect(fleet["missed"] as? Int == 0)
        #expect(!CLIRun(["audit", "-q", capture]).stdout.contains("a policy change"))
        #expect(try jsonObject(CLIRun(["audit", "-q", "-F", "json", capture]).stdout)["notes"] == nil)
    }

    /// One policy to 240 s takes pull clients from 60 s to a longer interval and push clients from 300 s to a shorter
    /// one: the note counts all ten, as going to one new interval within the longest old one (300 s), not the nine
    /// within 300 s of the first push client's change (the pull client changing before it was left out).
    @Test func simulatedPolicyTakesPullLongerAndPushShorter() throws {
        let folder = try TemporaryFolder()
        let capture = try folder.simulatedCapture("mixed.pcap", [
            "--clients", "10", "--duration", "4h", "--interval", "60", "--interval-change", "1h:240",
            "--push-share", "0.7", "--http-share", "0", "--seed", "8",
        ])
        let analyze = CLIRun(["analyze", "-q", "-F", "json", "--interval", "60", capture])
        let clients = try #require(try jsonObject(analyze.stdout)["clients"] as? [[String: Any]])
        let changes = clients.compactMap { $0["intervalChange"] as? [String: Any] }
        let modes = Set(changes.compactMap { $0["mode"] as? String })
        #expect(modes == ["pull", "push"] && changes.count == 10)
        let note = CLIRun(["audit", "-q", "--interval", "60", capture]).stdout
        #expect(note.contains("Note: \(changes.count) of 10 clients with a regular interval changed"), "\(note)")
    }

    /// `--interval-change` may be repeated: the truth lists both changes on each client; changes out of time order,
    /// or too close for every client to take the first before the second, are usage errors that say so.
    @Test func simulateTakesRepeatedChangesInTimeOrder() throws {
        let folder = try TemporaryFolder()
        let capture = try folder.simulatedCapture("revert.pcap", [
            "--clients", "4", "--duration", "4h", "--interval-change", "1h:60", "--interval-change", "2h:300",
        ])
        let truth = try jsonObject(try String(contentsOfFile: capture + ".truth.json", encoding: .utf8))
        let clients = try #require(truth["clients"] as? [[String: Any]])
        #expect(clients.count == 4)
        for c in clients {
            let changes = try #require(c["intervalChanges"] as? [[String: Any]])
            #expect(changes.compactMap { $0["seconds"] as? Double } == [60, 300])
        }
        let unordered = CLIRun(["simulate", "-q", "-o", folder.path + "/x.pcap", "--duration", "4h",
                                "--interval-change", "2h:60", "--interval-change", "1h:300"])
        #expect(unordered.status == 2)
        #expect(unordered.stderr.contains("give the changes in time order"), "\(unordered.stderr)")
        let overlapping = CLIRun(["simulate", "-q", "-o", folder.path + "/x.pcap", "--duration", "4h",
                                  "--interval-change", "1h:60", "--interval-change", "1h2m:300"])
        #expect(overlapping.status == 2)
        #expect(overlapping.stderr.contains("--interval-change at 3720 s overlaps the one at 3600 s"),
                "\(overlapping.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/x.pcap"))
    }
}
