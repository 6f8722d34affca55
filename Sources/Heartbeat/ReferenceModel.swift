import Core

/// What a correct SEP heartbeat looks like on the wire: ports, paths, timing, sizes,
/// the seven steps and the severity of each finding.
///
/// Every value is either taken from a public source or is an assumption that users can
/// override; `docs/heartbeat-model.md` lists each field with its source. The built-in
/// model is `Resources/reference-model.json`, compiled into the binary (`ReferenceModel.builtIn`);
/// a site's own file loads with `ReferenceModel.load(path:)` and may give only the fields
/// it changes (the rest come from the built-in model).
public struct ReferenceModel: Codable, Hashable, Sendable {
    /// Always `sepbeat-model/1` for this layout.
    public var schema: String
    public var ports: Ports
    public var http: HTTPFacts
    public var interval: Interval
    public var connect: Connect
    public var checkIn: CheckInGrouping
    public var push: Push
    public var sizes: Sizes
    public var tls: TLSRules
    /// The seven steps of one check-in, in protocol order (ids fixed, rules adjustable).
    public var steps: [StepRule]
    /// Severity of each finding, keyed by finding code (`missed-heartbeat`, ...).
    public var severities: [String: Severity]
    /// Managers the site knows in advance (empty in the built-in model).
    public var servers: [Server]

    /// TCP ports per transport.
    public struct Ports: Codable, Hashable, Sendable {
        /// HTTPS management ports (443 by default for version 14 managers).
        public var https: [UInt16]
        /// Plain HTTP management ports (8014; 80 on old IIS-based managers).
        public var http: [UInt16]
        /// Group Update Provider content proxy ports (2967). Not heartbeat traffic.
        public var gup: [UInt16]
    }

    /// What identifies management requests in plain HTTP.
    public struct HTTPFacts: Codable, Hashable, Sendable {
        /// Path of the management endpoint (`/secars/secars.dll`), compared case-insensitively.
        public var secarsPath: String
        /// The client's `User-Agent` value (`Smc`).
        public var userAgent: String
        /// Known meanings of HTTP status codes, keyed by the code as text (`"400"`).
        public var statusMeanings: [String: String]
    }

    /// The heartbeat interval and the tolerance around it, in seconds.
    public struct Interval: Codable, Hashable, Sendable {
        /// Expected pull interval (300 s by default).
        public var seconds: Double
        /// How far an interval may stray from `seconds` and still be on time.
        public var toleranceSeconds: Double
        /// Check-ins at most this far apart are an accelerated heartbeat (0-60 s).
        public var acceleratedMaxSeconds: Double
        /// Longest an accelerated run may last (first to last check-in of consecutive gaps of at most
        /// `acceleratedMaxSeconds`, 300 s): a longer run is a heartbeat storm, not the short episode after a change.
        public var acceleratedRunMaxSeconds: Double
        /// Fewest regular intervals before a client's own median may contradict `seconds`.
        public var mismatchMinIntervals: Int
        /// Fewest check-ins a client must owe, at its judged interval, between its last check-in and the capture's
        /// end, with other clients checking in all that time, before it `went-silent`.
        public var silentMinIntervals: Int
        /// True: `seconds` wins over interval attributes found in SyLink.xml (set by `--interval`).
        public var pinned: Bool
        /// The model's own tolerance and accelerated ranges before `withDerivedInterval` fitted them to another
        /// pull interval; the push heartbeat's are derived from these, not from the pull interval's (a 300 s push
        /// heartbeat is not held to the 6 s that `--interval 60` gives the pull gaps). Not part of the model file:
        /// a file's values are its own.
        var ownRules: IntervalRules?

        /// The model's own tolerance and accelerated ranges: `ownRules` when a derived pull interval replaced
        /// them, else the values held.
        var modelRules: IntervalRules {
            ownRules ?? IntervalRules(toleranceSeconds: toleranceSeconds, acceleratedMaxSeconds: acceleratedMaxSeconds,
                                      acceleratedRunMaxSeconds: acceleratedRunMaxSeconds)
        }

        private enum CodingKeys: String, CodingKey {
            case seconds, toleranceSeconds, acceleratedMaxSeconds, acceleratedRunMaxSeconds, mismatchMinIntervals
            case silentMinIntervals, pinned
        }
    }

    public struct Connect: Codable, Hashable, Sendable {
        /// A session not set up within this time ends the check-in (30 s).
        public var timeoutSeconds: Double
    }

    /// How connections are grouped into one check-in.
    public struct CheckInGrouping: Codable, Hashable, Sendable {
        /// Failed connects at most this long before a successful one belong to its step 1.
        public var attemptWindowSeconds: Double
        /// A connection starting at most this long after the previous one ended continues its check-in.
        public var joinGapSeconds: Double
        /// A check-in joined from several connections spans at most this from its first connection's start
        /// (30 s): a connection that would make it longer starts a new check-in, so a client polling every
        /// second is not one check-in of hours.
        public var joinMaxSeconds: Double
        /// A request reset, an answer cut short or a TLS handshake refused (`no-answer`, `answer-cut-short`,
        /// `tls-handshake-failed`) that the same client
        /// retried at most this long after, on a new connection that was answered, is part of that check-in
        /// (`retried-and-answered`, a warning) rather than a failed check-in of its own (30 s).
        public var retryWindowSeconds: Double
        /// Fewest on-time gaps between TLS connections to one endpoint that make it a manager.
        public var inferPeriodicMinIntervals: Int
    }

