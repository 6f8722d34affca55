/// Plain-HTTP check-in messages: real HTTP/1.1 requests to the secars path and responses
/// with Content-Length, appended to a phase's stream buffers.
enum HTTPMessages {
    enum Method { case get, post }

    /// Appends a request for `<path>?h=<32 hex digits>` (the model's `http.secarsPath`) sent by `userAgent`
    /// and returns its length; in absolute form when `absolute` (`http://host:port`, as a client sends plain
    /// HTTP to a proxy) is given.
    static func request(
        _ method: Method, token: UInt64, host: [UInt8], bodyLength: Int, salt: UInt64, into out: inout [UInt8],
        absolute: [UInt8] = [], path: [UInt8], userAgent: [UInt8]
    ) -> Int {
        let start = out.count
        switch method {
        case .get: out.appendText("GET ")
        case .post: out.appendText("POST ")
        }
        out.append(contentsOf: absolute)
        out.append(contentsOf: path)
        out.appendText("?h=")
        out.appendHex(token)
        out.appendHex(token &* 0x9E37_79B9_7F4A_7C15)
        out.appendText(" HTTP/1.1\r\nUser-Agent: ")
        out.append(contentsOf: userAgent)
        out.appendText("\r\nHost: ")
        out.append(contentsOf: host)
        out.appendText("\r\nConnection: Keep-Alive\r\n")
        if method == .post {
            out.appendText("Content-Type: application/octet-stream\r\nContent-Length: ")
            out.appendDecimal(bodyLength)
            out.appendText("\r\n")
        }
        out.appendText("\r\n")
        if bodyLength > 0 { out.appendFiller(bodyLength, salt: salt, text: false) }
        return out.count - start
    }

    /// Appends a response with a `bodyLength`-byte text body and returns its length.
    static func response(status: Int, bodyLength: Int, salt: UInt64, into out: inout [UInt8]) -> Int {
        let start = out.count
        switch status {
        case 503: out.appendText("HTTP/1.1 503 Service Unavailable\r\n")
        case 400: out.appendText("HTTP/1.1 400 Bad Request\r\n")
        default: out.appendText("HTTP/1.1 200 OK\r\n")
        }
        out.appendText("Content-Type: text/plain\r\nContent-Length: ")
        out.appendDecimal(bodyLength)
        out.appendText("\r\n\r\n")
        out.appendFiller(bodyLength, salt: salt, text: true)
        return out.count - start
    }

    /// Length of a response head for a body of `bodyLength` bytes (status 200, 400 or 503).
    static func responseHeadLength(status: Int, bodyLength: Int) -> Int {
        var scratch: [UInt8] = []
        scratch.reserveCapacity(96)
        return response(status: status, bodyLength: 0, salt: 0, into: &scratch) - 1 + decimalDigits(bodyLength)
    }

    static func decimalDigits(_ v: Int) -> Int {
        var d = 1
        var t = max(0, v)
        while t >= 10 {
            t /= 10
            d += 1
        }
        return d
    }
}

/// TLS records of a check-in without encryption keys: a full handshake with RSA key exchange
/// (ClientHello with SNI, ServerHello, Certificate, ServerHelloDone, ClientKeyExchange,
/// ChangeCipherSpec, Finished) and application-data records of chosen sizes.
enum TLSMessages {
    static let recordPayloadMax = 16_384

    /// ClientHello offering `version` (0x0303 or 0x0301) with SNI `serverName`.
    static func clientHello(version: UInt16, serverName: [UInt8], random: inout SimulationRandom,
                            into out: inout [UInt8]) -> Int {
        let start = out.count
        let recordLength = out.openHandshakeRecord(version: 0x0301)
        let helloLength = out.openHandshakeMessage(1)  // client_hello
        out.append16(version)
        for _ in 0..<4 { appendWord(random.next(), into: &out) }
        out.append(0)  // no session id
        let suites: [UInt16] = version >= 0x0303 ? [0xC02F, 0x009C, 0x003C, 0x002F, 0x0035] : [0x002F, 0x0035]
        let extensionsLength = out.appendHelloOffers(suites: suites, serverName: serverName)
        if version >= 0x0303 {
            // signature_algorithms: rsa_pkcs1_sha256, rsa_pkcs1_sha384, rsa_pkcs1_sha1
            out.append16(13)
            out.append16(8)
            out.append16(6)
            out.append16(0x0401)
            out.append16(0x0501)
            out.append16(0x0201)
        }
        // renegotiation_info (empty)
        out.append16(0xFF01)
        out.append16(1)
        out.append(0)
        out.closeLength16(at: extensionsLength)
        out.closeLength24(at: helloLength)
        out.closeLength16(at: recordLength)
        return out.count - start
    }

