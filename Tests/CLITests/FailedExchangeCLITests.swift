import Foundation
import Testing
import TestSupport

/// Captures of check-ins whose connection was set up but got no answer (a TLS handshake answered with a fatal
/// alert, an HTTP request reset), and of packets that are no check-in (a lone RST): what `analyze`, `audit` and
/// `validate` conclude, end to end from packets.
@Suite struct FailedExchangeCLITests {
    /// Frames of TCP connections between 10.20.0.2 and 10.1.0.10, stamped in microseconds after `base`.
    private struct Frames {
        static let base: UInt32 = 1_741_000_000
        static let client: [UInt8] = [10, 20, 0, 2]
        static let server: [UInt8] = [10, 1, 0, 10]
        var records: [(UInt64, [UInt8])] = []

        mutating func packet(_ t: UInt64, up: Bool, clientPort: UInt16, serverPort: UInt16, seq: UInt32,
                             ack: UInt32, flags: UInt16, payload: [UInt8] = []) {
            let tcp = PacketBuilder.tcp(sourcePort: up ? clientPort : serverPort,
                                        destinationPort: up ? serverPort : clientPort, sequence: seq,
                                        acknowledgement: ack, flags: flags, payload: payload)
            let ip = PacketBuilder.ipv4(source: up ? Self.client : Self.server,
                                        destination: up ? Self.server : Self.client, payload: tcp)
            records.append((t, PacketBuilder.ethernet(type: 0x0800, payload: ip)))
        }

        /// SYN, SYN-ACK, ACK, the client's `request`, then the server's `answer` (nil: a RST instead), then
        /// FINs both ways. Starts at `t` microseconds.
        mutating func connection(at t: UInt64, clientPort: UInt16, serverPort: UInt16, request: [UInt8],
                                 answer: [UInt8]?) {
            func add(_ dt: UInt64, up: Bool, seq: UInt32, ack: UInt32, _ flags: UInt16, _ payload: [UInt8] = []) {
                packet(t + dt, up: up, clientPort: clientPort, serverPort: serverPort, seq: seq, ack: ack,
                       flags: flags, payload: payload)
            }
            let c: UInt32 = 1_001  // after the SYN
            let s: UInt32 = 50_001  // after the SYN-ACK
            let sent = c + UInt32(request.count)
            add(0, up: true, seq: c - 1, ack: 0, 0x002)
            add(300, up: false, seq: s - 1, ack: c, 0x012)
            add(600, up: true, seq: c, ack: s, 0x010)
            add(700, up: true, seq: c, ack: s, 0x018, request)
            guard let answer else {
                add(1_200, up: false, seq: s, ack: sent, 0x014)
                return
            }
            let answered = s + UInt32(answer.count)
            add(1_200, up: false, seq: s, ack: sent, 0x018, answer)
            add(1_300, up: false, seq: answered, ack: sent, 0x011)
            add(1_400, up: true, seq: sent, ack: answered + 1, 0x011)
            add(1_500, up: false, seq: answered + 1, ack: sent + 1, 0x010)
        }

        enum Close { case serverReset, fins, none }

