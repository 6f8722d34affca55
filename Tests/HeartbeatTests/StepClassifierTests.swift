import Core
import Records
import Testing

@testable import Heartbeat

/// Step assignment for single check-ins (manager given with `--server`).
@Suite struct StepClassifierTests {
    private let model: ReferenceModel = {
        do { return try ReferenceModel.builtIn.withServer("198.51.100.1") } catch { return .builtIn }
    }()

    private func session(_ c: ConnectionRecord) -> (SessionReport?, [FindingCode]) {
        let r = analyze([c], model: model)
        return (r.sessions.first, r.findings.map(\.code))
    }

    @Test func tlsUploadNeedsSizeAndDirection() {
        var f = RecordFactory()
        let (upload, _) = session(f.connection(start: epoch, exchanges: [.tls(900, 4_000), .tls(2_048, 100)]))
        #expect(upload?.steps.map(\.step) == [1, 2, 3, 5, 7])
        let (fetch, _) = session(f.connection(start: epoch, exchanges: [.tls(900, 4_000), .tls(2_047, 100)]))
        #expect(fetch?.steps.map(\.step) == [1, 2, 3, 4, 7])
        let (balanced, _) = session(f.connection(start: epoch, exchanges: [.tls(900, 4_000), .tls(9_000, 9_000)]))
        #expect(balanced?.steps.map(\.step) == [1, 2, 3, 4, 7])
    }

    @Test func tlsStepsCarryTheirEvidenceAndConfidence() throws {
        var f = RecordFactory()
        let (s, _) = session(f.connection(start: epoch, exchanges: [.tls(900, 4_000), .tls(800, 6_000),
                                                                    .tls(30_000, 300), .tls(9_000, 200)]))
        let steps = try #require(s?.steps)
        #expect(steps.map(\.confidence) == [0.9, 0.95, 0.7, 0.5, 0.5, 0.4, 0.95])
        #expect(steps[2].evidence == "exchange #1: 900 bytes up in 1 record, 4000 down in 1 record")
        // A step of one exchange keeps the words before its byte counts, and makes the rest when read.
        #expect(steps[2].evidenceIsMade && steps[2].evidenceHead == "exchange #1: ")
        #expect(steps[6].evidence == "FIN from client")
        #expect(steps[0].evidence == "SYN to 198.51.100.1:443")
    }

    @Test func httpGetAfterUploadIsOutOfOrder() throws {
        var f = RecordFactory()
        let c = f.connection(port: 8014, start: epoch, exchanges: [.http("GET", 900, 3_500), .http("POST", 9_000, 200),
                                                                   .http("GET", 900, 2_000)])
        let (s, codes) = session(c)
        #expect(codes.contains(.stepOutOfOrder))
        let step4 = try #require(s?.steps.first { $0.step == 4 })
        #expect(step4.confidence == 0.4)
        #expect(step4.evidence.hasSuffix("out of order"))
        #expect(!step4.evidenceIsMade)
        let step3 = try #require(s?.steps.first { $0.step == 3 })
        #expect(step3.evidence == "GET /secars/secars.dll?… → 200, request #1, 900 bytes up, 3500 down")
        #expect(step3.evidenceHead == "GET /secars/secars.dll?… → 200, request #1")
    }

