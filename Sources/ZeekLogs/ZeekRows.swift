import Core
import Records

// The rows of the three logs as sepbeat uses them. Each reads the fields it wants by name (in the order of
// its `names`), and a value that is not what its field holds makes the row skipped, counted under the field's
// name: a time that is negative, not finite or not a number, an address that is none, a count with a sign.

/// The conn.log fields used.
enum ConnField: Int, CaseIterable {
    case ts, uid, origHost, origPort, respHost, respPort, proto, service, duration, origBytes, respBytes,
         connState, history, origPackets, respPackets

    static let names = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
                        "duration", "orig_bytes", "resp_bytes", "conn_state", "history", "orig_pkts", "resp_pkts"]
    static let required = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"]
}

enum HTTPField: Int, CaseIterable {
    case ts, uid, method, host, uri, version, userAgent, requestBodyLength, responseBodyLength, status, reason

    static let names = ["ts", "uid", "method", "host", "uri", "version", "user_agent", "request_body_len",
                        "response_body_len", "status_code", "status_msg"]
    static let required = ["ts", "uid"]
}

enum SSLField: Int, CaseIterable {
    case ts, uid, version, cipher, serverName, established

    static let names = ["ts", "uid", "version", "cipher", "server_name", "established"]
    static let required = ["ts", "uid"]
}

/// Reads typed values of one row, and counts the row as skipped at the first value that is not one.
private struct FieldReader {
    let row: ZeekLogReader.Row
    let reader: ZeekLogReader
    private(set) var failed = false

    init(_ row: ZeekLogReader.Row, _ reader: ZeekLogReader) {
        self.row = row
        self.reader = reader
    }

    func text(_ i: Int) -> String? { row.values[i] }

    mutating func time(_ i: Int, _ name: String) -> Timestamp? {
        read(i, name, "a time (not negative, finite)", ZeekValues.time)
    }

    mutating func interval(_ i: Int, _ name: String) -> Int64? {
        read(i, name, "a number of seconds (not negative, finite)", ZeekValues.interval)
    }

    mutating func count(_ i: Int, _ name: String) -> Int64? {
        read(i, name, "a count", ZeekValues.count)
    }

    mutating func port(_ i: Int, _ name: String) -> UInt16? {
        read(i, name, "a port", ZeekValues.port)
    }

    mutating func address(_ i: Int, _ name: String) -> IPAddress? {
        read(i, name, "an address", IPAddress.init)
    }

    /// The value of field `i` read by `parse`; nil when unset, or when it is not one (the row is then
    /// skipped: `failed`).
    private mutating func read<T>(_ i: Int, _ name: String, _ kind: String, _ parse: (String) -> T?) -> T? {
        guard !failed, let text = row.values[i] else { return nil }
        guard let value = parse(text) else {
            failed = true
            reader.reject(row, "\(name) is not \(kind)")
            return nil
        }
        return value
    }
}

/// A conn.log row: one TCP connection as Zeek summed it up when it ended.
struct ConnRow {
    var uid: String
    var proto: String?
    var client: Endpoint
    var server: Endpoint
    var start: Timestamp
    var end: Timestamp
    var service: String?
    var bytesUp: Int64
    var bytesDown: Int64
    var packetsUp: Int64
    var packetsDown: Int64
    var connState: String?
    var history: String

