import Core
import Records

/// One ClientHello or ServerHello as the oracle tables list them (`stream kind sni_or_empty version
/// cipher_or_empty`), kept in stream order by `TLSConversation`.
public struct TLSHelloRow: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        case clientHello = "clienthello"
        case serverHello = "serverhello"
    }

    public var kind: Kind
    public var direction: Direction
    /// ClientHello: first host_name of server_name. Always nil for ServerHello.
    public var serverName: String?
    /// ClientHello: highest offered version (GREASE ignored). ServerHello: supported_versions if present,
    /// else legacy_version. SSLv2 hellos: their version field.
    public var version: UInt16
    /// ServerHello's cipher suite; nil for ClientHello and SSLv2 SERVER-HELLO.
    public var cipherSuite: UInt16?
    public var time: Timestamp
    public var isSSLv2: Bool
    public var isHelloRetryRequest: Bool

    public init(client hello: TLSClientHello, direction: Direction, time: Timestamp) {
        kind = .clientHello
        self.direction = direction
        serverName = hello.serverName
        version = hello.highestVersion
        cipherSuite = nil
        self.time = time
        isSSLv2 = hello.isSSLv2
        isHelloRetryRequest = false
    }

    public init(server hello: TLSServerHello, direction: Direction, time: Timestamp) {
        kind = .serverHello
        self.direction = direction
        serverName = nil
        version = hello.negotiatedVersion
        cipherSuite = hello.cipherSuite
        self.time = time
        isSSLv2 = hello.isSSLv2
        isHelloRetryRequest = hello.isHelloRetryRequest
    }

    /// The oracle's columns after `stream`: kind, SNI or empty, version (`TLSVersion.oracleName`),
    /// cipher as `0x%04x` or empty.
    public var oracleFields: [String] {
        [kind.rawValue, serverName ?? "", TLSVersion.oracleName(version), cipherSuite.map(TLSVersion.hex4) ?? ""]
    }

    /// `oracleFields` joined by tabs, as in the `.tls.tsv` files (without the stream column).
    public var oracleLine: String { oracleFields.joined(separator: "\t") }
}

/// An anomaly with the direction it was seen in.
public struct TLSDirectedAnomaly: Hashable, Sendable {
    public var direction: Direction
    public var anomaly: TLSAnomaly
    public var time: Timestamp

    public init(direction: Direction, anomaly: TLSAnomaly, time: Timestamp) {
        self.direction = direction
        self.anomaly = anomaly
        self.time = time
    }
}

extension TLSVersion {
    /// TLS 1.3 or one of its draft/experiment codes (0x7fNN, 0x7eNN, 0xfbNN): after the ServerHello
    /// every record is sent as application_data, handshake included.
    public static func isTLS13Family(_ v: UInt16) -> Bool {
        let hi = v >> 8
        return v == tls13 || hi == 0x7f || hi == 0x7e || hi == 0xfb
    }
}
