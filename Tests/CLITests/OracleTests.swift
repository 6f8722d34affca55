import Analysis
import Core
import Protocols
import Records
import Testing
import TestSupport

/// Compares sepbeat's view of every oracle capture with tshark's tables beside it.
///
/// Streams are matched by their unordered address/port pair (tshark keys streams on
/// the 4-tuple alone, so copies of one connection on several VLANs are one tshark
/// stream: we add our per-VLAN connections back together for the TCP counts, and
/// compare the HTTP and TLS rows of each VLAN copy with tshark's, see `perPair`).
/// Where tshark and sepbeat legitimately differ, the file is listed below with the
/// reason; a listed file that starts to agree fails the test so the list stays true.
@Suite struct OracleTests {
    /// Files whose TCP table differs from tshark's, and why sepbeat's reading is right.
    static let tcpDifferences: [String: String] = [
        "link/vlan-collisions.pcap": "one connection seen untagged, in VLAN 42 and in QinQ 10/20 (SYNs 50 ms "
            + "apart, same ISN): we analyse the first and count the copies as captured twice, left out of the "
            + "packet and byte totals; tshark adds them to its one stream as retransmissions",
        "link/vlan-pcp-dei.pcapng": "the same handshake in QinQ 10/20, VLAN 20 and untagged (same ISN): we "
            + "analyse the first and count the copies as captured twice, left out of the totals; tshark adds "
            + "them to its one stream",
    ]

    /// Files whose HTTP rows differ from tshark's, and why.
    static let httpDifferences: [String: String] = [
        "http/206_example_b.pcap": "tshark's reassembly of the first 206 body (816896 bytes) breaks on "
            + "retransmitted and out-of-order segments, so that 206 has no row; we reassemble it whole and "
            + "the second 206 head starts at the very next byte",
        "http/bro.org.pcap": "port 55081's first 200 body lost seq 7241-14480 (never captured): tshark never "
            + "completes that body and gives no row; its head was captured whole, we report it and count the gap",
        "http/concurrent-range-requests.pcap": "port 58718's 206 body gets its missing segment only later "
            + "(frame 53 resends seq 8449): tshark does not reassemble out of order and gives no row; "
            + "we fill the hole and complete the response",
        "http/connect-with-smtp.pcap": "request line `CONNECT host:25 / HTTP/1.0` has a space inside the target: "
            + "tshark cuts the target at the first space, we keep everything up to the version (as Zeek does) "
            + "and flag whitespace_in_target",
        "http/content-range-gap-skip.pcap": "206 body bytes at seq 1679-3050 were never captured: tshark never "
            + "completes the body and gives no row; the head was captured whole, we report it and count the gap",
        "http/content-range-gap.pcap": "206 body bytes at seq 1986-3365 were never captured: tshark never "
            + "completes the body and gives no row; the head was captured whole, we report it and count the gap",
        "http/entity_gap2.pcap": "200 body bytes at seq 2897-4344 were never captured: tshark never completes "
            + "the body and gives no row; the head was captured whole, we report it and count the gap",
        "http/get-to-ssh-server.pcap": "HTTP sent to port 22: tshark decodes SSH by port and gives no rows; "
            + "we recognise the GET by content",
        "http/http-lower-case-nonstandard-port.pcap": "status line `http/1.1 200 OK` in lower case: tshark does "
            + "not recognise it and gives no response row; we accept it and flag lower_case_version",
        "http/http-lower-case.pcap": "status line `http/1.1 200 OK` in lower case: tshark does not recognise it "
            + "and gives no response row; we accept it and flag lower_case_version",
        "http/http-single-conn-22.pcap": "HTTP on port 22: tshark decodes SSH by port and gives no rows; "
            + "we recognise the request and response by content",
        "http/http_09.pcap": "versionless request lines (`GET /zeek.html`): tshark waits for headers that never "
            + "come and gives no rows; we report HTTP/0.9 requests and flag http09_request",
        "http/no-version.pcap": "versionless request line (`GET /cgi-bin/formmail.pl?...`): tshark waits for "
            + "headers that never come and gives no row; we report an HTTP/0.9 request and flag http09_request",
        "http/putty-upload.pcap": "POST with Content-Length 1648120 of which 81920 body bytes are sent before "
            + "the server's 200 and RST: tshark gives a request row only once the body is complete; "
            + "we report the head and flag body_cut_short",
        "http/query-method-non-standard-port.pcap": "QUERY request on port 4711: tshark 4.0's HTTP heuristic "
            + "does not know the QUERY method and gives only the response row; we know it",
        "http/zeek-image-post-1080-8000-x.pcap": "HTTP between ports 1080 and 8000: tshark decodes SOCKS on "
            + "1080 by port and gives no rows; we recognise the POST by content",
    ]

