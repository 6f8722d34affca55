import Core
import Records

/// Hand-made connection records for fleet tests, filled the way the traffic layers fill them.
struct FleetRecords {
    static let origin = Timestamp(seconds: 1_767_225_600, nanoseconds: 0)
    var records: [ConnectionRecord] = []
    private var nextID: UInt64 = 1
    private var nextPort: UInt16 = 49_152

    static func address(_ text: String) -> IPAddress {
        guard let a = IPAddress(text) else { preconditionFailure("bad test address \(text)") }
        return a
    }

    private mutating func base(_ client: String, _ server: String, _ port: UInt16, _ start: Timestamp)
        -> ConnectionRecord {
        let c = ConnectionRecord(
            id: nextID, client: Endpoint(address: Self.address(client), port: nextPort),
            server: Endpoint(address: Self.address(server), port: port), start: start, end: start)
        nextID += 1
        nextPort = nextPort == 65_000 ? 49_152 : nextPort + 1
        return c
    }

    /// An idle HTTPS check-in `seconds` after the origin: TLS set-up, one 900/3100-byte exchange, FIN.
    mutating func idle(_ client: String, at seconds: Double, server: String = "198.51.100.1",
                       tls: UInt16 = 0x0303, sni: String? = nil) {
        let start = Self.origin.adding(seconds: seconds)
        var c = base(client, server, 443, start)
        c.synTime = start
        c.synAckTime = start.adding(seconds: 0.001)
        c.synCount = 1
        c.handshake = .established
        c.state = [.syn, .synAck, .finFromClient]
        c.application = .tls
        var summary = TLSSummary()
        summary.clientVersion = tls
        summary.negotiatedVersion = tls
        summary.serverName = sni
        c.tls = summary
        var e = Exchange(index: 0, kind: .tls, start: start.adding(seconds: 0.06), end: start.adding(seconds: 0.1))
        e.responseStart = start.adding(seconds: 0.08)
        e.bytesUp = 900
        e.bytesDown = 3_100
        e.recordsUp = 1
        e.recordsDown = 1
        c.exchanges = [e]
        c.bytesUp = 517 + 900
        c.bytesDown = 1_900 + 3_100
        c.packetsUp = 5
        c.packetsDown = 4
        c.closeTime = start.adding(seconds: 0.11)
        c.end = start.adding(seconds: 0.12)
        records.append(c)
    }

    /// A connect refused by the manager (SYN answered by RST) `seconds` after the origin.
    mutating func refused(_ client: String, at seconds: Double, server: String = "198.51.100.1") {
        let start = Self.origin.adding(seconds: seconds)
        var c = base(client, server, 443, start)
        c.synTime = start
        c.synCount = 1
        c.packetsUp = 1
        c.packetsDown = 1
        c.state = [.syn, .rstFromServer]
        c.handshake = .refused
        c.closeTime = start.adding(seconds: 0.0005)
        c.end = start.adding(seconds: 0.0005)
        records.append(c)
    }
}
