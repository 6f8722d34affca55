import Records

/// Parsers for the clear-text handshake messages the stream parser reports.
///
/// Each takes a borrowed message body (after the 4-byte handshake header), copies what it keeps,
/// and returns nil when a length does not fit. Extensions that are cut short end the list but
/// keep what was read before them only if the fixed part was whole.
enum TLSHelloParsing {
    /// The SHA-256 of "HelloRetryRequest" that a HelloRetryRequest carries as its random (RFC 8446 4.1.3).
    static let helloRetryRandom: [UInt8] = [
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
        0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
    ]

    static let extServerName: UInt16 = 0
    static let extALPN: UInt16 = 16
    static let extSupportedVersions: UInt16 = 43

    static func clientHello(_ body: UnsafeRawBufferPointer) -> TLSClientHello? {
        var c = TLSByteCursor(body)
        guard let version = c.u16(), c.skip(32), c.vector(lengthBytes: 1) != nil,
              var suites = c.vector(lengthBytes: 2), suites.remaining % 2 == 0,
              c.vector(lengthBytes: 1) != nil
        else { return nil }
        var hello = TLSClientHello(legacyVersion: version)
        // Sized once (the lists grew by doubling, several allocations per hello).
        hello.cipherSuites.reserveCapacity(suites.remaining / 2)
        while let s = suites.u16() { hello.cipherSuites.append(s) }

        guard !c.isAtEnd else { return hello }  // SSL 3.0-era hellos may have no extensions
        guard var exts = c.vector(lengthBytes: 2) else { return nil }
        hello.extensionTypes.reserveCapacity(exts.remaining / 4)  // at most one per 4 bytes
        while !exts.isAtEnd {
            guard let type = exts.u16(), var data = exts.vector(lengthBytes: 2) else { return nil }
            hello.extensionTypes.append(type)
            switch type {
            case extServerName where hello.serverName == nil:
                hello.serverName = firstHostName(&data)
            case extSupportedVersions:
                guard var list = data.vector(lengthBytes: 1) else { return nil }
                var versions: [UInt16] = []
                while let v = list.u16() {
                    if !TLSVersion.isGREASE(v) { versions.append(v) }
                }
                hello.supportedVersions = versions
            case extALPN:
                guard var list = data.vector(lengthBytes: 2) else { return nil }
                while let name = list.vector(lengthBytes: 1) {
                    hello.alpn.append(String(decoding: name.base, as: UTF8.self))
                }
            default:
                break
            }
        }
        return hello
    }

    private static func firstHostName(_ data: inout TLSByteCursor) -> String? {
        guard var list = data.vector(lengthBytes: 2) else { return nil }
        while let type = list.u8(), let name = list.vector(lengthBytes: 2) {
            if type == 0 { return String(decoding: name.base, as: UTF8.self) }
        }
        return nil
    }

    /// TLS 1.3 drafts up to 21 (0x7f00...0x7f15) and Google's 0x7eNN experiments sent a ServerHello
    /// without session id and compression method; draft 22 went back to the TLS 1.2 layout.
    static func usesDraftServerHelloLayout(_ version: UInt16) -> Bool {
        (version >> 8 == 0x7f && version & 0xff < 22) || version >> 8 == 0x7e
    }

    static func serverHello(_ body: UnsafeRawBufferPointer) -> TLSServerHello? {
        var c = TLSByteCursor(body)
        guard let version = c.u16(), let random = c.bytes(32) else { return nil }
        let draft = usesDraftServerHelloLayout(version)
        guard draft || c.vector(lengthBytes: 1) != nil, let suite = c.u16(), draft || c.skip(1) else { return nil }
        var hello = TLSServerHello(legacyVersion: version)
        hello.cipherSuite = suite
        hello.isHelloRetryRequest = random.elementsEqual(helloRetryRandom)

        guard !c.isAtEnd else { return hello }
        guard var exts = c.vector(lengthBytes: 2) else { return nil }
        while !exts.isAtEnd {
            guard let type = exts.u16(), var data = exts.vector(lengthBytes: 2) else { return nil }
            hello.extensionTypes.append(type)
            if type == extSupportedVersions, let v = data.u16() {
                hello.selectedVersion = v
            }
        }
        return hello
    }

    /// A TLS 1.2-or-earlier Certificate message: a 3-byte list length, then 3-byte-length certificates.
    /// Returns the leaf's DER bytes (borrowed from `body`) and the number of certificates, or nil.
    static func certificateList(_ body: UnsafeRawBufferPointer) -> (leaf: UnsafeRawBufferPointer?, count: Int)? {
        var c = TLSByteCursor(body)
        guard var list = c.vector(lengthBytes: 3) else { return nil }
        var leaf: UnsafeRawBufferPointer?
        var count = 0
        while !list.isAtEnd {
            guard let cert = list.vector(lengthBytes: 3) else { return nil }
            if leaf == nil { leaf = cert.base }
            count += 1
        }
        return (leaf, count)
    }

    // MARK: - SSLv2

    /// An SSLv2 CLIENT-HELLO body after its 2-byte record header (message type byte first).
    static func sslv2ClientHello(_ body: UnsafeRawBufferPointer) -> TLSClientHello? {
        var c = TLSByteCursor(body)
        guard c.u8() == 1, let version = c.u16(), let specLength = c.u16(), let sidLength = c.u16(),
              let challengeLength = c.u16(), specLength % 3 == 0,
              var specs = c.sub(Int(specLength)), c.skip(Int(sidLength)), c.skip(Int(challengeLength))
        else { return nil }
        var hello = TLSClientHello(legacyVersion: version)
        hello.isSSLv2 = true
        while let first = specs.u8(), let rest = specs.u16() {
            if first == 0 { hello.cipherSuites.append(rest) }
        }
        return hello
    }

    /// An SSLv2 SERVER-HELLO body after its 2-byte record header. It chooses no cipher suite.
    static func sslv2ServerHello(_ body: UnsafeRawBufferPointer) -> TLSServerHello? {
        var c = TLSByteCursor(body)
        guard c.u8() == 4, c.skip(2), let version = c.u16(), let certLength = c.u16(),
              let specLength = c.u16(), let idLength = c.u16(),
              c.skip(Int(certLength)), c.skip(Int(specLength)), c.skip(Int(idLength))
        else { return nil }
        var hello = TLSServerHello(legacyVersion: version)
        hello.isSSLv2 = true
        return hello
    }
}