        /// SYN, SYN-ACK, ACK, the client's `request`, then the server's `answer` in segments of 1000 bytes (each
        /// acknowledged), leaving out the segments whose number is in `lost` (the capture missed them), then
        /// `close`: a RST from the server, FINs both ways, or nothing (still open when the capture ends).
        mutating func answer(at t: UInt64, clientPort: UInt16, serverPort: UInt16, request: [UInt8],
                             answer: [UInt8], lost: Set<Int> = [], close: Close) {
            func add(_ dt: UInt64, up: Bool, seq: UInt32, ack: UInt32, _ flags: UInt16, _ payload: [UInt8] = []) {
                packet(t + dt, up: up, clientPort: clientPort, serverPort: serverPort, seq: seq, ack: ack,
                       flags: flags, payload: payload)
            }
            let c: UInt32 = 1_001
            let s: UInt32 = 50_001
            let sent = c + UInt32(request.count)
            add(0, up: true, seq: c - 1, ack: 0, 0x002)
            add(300, up: false, seq: s - 1, ack: c, 0x012)
            add(600, up: true, seq: c, ack: s, 0x010)
            add(700, up: true, seq: c, ack: s, 0x018, request)
            var dt: UInt64 = 1_200
            for (n, from) in stride(from: 0, to: answer.count, by: 1_000).enumerated() {
                let piece = Array(answer[from..<min(from + 1_000, answer.count)])
                if !lost.contains(n) { add(dt, up: false, seq: s + UInt32(from), ack: sent, 0x018, piece) }
                add(dt + 50, up: true, seq: sent, ack: s + UInt32(from + piece.count), 0x010)
                dt += 100
            }
            let answered = s + UInt32(answer.count)
            switch close {
            case .serverReset:
                add(dt, up: false, seq: answered, ack: sent, 0x014)
            case .fins:
                add(dt, up: false, seq: answered, ack: sent, 0x011)
                add(dt + 100, up: true, seq: sent, ack: answered + 1, 0x011)
                add(dt + 200, up: false, seq: answered + 1, ack: sent + 1, 0x010)
            case .none:
                break
            }
        }

        func write(to folder: TemporaryDirectory, _ name: String) -> String {
            var pcap = PcapBuilder()
            for (t, data) in records.sorted(by: { $0.0 < $1.0 }) {
                pcap.record(seconds: Self.base + UInt32(t / 1_000_000), fraction: UInt32(t % 1_000_000), data: data)
            }
            return folder.write(name, pcap.data)
        }
    }

    /// A TLS 1.2 ClientHello record naming `sepm.example.test`.
    private static var clientHello: [UInt8] {
        let name = Array("sepm.example.test".utf8)
        let sni: [UInt8] = PacketBuilder.be16(UInt16(name.count + 5)) + PacketBuilder.be16(UInt16(name.count + 3))
            + [0] + PacketBuilder.be16(UInt16(name.count)) + name
        let extensions: [UInt8] = [0, 0] + sni
        var body: [UInt8] = [3, 3] + [UInt8](repeating: 7, count: 32) + [0]
        body += [0, 2, 0xc0, 0x2f, 1, 0] + PacketBuilder.be16(UInt16(extensions.count)) + extensions
        let handshake: [UInt8] = [1, 0] + PacketBuilder.be16(UInt16(body.count)) + body
        return [0x16, 3, 1] + PacketBuilder.be16(UInt16(handshake.count)) + handshake
    }

    /// Alert(fatal, handshake_failure).
    private static let fatalAlert: [UInt8] = [0x15, 3, 3, 0, 2, 2, 40]

    private static let secarsRequest = Array(
        "GET /secars/secars.dll?h=0123456789ABCDEF HTTP/1.1\r\nHost: 10.1.0.10:8014\r\nUser-Agent: Smc\r\n\r\n".utf8)

    private static func okAnswer(_ body: Int) -> [UInt8] {
        Array("HTTP/1.1 200 OK\r\nContent-Length: \(body)\r\n\r\n".utf8) + [UInt8](repeating: 0x41, count: body)
    }

