import Core

/// One request and its reply on a connection: the unit the heartbeat layer classifies.
///
/// For HTTP an exchange is one transaction (request, then its response). For TLS
/// without decryption it is a client burst of application-data records followed by
/// the server's burst. Byte counts are application payload bytes each way (HTTP:
/// head plus body as sent; TLS: whole application-data records with headers).
public struct Exchange: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        case http
        case tls
        case other
    }

    // Stored with the optional reply time as a plain integer (its presence in `hasResponseStart`) and the
    // one-byte fields last: 88 bytes an exchange instead of 96, for the same public fields.

    /// Position on its connection, from 0.
    public var index: Int
    /// First request byte to last reply byte (or last request byte when no reply).
    public var start: Timestamp
    public var end: Timestamp
    /// `responseStart`'s nanoseconds, 0 when unset (so equal exchanges store equal bits).
    @usableFromInline var responseNanos: Int64
    public var bytesUp: Int64
    public var bytesDown: Int64
    /// Set for HTTP exchanges. Kept out of line (about 150 bytes that TLS exchanges would otherwise
    /// carry empty). Copy on write: a change is made in place
    /// when this exchange holds the only reference to the box, in a new box otherwise.
    ///
    /// Inlinable, so a change from another module runs in place rather than through a coroutine
    /// whose frame would be allocated on every call.
    @inlinable
    public var http: HTTPTransaction? {
        get { httpStorage?.value ?? nil }
        set { httpStorage = newValue.map(HTTPTransactionBox.init) }
        _modify {
            if isKnownUniquelyReferenced(&httpStorage), let box = httpStorage {
                yield &box.value
                if case .none = box.value { httpStorage = nil }
            } else {
                var value = httpStorage?.value ?? nil
                httpStorage = nil
                defer { httpStorage = value.map(HTTPTransactionBox.init) }
                yield &value
            }
        }
    }
    @usableFromInline var httpStorage: HTTPTransactionBox?

    /// Changes the HTTP transaction in place, as `http?.field = value` does (nothing without one), but
    /// through a closure: `http`'s `_modify` is a coroutine whose frame the C heap holds for every change
    /// made from another module, one `malloc` each. Several fields changed at once are one call.
    @inlinable
    public mutating func changeHTTP(_ change: (inout HTTPTransaction) -> Void) {
        guard httpStorage != nil else { return }
        if !isKnownUniquelyReferenced(&httpStorage), let shared = httpStorage?.value {
            httpStorage = HTTPTransactionBox(shared)
        }
        // In place through optional chaining: nothing when the box holds none.
        httpStorage?.value?.apply(change)
    }
    /// Number of TLS application-data records each way (TLS exchanges).
    public var recordsUp: Int
    public var recordsDown: Int
    /// Payload bytes that belonged to this exchange but were never captured (gaps).
    public var missingBytes: Int64
    public var kind: Kind
    @usableFromInline var hasResponseStart: Bool

    /// When the reply began, if one was seen.
    @inlinable public var responseStart: Timestamp? {
        get { hasResponseStart ? Timestamp(nanoseconds: responseNanos) : nil }
        set {
            responseNanos = newValue?.nanoseconds ?? 0
            hasResponseStart = newValue != nil
        }
    }

    public init(index: Int, kind: Kind, start: Timestamp, end: Timestamp) {
        self.index = index
        self.kind = kind
        self.start = start
        self.end = end
        self.responseNanos = 0
        self.hasResponseStart = false
        self.bytesUp = 0
        self.bytesDown = 0
        self.httpStorage = nil
        self.recordsUp = 0
        self.recordsDown = 0
        self.missingBytes = 0
    }
}

/// A shared `HTTPTransaction`, compared by value.
///
/// `@unchecked Sendable`, and `value` is `@exclusivity(unchecked)`: it changes only through
/// `Exchange.http`'s `_modify`, and only while that exchange holds the sole reference to the box,
/// so no other copy, no other thread and no overlapping access can see it change. It is never nil
/// while an exchange holds the box.
@usableFromInline
final class HTTPTransactionBox: Hashable, @unchecked Sendable {
    @usableFromInline @exclusivity(unchecked) var value: HTTPTransaction?
    @usableFromInline init(_ value: HTTPTransaction) { self.value = value }
    @usableFromInline
    static func == (a: HTTPTransactionBox, b: HTTPTransactionBox) -> Bool { a === b || a.value == b.value }
    @usableFromInline func hash(into hasher: inout Hasher) { hasher.combine(value) }
}

