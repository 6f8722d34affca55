import Core
import Records
import Testing

@testable import Heartbeat

/// Each finding at its threshold and just past it (built-in model: interval 300 s, tolerance 30 s,
/// accelerated up to 60 s, connect timeout 30 s, idle 3072-5120 bytes, full at most 307200,
/// upload cap 100 x 1024 + 8192 = 110592 bytes).
@Suite struct FindingThresholdTests {
    private let model: ReferenceModel = {
        do { return try ReferenceModel.builtIn.withServer("198.51.100.1") } catch { return .builtIn }
    }()

    /// Two idle check-ins `gap` nanoseconds apart.
    private func gap(_ ns: Int64) -> HeartbeatReport {
        var f = RecordFactory()
        return analyze([f.idle(start: epoch), f.idle(start: epoch.adding(nanoseconds: ns))], model: model)
    }

    private func intervalCodes(_ ns: Int64) -> [FindingCode] {
        gap(ns).findings.map(\.code)
    }

    private let s: Int64 = 1_000_000_000

    @Test func acceleratedUpToSixtySeconds() {
        #expect(intervalCodes(60 * s) == [.acceleratedHeartbeat])
        #expect(gap(60 * s).clients.first?.accelerated == 1)
        #expect(intervalCodes(60 * s + 1) == [.intervalEarly])
        #expect(intervalCodes(0) == [.acceleratedHeartbeat])
    }

    @Test func earlyBelowIntervalMinusTolerance() {
        #expect(intervalCodes(270 * s) == [])
        #expect(intervalCodes(270 * s - 1) == [.intervalEarly])
    }

    @Test func lateAboveIntervalPlusTolerance() {
        #expect(intervalCodes(330 * s) == [])
        #expect(intervalCodes(330 * s + 1) == [.intervalLate])
    }

    @Test func missedFromTwoIntervalsMinusTolerance() {
        #expect(intervalCodes(570 * s - 1) == [.intervalLate])
        let one = gap(570 * s)
        #expect(one.findings.map(\.code) == [.missedHeartbeat])
        #expect(one.clients.first?.missed == 1)
        #expect(one.summary.verdict == "fail")
        #expect(gap(870 * s - 1).clients.first?.missed == 1)
        #expect(gap(870 * s).clients.first?.missed == 2)
    }

    @Test func intervalStatisticsKeepSubSecondTiming() {
        let r = gap(300 * s + 123_456_789)
        #expect(r.clients.first?.intervalSeconds?.median == 300.123457)
        #expect(r.sessions[1].start.rfc3339() == "2026-01-01T00:05:00.123456789Z")
    }

    @Test func mismatchWhenAClientRunsItsOwnInterval() {
        var f = RecordFactory()
        let records = (0..<5).map { f.idle(start: at(Double($0) * 600)) }
        let r = analyze(records, model: model)
        #expect(r.findings.map(\.code) == [.intervalMismatch])
        // The configured interval; the client's own median, its gaps were judged against, under its own key.
        #expect(r.clients.first?.expectedIntervalSeconds == 300)
        #expect(r.clients.first?.judgedAgainstSeconds == 600)
        #expect(r.clients.first?.missed == 0)
        // Two regular gaps are not enough to contradict the model (mismatchMinIntervals = 3).
        let short = analyze(Array(records.prefix(3)), model: model)
        #expect(short.codes(.missedHeartbeat).count == 2)
        #expect(short.codes(.intervalMismatch).isEmpty)
    }

    @Test func idleSizeRange() {
        func codes(_ bytes: Int64) -> [FindingCode] {
            var f = RecordFactory()
            return analyze([f.idle(start: epoch, indexBytes: bytes)], model: model).findings.map(\.code)
        }
        #expect(codes(3_072) == [])
        #expect(codes(3_071) == [.idleSizeOutOfRange])
        #expect(codes(5_120) == [])
        #expect(codes(5_121) == [.idleSizeOutOfRange])
    }

    /// An exchange that lost bytes in a gap (whose records' framing the gap may have taken too) says nothing
    /// about the idle minimum; the maximum is still judged (a gap only removes bytes).
    @Test func idleMinimumNotJudgedWhenTheExchangeLostBytes() {
        func codes(_ bytes: Int64, missing: Int64) -> [FindingCode] {
            var f = RecordFactory()
            var c = f.idle(start: epoch, indexBytes: bytes)
            c.exchanges[0].missingBytes = missing
            return analyze([c], model: model).findings.map(\.code)
        }
        #expect(codes(929, missing: 1_460) == [])
        #expect(codes(929, missing: 0) == [.idleSizeOutOfRange])
        #expect(codes(5_121, missing: 1_460) == [.idleSizeOutOfRange])
    }

