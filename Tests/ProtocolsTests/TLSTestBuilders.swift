import Core
import Protocols
import TestSupport

/// Hand-built TLS records and handshake messages for the parser tests.
enum TLSBuild {
    static func u16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    static func u24(_ v: Int) -> [UInt8] { [UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }

    /// A record: type, version, 2-byte length, body.
    static func record(_ type: UInt8, _ body: [UInt8], version: UInt16 = 0x0303) -> [UInt8] {
        [type] + u16(Int(version)) + u16(body.count) + body
    }

    /// A handshake message: type, 3-byte length, body.
    static func handshake(_ type: UInt8, _ body: [UInt8]) -> [UInt8] {
        [type] + u24(body.count) + body
    }

    static func extensionBlock(_ type: Int, _ data: [UInt8]) -> [UInt8] {
        u16(type) + u16(data.count) + data
    }

    static func sniExtension(_ host: String) -> [UInt8] {
        let name = Array(host.utf8)
        let entry = [0] + u16(name.count) + name
        return extensionBlock(0, u16(entry.count) + entry)
    }

    static func supportedVersionsExtension(_ versions: [UInt16]) -> [UInt8] {
        let list = versions.flatMap { u16(Int($0)) }
        return extensionBlock(43, [UInt8(list.count)] + list)
    }

    static func alpnExtension(_ names: [String]) -> [UInt8] {
        let list = names.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) }
        return extensionBlock(16, u16(list.count) + list)
    }

    /// A ClientHello body with a 32-byte session id, the given suites and extensions.
    static func clientHelloBody(version: UInt16 = 0x0303, suites: [UInt16], extensions: [[UInt8]]) -> [UInt8] {
        var b = u16(Int(version)) + [UInt8](repeating: 0x11, count: 32)
        b += [32] + [UInt8](repeating: 0x22, count: 32)
        b += u16(suites.count * 2) + suites.flatMap { u16(Int($0)) }
        b += [1, 0]
        let ext = extensions.flatMap { $0 }
        if !extensions.isEmpty { b += u16(ext.count) + ext }
        return b
    }

    static let helloRetryRandom: [UInt8] = bytes("""
        cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c
        """)

    static func serverHelloBody(version: UInt16 = 0x0303, suite: UInt16, selected: UInt16? = nil,
                                retry: Bool = false) -> [UInt8] {
        var b = u16(Int(version)) + (retry ? helloRetryRandom : [UInt8](repeating: 0x33, count: 32))
        b += [0] + u16(Int(suite)) + [0]
        var ext: [UInt8] = extensionBlock(0xff01, [0])
        if let v = selected { ext += extensionBlock(43, u16(Int(v))) }
        return b + u16(ext.count) + ext
    }

    static func certificateBody(_ certificates: [[UInt8]]) -> [UInt8] {
        let list = certificates.flatMap { u24($0.count) + $0 }
        return u24(list.count) + list
    }

    /// A typical modern ClientHello record: GREASE suite, extension and version; SNI; ALPN.
    static func modernClientHelloRecord(host: String = "sepm.example.test") -> [UInt8] {
        let body = clientHelloBody(
            suites: [0x1a1a, 0x1301, 0x1302, 0xc02f],
            extensions: [
                extensionBlock(0x2a2a, []),
                sniExtension(host),
                alpnExtension(["h2", "http/1.1"]),
                supportedVersionsExtension([0x3a3a, 0x0304, 0x0303]),
            ])
        return record(22, handshake(1, body), version: 0x0301)
    }
}

/// Feeds chunks to a fresh parser and returns every event, `finish` included.
func parseTLS(_ chunks: [[UInt8]], limits: TLSLimits = TLSLimits(), finish: Bool = true) -> [TLSEvent] {
    var parser = TLSStreamParser(limits: limits)
    var events: [TLSEvent] = []
    for (i, chunk) in chunks.enumerated() {
        chunk.withUnsafeBytes { parser.feed($0, time: Timestamp(nanoseconds: Int64(i + 1)), into: &events) }
    }
    if finish { parser.finish(time: Timestamp(nanoseconds: 1000), into: &events) }
    return events
}

/// Splits `data` into chunks at the given offsets.
func splitBytes(_ data: [UInt8], at cuts: [Int]) -> [[UInt8]] {
    var out: [[UInt8]] = []
    var last = 0
    for c in cuts {
        out.append(Array(data[last..<c]))
        last = c
    }
    out.append(Array(data[last...]))
    return out
}

extension TLSEvent {
    var clientHello: TLSClientHello? {
        switch self {
        case .clientHello(let h, _), .sslv2ClientHello(let h, _): return h
        default: return nil
        }
    }

    var serverHello: TLSServerHello? {
        switch self {
        case .serverHello(let h, _), .sslv2ServerHello(let h, _): return h
        default: return nil
        }
    }

    var anomaly: TLSAnomaly? {
        if case .anomaly(let a, _) = self { return a }
        return nil
    }
}
