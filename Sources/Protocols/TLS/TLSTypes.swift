import Core
import Records

/// A TLS record's content type (RFC 8446 section 5.1; heartbeat from RFC 6520).
public struct TLSContentType: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// `change_cipher_spec(20)`
    public static let changeCipherSpec = TLSContentType(rawValue: 20)
    /// `alert(21)`
    public static let alert = TLSContentType(rawValue: 21)
    /// `handshake(22)`
    public static let handshake = TLSContentType(rawValue: 22)
    /// `application_data(23)`
    public static let applicationData = TLSContentType(rawValue: 23)
    /// `heartbeat(24)`
    public static let heartbeat = TLSContentType(rawValue: 24)

    /// True for the five content types this parser knows (20 to 24).
    public var isKnown: Bool { (20...24).contains(rawValue) }
}

/// Helpers for TLS version numbers as they appear on the wire (0x0300 = SSL 3.0, 0x0304 = TLS 1.3).
public enum TLSVersion {
    /// TLS 1.3 as sent in supported_versions.
    public static let tls13: UInt16 = 0x0304
    /// The version field of SSLv2-format records.
    public static let ssl2: UInt16 = 0x0002

    /// A version a TLS stack writes in the header of an application-data record: 0x0300 (SSL 3.0) to
    /// 0x0303 (TLS 1.2, and TLS 1.3's legacy_record_version). Anything else there (0x0304 included) is
    /// not evidence of a version.
    public static func isRecordLayerVersion(_ v: UInt16) -> Bool { (0x0300...0x0303).contains(v) }

    /// Whether a record header of content type `type` with version bytes `major`, `minor` frames a record:
    /// any type of 20-24 with 3.0-3.4, and an application-data record (23) with any other 3.x or a DTLS-like
    /// 0xfeNN too. Those versions are implausible in TLS over TCP (no version: `isRecordLayerVersion`), but
    /// a stream of records so framed is still TLS, with its version unknown and the anomaly
    /// `tls_implausible_record_version`, whatever the number. Handshake, alert and change-cipher-spec
    /// headers keep the narrow range, which keeps the false matches of a scan after a gap few. Only for a
    /// connection already taken as TLS: what makes one TLS (`TLSStreamParser.looksLikeTLS`) is 3.0-3.4.
    @inline(__always)
    public static func framesRecord(type: UInt8, major: UInt8, minor: UInt8) -> Bool {
        major == 3 && minor <= 4 || type == 23 && (major == 3 || major == 0xfe)
    }

    /// GREASE values (RFC 8701) have the form 0x?a?a with both bytes equal; they are never real versions.
    public static func isGREASE(_ v: UInt16) -> Bool {
        v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
    }

    /// An ordering key for "highest offered version".
    ///
    /// SSL 3.0 < 1.0 < 1.1 < 1.2 < any TLS 1.3 draft or experiment code (0x7fNN, 0x7eNN, 0xfbNN,
    /// ranked by NN) < 1.3. Other values rank by number below all of those.
    public static func rank(_ v: UInt16) -> Int {
        switch v {
        case 0x0300...0x0303: return 0x2_0000 + Int(v)
        case 0x0304: return 0x4_0000
        default:
            let hi = v >> 8
            if hi == 0x7f || hi == 0x7e || hi == 0xfb { return 0x3_0000 + Int(v & 0xff) }
            return Int(v)
        }
    }

    /// The highest non-GREASE version in `versions` by `rank`, or nil when none is left.
    public static func highest<S: Sequence>(_ versions: S) -> UInt16? where S.Element == UInt16 {
        var best: UInt16?
        for v in versions where !isGREASE(v) {
            if let b = best, rank(b) >= rank(v) { continue }
            best = v
        }
        return best
    }

