import Core
import Records

@testable import Heartbeat

/// 2026-01-01T00:00:00Z, the origin of every test timeline.
let epoch = Timestamp(seconds: 1_767_225_600, nanoseconds: 0)

/// A time `seconds` after `epoch`.
func at(_ seconds: Double) -> Timestamp { epoch.adding(seconds: seconds) }

func ip(_ text: String) -> IPAddress {
    guard let a = IPAddress(text) else { preconditionFailure("bad test address \(text)") }
    return a
}

/// One request and reply inside a hand-built connection.
struct ExchangeSpec {
    var up: Int64
    var down: Int64
    var method: String? = nil
    var target: String = "/secars/secars.dll?h=0123456789ABCDEF"
    var status: Int? = 200
    var host: String? = nil
    /// Seconds after the previous exchange ended (after the handshake for the first).
    var after: Double = 0.05

    static func tls(_ up: Int64, _ down: Int64, after: Double = 0.05) -> ExchangeSpec {
        ExchangeSpec(up: up, down: down, after: after)
    }

    static func http(_ method: String, _ up: Int64, _ down: Int64, status: Int? = 200,
                     target: String = "/secars/secars.dll?h=0123456789ABCDEF") -> ExchangeSpec {
        ExchangeSpec(up: up, down: down, method: method, target: target, status: status)
    }
}

/// Builds `ConnectionRecord` values the way the traffic layers would fill them.
struct RecordFactory {
    var nextID: UInt64 = 1
    var nextPort: UInt16 = 49_152
    /// TLS handshake payload each way (ClientHello; ServerHello + certificate), outside the exchanges.
    var handshakeUp: Int64 = 517
    var handshakeDown: Int64 = 1_900

    private mutating func base(client: String, server: String, port: UInt16, start: Timestamp) -> ConnectionRecord {
        let c = ConnectionRecord(
            id: nextID, client: Endpoint(address: ip(client), port: nextPort),
            server: Endpoint(address: ip(server), port: port), start: start, end: start)
        nextID += 1
        nextPort = nextPort == 65_000 ? 49_152 : nextPort + 1
        return c
    }

    /// An established connection carrying `exchanges`; TLS on `tlsVersion` unless `http` is set.
    mutating func connection(
        client: String = "10.0.0.5", server: String = "198.51.100.1", port: UInt16 = 443, start: Timestamp,
        exchanges: [ExchangeSpec], tlsVersion: UInt16? = 0x0303, sni: String? = nil, synToData: Double = 0.06,
        openAtEnd: Bool = false, close: ConnectionState = .finFromClient, anomalies: StreamAnomalies = StreamAnomalies()
    ) -> ConnectionRecord {
        var c = base(client: client, server: server, port: port, start: start)
        let isHTTP = exchanges.contains { $0.method != nil } || tlsVersion == nil
        c.synTime = start
        c.synAckTime = start.adding(seconds: 0.001)
        c.synCount = 1
        c.handshake = .established
        c.state = [.syn, .synAck]
        c.application = isHTTP ? .http : .tls
        if !isHTTP {
            var summary = TLSSummary()
            summary.clientVersion = tlsVersion
            summary.negotiatedVersion = tlsVersion
            summary.serverName = sni
            c.tls = summary
            c.bytesUp = handshakeUp
            c.bytesDown = handshakeDown
        }
        var t = start.adding(seconds: synToData)
        for (i, spec) in exchanges.enumerated() {
            if i > 0 { t = t.adding(seconds: spec.after) }
            var e = Exchange(index: i, kind: isHTTP ? .http : .tls, start: t, end: t.adding(seconds: 0.04))
            e.responseStart = t.adding(seconds: 0.02)
            e.bytesUp = spec.up
            e.bytesDown = spec.down
            e.recordsUp = isHTTP ? 0 : 1
            e.recordsDown = isHTTP ? 0 : max(1, Int(spec.down / 16_384) + 1)
            if let m = spec.method {
                var h = HTTPTransaction(method: m, target: spec.target, version: "HTTP/1.1")
                h.userAgent = "Smc"
                h.host = spec.host
                h.status = spec.status
                h.requestBodyLength = m == "POST" ? max(0, spec.up - 300) : 0
                h.responseBodyLength = max(0, spec.down - 200)
                e.http = h
            }
            c.exchanges.append(e)
            c.bytesUp += spec.up
            c.bytesDown += spec.down
            t = e.end
        }
        c.packetsUp = 3 + exchanges.count * 2
        c.packetsDown = 2 + exchanges.count * 2
        if openAtEnd {
            c.state.insert(.openAtEnd)
            c.end = t
        } else {
            c.closeTime = t.adding(seconds: 0.01)
            c.end = t.adding(seconds: 0.02)
            c.state.insert(close)
        }
        c.anomaliesUp = anomalies
        return c
    }