    /// ServerHello choosing `version`, Certificate and ServerHelloDone in one record.
    static func serverFlight(version: UInt16, random: inout SimulationRandom, into out: inout [UInt8]) -> Int {
        let start = out.count
        let recordLength = out.openHandshakeRecord(version: version)
        let helloLength = out.openHandshakeMessage(2)  // ServerHello
        out.append16(version)
        for _ in 0..<4 { appendWord(random.next(), into: &out) }
        out.append(32)
        for _ in 0..<4 { appendWord(random.next(), into: &out) }
        out.append16(version >= 0x0303 ? 0x003C : 0x002F)
        out.append(0)
        out.append16(5)  // extensions: renegotiation_info (empty)
        out.append16(0xFF01)
        out.append16(1)
        out.append(0)
        out.closeLength24(at: helloLength)
        // Certificate
        let der = EmbeddedCertificate.der
        out.append(11)
        out.append24(der.count + 6)
        out.append24(der.count + 3)
        out.append24(der.count)
        out.append(contentsOf: der)
        // ServerHelloDone
        out.append(14)
        out.append24(0)
        out.closeLength16(at: recordLength)
        return out.count - start
    }

    /// ClientKeyExchange (RSA, 256 bytes), ChangeCipherSpec and the encrypted Finished.
    static func clientFinish(version: UInt16, salt: UInt64, into out: inout [UInt8]) -> Int {
        let start = out.count
        out.append(22)
        out.append16(version)
        out.append16(4 + 2 + 256)
        out.append(16)
        out.append24(2 + 256)
        out.append16(256)
        out.appendFiller(256, salt: salt, text: false)
        out += changeCipherSpecAndFinished(version: version, salt: salt &+ 7)
        return out.count - start
    }

    /// ChangeCipherSpec and the encrypted Finished of the server.
    static func serverFinish(version: UInt16, salt: UInt64, into out: inout [UInt8]) -> Int {
        let start = out.count
        out += changeCipherSpecAndFinished(version: version, salt: salt)
        return out.count - start
    }

    private static func changeCipherSpecAndFinished(version: UInt16, salt: UInt64) -> [UInt8] {
        var out: [UInt8] = [20, UInt8(version >> 8), UInt8(version & 0xFF), 0, 1, 1]
        // AES-CBC: explicit IV (1.2) + 16 bytes verify data + MAC + padding.
        let finished = version >= 0x0303 ? 80 : 48
        out.append(22)
        out.append16(version)
        out.append16(UInt16(finished))
        out.appendFiller(finished, salt: salt, text: false)
        return out
    }

    /// Application-data records totalling exactly `total` bytes (headers included), each at most
    /// 16,384 payload bytes. `total` below 6 is raised to 6 (one header and one byte).
    static func applicationData(total: Int, version: UInt16, salt: UInt64, into out: inout [UInt8]) -> Int {
        let start = out.count
        var left = max(total, 6)
        var s = salt
        while left > 0 {
            var take = min(left, recordPayloadMax + 5)
            if left - take > 0, left - take < 64 { take = left - 64 }
            out.append(23)
            out.append16(version)
            out.append16(UInt16(take - 5))
            out.appendFiller(take - 5, salt: s, text: false)
            s = s &* 6_364_136_223_846_793_005 &+ 1
            left -= take
        }
        return out.count - start
    }

    /// A fatal handshake_failure alert (40) in clear, as a server refusing a ClientHello sends it.
    static func fatalAlert(handshakeFailureInto out: inout [UInt8]) -> Int {
        out.append(21)
        out.append16(0x0303)
        out.append16(2)
        out.append(2)
        out.append(40)
        return 7
    }

    /// The client's encrypted close_notify alert.
    static func closeNotify(version: UInt16, salt: UInt64, into out: inout [UInt8]) -> Int {
        out.append(21)
        out.append16(version)
        let length = version >= 0x0303 ? 64 : 32
        out.append16(UInt16(length))
        out.appendFiller(length, salt: salt, text: false)
        return 5 + length
    }

    private static func appendWord(_ w: UInt64, into out: inout [UInt8]) {
        for i in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: w >> UInt64(i))) }
    }
}