    /// The spelling of the tshark-derived oracle tables: `1.0`...`1.3` for 0x0301...0x0304,
    /// otherwise `0x%04x` (so SSL 3.0 is `0x0300` and SSL 2.0 is `0x0002`, unlike
    /// `TLSSummary.versionName`).
    public static func oracleName(_ v: UInt16) -> String {
        switch v {
        case 0x0301...0x0304: return TLSSummary.versionName(v)
        default: return hex4(v)
        }
    }

    /// `0x%04x`.
    public static func hex4(_ v: UInt16) -> String {
        let h = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 4 - h.count)) + h
    }
}

/// What a ClientHello (TLS or SSLv2 format) offered. Strings and arrays are copies; nothing is borrowed.
public struct TLSClientHello: Hashable, Sendable {
    /// `legacy_version` (for SSLv2-format hellos, the version field: 0x0002, 0x0300, 0x0301, ...).
    public var legacyVersion: UInt16
    /// The supported_versions extension with GREASE values removed; nil when the extension is absent.
    public var supportedVersions: [UInt16]?
    /// The first host_name of the server_name extension.
    public var serverName: String?
    /// Cipher suites in offered order, GREASE included. For SSLv2 hellos: the cipher specs
    /// whose first byte is 0 (the TLS suites an SSLv2-format hello can offer).
    public var cipherSuites: [UInt16]
    /// Extension types in order as sent (GREASE included).
    public var extensionTypes: [UInt16]
    /// ALPN protocol names in offered order.
    public var alpn: [String]
    /// Came in an SSLv2-format record.
    public var isSSLv2: Bool

    public init(legacyVersion: UInt16) {
        self.legacyVersion = legacyVersion
        self.supportedVersions = nil
        self.serverName = nil
        self.cipherSuites = []
        self.extensionTypes = []
        self.alpn = []
        self.isSSLv2 = false
    }

    /// Highest offered version: the best of supported_versions when present and not empty, else legacy.
    public var highestVersion: UInt16 {
        if let list = supportedVersions, let best = TLSVersion.highest(list) { return best }
        return legacyVersion
    }
}

/// What a ServerHello (or HelloRetryRequest, or SSLv2 SERVER-HELLO) chose.
public struct TLSServerHello: Hashable, Sendable {
    public var legacyVersion: UInt16
    /// The supported_versions extension's selected version, when present.
    public var selectedVersion: UInt16?
    /// nil only for SSLv2 SERVER-HELLO, which lists cipher specs and chooses none.
    public var cipherSuite: UInt16?
    public var extensionTypes: [UInt16]
    /// The random is the RFC 8446 HelloRetryRequest constant.
    public var isHelloRetryRequest: Bool
    public var isSSLv2: Bool

    public init(legacyVersion: UInt16) {
        self.legacyVersion = legacyVersion
        self.selectedVersion = nil
        self.cipherSuite = nil
        self.extensionTypes = []
        self.isHelloRetryRequest = false
        self.isSSLv2 = false
    }

    /// supported_versions when present, else legacy.
    public var negotiatedVersion: UInt16 { selectedVersion ?? legacyVersion }
}