    init?(_ row: ZeekLogReader.Row, reader: ZeekLogReader) {
        var f = FieldReader(row, reader)
        typealias F = ConnField
        let start = f.time(F.ts.rawValue, "ts")
        let origHost = f.address(F.origHost.rawValue, "id.orig_h")
        let origPort = f.port(F.origPort.rawValue, "id.orig_p")
        let respHost = f.address(F.respHost.rawValue, "id.resp_h")
        let respPort = f.port(F.respPort.rawValue, "id.resp_p")
        let duration = f.interval(F.duration.rawValue, "duration")
        let origBytes = f.count(F.origBytes.rawValue, "orig_bytes")
        let respBytes = f.count(F.respBytes.rawValue, "resp_bytes")
        let origPackets = f.count(F.origPackets.rawValue, "orig_pkts")
        let respPackets = f.count(F.respPackets.rawValue, "resp_pkts")
        guard !f.failed else { return nil }
        guard let uid = f.text(F.uid.rawValue), let start, let origHost, let origPort, let respHost, let respPort
        else {
            reader.reject(row, "an unset ts, uid or endpoint")
            return nil
        }
        guard !start.nanoseconds.addingReportingOverflow(duration ?? 0).overflow else {
            reader.reject(row, "ts plus duration is past the year 2262")
            return nil
        }
        self.uid = uid
        proto = f.text(F.proto.rawValue)
        client = Endpoint(address: origHost, port: origPort)
        server = Endpoint(address: respHost, port: respPort)
        self.start = start
        end = start.adding(nanoseconds: duration ?? 0)
        service = f.text(F.service.rawValue)
        bytesUp = origBytes ?? 0
        bytesDown = respBytes ?? 0
        packetsUp = origPackets ?? 0
        packetsDown = respPackets ?? 0
        connState = f.text(F.connState.rawValue)
        history = f.text(F.history.rawValue) ?? ""
    }

    /// The record of this connection, with its http.log rows as exchanges and its ssl.log row as `tls`.
    /// `requestsKnown` false: no http.log was read, so the traffic of a connection other than TLS (plain HTTP)
    /// is one exchange of unknown content spanning it (its steps 3-6 are then not judged).
    func record(id: UInt64, http: [HTTPRow], ssl: SSLRow?, requestsKnown: Bool) -> ConnectionRecord {
        var r = ConnectionRecord(id: id, client: client, server: server, start: start, end: end)
        r.totalsOnly = true
        r.bytesUp = bytesUp
        r.bytesDown = bytesDown
        r.packetsUp = Int(packetsUp)
        r.packetsDown = Int(packetsDown)
        // Zeek's history: upper case the originator's events, lower case the responder's.
        var state: ConnectionState = []
        for letter in history.utf8 {
            switch letter {
            case UInt8(ascii: "S"): state.insert(.syn)
            case UInt8(ascii: "h"): state.insert(.synAck)
            case UInt8(ascii: "F"): state.insert(.finFromClient)
            case UInt8(ascii: "f"): state.insert(.finFromServer)
            case UInt8(ascii: "R"): state.insert(.rstFromClient)
            case UInt8(ascii: "r"): state.insert(.rstFromServer)
            default: break
            }
        }
        switch connState {
        case "REJ":
            r.handshake = .refused
        case "S0":
            r.handshake = .unanswered
        default:
            if !state.contains(.syn) {
                state.insert(.midstream)
                r.handshake = .midstream
            } else if state.contains(.synAck) {
                r.handshake = .established
            } else {
                r.handshake = .unanswered
            }
        }
        if state.contains(.syn) {
            r.synCount = 1
            // conn.log's ts is the first packet's time, which stands in for the SYN's.
            r.synTime = start
        }
        if !state.isDisjoint(with: [.finFromClient, .finFromServer, .rstFromClient, .rstFromServer]) {
            r.closeTime = end
        }
        r.state = state
        r.application = application(ssl: ssl)
        r.exchanges = http.sorted { $0.time < $1.time }.enumerated().map { i, row in row.exchange(index: i) }
        if r.application == .http || r.application == .other, !requestsKnown, bytesUp > 0 || bytesDown > 0 {
            var e = Exchange(index: 0, kind: .other, start: start, end: end)
            e.bytesUp = bytesUp
            e.bytesDown = bytesDown
            r.exchanges = [e]
        }
        if r.application == .tls {
            var tls = TLSSummary()
            if let ssl {
                tls.serverName = ssl.serverName
                tls.cipherSuite = ssl.cipher.flatMap(ZeekValues.cipherSuite)
                // An unestablished handshake shows as no chosen version (ssl.log has no field for the offer).
                tls.negotiatedVersion = ssl.established == false ? nil : ssl.version.flatMap(ZeekValues.tlsVersion)
            }
            r.tls = tls
            if ssl?.established != false, bytesUp > 0 || bytesDown > 0 {
                // Zeek keeps no times within a connection: its TLS traffic is one exchange spanning it.
                var e = Exchange(index: r.exchanges.count, kind: .tls, start: start, end: end)
                e.bytesUp = bytesUp
                e.bytesDown = bytesDown
                r.exchanges.append(e)
            }
        }
        return r
    }