/// The parts of an HTTP request/response pair that analysis needs. Bodies are not kept.
public struct HTTPTransaction: Hashable, Sendable {
    /// `change` made to this transaction in place (for `Exchange.changeHTTP`'s optional chaining).
    @inlinable
    mutating func apply(_ change: (inout HTTPTransaction) -> Void) { change(&self) }


    public var method: String
    /// The request-target as sent (not percent-decoded).
    public var target: String
    public var version: String
    public var host: String?
    public var userAgent: String?
    public var requestBodyLength: Int64
    /// nil when no response was seen.
    public var status: Int?
    public var reason: String?
    /// nil when no response was seen, or when its length is not known (the snap length cut its head).
    public var responseBodyLength: Int64?
    public var contentType: String?
    /// True when the response's body was cut short: its stream ended (the connection closed, or the capture
    /// ended) before the body its framing announced was complete, fewer bytes than its Content-Length or a
    /// chunked body without its last chunk. `responseBodyLength` is then what came (gaps counted).
    public var responseCutShort: Bool
    /// The body length the Content-Length of a response cut short announced; nil otherwise (and for a chunked
    /// body, whose length is not announced).
    public var declaredResponseBodyLength: Int64?
    /// True when a response came whose status line the snap length cut before its code: `status` is nil, but the
    /// answer's bytes are the exchange's.
    public var responseStatusCut: Bool

    public init(method: String, target: String, version: String) {
        self.method = method
        self.target = target
        self.version = version
        self.host = nil
        self.userAgent = nil
        self.requestBodyLength = 0
        self.status = nil
        self.reason = nil
        self.responseBodyLength = nil
        self.contentType = nil
        self.responseCutShort = false
        self.declaredResponseBodyLength = nil
        self.responseStatusCut = false
    }
}

/// What the TLS handshake on a connection showed, without decryption.
public struct TLSSummary: Hashable, Sendable {
    /// Highest version the ClientHello offered (supported_versions, else legacy), e.g. 0x0303.
    public var clientVersion: UInt16?
    /// Version the ServerHello chose (supported_versions, else legacy).
    public var negotiatedVersion: UInt16?
    public var serverName: String?
    public var cipherSuite: UInt16?
    public var certificate: CertificateSummary?
    /// Alerts seen as (level, description) pairs, in order; encrypted alerts are not listed.
    public var alerts: [TLSAlert]
    /// The stream started with SSLv2-format hello records.
    public var sslv2: Bool
    /// The record-layer version of the application-data records (the version in each record header; the
    /// lower of the two directions'), nil when none was framed. It is the negotiated version for TLS 1.2
    /// and earlier; TLS 1.3 records carry 0x0303 too, so 0x0303 means "TLS 1.2 or later". It gives the
    /// version of a connection whose handshake was not captured.
    public var recordVersion: UInt16?
    /// The first version no TLS stack writes in an application-data record header (outside
    /// 0x0300...0x0303, e.g. 0x0304) that each direction's records carried, nil when none did; such
    /// records give no `recordVersion`.
    public var implausibleRecordVersionUp: UInt16?
    public var implausibleRecordVersionDown: UInt16?

    public init() {
        clientVersion = nil
        negotiatedVersion = nil
        recordVersion = nil
        implausibleRecordVersionUp = nil
        implausibleRecordVersionDown = nil
        serverName = nil
        cipherSuite = nil
        certificate = nil
        alerts = []
        sslv2 = false
    }

    /// The version the hellos gave: the ServerHello's choice, else the ClientHello's highest offer; nil
    /// when neither was parsed (e.g. the capture started after the handshake).
    public var helloVersion: UInt16? { negotiatedVersion ?? clientVersion }

