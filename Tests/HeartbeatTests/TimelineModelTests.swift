import Core
import Records
import Testing
import TestSupport

@testable import Heartbeat

/// What the generator knows to be true about one client's timeline.
struct Timeline {
    var starts: [Double] = []
    var missed = 0
    var accelerated = 0
}

/// Random check-in timelines: on-time gaps jittered within 60% of the tolerance, dropped
/// check-ins (1-2 in a row), and accelerated runs of 1-4 check-ins 3-60 s apart.
func generateTimeline(_ rng: inout SplitMix64, interval: Double = 300, tolerance: Double = 30) -> Timeline {
    var t = Timeline()
    var now = Double.random(in: 0..<interval, using: &rng)
    t.starts.append(now)
    let regular = Int.random(in: 8...40, using: &rng)
    for k in 1..<regular {
        if Double.random(in: 0..<1, using: &rng) < 0.1 {
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                now += Double.random(in: 3...60, using: &rng)
                t.starts.append(now)
                t.accelerated += 1
            }
        }
        let jitter = Double.random(in: -0.6...0.6, using: &rng) * tolerance
        var skipped = 0
        if k < regular - 1, Double.random(in: 0..<1, using: &rng) < 0.15 {
            skipped = Int.random(in: 1...2, using: &rng)
        }
        now += Double(skipped + 1) * interval + jitter
        t.missed += skipped
        t.starts.append(now)
    }
    return t
}

@Suite struct TimelineModelTests {
    @Test func rebuiltCheckInsMatchTheGeneratorsTruth() throws {
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        for seed in UInt64(1)...150 {
            var rng = SplitMix64(state: seed)
            let clients = ["10.0.0.5", "10.0.0.6", "2001:db8::7"]
            var truth: [String: Timeline] = [:]
            var f = RecordFactory()
            var records: [ConnectionRecord] = []
            for client in clients {
                let timeline = generateTimeline(&rng)
                truth[client] = timeline
                records += timeline.starts.map { f.idle(client: client, start: at($0)) }
            }
            records.shuffle(using: &rng)
            var builder = SessionBuilder(model: model)
            for r in records { builder.ingest(r) }
            let report = builder.finish()

            for client in clients {
                let expected = try #require(truth[client])
                let got = try #require(report.clients.first { $0.client == ip(client) })
                #expect(got.sessions == expected.starts.count, "seed \(seed) \(client)")
                #expect(got.missed == expected.missed, "seed \(seed) \(client)")
                #expect(got.accelerated == expected.accelerated, "seed \(seed) \(client)")
                let codes = report.findings.filter { $0.client == got.client }.map(\.code)
                #expect(!codes.contains(.intervalLate) && !codes.contains(.intervalEarly), "seed \(seed) \(client)")
                #expect(!codes.contains(.intervalMismatch), "seed \(seed) \(client)")
            }
        }
    }

    @Test func clientAppearingAndVanishingMidCaptureIsNotMissed() throws {
        var f = RecordFactory()
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        // One client runs all capture long; another starts at 1 h and stops at 2 h.
        let steady = (0..<37).map { f.idle(client: "10.0.0.5", start: at(Double($0) * 300)) }
        let brief = (12..<25).map { f.idle(client: "10.0.0.9", start: at(Double($0) * 300 + 7)) }
        let r = analyze(steady + brief, model: model, captureEnd: at(36 * 300 + 10))
        #expect(r.clients.map(\.missed) == [0, 0])
        // Its late start is no finding; its last hour of silence while the other goes on is `went-silent` (a
        // warning at its last check-in), still no missed check-in.
        #expect(r.findings.map(\.code) == [.wentSilent], "\(r.findings)")
        #expect(r.findings.first?.client == IPAddress("10.0.0.9"))
        #expect(r.findings.first?.time == at(24 * 300 + 7))
    }
}