    /// An idle HTTPS pull check-in: one index check of `indexBytes` total (up + down), then FIN.
    mutating func idle(client: String = "10.0.0.5", server: String = "198.51.100.1", port: UInt16 = 443,
                       start: Timestamp, indexBytes: Int64 = 4_000, tlsVersion: UInt16 = 0x0303) -> ConnectionRecord {
        connection(client: client, server: server, port: port, start: start,
                   exchanges: [.tls(900, indexBytes - 900)], tlsVersion: tlsVersion)
    }

    /// A connect that failed: `refused` (RST to the SYN) or `unanswered` (SYN retries, nothing back).
    mutating func failed(client: String = "10.0.0.5", server: String, port: UInt16 = 443, start: Timestamp,
                         refused: Bool, syns: Int = 1) -> ConnectionRecord {
        var c = base(client: client, server: server, port: port, start: start)
        c.synTime = start
        c.synCount = syns
        c.packetsUp = syns
        c.state = [.syn]
        if refused {
            c.handshake = .refused
            c.state.insert(.rstFromServer)
            c.closeTime = start.adding(seconds: 0.0005)
            c.end = start.adding(seconds: 0.0005)
            c.packetsDown = 1
        } else {
            c.handshake = .unanswered
            // Retries at 1, 3, 7 and 15 s (Linux-like back-off), truncated to `syns`.
            let offsets = [0.0, 1, 3, 7, 15, 31]
            c.end = start.adding(seconds: offsets[min(max(0, syns - 1), offsets.count - 1)])
        }
        return c
    }

    /// A push connection: one burst of exchanges at each offset in `bursts` (seconds after `start`).
    mutating func push(client: String = "10.0.0.5", server: String = "198.51.100.1", port: UInt16 = 443,
                       start: Timestamp, bursts: [Double], burst: [ExchangeSpec] = [.tls(900, 3_100)],
                       openAtEnd: Bool = true, close: ConnectionState = .rstFromServer) -> ConnectionRecord {
        var specs: [ExchangeSpec] = []
        var cursor: Double?  // end of the previous exchange, seconds after `start`
        for offset in bursts {
            for (i, var s) in burst.enumerated() {
                var begin = 0.06
                if let cursor { begin = i == 0 ? max(cursor, offset) : cursor + 0.05 }
                s.after = cursor.map { begin - $0 } ?? 0
                specs.append(s)
                cursor = begin + 0.04
            }
        }
        return connection(client: client, server: server, port: port, start: start, exchanges: specs,
                          openAtEnd: openAtEnd, close: close)
    }
}

/// Runs records through a fresh builder and returns the final report.
func analyze(_ records: [ConnectionRecord], model: ReferenceModel = .builtIn, sylink: SyLinkFile? = nil,
             captureEnd: Timestamp? = nil) -> HeartbeatReport {
    var b = SessionBuilder(model: model, sylink: sylink)
    for r in records.sorted(by: { $0.end < $1.end }) { b.ingest(r) }
    if let captureEnd, let first = records.map(\.start).min() { b.noteCaptureSpan(first: first, last: captureEnd) }
    return b.finish()
}

extension HeartbeatReport {
    func codes(_ code: FindingCode) -> [Finding] { findings.filter { $0.code == code } }
}
