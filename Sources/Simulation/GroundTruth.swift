import Core
import Foundation
import Heartbeat

/// The ground truth written beside a simulated capture (`<capture>.truth.json`).
///
/// Per client: its address, transport, mode, manager, every check-in (time, transport, mode,
/// kind idle/full, manager, and `failed` for one that got no answer) and the findings `sepbeat analyze` should
/// report for it; and the list of injected faults with client, time and finding codes. Times are RFC 3339 with
/// nanoseconds, plus `ns` (nanoseconds since the epoch) for exact comparison.
public struct GroundTruth: Codable, Sendable {
    public struct Manager: Codable, Sendable {
        public var address: String
        public var httpPort: UInt16
        public var httpsPort: UInt16
    }

    public struct CheckIn: Codable, Sendable {
        public var time: String
        public var ns: Int64
        public var transport: SimulatedTransport
        public var mode: String
        public var kind: String
        public var manager: String
        /// True for a check-in that got no answer (the no-answer and tls-handshake-failed faults), which analyze
        /// counts as failed; absent for the others.
        public var failed: Bool?
    }

    public struct Expected: Codable, Sendable {
        public var code: String
        public var time: String
        public var ns: Int64
        public var fault: FaultKind?
    }

    public struct Client: Codable, Sendable {
        public var address: String
        public var transport: SimulatedTransport
        public var mode: String
        public var manager: String
        public var tlsVersion: String?
        public var file: Int
        public var checkIns: [CheckIn]
        public var expectedFindings: [Expected]
        /// The check-in from which the policy change's new interval runs (`intervalChange`), for a client that
        /// takes it; `analyze` stamps its `interval-change` finding about one new interval later. The first change
        /// the client takes when the run has several.
        public var intervalChangedAt: String?
        public var intervalChangedAtNs: Int64?
        /// Every change the client takes, in time order, written only when the run has several changes (a run
        /// with one writes the same file as before they could be repeated).
        public var intervalChanges: [ClientIntervalChange]?
        /// From when the client checks in no more (the silent fault): none of its check-ins starts at or after it.
        public var silentFrom: String?
        public var silentFromNs: Int64?
    }

    /// The policy change (`simulate --interval-change AT:SECONDS[:SHARE]`).
    public struct IntervalChange: Codable, Sendable {
        public var atSeconds: Double
        public var seconds: Double
        public var share: Double
    }

    /// One change as a client takes it: the check-in from which `seconds` runs.
    public struct ClientIntervalChange: Codable, Sendable {
        public var at: String
        public var ns: Int64
        public var seconds: Double
    }

    public struct Fault: Codable, Sendable {
        public var client: String
        public var kind: FaultKind
        public var time: String
        public var ns: Int64
        public var codes: [String]
    }

    public var schema: String
    public var seed: UInt64
    public var files: [String]
    public var format: SimulationFileFormat
    public var start: String
    public var durationSeconds: Double
    public var intervalSeconds: Double
    public var pushIntervalSeconds: Double
    public var jitterSeconds: Double
    /// nil when the capture has no policy change; the first when it has several.
    public var intervalChange: IntervalChange?
    /// Every policy change, in time order, written only when the capture has several.
    public var intervalChanges: [IntervalChange]?
    public var managers: [Manager]
    public var clients: [Client]
    public var faults: [Fault]

