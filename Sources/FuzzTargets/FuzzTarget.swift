/// The parsers of sepbeat, each behind one entry point that takes arbitrary bytes.
///
/// Every entry point feeds the bytes to its parser as the product does, and checks cheap
/// invariants with `precondition` (a payload lies inside its input, a parser never accounts for
/// more bytes than it was given, counts add up). A crash, a failed precondition or a hang is a bug;
/// a thrown error or a refused input is not.
///
/// Used by the libFuzzer driver (`Scripts/fuzz.sh`, built only with `SEPBEAT_FUZZ=1`) and by the
/// deterministic mutation tests in `FuzzTargetsTests`.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// Link, IP and TCP decoding of a few frames (length-prefixed), the link type from byte 0.
    case packet
    /// The same on raw IPv4/IPv6 with small reassembly limits, for fragment reassembly.
    case fragments
    /// The HTTP/1 request parser, bytes split at points chosen by the first bytes.
    case httpRequest = "http-request"
    /// The HTTP/1 response parser, after a request method chosen by byte 0.
    case httpResponse = "http-response"
    /// A whole HTTP/1 conversation: bytes split into chunks of either direction.
    case httpConversation = "http-conversation"
    /// A TLS conversation: bytes split into chunks of either direction, with gaps.
    case tlsStream = "tls-stream"
    /// The bytes as the body of a ClientHello handshake message in handshake records.
    case tlsClientHello = "tls-client-hello"
    /// The bytes as the body of a ServerHello handshake message.
    case tlsServerHello = "tls-server-hello"
    /// The bytes as the body of a Certificate handshake message.
    case tlsCertificate = "tls-certificate"
    /// The bytes as one DER certificate.
    case x509
    /// The bytes as a pcapng file, read by the own pcapng reader.
    case pcapng
    /// The bytes as a classic pcap file, read by the own classic pcap reader and by libpcap alone: the same
    /// records and statistics.
    case pcap
    /// The bytes as a capture file (classic pcap or pcapng), through the whole traffic analysis.
    case capture
    /// The bytes as a gzip, xz or bzip2 capture file read as a user's file is, through the decompressor;
    /// or (odd byte 0) a plain capture compressed first, so mutations reach the readers behind it.
    case compressed
    /// The bytes as a reference model JSON file.
    case referenceModel = "reference-model"
    /// The bytes as a SyLink.xml file.
    case sylink
    /// The bytes as Zeek's conn.log, http.log and ssl.log (apart by NUL bytes), read and joined as `--zeek` reads
    /// them.
    case zeekLog = "zeek-log"

    /// Runs the target over `bytes` (borrowed for the call).
    public func run(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .packet: DecodingTargets.packet(bytes)
        case .fragments: DecodingTargets.fragments(bytes)
        case .httpRequest: HTTPTargets.request(bytes)
        case .httpResponse: HTTPTargets.response(bytes)
        case .httpConversation: HTTPTargets.conversation(bytes)
        case .tlsStream: TLSTargets.stream(bytes)
        case .tlsClientHello: TLSTargets.handshakeMessage(type: 1, body: bytes)
        case .tlsServerHello: TLSTargets.handshakeMessage(type: 2, body: bytes)
        case .tlsCertificate: TLSTargets.handshakeMessage(type: 11, body: bytes)
        case .x509: TLSTargets.x509(bytes)
        case .pcapng: CaptureTargets.pcapng(bytes)
        case .pcap: CaptureTargets.pcap(bytes)
        case .capture: CaptureTargets.capture(bytes)
        case .compressed: CompressedTargets.compressed(bytes)
        case .referenceModel: HeartbeatTargets.referenceModel(bytes)
        case .sylink: HeartbeatTargets.sylink(bytes)
        case .zeekLog: ZeekTargets.logs(bytes)
        }
    }

    /// Runs the target over `bytes`.
    public func run(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { run($0) }
    }
}