/// Odd traffic the TLS parser noticed. Each is counted and reported; none stops the parser
/// unless the description says so.
public enum TLSAnomaly: Hashable, Sendable {
    /// A record longer than `TLSLimits.maxRecordLength`; the parser stops (framing is not trusted).
    case oversizeRecord(length: Int)
    /// A record header with an unknown content type or version after TLS was established;
    /// the parser tries to resynchronise.
    case invalidRecordHeader(contentType: UInt8, version: UInt16)
    /// A handshake message longer than `TLSLimits.maxHandshakeMessage`; its bytes are skipped.
    case handshakeMessageTooLarge(type: UInt8, length: Int)
    /// A ClientHello, ServerHello or Certificate whose fields do not fit their lengths.
    case malformedHandshake(type: UInt8)
    /// A certificate in a Certificate message could not be parsed as X.509 DER.
    case malformedCertificate
    /// An unencrypted alert record whose length is not a multiple of two.
    case malformedAlert(length: Int)
    /// A gap hit a handshake message being reassembled; the message is dropped.
    case handshakeLostInGap
    /// A gap ran past the end of the current record: record framing was lost.
    case framingLostInGap(bytes: Int64)
    /// A plausible record header was found again after lost framing; `skippedBytes` were not parsed.
    case resynchronized(skippedBytes: Int64)
    /// The stream ended inside a record or handshake message (`pendingBytes` received of it).
    case truncatedAtEnd(pendingBytes: Int)
    /// An SSLv2-format record that is not a CLIENT-HELLO or SERVER-HELLO, or is malformed.
    case malformedSSLv2(messageType: UInt8)
    /// An application-data record whose record-layer version differs from the one before it in the
    /// same direction (the version does not change after the handshake).
    case recordVersionChanged(from: UInt16, to: UInt16)
    /// An application-data record whose record-layer version is none that a TLS stack writes there
    /// (above 0x0303, e.g. 0x0304: TLS 1.3 records carry 0x0303; or below 0x0300). It gives no version.
    case implausibleRecordVersion(UInt16)
    /// The application-data records of one direction carry another version than the ServerHello chose
    /// (RFC 5246 6.2.1: after the handshake the records carry the negotiated version; for TLS 1.3,
    /// 0x0303). Raised when the connection ends; `record` is the direction's lowest.
    case recordVersionMismatch(negotiated: UInt16, record: UInt16)

    /// A short stable name for reports and counters.
    public var name: String {
        switch self {
        case .oversizeRecord: return "tls_oversize_record"
        case .invalidRecordHeader: return "tls_invalid_record_header"
        case .handshakeMessageTooLarge: return "tls_handshake_message_too_large"
        case .malformedHandshake: return "tls_malformed_handshake"
        case .malformedCertificate: return "tls_malformed_certificate"
        case .malformedAlert: return "tls_malformed_alert"
        case .handshakeLostInGap: return "tls_handshake_lost_in_gap"
        case .framingLostInGap: return "tls_framing_lost_in_gap"
        case .resynchronized: return "tls_resynchronized"
        case .truncatedAtEnd: return "tls_truncated_at_end"
        case .malformedSSLv2: return "tls_malformed_sslv2"
        case .recordVersionChanged: return "tls_record_version_changed"
        case .implausibleRecordVersion: return "tls_implausible_record_version"
        case .recordVersionMismatch: return "tls_record_version_mismatch"
        }
    }

    /// The stable `name` with the case's values, for text reports: `tls_framing_lost_in_gap (93 bytes)`.
    public var text: String {
        switch self {
        case .oversizeRecord(let length): return "\(name) (length \(length))"
        case .invalidRecordHeader(let type, let version):
            return "\(name) (content type \(type), version \(TLSVersion.hex4(version)))"
        case .handshakeMessageTooLarge(let type, let length): return "\(name) (type \(type), length \(length))"
        case .malformedHandshake(let type): return "\(name) (type \(type))"
        case .malformedAlert(let length): return "\(name) (length \(length))"
        case .framingLostInGap(let bytes): return "\(name) (\(bytes) bytes)"
        case .resynchronized(let skipped): return "\(name) (\(skipped) bytes skipped)"
        case .truncatedAtEnd(let pending): return "\(name) (\(pending) bytes pending)"
        case .malformedSSLv2(let type): return "\(name) (message type \(type))"
        case .recordVersionChanged(let from, let to):
            return "\(name) (\(TLSVersion.hex4(from)) to \(TLSVersion.hex4(to)))"
        case .implausibleRecordVersion(let version): return "\(name) (\(TLSVersion.hex4(version)))"
        case .recordVersionMismatch(let negotiated, let record):
            return "\(name) (negotiated \(TLSVersion.hex4(negotiated)), records \(TLSVersion.hex4(record)))"
        case .malformedCertificate, .handshakeLostInGap: return name
        }
    }
}

