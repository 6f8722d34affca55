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
/// stream: we add our per-VLAN connections back together for the comparison).
/// Where tshark and sepbeat legitimately differ, the file is listed below with the
/// reason; a listed file that starts to agree fails the test so the list stays true.
@Suite struct OracleTests {
    /// Files whose TCP table differs from tshark's, and why sepbeat's reading is right.
    static let tcpDifferences: [String: String] = [:]

    /// Files whose HTTP rows differ from tshark's, and why.
    static let httpDifferences: [String: String] = [:]

    /// Files whose TLS hello rows differ from tshark's, and why.
    static let tlsDifferences: [String: String] = [:]

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
        do {
            return try CaptureRun(paths: [Oracle.path(relative)], configuration: configuration).connections().connections
        } catch {
            throw error
        }
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

    static func describe(_ m: [PairKey: [Int64]]) -> String {
        m.keys.sorted().map { "\($0): \(m[$0] ?? [])" }.joined(separator: "; ")
    }

    @Test(arguments: Oracle.captures())
    func tcpConnectionsMatchTshark(_ relative: String) throws {
        let connections = try OracleTests.analyze(relative)
        let expected = OracleTests.expectedTCP(relative)
        let observed = OracleTests.observedTCP(connections)
        let agrees = expected == observed
        if let reason = OracleTests.tcpDifferences[relative] {
            #expect(!agrees, "\(relative) now agrees with tshark; remove it from tcpDifferences (\(reason))")
        } else {
            #expect(agrees, """
                \(relative): TCP table differs
                tshark:  \(OracleTests.describe(expected))
                sepbeat: \(OracleTests.describe(observed))
                """)
        }
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
        var out: [PairKey: [[String]]] = [:]
        for c in connections {
            let key = PairKey(endpointText(c.record.client), endpointText(c.record.server))
            for m in c.details?.httpMessages ?? [] {
                var lists = out[key] ?? [[], []]
                if let method = m.method {
                    lists[0].append(method + " " + (m.target ?? ""))
                } else if let status = m.status {
                    lists[1].append(String(status))
                }
                out[key] = lists
            }
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

    @Test(arguments: Oracle.captures())
    func httpMessagesMatchTshark(_ relative: String) throws {
        let connections = try OracleTests.analyze(relative)
        let expected = OracleTests.expectedHTTP(relative)
        let observed = OracleTests.observedHTTP(connections)
        let agrees = expected == observed
        if let reason = OracleTests.httpDifferences[relative] {
            #expect(!agrees, "\(relative) now agrees with tshark; remove it from httpDifferences (\(reason))")
        } else {
            #expect(agrees, """
                \(relative): HTTP rows differ
                tshark:  \(expected.keys.sorted().map { "\($0): \(expected[$0] ?? [])" })
                sepbeat: \(observed.keys.sorted().map { "\($0): \(observed[$0] ?? [])" })
                """)
        }
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
        var out: [PairKey: [[String]]] = [:]
        for c in connections {
            let key = PairKey(endpointText(c.record.client), endpointText(c.record.server))
            for h in c.details?.tlsHellos ?? [] {
                var lists = out[key] ?? [[], []]
                lists[h.kind == .clientHello ? 0 : 1].append(h.oracleFields.joined(separator: " "))
                out[key] = lists
            }
        }
        return out
    }

    @Test(arguments: Oracle.captures())
    func tlsHellosMatchTshark(_ relative: String) throws {
        let connections = try OracleTests.analyze(relative)
        let expected = OracleTests.expectedTLS(relative)
        let observed = OracleTests.observedTLS(connections)
        let agrees = expected == observed
        if let reason = OracleTests.tlsDifferences[relative] {
            #expect(!agrees, "\(relative) now agrees with tshark; remove it from tlsDifferences (\(reason))")
        } else {
            #expect(agrees, """
                \(relative): TLS hello rows differ
                tshark:  \(expected.keys.sorted().map { "\($0): \(expected[$0] ?? [])" })
                sepbeat: \(observed.keys.sorted().map { "\($0): \(observed[$0] ?? [])" })
                """)
        }
    }

    @Test func everyOracleCaptureIsListed() {
        #expect(Oracle.captures().count == 138)
    }
}