    /// A TLS answer with no request captured (the request was lost before its direction's first captured
    /// byte, so no gap counts it) says nothing about the idle minimum either.
    @Test func idleMinimumNotJudgedForAnAnswerWithoutItsRequest() {
        func codes(requestSeen: Bool) -> [FindingCode] {
            var f = RecordFactory()
            // 2759 bytes either way: 900 up and 1859 down, or all 2759 down with no client record.
            var c = f.idle(start: epoch, indexBytes: 2_759)
            if !requestSeen {
                c.exchanges[0].bytesUp = 0
                c.exchanges[0].recordsUp = 0
                c.exchanges[0].bytesDown = 2_759
            }
            return analyze([c], model: model).findings.map(\.code)
        }
        #expect(codes(requestSeen: false) == [])
        #expect(codes(requestSeen: true) == [.idleSizeOutOfRange])
    }

    @Test func oversizeAboveFullMaximum() {
        func codes(_ total: Int64) -> [FindingCode] {
            var f = RecordFactory()
            let c = f.connection(start: epoch, exchanges: [.tls(900, 3_000), .tls(1_000, total - 4_900)])
            return analyze([c], model: model).findings.map(\.code)
        }
        #expect(codes(307_200) == [])
        #expect(codes(307_201) == [.heartbeatOversize])
    }

    @Test func uploadOverCap() {
        func codes(_ up: Int64) -> [FindingCode] {
            var f = RecordFactory()
            let c = f.connection(start: epoch, exchanges: [.tls(900, 3_000), .tls(up, 500)])
            return analyze([c], model: model).findings.map(\.code)
        }
        #expect(codes(110_592) == [])
        #expect(codes(110_593) == [.uploadOverCap])
    }

    @Test func slowSessionSetUpIsAConnectTimeout() {
        func codes(_ seconds: Double) -> [FindingCode] {
            var f = RecordFactory()
            let c = f.connection(start: epoch, exchanges: [.tls(900, 3_100)], synToData: seconds)
            return analyze([c], model: model).findings.map(\.code)
        }
        #expect(codes(30) == [])
        #expect(codes(30.000_001) == [.connectTimeout])
    }

    @Test func unansweredConnectTooCloseToCaptureEndIsNotJudged() {
        func codes(_ captureAfter: Double) -> [FindingCode] {
            var f = RecordFactory()
            let c = f.failed(server: "198.51.100.1", start: epoch, refused: false, syns: 3)
            return analyze([c], model: model, captureEnd: at(captureAfter)).findings.map(\.code)
        }
        #expect(codes(29.999) == [])
        #expect(codes(30) == [])
        #expect(codes(30.000_000_001) == [.connectTimeout])
    }

    @Test func tlsMinimumVersionBoundary() {
        func codes(_ v: UInt16) -> [FindingCode] {
            var f = RecordFactory()
            return analyze([f.idle(start: epoch, tlsVersion: v)], model: model).findings.map(\.code)
        }
        #expect(codes(0x0303) == [])
        #expect(codes(0x0302) == [.tlsBelow12])
    }

    /// The code names the model's minimum, as its message does: `tls-below-1.3` under a minimum of 1.3.
    @Test func theTLSCodeNamesTheModelsMinimum() throws {
        func finding(_ v: UInt16, minimum: String) -> Finding? {
            var m = model
            m.tls.minimumVersion = minimum
            var f = RecordFactory()
            return analyze([f.idle(start: epoch, tlsVersion: v)], model: m).findings.first { $0.code.isTLSBelowMinimum }
        }
        let strict = try #require(finding(0x0303, minimum: "1.3"))
        #expect(strict.code == .tlsBelow13 && strict.code.rawValue == "tls-below-1.3")
        #expect(strict.message.hasSuffix("used TLS 1.2, below the minimum 1.3"))
        #expect(strict.severity == .error)
        #expect(finding(0x0301, minimum: "1.1")?.code == .tlsBelow11)
        #expect(finding(0x0300, minimum: "1.0")?.code == .tlsBelow10)
        #expect(finding(0x0302, minimum: "1.2")?.code.rawValue == "tls-below-1.2")
        #expect(finding(0x0301, minimum: "1.0") == nil)
        #expect(FindingCode.tlsBelow(minimum: 0x0304) == .tlsBelow13)
        #expect(FindingCode.tlsBelow(minimum: 0x0303) == .tlsBelow12)
    }
}
