/// TLS 1.3 records of a check-in without encryption keys (RFC 8446), for a model whose minimum is 1.3.
///
/// What crosses the wire in clear is real: a ClientHello offering only TLS 1.3 (`supported_versions`
/// 0x0304, an X25519 `key_share`, SNI), and a ServerHello choosing it (legacy version 0x0303,
/// `supported_versions` 0x0304 and a `key_share`). Everything after the ServerHello is encrypted in
/// TLS 1.3, so it is sent as application-data records (type 23, record version 0x0303) of the sizes
/// the encrypted messages would have, filled with opaque bytes; each side also sends the one
/// ChangeCipherSpec record of middlebox compatibility mode (RFC 8446 D.4).
enum TLS13Messages {
    /// TLS 1.3's record-layer version, and the legacy version of its hellos.
    static let legacyVersion: UInt16 = 0x0303
    /// AEAD tag (16) and inner content type (1) that each encrypted record adds to its plaintext.
    static let recordOverhead = 17

    /// ClientHello offering TLS 1.3 only, with SNI `serverName`.
    static func clientHello(serverName: [UInt8], random: inout SimulationRandom, into out: inout [UInt8]) -> Int {
        let start = out.count
        let recordLength = out.openHandshakeRecord(version: 0x0301)
        let helloLength = out.openHandshakeMessage(1)  // client_hello
        out.append16(legacyVersion)
        appendWords(4, &random, into: &out)  // random
        out.append(32)  // legacy_session_id (compatibility mode)
        appendWords(4, &random, into: &out)
        // AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305
        let extensionsLength = out.appendHelloOffers(suites: [0x1301, 0x1302, 0x1303], serverName: serverName)
        // supported_groups: x25519, secp256r1
        out.append16(10)
        out.append16(6)
        out.append16(4)
        out.append16(0x001D)
        out.append16(0x0017)
        // signature_algorithms: rsa_pss_rsae_sha256, ecdsa_secp256r1_sha256, rsa_pkcs1_sha256
        out.append16(13)
        out.append16(8)
        out.append16(6)
        out.append16(0x0804)
        out.append16(0x0403)
        out.append16(0x0401)
        // supported_versions: TLS 1.3 only
        out.append16(43)
        out.append16(3)
        out.append(2)
        out.append16(0x0304)
        // key_share: one X25519 share
        out.append16(51)
        out.append16(38)
        out.append16(36)  // client_shares
        appendX25519Share(&random, into: &out)
        out.closeLength16(at: extensionsLength)
        out.closeLength24(at: helloLength)
        out.closeLength16(at: recordLength)
        return out.count - start
    }

    /// ServerHello choosing TLS 1.3 (in a record of its own), ChangeCipherSpec, and one application-data
    /// record the size of the encrypted EncryptedExtensions, Certificate, CertificateVerify and Finished.
    static func serverFlight(random: inout SimulationRandom, into out: inout [UInt8]) -> Int {
        let start = out.count
        let recordLength = out.openHandshakeRecord(version: legacyVersion)
        let helloLength = out.openHandshakeMessage(2)  // server_hello
        out.append16(legacyVersion)
        appendWords(4, &random, into: &out)  // random
        out.append(32)  // legacy_session_id_echo
        appendWords(4, &random, into: &out)
        out.append16(0x1301)  // TLS_AES_128_GCM_SHA256
        out.append(0)
        out.append16(6 + 40)  // extensions
        out.append16(43)  // supported_versions: TLS 1.3
        out.append16(2)
        out.append16(0x0304)
        out.append16(51)  // key_share: X25519
        out.append16(36)
        appendX25519Share(&random, into: &out)
        out.closeLength24(at: helloLength)
        out.closeLength16(at: recordLength)
        appendChangeCipherSpec(into: &out)
        // EncryptedExtensions (empty), Certificate (no context, one entry without extensions),
        // CertificateVerify (RSA-PSS, 256-byte signature), Finished (SHA-256).
        let der = EmbeddedCertificate.der.count
        let encryptedExtensions = 4 + 2
        let certificate = 4 + 1 + 3 + 3 + der + 2
        let certificateVerify = 4 + 2 + 2 + 256
        let finished = 4 + 32
        appendEncrypted(encryptedExtensions + certificate + certificateVerify + finished,
                        salt: random.next(), into: &out)
        return out.count - start
    }

    /// The client's ChangeCipherSpec and its encrypted Finished.
    static func clientFinish(salt: UInt64, into out: inout [UInt8]) -> Int {
        let start = out.count
        appendChangeCipherSpec(into: &out)
        appendEncrypted(4 + 32, salt: salt, into: &out)
        return out.count - start
    }

    /// The client's close_notify alert, encrypted: an application-data record of 24 bytes.
    static func closeNotify(salt: UInt64, into out: inout [UInt8]) -> Int {
        let start = out.count
        appendEncrypted(2, salt: salt, into: &out)
        return out.count - start
    }

    private static func appendChangeCipherSpec(into out: inout [UInt8]) {
        out.append(20)
        out.append16(legacyVersion)
        out.append16(1)
        out.append(1)
    }

    /// One application-data record holding `plaintext` bytes once encrypted.
    private static func appendEncrypted(_ plaintext: Int, salt: UInt64, into out: inout [UInt8]) {
        let length = plaintext + recordOverhead
        out.append(23)
        out.append16(legacyVersion)
        out.append16(UInt16(length))
        out.appendFiller(length, salt: salt, text: false)
    }

    /// One X25519 key share entry: the group, the key's length (32) and the key.
    private static func appendX25519Share(_ random: inout SimulationRandom, into out: inout [UInt8]) {
        out.append16(0x001D)
        out.append16(32)
        appendWords(4, &random, into: &out)
    }

    private static func appendWords(_ n: Int, _ random: inout SimulationRandom, into out: inout [UInt8]) {
        for _ in 0..<n {
            let w = random.next()
            for i in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: w >> UInt64(i))) }
        }
    }
}
