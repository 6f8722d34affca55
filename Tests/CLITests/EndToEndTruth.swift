import Core
import Foundation

/// The ground truth the capture generator writes beside each recording (`<name>.truth.json`).
///
/// Only the fields the end-to-end checks read are decoded; the layout is described in
/// `Captures/README.md`.
struct CaptureTruth: Decodable {
    struct Client: Decodable {
        var address: String
    }

    struct Fault: Decodable {
        var kind: String
        var manager: String?
        var client: String?
        var checkins: [Int]?
        var status: Int?
        var step: String?
        var expectedEpoch: Double?

        enum CodingKeys: String, CodingKey {
            case kind, manager, client, checkins, status, step
            case expectedEpoch = "expected_epoch"
        }
    }

    struct Attempt: Decodable {
        var manager: String
        var port: Int
        /// `refused`, `timeout` or `connected`.
        var result: String
    }

    struct Request: Decodable {
        var step: String
        var requestBytes: Int
        var status: Int
        var replyBodyBytes: Int

        enum CodingKeys: String, CodingKey {
            case step, status
            case requestBytes = "request_bytes"
            case replyBodyBytes = "reply_body_bytes"
        }
    }

    struct CheckIn: Decodable {
        var seq: Int
        var client: String
        /// `idle` or `full`.
        var kind: String
        var mode: String
        var startEpoch: Double
        var manager: String
        var port: Int
        var connectionAttempts: [Attempt]
        var steps: [String]
        var requests: [Request]
        var outcome: String
        var accelerated: Bool?
        var lateBy: Double?

        enum CodingKeys: String, CodingKey {
            case seq, client, kind, mode, manager, port, steps, requests, outcome, accelerated
            case startEpoch = "start_epoch"
            case connectionAttempts = "connection_attempts"
            case lateBy = "late_by_s"
        }
    }

    var transport: String
    var mode: String
    var clients: [Client]
    var faults: [Fault]
    var checkins: [CheckIn]

    static func load(path: String) throws -> CaptureTruth {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONDecoder().decode(CaptureTruth.self, from: data)
    }

    /// Step numbers of the protocol's step ids, in protocol order.
    static let stepNumbers = ["select-server": 1, "connect": 2, "index-check": 3, "download-urls": 4,
                              "log-upload": 5, "sensor-upload": 6, "disconnect": 7]

    /// Finding codes the injected faults and labels must produce.
    var requiredCodes: Set<String> {
        var codes: Set<String> = []
        if transport == "http" { codes.insert("plaintext-http") }
        for f in faults {
            switch f.kind {
            case "refused": codes.formUnion(["connect-failed", "failover"])
            case "syn-dropped": codes.formUnion(["connect-timeout", "failover"])
            case "http-status": codes.insert("http-error")
            case "old-tls": codes.insert("tls-below-1.2")
            case "missed-checkin": codes.insert("missed-heartbeat")
            default: break  // packet-loss: recovered by retransmission, nothing to report
            }
        }
        if checkins.contains(where: { $0.accelerated == true }) { codes.insert("accelerated-heartbeat") }
        if checkins.contains(where: { $0.lateBy != nil }) { codes.insert("interval-late") }
        return codes
    }
}

/// The parts of a `sepbeat-report/1` JSON document the end-to-end checks read.
struct ReportView: Decodable {
    struct Attempt: Decodable {
        var server: String
        var serverPort: Int
        var outcome: String
    }

    struct Step: Decodable {
        var step: Int
        var bytesUp: Int
        var bytesDown: Int
    }

    struct Finding: Decodable {
        var code: String
        var severity: String
        var message: String
        var client: String?
        var server: String?
        var session: Int?
    }

    struct Session: Decodable {
        var id: Int
        var client: String
        var server: String
        var serverPort: Int
        var transport: String
        var mode: String
        var start: String
        var attempts: [Attempt]
        var steps: [Step]
        var findings: [Finding]

        var startTime: Timestamp? { Timestamp(rfc3339: start) }

        /// Steps 3-6 bytes up plus down: what the model's size rules measure.
        var contentBytes: Int {
            steps.filter { (3...6).contains($0.step) }.reduce(0) { $0 + $1.bytesUp + $1.bytesDown }
        }
    }

    struct Client: Decodable {
        var client: String
        var sessions: Int
        var missed: Int
        var accelerated: Int
    }

    struct Manager: Decodable {
        var address: String
        var source: String
        var priority: Int?
    }

    struct Summary: Decodable {
        var verdict: String
        var errors: Int
    }

    var managers: [Manager]
    var sessions: [Session]
    var clients: [Client]
    var findings: [Finding]
    var summary: Summary

    static func decode(_ text: String) throws -> ReportView {
        try JSONDecoder().decode(ReportView.self, from: Data(text.utf8))
    }
}

extension Timestamp {
    /// The time of a truth file's epoch seconds (microsecond precision, as the recordings).
    init(epoch: Double) {
        let micros = Int64((epoch * 1_000_000).rounded())
        self.init(nanoseconds: micros * 1_000)
    }
}