    /// A redirect answering a secars request is not the manager's answer: an http-error naming it. A 304 (not
    /// modified), and a redirect of a content download (no secars request), are not.
    @Test func aRedirectedSecarsRequestIsAnHTTPError() throws {
        var f = RecordFactory()
        for status in [301, 302, 307] {
            let c = f.connection(port: 8014, start: epoch, exchanges: [.http("GET", 900, 300, status: status)])
            let found = analyze([c], model: model).findings.filter { $0.code == .httpError }
            #expect(found.map(\.message) == ["GET request answered \(status): a redirect, not the manager's answer "
                + "(a proxy, load balancer or web server rule between)"])
        }
        let notModified = f.connection(port: 8014, start: epoch, exchanges: [.http("GET", 900, 300, status: 304)])
        #expect(!analyze([notModified], model: model).findings.contains { $0.code == .httpError })
        let content = f.connection(port: 8014, start: epoch, exchanges: [
            .http("GET", 900, 3_500), .http("GET", 400, 300, status: 302, target: "/content/file.zip"),
        ])
        #expect(!analyze([content], model: model).findings.contains { $0.code == .httpError })
    }

    @Test func answersWhoseRequestsWereLostStayInTheStepBefore() throws {
        var f = RecordFactory()
        var c = f.connection(start: epoch, exchanges: [.tls(900, 4_000), .tls(800, 6_000), .tls(30_000, 300),
                                                        .tls(0, 266), .tls(0, 246)])
        // The client's bytes after the first upload's start were not captured: only the answers were.
        c.exchanges[2].missingBytes = 60_000
        for i in 3...4 { c.exchanges[i].recordsUp = 0 }
        let (s, codes) = session(c)
        #expect(!codes.contains(.stepOutOfOrder))
        let steps = try #require(s?.steps)
        #expect(steps.map(\.step) == [1, 2, 3, 4, 5, 7])
        let upload = try #require(steps.first { $0.step == 5 })
        #expect(upload.bytesDown == 300 + 266 + 246)
        #expect(upload.confidence == 0.25)
        #expect(upload.evidence.contains(
            "exchange #4: 0 bytes up in 0 records, 266 down in 1 record, no request captured"))

        // Over HTTP, an answer with no request (lost, or an unsolicited 408) is one with no gap needed.
        var http = f.connection(port: 8014, start: epoch, exchanges: [.http("GET", 900, 3_500),
                                                                      .http("POST", 9_000, 200),
                                                                      .http("", 0, 220, status: 408)])
        http.exchanges[2].changeHTTP { $0.requestBodyLength = 0 }
        let (h, httpCodes) = session(http)
        #expect(!httpCodes.contains(.stepOutOfOrder))
        #expect(h?.steps.map(\.step) == [1, 2, 3, 5, 7])
        // A 408 after the requests were answered is the server closing the idle connection: info, no http-error.
        let idle = analyze([http], model: model).findings
        #expect(!idle.contains { $0.code == .httpError })
        let closing = try #require(idle.first { $0.code == .unsolicitedTimeout })
        #expect(closing.severity == .info)
        #expect(closing.message.hasPrefix("the server answered 408 with no request, after the check-in's requests"))
        // Not so when client bytes were lost (the request it answers may be among them), or when a request comes
        // after it (the connection was not closed).
        var gap = http
        gap.anomaliesUp.gaps = 1
        gap.anomaliesUp.gapBytes = 39_878
        var later = f.connection(port: 8014, start: epoch, exchanges: [.http("GET", 900, 3_500),
                                                                       .http("", 0, 220, status: 408),
                                                                       .http("POST", 9_000, 200)])
        later.exchanges[1].changeHTTP { $0.requestBodyLength = 0 }
        for c in [gap, later] {
            let found = analyze([c], model: model).findings
            #expect(!found.contains { $0.code == .unsolicitedTimeout })
            #expect(found.contains { $0.code == .httpError && $0.message.hasPrefix("the server answered 408") })
        }
        // Another status with no request, or a 408 before any answer (the check-in's own request may be the one
        // lost), is an http-error, naming no method (there is none) rather than starting with a blank.
        for (status, exchanges) in [(503, [ExchangeSpec.http("GET", 900, 3_500), .http("", 0, 220, status: 503)]),
                                    (408, [ExchangeSpec.http("", 0, 220, status: 408)])] {
            var lost = f.connection(port: 8014, start: epoch, exchanges: exchanges)
            lost.exchanges[lost.exchanges.count - 1].changeHTTP { $0.requestBodyLength = 0 }
            let unasked = try #require(analyze([lost], model: model).findings.first { $0.code == .httpError })
            #expect(unasked.message.hasPrefix("the server answered \(status)"))
            #expect(unasked.message.contains("with no request captured"))
        }

        // With nothing lost, an answer-only TLS exchange is read by its shape as before (a fetch after an upload).
        var clean = f.connection(start: epoch, exchanges: [.tls(900, 4_000), .tls(30_000, 300), .tls(0, 266)])
        clean.exchanges[2].recordsUp = 0
        let (_, cleanCodes) = session(clean)
        #expect(cleanCodes.contains(.stepOutOfOrder))
    }

    @Test func uploadWithoutIndexCheckMissesAMandatoryStep() {
        var f = RecordFactory()
        let (s, codes) = session(f.connection(port: 8014, start: epoch, exchanges: [.http("POST", 9_000, 200)]))
        #expect(s?.steps.map(\.step) == [1, 2, 5, 7])
        #expect(codes.filter { $0 != .plaintextHTTP } == [.stepMissing])
    }

    @Test func unexpectedMethodOrPathLowersConfidence() throws {
        var f = RecordFactory()
        let c = f.connection(port: 8014, start: epoch, exchanges: [.http("GET", 900, 3_500),
                                                                   .http("PUT", 9_000, 200),
                                                                   .http("GET", 700, 90_000, target: "/content/x.dax")])
        let (s, _) = session(c)
        let steps = try #require(s?.steps)
        #expect(steps.first { $0.step == 5 }?.confidence == 0.42)
        #expect(steps.first { $0.step == 4 }?.evidence.contains("/content/x.dax") == true)
    }

    /// A TLS connection that closed with no application data: its handshake failed, so the check-in failed, and
    /// its missing index check is not reported on top (as for a check-in whose connects all failed).
    @Test func connectionWithoutExchangesFailedItsHandshake() {
        var f = RecordFactory()
        let (s, codes) = session(f.connection(start: epoch, exchanges: []))
        #expect(s?.steps.map(\.step) == [1, 2, 7])
        #expect(s?.failed == true)
        #expect(codes == [.tlsHandshakeFailed])
    }

    @Test func unseenOpeningAndCloseAreNotMissing() {
        var f = RecordFactory()
        var c = f.connection(start: epoch, exchanges: [.tls(900, 3_100)], openAtEnd: true)
        c.synTime = nil
        c.synAckTime = nil
        c.handshake = .midstream
        c.state = [.midstream, .openAtEnd]
        let (s, codes) = session(c)
        #expect(s?.steps.map(\.step) == [3])
        #expect(codes.isEmpty)
    }
}