    /// The protocol by Zeek's `service` (a set: `ssl,http` for HTTPS seen both ways is TLS), else by an
    /// ssl.log row, else by bytes seen.
    private func application(ssl: SSLRow?) -> ApplicationProtocol {
        let services = (service ?? "").split(separator: ",")
        if services.contains("ssl") || ssl != nil { return .tls }
        if services.contains("http") { return .http }
        return services.isEmpty && bytesUp == 0 && bytesDown == 0 ? .none : .other
    }
}

/// An http.log row: one request and the answer to it, timed by the request.
struct HTTPRow {
    var uid: String
    var time: Timestamp
    var transaction: HTTPTransaction
    var requestBodyLength: Int64
    var responseBodyLength: Int64

    init?(_ row: ZeekLogReader.Row, reader: ZeekLogReader) {
        var f = FieldReader(row, reader)
        typealias F = HTTPField
        let time = f.time(F.ts.rawValue, "ts")
        let requestBody = f.count(F.requestBodyLength.rawValue, "request_body_len")
        let responseBody = f.count(F.responseBodyLength.rawValue, "response_body_len")
        let status = f.count(F.status.rawValue, "status_code")
        guard !f.failed else { return nil }
        guard let uid = f.text(F.uid.rawValue), let time else {
            reader.reject(row, "an unset ts or uid")
            return nil
        }
        self.uid = uid
        self.time = time
        var t = HTTPTransaction(method: f.text(F.method.rawValue) ?? "", target: f.text(F.uri.rawValue) ?? "",
                                version: f.text(F.version.rawValue).map { "HTTP/" + $0 } ?? "")
        t.host = f.text(F.host.rawValue)
        t.userAgent = f.text(F.userAgent.rawValue)
        t.requestBodyLength = requestBody ?? 0
        t.status = status.map { Int($0) }
        t.reason = f.text(F.reason.rawValue)
        t.responseBodyLength = status == nil ? nil : responseBody ?? 0
        transaction = t
        requestBodyLength = requestBody ?? 0
        responseBodyLength = responseBody ?? 0
    }

    /// The exchange: its bytes are the bodies' (http.log does not count the heads), its time the request's.
    func exchange(index: Int) -> Exchange {
        var e = Exchange(index: index, kind: .http, start: time, end: time)
        e.bytesUp = requestBodyLength
        e.bytesDown = responseBodyLength
        e.http = transaction
        return e
    }
}

/// An ssl.log row: the TLS handshake of a connection.
struct SSLRow {
    var uid: String
    var time: Timestamp
    var version: String?
    var cipher: String?
    var serverName: String?
    /// nil when the log does not say.
    var established: Bool?

    init?(_ row: ZeekLogReader.Row, reader: ZeekLogReader) {
        var f = FieldReader(row, reader)
        typealias F = SSLField
        let time = f.time(F.ts.rawValue, "ts")
        guard !f.failed else { return nil }
        guard let uid = f.text(F.uid.rawValue), let time else {
            reader.reject(row, "an unset ts or uid")
            return nil
        }
        self.uid = uid
        self.time = time
        version = f.text(F.version.rawValue)
        cipher = f.text(F.cipher.rawValue)
        serverName = f.text(F.serverName.rawValue)
        established = f.text(F.established.rawValue).map { $0 == "T" }
    }
}