    /// Reads a truth file.
    public static func load(path: String) throws -> GroundTruth {
        try JSONDecoder().decode(GroundTruth.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Writes the truth of `plan` as JSON, built by hand in one buffer (a day of 10,000 clients
    /// has millions of check-ins; this keeps writing it to about a second).
    static func write(_ plan: FleetPlan, paths: [String], to path: String) throws(SimulationError) {
        let c = plan.configuration
        var o: [UInt8] = []
        o.reserveCapacity(1 << 20)
        func text(_ s: String) { o.append(contentsOf: s.utf8) }
        func quoted(_ s: String) {
            o.append(0x22)
            for b in s.utf8 {
                if b == 0x22 || b == 0x5C { o.append(0x5C) }
                o.append(b)
            }
            o.append(0x22)
        }
        func address(_ a: UInt32) -> String { IPAddress(ipv4: a).description }
        func time(_ ns: Int64) -> String { Timestamp(nanoseconds: ns).rfc3339(fractionDigits: 9) }

        text("{\n  \"schema\": \"sepbeat-simulation-truth/1\",\n  \"seed\": \(c.seed),\n  \"files\": [")
        for (i, p) in paths.enumerated() {
            if i > 0 { text(", ") }
            quoted(p)
        }
        text("],\n  \"format\": \"\(c.format.rawValue)\",\n  \"start\": \"\(time(c.start.nanoseconds))\",\n")
        text("  \"durationSeconds\": \(c.durationSeconds),\n  \"intervalSeconds\": \(plan.interval),\n")
        text("  \"pushIntervalSeconds\": \(plan.pushInterval),\n  \"jitterSeconds\": \(plan.jitter),\n")
        func policy(_ change: SimulatedIntervalChange) -> String {
            "{\"atSeconds\": \(change.atSeconds), \"seconds\": \(change.seconds), \"share\": \(change.share)}"
        }
        let several = c.intervalChanges.count > 1
        if let change = c.intervalChanges.first { text("  \"intervalChange\": \(policy(change)),\n") }
        if several {
            text("  \"intervalChanges\": [" + c.intervalChanges.map(policy).joined(separator: ", ") + "],\n")
        }
        text("  \"managers\": [")
        for (i, m) in plan.managers.enumerated() {
            text(i > 0 ? ",\n    " : "\n    ")
            text("{\"address\": \"\(address(m))\", \"httpPort\": \(plan.httpPort), \"httpsPort\": \(plan.httpsPort)}")
        }
        text("\n  ],\n  \"clients\": [")
        var faults: [(client: UInt32, e: ExpectedFinding, codes: [String])] = []
        for (i, client) in plan.clients.enumerated() {
            let mode = client.push ? "push" : "pull"
            text(i > 0 ? ",\n    {" : "\n    {")
            text("\"address\": \"\(address(client.address))\", \"transport\": \"\(client.transport.rawValue)\", ")
            text("\"mode\": \"\(mode)\", \"manager\": \"\(address(plan.managers[client.manager]))\", ")
            if client.transport == .https {
                text("\"tlsVersion\": \"\(client.oldTLS ? "1.0" : plan.tlsVersion >= 0x0304 ? "1.3" : "1.2")\", ")
            }
            text("\"file\": \(i % c.files)")
            if let at = client.intervalChanges.first?.time {
                text(", \"intervalChangedAt\": \"\(time(at))\", \"intervalChangedAtNs\": \(at)")
            }
            if several {
                text(", \"intervalChanges\": [" + client.intervalChanges.map {
                    "{\"at\": \"\(time($0.time))\", \"ns\": \($0.time), \"seconds\": \($0.seconds)}"
                }.joined(separator: ", ") + "]")
            }
            if let from = client.silentFrom {
                text(", \"silentFrom\": \"\(time(from))\", \"silentFromNs\": \(from)")
            }
            text(",\n      \"checkIns\": [")
            for (j, ci) in client.checkIns.enumerated() {
                text(j > 0 ? ",\n        " : "\n        ")
                text("{\"time\": \"\(time(ci.time))\", \"ns\": \(ci.time), \"transport\": "
                    + "\"\(client.transport.rawValue)\", \"mode\": \"\(mode)\", "
                    + "\"kind\": \"\(ci.full ? "full" : "idle")\", "
                    + "\"manager\": \"\(address(plan.managers[ci.manager]))\"")
                text(ci.fault == .noAnswer || ci.fault == .tlsHandshakeFailed ? ", \"failed\": true}" : "}")
            }
            text("\n      ],\n      \"expectedFindings\": [")
            for (j, e) in client.expected.enumerated() {
                text(j > 0 ? ",\n        " : "\n        ")
                text("{\"code\": \"\(e.code.rawValue)\", \"time\": \"\(time(e.time))\", \"ns\": \(e.time)")
                if let f = e.fault { text(", \"fault\": \"\(f.rawValue)\"") }
                text("}")
                if let f = e.fault, !faults.contains(where: { $0.client == client.address && $0.e.fault == f }) {
                    faults.append((client.address, e, f.codes(minimumTLS: plan.minimumTLS).map(\.rawValue)))
                }
            }
            // A silence analyze cannot see (nobody seen going on across it) is still a fault, one with no code,
            // stamped at the client's last check-in as its finding would be (at `silentFrom` when it has none).
            if let from = client.silentFrom, !client.expected.contains(where: { $0.fault == .silent }) {
                let at = client.checkIns.last?.time ?? from
                faults.append((client.address, ExpectedFinding(code: .wentSilent, time: at, fault: .silent), []))
            }
            text("\n      ]\n    }")
        }
        text("\n  ],\n  \"faults\": [")
        for (i, f) in faults.enumerated() {
            text(i > 0 ? ",\n    " : "\n    ")
            text("{\"client\": \"\(address(f.client))\", \"kind\": \"\(f.e.fault?.rawValue ?? "")\", "
                + "\"time\": \"\(time(f.e.time))\", \"ns\": \(f.e.time), \"codes\": ["
                + f.codes.map { "\"\($0)\"" }.joined(separator: ", ") + "]}")
        }
        text("\n  ]\n}\n")
        let file = try OutputFile(path: path)
        var failure: SimulationError?
        o.withUnsafeBytes { raw in
            do throws(SimulationError) { try file.write(raw) } catch { failure = error }
        }
        if failure == nil {
            do throws(SimulationError) { try file.close() } catch { failure = error }
        }
        if let failure {
            file.discard()
            throw failure
        }
    }
}
