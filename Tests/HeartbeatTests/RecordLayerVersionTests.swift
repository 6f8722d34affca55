import Core
import Records
import Testing

@testable import Heartbeat

/// TLS check-ins whose hellos were not captured: the record-layer version of their application data
/// judges them (`TLSSummary.recordVersion`).
@Suite struct RecordLayerVersionTests {
    /// The built-in model with the test manager configured, so that a single check-in is one.
    private let model: ReferenceModel = (try? ReferenceModel.builtIn.withServer("198.51.100.1")) ?? .builtIn

    /// An idle TLS check-in at `seconds` whose only version is `record` from the record layer.
    private func recordLayerOnly(_ f: inout RecordFactory, at seconds: Double, record: UInt16?) -> ConnectionRecord {
        var c = f.idle(start: at(seconds))
        var summary = TLSSummary()
        summary.recordVersion = record
        c.tls = summary
        return c
    }

    @Test func recordLayerBelowTheMinimumRaisesTheFindingAndSaysWhereTheVersionCameFrom() throws {
        var f = RecordFactory()
        let records = (0..<3).map { i in recordLayerOnly(&f, at: Double(i) * 300, record: 0x0301) }
        let report = analyze(records, model: model)
        let entry = try #require(report.codes(.tlsBelow12).first)
        #expect(entry.sessions == [1, 2, 3])
        #expect(entry.message == "3 check-ins to 198.51.100.1:443 used TLS 1.0, below the minimum 1.2 "
            + "(version from the record layer: no hello seen)")
        #expect(report.sessions.allSatisfy { $0.tlsVersionSource == .recordLayer })
    }

    @Test func everyVersionBelow1Point2FromTheRecordLayerIsBelowTheMinimum() {
        for v: UInt16 in [0x0300, 0x0301, 0x0302] {
            var f = RecordFactory()
            let report = analyze([recordLayerOnly(&f, at: 0, record: v)], model: model)
            #expect(report.codes(.tlsBelow12).count == 1, "\(v)")
        }
    }

    @Test func recordLayer0x0303PassesAMinimumOf1Point2AndSettlesNothingAbove() throws {
        var f = RecordFactory()
        let report = analyze([recordLayerOnly(&f, at: 0, record: 0x0303)], model: model)
        #expect(report.codes(.tlsBelow12).isEmpty)
        #expect(report.sessions.first?.tlsVersionSource == .recordLayer)

        // Under a minimum of 1.3, 0x0303 may be TLS 1.3 or 1.2: not judged, not known.
        var strictModel = model
        strictModel.tls.minimumVersion = "1.3"
        var g = RecordFactory()
        let strict = analyze([recordLayerOnly(&g, at: 0, record: 0x0303)], model: strictModel)
        #expect(strict.codes(.tlsBelow12).isEmpty)
        #expect(strict.sessions.first?.tlsVersionSource == .unknown)
    }

    @Test func aRecordLayerBelowTheChosenVersionJudgesTheCheckIn() throws {
        var f = RecordFactory()
        var c = f.idle(start: epoch, tlsVersion: 0x0303)
        if var summary = c.tls {
            summary.recordVersion = 0x0301  // records should carry the chosen 0x0303 (an anomaly on the wire)
            c.tls = summary
        }
        let report = analyze([c], model: model)
        let entry = try #require(report.codes(.tlsBelow12).first)
        #expect(entry.message == "1 check-in to 198.51.100.1:443 used TLS 1.0, below the minimum 1.2 "
            + "(version from the record layer: the ServerHello chose 1.2)")
        #expect(report.sessions.first?.tlsVersionSource == .recordLayerBelowHello)
        let step = try #require(report.sessions.first?.steps.first { $0.step == 2 })
        #expect(step.evidence.contains(", TLS 1.0 from the record layer (the ServerHello chose 1.2)"),
                "\(step.evidence)")
    }

    @Test func aRecordLayerBelowTheOfferJudgesACheckInWithoutServerHello() throws {
        var f = RecordFactory()
        var c = f.idle(start: epoch, tlsVersion: 0x0303)
        if var summary = c.tls {
            summary.negotiatedVersion = nil  // the ServerHello was lost
            summary.recordVersion = 0x0301
            c.tls = summary
        }
        let report = analyze([c], model: model)
        let entry = try #require(report.codes(.tlsBelow12).first)
        #expect(entry.message.hasSuffix(
            "used TLS 1.0, below the minimum 1.2 (version from the record layer: no ServerHello seen, "
                + "the client offered 1.2)"))
        let step = try #require(report.sessions.first?.steps.first { $0.step == 2 })
        #expect(step.evidence.contains(
            ", TLS 1.0 from the record layer (no ServerHello seen, the client offered 1.2)"), "\(step.evidence)")
    }

    @Test func aRecordLayerOf0x0303LowersNoHelloVersion() {
        // 0x0303 is "1.2 or later": an offer or choice of 1.3 stands, and 1.2 agrees.
        for hello: UInt16 in [0x0303, 0x0304] {
            var f = RecordFactory()
            var c = f.idle(start: epoch, tlsVersion: hello)
            if var summary = c.tls {
                summary.recordVersion = 0x0303
                c.tls = summary
            }
            let report = analyze([c], model: model)
            #expect(report.codes(.tlsBelow12).isEmpty)
            #expect(report.sessions.first?.tlsVersionSource == .hello)
        }
    }

    @Test func judgedVersionTakesTheLowerOfTheHellosAndTheRecordLayer() {
        func judged(offer: UInt16?, chosen: UInt16?, record: UInt16?) -> TLSJudgedVersion? {
            var s = TLSSummary()
            s.clientVersion = offer
            s.negotiatedVersion = chosen
            s.recordVersion = record
            return s.judgedVersion
        }
        func v(_ version: UInt16, _ source: TLSJudgedVersion.Source) -> TLSJudgedVersion {
            TLSJudgedVersion(version: version, source: source)
        }
        #expect(judged(offer: nil, chosen: nil, record: nil) == nil)
        #expect(judged(offer: nil, chosen: nil, record: 0x0304) == nil)  // no record-layer version
        #expect(judged(offer: nil, chosen: nil, record: 0x0302) == v(0x0302, .recordLayer))
        #expect(judged(offer: 0x0303, chosen: nil, record: nil) == v(0x0303, .offered))
        #expect(judged(offer: 0x0303, chosen: nil, record: 0x0301)
            == v(0x0301, .recordLayerBelowOffer(0x0303)))
        #expect(judged(offer: 0x0304, chosen: nil, record: 0x0303) == v(0x0304, .offered))
        #expect(judged(offer: 0x0303, chosen: 0x0303, record: 0x0300)
            == v(0x0300, .recordLayerBelowChosen(0x0303)))
        #expect(judged(offer: 0x0303, chosen: 0x0301, record: 0x0303) == v(0x0301, .chosen))
        #expect(judged(offer: 0x0303, chosen: 0x0304, record: 0x0303) == v(0x0304, .chosen))
        #expect(judged(offer: 0x0002, chosen: 0x0002, record: 0x0300) == v(0x0002, .chosen))
        // TLS 1.3 (and its drafts, 0x7f13 = draft 19) chosen: the records' legacy 0x0301 lowers nothing; an
        // offer of 1.3 with no ServerHello is lowered as any offer.
        #expect(judged(offer: 0x0304, chosen: 0x0304, record: 0x0301) == v(0x0304, .chosen))
        #expect(judged(offer: 0x7f13, chosen: 0x7f13, record: 0x0301) == v(0x7f13, .chosen))
        #expect(judged(offer: 0x0304, chosen: nil, record: 0x0301) == v(0x0301, .recordLayerBelowOffer(0x0304)))
        #expect(TLSJudgedVersion.Source.recordLayerBelowOffer(0x0303).recordLayerReason
            == "no ServerHello seen, the client offered 1.2")
        #expect(TLSJudgedVersion.Source.chosen.recordLayerReason == nil)
    }

    @Test func mixedSourcesAreCountedInTheMessage() throws {
        var f = RecordFactory()
        let records = [f.idle(start: epoch, tlsVersion: 0x0301), recordLayerOnly(&f, at: 300, record: 0x0301)]
        let entry = try #require(analyze(records, model: model).codes(.tlsBelow12).first)
        #expect(entry.message.hasSuffix("(for 1 of them the version is from the record layer: no hello seen)"))
    }

    @Test func noVersionAtAllIsUnknown() {
        var f = RecordFactory()
        let report = analyze([recordLayerOnly(&f, at: 0, record: nil)], model: model)
        #expect(report.codes(.tlsBelow12).isEmpty)
        #expect(report.sessions.first?.tlsVersionSource == .unknown)
    }

    @Test func connectStepNamesTheRecordLayerVersion() throws {
        func evidence(_ record: UInt16?) throws -> String {
            var f = RecordFactory()
            let report = analyze([recordLayerOnly(&f, at: 0, record: record)], model: model)
            let step = try #require(report.sessions.first?.steps.first { $0.step == 2 })
            return step.evidence
        }
        #expect(try evidence(0x0301).contains(", TLS 1.0 from the record layer (no hello seen);"))
        #expect(try evidence(0x0303).contains(", TLS 1.2 or later from the record layer (no hello seen);"))
        #expect(try evidence(nil).contains(", TLS version unknown handshake;"))
    }
}