    /// Files whose TLS hello rows differ from tshark's, and why.
    static let tlsDifferences: [String: String] = [
        "tls/https-to-http.pcap": "TLS ClientHello sent to port 80: tshark decodes HTTP by port and gives no "
            + "TLS row; we recognise the handshake by content",
    ]

    struct PairKey: Hashable, Comparable, CustomStringConvertible {
        var a: String
        var b: String
        init(_ x: String, _ y: String) {
            (a, b) = x < y ? (x, y) : (y, x)
        }
        static func < (l: PairKey, r: PairKey) -> Bool { (l.a, l.b) < (r.a, r.b) }
        var description: String { "\(a) <-> \(b)" }
    }

    static func endpointText(_ address: String, _ port: String) -> String { "\(address)|\(port)" }
    static func endpointText(_ e: Endpoint) -> String { "\(e.address)|\(e.port)" }

    static func analyze(_ relative: String) throws -> [CompletedConnection] {
        var configuration = AnalysisConfiguration()
        configuration.keepProtocolDetails = true
        let run = CaptureRun(paths: [Oracle.path(relative)], configuration: configuration)
        return try run.connections().connections
    }

    /// tshark's `.tcp.tsv` as pair -> [packets, bytes] from the lower endpoint's side, then the other's.
    static func expectedTCP(_ relative: String) -> [PairKey: [Int64]] {
        var out: [PairKey: [Int64]] = [:]
        for row in Oracle.table(Oracle.path(relative) + ".tcp.tsv") ?? [] where row.count >= 9 {
            let a = endpointText(row[1], row[2]), b = endpointText(row[3], row[4])
            let key = PairKey(a, b)
            let ab = [Int64(row[5]) ?? -1, Int64(row[6]) ?? -1]
            let ba = [Int64(row[7]) ?? -1, Int64(row[8]) ?? -1]
            let values = a == key.a ? ab + ba : ba + ab
            out[key, default: [0, 0, 0, 0]] = zip(out[key] ?? [0, 0, 0, 0], values).map { $0 + $1 }
        }
        return out
    }

    static func observedTCP(_ connections: [CompletedConnection]) -> [PairKey: [Int64]] {
        var out: [PairKey: [Int64]] = [:]
        for c in connections {
            let r = c.record
            let client = endpointText(r.client), server = endpointText(r.server)
            let key = PairKey(client, server)
            let up = [Int64(r.packetsUp), r.bytesUp], down = [Int64(r.packetsDown), r.bytesDown]
            let values = client == key.a ? up + down : down + up
            out[key] = zip(out[key] ?? [0, 0, 0, 0], values).map { $0 + $1 }
        }
        return out
    }

    /// `pair: value; pair: value` in pair order, for failure messages.
    static func describe<Value>(_ m: [PairKey: Value]) -> String {
        m.keys.sorted().map { key in "\(key): " + (m[key].map { "\($0)" } ?? "") }.joined(separator: "; ")
    }

    /// Per pair: requests as "METHOD target" and responses as status, each list in stream order.
    static func expectedHTTP(_ relative: String) -> [PairKey: [[String]]] {
        let streams = streamPairs(relative)
        var out: [PairKey: [[String]]] = [:]
        for row in Oracle.table(Oracle.path(relative) + ".http.tsv") ?? [] where row.count >= 3 {
            guard let key = streams[row[0]] else { continue }
            var lists = out[key] ?? [[], []]
            if row[1] == "request" {
                lists[0].append(row[2] + " " + (row.count > 3 ? row[3] : ""))
            } else {
                lists[1].append(row[2])
            }
            out[key] = lists
        }
        return out
    }

    static func observedHTTP(_ connections: [CompletedConnection]) -> [PairKey: [[String]]] {
        perPair(connections) { c in
            var lists: [[String]] = [[], []]
            for m in c.details?.httpMessages ?? [] {
                if let method = m.method {
                    lists[0].append(method + " " + (m.target ?? ""))
                } else if let status = m.status {
                    lists[1].append(String(status))
                }
            }
            return lists
        }
    }