/// Why a parser stopped reading its stream. Bytes after a stop are counted in `ignoredBytes`.
public enum TLSStopReason: Hashable, Sendable {
    /// The first bytes were not a TLS or SSLv2 record header.
    case notTLS
    /// A record exceeded `TLSLimits.maxRecordLength`.
    case oversizeRecord
    /// Framing was lost in a gap and no record header was found within `TLSLimits.maxResyncScan` bytes.
    case resyncFailed
}

/// Limits for one `TLSStreamParser`. Hitting one is reported as a `TLSAnomaly`, never a crash.
public struct TLSLimits: Hashable, Sendable {
    /// Largest record body accepted: 2^14 + 2048 by default (RFC 5246 allows that much ciphertext).
    public var maxRecordLength: Int = 16_384 + 2_048
    /// Largest handshake message reassembled, 1 MiB by default: certificate chains of over 300 KiB occur
    /// in the wild. Larger messages are reported and skipped without buffering.
    ///
    /// Known shortcoming: a Certificate message is buffered whole although only its leaf is kept;
    /// parsing the leaf as soon as it is complete would bound memory by one certificate. TODO(perf).
    public var maxHandshakeMessage: Int = 1 << 20
    /// How many bytes to scan for a record header after framing was lost in a gap (1 MiB).
    public var maxResyncScan: Int64 = 1 << 20
    /// Server data this long (nanoseconds) after the open exchange's last record, with no client record
    /// between, starts a new exchange (60 s by default): a push burst whose request was lost in a gap, or
    /// delivered late behind a hole in the client's stream, is not merged into the burst before it.
    public var answerPause: Int64 = 60 * 1_000_000_000

    public init() {}
}

/// What the parser saw, in stream order. Times are those of the chunk holding the event's last byte
/// unless stated.
///
/// The hello and certificate cases are `indirect` (their payloads, lists and texts, in a box of their own):
/// the enum is then a few words, so the application-data events, one per record, are copied, stored and
/// destroyed as small values; inline, every event took the size and the generic copy of the largest case.
public enum TLSEvent: Hashable, Sendable {
    indirect case clientHello(TLSClientHello, time: Timestamp)
    indirect case serverHello(TLSServerHello, time: Timestamp)
    /// The first certificate of a (clear-text, TLS 1.2 or earlier) Certificate message, or nil when
    /// it could not be parsed; `chainLength` counts the certificates in the message.
    indirect case certificate(CertificateSummary?, chainLength: Int, time: Timestamp)
    /// An unencrypted alert. Alerts after ChangeCipherSpec are `encryptedAlert`.
    case alert(level: UInt8, description: UInt8, time: Timestamp)
    case encryptedAlert(recordLength: Int, time: Timestamp)
    case changeCipherSpec(time: Timestamp)
    /// A handshake record after this direction's ChangeCipherSpec (e.g. Finished).
    case encryptedHandshake(recordLength: Int, time: Timestamp)
    /// One application_data record; the length includes the 5-byte header. `start` is the time
    /// of the chunk holding the header's first byte, `end` that of the record's last byte.
    case applicationData(recordLength: Int, start: Timestamp, end: Timestamp)
    /// Application data a gap cut: `captured` bytes of it were seen and `missing` were lost. A record a gap
    /// cut (or the unframed run after a gap that lost framing, until the next header) is reported in parts
    /// as its bytes come: the gap at once, stamped `start`, the bytes after it as they are read. `newRecord`
    /// is set on the part that stands for the record (counted once), clear on the parts that continue it.
    case cutApplicationData(captured: Int64, missing: Int64, newRecord: Bool, start: Timestamp, end: Timestamp)
    /// One heartbeat record (length with header).
    case heartbeat(recordLength: Int, time: Timestamp)
    /// The stream does not carry TLS; the parser stopped at this stream offset.
    case notTLS(offset: Int64, time: Timestamp)
    indirect case sslv2ClientHello(TLSClientHello, time: Timestamp)
    indirect case sslv2ServerHello(TLSServerHello, time: Timestamp)
    case anomaly(TLSAnomaly, time: Timestamp)
}