    /// Push mode: one long-lived connection with periodic exchanges.
    public struct Push: Codable, Hashable, Sendable {
        /// A connection open at least this long (and carrying more than one burst) is a push connection.
        public var minOpenSeconds: Double
        /// Exchanges separated by more than this start a new periodic check-in on a push connection.
        public var burstGapSeconds: Double
        /// Expected period of push check-ins when SyLink.xml gives none.
        public var heartbeatSeconds: Double
    }

    /// Size expectations in TCP payload bytes.
    public struct Sizes: Codable, Hashable, Sendable {
        /// Bounds of an idle check-in (only steps 1, 2, 3, 7), inclusive: 3-5 KB.
        public var idleMinBytes: Int64
        public var idleMaxBytes: Int64
        /// A check-in above this is oversize (a full heartbeat is 200-300 KB).
        public var fullMaxBytes: Int64
        /// Default log upload cap: this many records of about `logRecordBytes` each.
        public var logUploadMaxRecords: Int64
        public var logRecordBytes: Int64
        /// Allowance for HTTP framing and op-state data on top of the records.
        public var uploadOverheadBytes: Int64
    }

    public struct TLSRules: Codable, Hashable, Sendable {
        /// Lowest acceptable negotiated version, `1.0` to `1.3`.
        public var minimumVersion: String
        /// A TLS exchange whose client burst is at least this and larger than the reply is an upload.
        public var uploadMinBytes: Int64
    }

    /// One step of a check-in and how it is recognised.
    public struct StepRule: Codable, Hashable, Sendable {
        /// 1 to 7.
        public var number: Int
        /// `select-server`, `connect`, `index-check`, `download-urls`, `log-upload`, `sensor-upload`, `disconnect`.
        public var id: String
        /// Mandatory steps (1, 2, 3, 7) are reported missing when absent; conditional ones never are.
        public var mandatory: Bool
        /// HTTP methods the step uses (empty for steps without requests).
        public var httpMethods: [String]
        /// Shape of the step without decryption: `syn`, `handshake`, `fetch`, `upload` or `close`; fixed per step
        /// (`ReferenceModel.stepTLSShapes`), given for the reader of a model file.
        public var tlsShape: String
        /// Confidence (0-1) of a match by method and order in plain HTTP.
        public var httpConfidence: Double
        /// Confidence (0-1) of a match by order, direction and size in TLS.
        public var tlsConfidence: Double
    }

    /// A manager known from the model file or from `--server`.
    public struct Server: Codable, Hashable, Sendable {
        /// An IP address or a host name.
        public var host: String
        /// nil: any management port of the model.
        public var port: UInt16?
        /// 1 = first choice, when known.
        public var priority: Int?
        /// `model` for entries from a model file, `option` for `--server`.
        public var origin: String?

        public init(host: String, port: UInt16? = nil, priority: Int? = nil, origin: String? = nil) {
            self.host = host
            self.port = port
            self.priority = priority
            self.origin = origin
        }
    }

    /// Step ids in protocol order; index 0 is step 1.
    public static let stepIDs = [
        "select-server", "connect", "index-check", "download-urls", "log-upload", "sensor-upload", "disconnect",
    ]

    /// Each step's shape without decryption, in protocol order: fixed like the ids, since the step classifier
    /// places TLS exchanges by these shapes in this order (a model file may restate them, not change them).
    public static let stepTLSShapes = ["syn", "handshake", "fetch", "fetch", "upload", "upload", "close"]

    /// The rule for step `number` (1-7). Validation guarantees all seven exist.
    public func step(_ number: Int) -> StepRule? {
        steps.first { $0.number == number }
    }

    /// The severity the model gives a finding code (warning when a custom model omits it).
    public func severity(of code: FindingCode) -> Severity {
        severities[code.rawValue] ?? .warning
    }

    /// Every management port: HTTPS then HTTP.
    public var managementPorts: Set<UInt16> { Set(ports.https).union(ports.http) }

    /// `minimumVersion` as a TLS version number (0x0303 for `1.2`).
    public var minimumTLSVersion: UInt16 {
        switch tls.minimumVersion {
        case "1.0": return 0x0301
        case "1.1": return 0x0302
        case "1.3": return 0x0304
        default: return 0x0303
        }
    }
}

/// How serious a finding is. `error` findings make the verdict `fail`.
public enum Severity: String, Codable, Hashable, Sendable, CaseIterable, Comparable {
    case info
    case warning
    case error

    private var rank: Int {
        switch self {
        case .info: return 0
        case .warning: return 1
        case .error: return 2
        }
    }

    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}