    /// Rows per endpoint pair, VLAN copies folded.
    ///
    /// tshark keys streams on the 4-tuple alone and dissects copies of one connection seen on
    /// several VLANs once (the later copies are retransmissions to it), so its rows are the rows
    /// of ONE copy. We keep one connection per VLAN; each VLAN's connections (concatenated in
    /// order) must therefore give tshark's rows on their own. When every VLAN of a pair gives the
    /// same rows they are compared once; when they disagree all are kept side by side, which
    /// cannot match tshark, so a copy that parses differently is never hidden.
    static func perPair(
        _ connections: [CompletedConnection], rows: (CompletedConnection) -> [[String]]
    ) -> [PairKey: [[String]]] {
        var byVLAN: [PairKey: [VLANTags: [[String]]]] = [:]
        for c in connections {
            let key = PairKey(endpointText(c.record.client), endpointText(c.record.server))
            let r = rows(c)
            var lists = byVLAN[key]?[c.record.vlan] ?? [[], []]
            lists[0] += r[0]
            lists[1] += r[1]
            byVLAN[key, default: [:]][c.record.vlan] = lists
        }
        var out: [PairKey: [[String]]] = [:]
        for (key, copies) in byVLAN {
            let lists = copies.keys.sorted().compactMap { copies[$0] }
            guard let first = lists.first else { continue }
            let folded = lists.allSatisfy { $0 == first } ? first : [lists.flatMap { $0[0] }, lists.flatMap { $0[1] }]
            if !folded[0].isEmpty || !folded[1].isEmpty { out[key] = folded }
        }
        return out
    }

    /// tshark stream number -> endpoint pair, from the `.tcp.tsv`.
    static func streamPairs(_ relative: String) -> [String: PairKey] {
        var out: [String: PairKey] = [:]
        for row in Oracle.table(Oracle.path(relative) + ".tcp.tsv") ?? [] where row.count >= 5 {
            out[row[0]] = PairKey(endpointText(row[1], row[2]), endpointText(row[3], row[4]))
        }
        return out
    }

    static func expectedTLS(_ relative: String) -> [PairKey: [[String]]] {
        let streams = streamPairs(relative)
        var out: [PairKey: [[String]]] = [:]
        for row in Oracle.table(Oracle.path(relative) + ".tls.tsv") ?? [] where row.count >= 4 {
            guard let key = streams[row[0]] else { continue }
            var lists = out[key] ?? [[], []]
            let cipher = row.count > 4 ? row[4] : ""
            lists[row[1] == "clienthello" ? 0 : 1].append([row[1], row[2], row[3], cipher].joined(separator: " "))
            out[key] = lists
        }
        return out
    }

    static func observedTLS(_ connections: [CompletedConnection]) -> [PairKey: [[String]]] {
        perPair(connections) { c in
            var lists: [[String]] = [[], []]
            for h in c.details?.tlsHellos ?? [] {
                lists[h.kind == .clientHello ? 0 : 1].append(h.oracleFields.joined(separator: " "))
            }
            return lists
        }
    }

    /// One run of each capture, judged against all three of tshark's tables.
    @Test(arguments: Oracle.captures())
    func matchesTshark(_ relative: String) throws {
        let connections = try OracleTests.analyze(relative)
        OracleTests.judge(relative, "TCP table", OracleTests.expectedTCP(relative),
                          OracleTests.observedTCP(connections), listed: OracleTests.tcpDifferences)
        OracleTests.judge(relative, "HTTP rows", OracleTests.expectedHTTP(relative),
                          OracleTests.observedHTTP(connections), listed: OracleTests.httpDifferences)
        OracleTests.judge(relative, "TLS hello rows", OracleTests.expectedTLS(relative),
                          OracleTests.observedTLS(connections), listed: OracleTests.tlsDifferences)
    }

    /// Expects agreement, or, for a file listed with a reason, disagreement (so the list stays true).
    static func judge<Value: Equatable>(
        _ relative: String, _ what: String, _ expected: [PairKey: Value], _ observed: [PairKey: Value],
        listed: [String: String]
    ) {
        let agrees = expected == observed
        if let reason = listed[relative] {
            #expect(!agrees, "\(relative) now agrees with tshark's \(what); remove it from the list (\(reason))")
        } else {
            #expect(agrees, """
                \(relative): \(what) differ from tshark's
                tshark:  \(describe(expected))
                sepbeat: \(describe(observed))
                """)
        }
    }

    @Test func everyOracleCaptureIsListed() {
        let count = Oracle.captures().count
        #expect(count == 138, "the shared corpus should be at \(Fixtures.corpus) (or set SEPBEAT_CORPUS)")
    }
}