    /// The version the connection is judged by (`tls-below-1.2` or the code of the model's minimum, the connect
    /// step's evidence), and what gave it; nil when nothing did.
    ///
    /// The hellos' version, unless the record layer gives a lower one: application-data records carry
    /// the negotiated version (RFC 5246 6.2.1), and a client's offer is only an upper bound. So records
    /// below the offer with no ServerHello seen judge the connection; records below the ServerHello's
    /// choice (a protocol anomaly, `recordVersionMismatch`) do too, since the records show what was
    /// spoken and the check errs towards the old version. A record-layer 0x0303 says "1.2 or later" and
    /// lowers nothing (TLS 1.3 records carry it), and a ServerHello's choice of TLS 1.3 or a draft of
    /// it is never lowered (its records carry a legacy version). With no hello, the record layer alone. Record versions
    /// outside 0x0300...0x0303 are not versions (the parser leaves them out; ignored here too).
    public var judgedVersion: TLSJudgedVersion? {
        let record = recordVersion.flatMap { (0x0300...0x0303).contains($0) ? $0 : nil }
        guard let hello = helloVersion else {
            return record.map { TLSJudgedVersion(version: $0, source: .recordLayer) }
        }
        // A ServerHello that chose TLS 1.3 or a draft of it (0x0304 and up, 0x7fxx): the records carry a
        // legacy version (0x0303; 0x0301 in drafts), which says nothing about the version spoken. An offer
        // of 1.3 alone is lowered as any offer (a 1.3 server's records carry 0x0303).
        if let r = record, r < 0x0303, r < hello, (negotiatedVersion ?? 0) < 0x0304 {
            if let chosen = negotiatedVersion {
                return TLSJudgedVersion(version: r, source: .recordLayerBelowChosen(chosen))
            }
            return TLSJudgedVersion(version: r, source: .recordLayerBelowOffer(hello))
        }
        return TLSJudgedVersion(version: hello, source: negotiatedVersion == nil ? .offered : .chosen)
    }

    /// `1.0`...`1.3` for 0x0301...0x0304, `SSL 3.0`, `SSL 2.0`, else `0x%04x`.
    public static func versionName(_ v: UInt16) -> String {
        switch v {
        case 0x0002: return "SSL 2.0"
        case 0x0300: return "SSL 3.0"
        case 0x0301: return "1.0"
        case 0x0302: return "1.1"
        case 0x0303: return "1.2"
        case 0x0304: return "1.3"
        default:
            let h = String(v, radix: 16)
            return "0x" + String(repeating: "0", count: max(0, 4 - h.count)) + h
        }
    }
}

/// The version a TLS connection is judged by (`TLSSummary.judgedVersion`) and where it came from.
public struct TLSJudgedVersion: Hashable, Sendable {
    /// What gave the version.
    public enum Source: Hashable, Sendable {
        /// The ServerHello's choice.
        case chosen
        /// The ClientHello's highest offer: no ServerHello seen.
        case offered
        /// The record layer of the application data: no hello seen.
        case recordLayer
        /// The record layer, lower than the client's offer (given): no ServerHello seen.
        case recordLayerBelowOffer(UInt16)
        /// The record layer, lower than the ServerHello's choice (given).
        case recordLayerBelowChosen(UInt16)

        /// True when the record layer, not a hello, gave the version.
        public var isRecordLayer: Bool {
            switch self {
            case .chosen, .offered: return false
            case .recordLayer, .recordLayerBelowOffer, .recordLayerBelowChosen: return true
            }
        }

        /// Why the record layer gave the version, as reports word it (`no hello seen`, `no ServerHello
        /// seen, the client offered 1.2`, `the ServerHello chose 1.2`); nil for a hello's version.
        public var recordLayerReason: String? {
            switch self {
            case .chosen, .offered: return nil
            case .recordLayer: return "no hello seen"
            case .recordLayerBelowOffer(let offered):
                return "no ServerHello seen, the client offered \(TLSSummary.versionName(offered))"
            case .recordLayerBelowChosen(let chosen):
                return "the ServerHello chose \(TLSSummary.versionName(chosen))"
            }
        }
    }

    public var version: UInt16
    public var source: Source

    public init(version: UInt16, source: Source) {
        self.version = version
        self.source = source
    }
}

public struct TLSAlert: Hashable, Sendable {
    public var level: UInt8
    public var description: UInt8
    public var direction: Direction
    public var time: Timestamp

    public init(level: UInt8, description: UInt8, direction: Direction, time: Timestamp) {
        self.level = level
        self.description = description
        self.direction = direction
        self.time = time
    }
}

/// The first (leaf) certificate of a TLS 1.2-or-earlier Certificate message.
public struct CertificateSummary: Hashable, Sendable {
    public var subjectCommonName: String?
    public var issuerCommonName: String?
    /// Subject and issuer distinguished names are byte-identical.
    public var selfSigned: Bool
    /// `RSA`, `EC`, `Ed25519`, ... and the key size in bits (RSA modulus, EC curve size).
    public var keyType: String?
    public var keyBits: Int?
    /// Signature algorithm name, e.g. `sha256WithRSAEncryption`, or its dotted OID.
    public var signatureAlgorithm: String?
    public var notBefore: Timestamp?
    public var notAfter: Timestamp?

    public init() {
        subjectCommonName = nil
        issuerCommonName = nil
        selfSigned = false
        keyType = nil
        keyBits = nil
        signatureAlgorithm = nil
        notBefore = nil
        notAfter = nil
    }
}