    @Test func everyHandshakeRejectedByAFatalAlertFailsAnalyzeAuditAndValidate() throws {
        let folder = TemporaryDirectory()
        var frames = Frames()
        for n in 0..<4 {
            frames.connection(at: UInt64(n) * 300_000_000, clientPort: UInt16(50_000 + n), serverPort: 443,
                              request: Self.clientHello, answer: Self.fatalAlert)
        }
        let path = frames.write(to: folder, "rejected.pcap")
        let analyze = CLIRun(["analyze", "--color", "never", "--server", "10.1.0.10", path])
        #expect(analyze.status == 1)
        #expect(analyze.stdout.contains("Client 10.20.0.2: 0 check-ins, 4 failed (connect, TLS handshake or answer "
            + "failed)"))
        #expect(analyze.stdout.contains("TLS handshake with 10.1.0.10:443 failed: fatal alert handshake_failure (40) "
            + "from the server"))
        #expect(!analyze.stdout.contains("step-missing"))
        let audit = CLIRun(["audit", "--color", "never", "--server", "10.1.0.10", path])
        #expect(audit.status == 1)
        #expect(audit.stdout.contains("0 check-ins, 4 failed"))
        let validate = CLIRun(["validate", "--color", "never", "--server", "10.1.0.10", path])
        #expect(validate.status == 1)
        let connectivity = validate.stdout.split(separator: "\n").first { $0.contains(" connectivity ") }
        #expect(connectivity?.hasPrefix("  FAIL") == true)
        #expect(validate.stdout.contains("first: tls-handshake-failed (client 10.20.0.2)"))
    }

    @Test func everyRequestResetByTheManagerFailsTheVerdicts() throws {
        let folder = TemporaryDirectory()
        var frames = Frames()
        for n in 0..<4 {
            frames.connection(at: UInt64(n) * 300_000_000, clientPort: UInt16(50_000 + n), serverPort: 8014,
                              request: Self.secarsRequest, answer: nil)
        }
        let path = frames.write(to: folder, "reset.pcap")
        // The manager is inferred from the secars requests.
        let analyze = CLIRun(["analyze", "--color", "never", path])
        #expect(analyze.status == 1)
        #expect(analyze.stdout.contains("GET /secars/secars.dll #1 ("))
        #expect(analyze.stdout.contains("got no answer from 10.1.0.10:8014 before the connection closed (RST from "
            + "server"))
        #expect(!analyze.stdout.contains("idle-size-out-of-range"))
        let validate = CLIRun(["validate", "--color", "never", path])
        #expect(validate.status == 1)
        #expect(validate.stdout.contains("first: no-answer (client 10.20.0.2)"))
    }

    /// A healthy plain-HTTP client, plus one RST from the manager to a port no connection used, 150 s after a
    /// check-in: no check-in of its own, counted on the Connections line; the client stays healthy.
    @Test func aLoneRSTIsNoCheckIn() throws {
        let folder = TemporaryDirectory()
        var frames = Frames()
        for n in 0..<4 {
            frames.connection(at: UInt64(n) * 300_000_000, clientPort: UInt16(50_000 + n), serverPort: 8014,
                              request: Self.secarsRequest, answer: Self.okAnswer(3_300))
        }
        frames.packet(450_000_000, up: false, clientPort: 61_000, serverPort: 8014, seq: 9, ack: 0, flags: 0x004)
        let path = frames.write(to: folder, "stray.pcap")
        let analyze = CLIRun(["analyze", "--color", "never", path])
        #expect(analyze.stdout.contains("Client 10.20.0.2: 4 check-ins,"))
        #expect(analyze.stdout.contains(", 1 piece with no SYN and no payload (a lone RST or ACK, keep-alives: no "
            + "check-in)"))
        #expect(!analyze.stdout.contains("interval-early"))
        let audit = CLIRun(["audit", "--color", "never", path])
        #expect(audit.status == 0)
        #expect(audit.stdout.contains("1 healthy (100%)"))
    }

    // MARK: - Failures retried at once

    /// Four plain-HTTP check-ins 300 s apart; the third's request is reset, and the client retries it
    /// `retryAfter` seconds after the reset on a new connection that is answered.
    private func retriedCapture(_ folder: TemporaryDirectory, retryAfter: Double) -> String {
        var frames = Frames()
        for n in 0..<4 {
            let t = UInt64(n) * 300_000_000
            frames.connection(at: t, clientPort: UInt16(50_000 + n), serverPort: 8014, request: Self.secarsRequest,
                              answer: n == 2 ? nil : Self.okAnswer(3_300))
        }
        frames.connection(at: 600_001_200 + UInt64(retryAfter * 1e6), clientPort: 50_010, serverPort: 8014,
                          request: Self.secarsRequest, answer: Self.okAnswer(3_300))
        return frames.write(to: folder, "retried.pcap")
    }

    @Test func aResetRequestRetriedAtOnceAndAnsweredPassesConnectivity() throws {
        let folder = TemporaryDirectory()
        let path = retriedCapture(folder, retryAfter: 3)
        let analyze = CLIRun(["analyze", "--color", "never", path])
        #expect(analyze.stdout.contains("Client 10.20.0.2: 4 check-ins,"), "\(analyze.stdout)")
        #expect(!analyze.stdout.contains("failed (connect"))
        #expect(analyze.stdout.contains("warning retried-and-answered"), "\(analyze.stdout)")
        #expect(analyze.stdout.contains("no-answer retried and answered: GET /secars/secars.dll #1 ("))
        #expect(analyze.stdout.contains("; retried 3 s later on a new connection to 10.1.0.10:8014, answered"))
        let audit = CLIRun(["audit", "--color", "never", path])
        #expect(audit.status == 0, "\(audit.stdout)")
        let validate = CLIRun(["validate", "--color", "never", path])
        let connectivity = try #require(validate.stdout.split(separator: "\n").first { $0.contains(" connectivity ") })
        #expect(connectivity.hasPrefix("  pass"), "\(validate.stdout)")
        #expect(connectivity.contains("no failure left; 1 failure retried at once and answered (warning); first "
            + "(client 10.20.0.2): no-answer retried and answered"), "\(connectivity)")
    }

    @Test func aResetRequestRetriedAfterTheWindowFailsConnectivity() throws {
        let folder = TemporaryDirectory()
        let path = retriedCapture(folder, retryAfter: 45)
        let analyze = CLIRun(["analyze", "--color", "never", path])
        #expect(analyze.stdout.contains("1 failed (connect, TLS handshake or answer failed)"), "\(analyze.stdout)")
        #expect(!analyze.stdout.contains("retried-and-answered"))
        let validate = CLIRun(["validate", "--color", "never", path])
        #expect(validate.status == 1)
        let connectivity = try #require(validate.stdout.split(separator: "\n").first { $0.contains(" connectivity ") })
        #expect(connectivity.hasPrefix("  FAIL"))
        #expect(validate.stdout.contains("first: no-answer (client 10.20.0.2)"))
    }

    // MARK: - Answers cut short

    /// The head of a 200 answer announcing `announced` body bytes, and `sent` of them.
    private static func partialAnswer(announced: Int, sent: Int) -> [UInt8] {
        Array("HTTP/1.1 200 OK\r\nContent-Length: \(announced)\r\n\r\n".utf8) + [UInt8](repeating: 0x41, count: sent)
    }

    @Test func anAnswerResetInItsBodyFailsTheCheckInsFlowsAndValidate() throws {
        let folder = TemporaryDirectory()
        var frames = Frames()
        for n in 0..<4 {
            frames.answer(at: UInt64(n) * 300_000_000, clientPort: UInt16(50_000 + n), serverPort: 8014,
                          request: Self.secarsRequest, answer: Self.partialAnswer(announced: 3_600, sent: 919),
                          close: .serverReset)
        }
        let path = frames.write(to: folder, "cut.pcap")
        let analyze = CLIRun(["analyze", "--color", "never", path])
        #expect(analyze.status == 1, "\(analyze.stdout)")
        #expect(analyze.stdout.contains("Client 10.20.0.2: 0 check-ins, 4 failed"), "\(analyze.stdout)")
        #expect(analyze.stdout.contains("error   answer-cut-short 10.20.0.2 "))
        #expect(analyze.stdout.contains("GET /secars/secars.dll #1: answer 200 from 10.1.0.10:8014 cut short, 919 of "
            + "3600 body bytes (Content-Length) came before the connection closed (RST from server)"))
        #expect(!analyze.stdout.contains("idle-size-out-of-range"))
        #expect(analyze.stdout.contains("GET /secars/secars.dll?… → 200 (cut short), request #1,"))
        let validate = CLIRun(["validate", "--color", "never", path])
        #expect(validate.status == 1)
        let connectivity = try #require(validate.stdout.split(separator: "\n").first { $0.contains(" connectivity ") })
        #expect(connectivity.hasPrefix("  FAIL"))
        #expect(validate.stdout.contains("first: answer-cut-short (client 10.20.0.2)"))
        let flows = CLIRun(["flows", "--http", path])
        #expect(flows.stdout.contains("-> 200 (answer cut short: 919 of 3600 body bytes)"), "\(flows.stdout)")
        #expect(flows.stdout.contains("anomaly: down: body_cut_short (stream ended inside a message body)"))
        let json = CLIRun(["flows", "--http", "-F", "json", path])
        #expect(json.stdout.contains("\"responseCutShort\" : true"))
        #expect(json.stdout.contains("\"declaredResponseBodyLength\" : 3600"))
    }

    @Test func anUnfinishedChunkedAnswerClosedByTheServerIsCutShort() throws {
        let folder = TemporaryDirectory()
        var frames = Frames()
        let chunked = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n".utf8)
            + [UInt8](repeating: 0x41, count: 1_000)
        frames.answer(at: 0, clientPort: 50_000, serverPort: 8014, request: Self.secarsRequest, answer: chunked,
                      close: .fins)
        let analyze = CLIRun(["analyze", "--color", "never", frames.write(to: folder, "chunked.pcap")])
        #expect(analyze.status == 1)
        #expect(analyze.stdout.contains("answer 200 from 10.1.0.10:8014 cut short, its chunked body unfinished after "
            + "1000 bytes (no last chunk) before the connection closed (FIN from client, FIN from server)"),
                "\(analyze.stdout)")
    }

    /// A body segment the capture missed (the client acknowledged it), then a reset before the body's end: the
    /// capture lost bytes of that answer, so it is a capture gap, not a manager cutting its answer short. So is
    /// an answer the capture ended inside.
    @Test func aBodyCutByACaptureGapOrTheCaptureEndIsNoAnswerCutShort() throws {
        let folder = TemporaryDirectory()
        var gap = Frames()
        for n in 0..<4 {
            gap.answer(at: UInt64(n) * 300_000_000, clientPort: UInt16(50_000 + n), serverPort: 8014,
                       request: Self.secarsRequest,
                       answer: Self.partialAnswer(announced: 3_300, sent: n == 1 ? 2_500 : 3_300),
                       lost: n == 1 ? [1] : [], close: .serverReset)
        }
        let gapped = CLIRun(["analyze", "--color", "never", gap.write(to: folder, "gap.pcap")])
        #expect(!gapped.stdout.contains("answer-cut-short"), "\(gapped.stdout)")
        #expect(gapped.stdout.contains("warning capture-gap 10.20.0.2"), "\(gapped.stdout)")
        #expect(gapped.status == 0)
        var end = Frames()
        for n in 0..<4 {
            end.answer(at: UInt64(n) * 300_000_000, clientPort: UInt16(50_000 + n), serverPort: 8014,
                       request: Self.secarsRequest,
                       answer: Self.partialAnswer(announced: 3_300, sent: n == 3 ? 1_000 : 3_300),
                       close: n == 3 ? .none : .fins)
        }
        let ended = CLIRun(["analyze", "--color", "never", end.write(to: folder, "end.pcap")])
        #expect(!ended.stdout.contains("answer-cut-short"), "\(ended.stdout)")
        #expect(ended.stdout.contains("Client 10.20.0.2: 4 check-ins,"), "\(ended.stdout)")
    }
}
