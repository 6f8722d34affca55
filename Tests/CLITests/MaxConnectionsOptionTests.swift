import Foundation
import Testing
import TestSupport

@testable import CLI

/// `--max-connections N`: the connection table's bound, set by the user for sites with more push clients
/// (each holding a connection open) than the default table holds. A table smaller than the connections open
/// at once evicts, counts and names the option as the remedy; one large enough evicts nothing and keeps every
/// check-in whole.
@Suite struct MaxConnectionsOptionTests {
    static let clients = 100

    /// `clients` plain-HTTP clients 10.20.0.1, 10.20.0.2, ... each holding one keep-alive connection to
    /// 10.1.0.10:8014 open across the capture, as push clients do: connected 50 ms apart, a check-in (request
    /// and answer) at once, and another 300 s later on the same connection, never closed. All are open at
    /// once, so a table of fewer slots evicts the least recently active.
    static func keepAliveFleet(_ folder: TemporaryDirectory) -> String {
        let base: UInt32 = 1_741_000_000
        let server: [UInt8] = [10, 1, 0, 10]
        let request = Array(("GET /secars/secars.dll?h=0123456789ABCDEF HTTP/1.1\r\nHost: 10.1.0.10:8014\r\n"
            + "User-Agent: Smc\r\n\r\n").utf8)
        let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n".utf8) + [UInt8](repeating: 0x41, count: 200)
        var records: [(UInt64, [UInt8])] = []
        for k in 0..<clients {
            let client: [UInt8] = [10, 20, 0, UInt8(k + 1)]
            let port = UInt16(50_000 + k)
            let start = UInt64(k) * 50_000
            func add(_ t: UInt64, up: Bool, seq: UInt32, ack: UInt32, _ flags: UInt16, _ payload: [UInt8] = []) {
                let tcp = PacketBuilder.tcp(sourcePort: up ? port : 8014, destinationPort: up ? 8014 : port,
                                            sequence: seq, acknowledgement: ack, flags: flags, payload: payload)
                let ip = PacketBuilder.ipv4(source: up ? client : server, destination: up ? server : client,
                                            payload: tcp)
                records.append((start + t, PacketBuilder.ethernet(type: 0x0800, payload: ip)))
            }
            var c: UInt32 = 1_000
            var s: UInt32 = 70_000
            add(0, up: true, seq: c, ack: 0, 0x002)
            add(300, up: false, seq: s, ack: c + 1, 0x012)
            c += 1
            s += 1
            add(600, up: true, seq: c, ack: s, 0x010)
            for at: UInt64 in [1_000, 300_001_000] {
                add(at, up: true, seq: c, ack: s, 0x018, request)
                c += UInt32(request.count)
                add(at + 2_000, up: false, seq: s, ack: c, 0x018, answer)
                s += UInt32(answer.count)
                add(at + 2_500, up: true, seq: c, ack: s, 0x010)
            }
        }
        var pcap = PcapBuilder()
        for (t, data) in records.sorted(by: { $0.0 < $1.0 }) {
            pcap.record(seconds: base + UInt32(t / 1_000_000), fraction: UInt32(t % 1_000_000), data: data)
        }
        return folder.write("keepalive.pcap", pcap.data)
    }

    /// A check-in of the JSON report: its client, whether it failed, its findings' codes.
    struct CheckIn {
        var client: String
        var failed: Bool
        var findings: [String]
    }

    /// The capture's `connectionsEvicted` (0 when absent) and the check-ins of the JSON report.
    static func evictionsAndCheckIns(_ run: CLIRun) throws -> (evicted: Int, checkIns: [CheckIn]) {
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let capture = try #require((report["captures"] as? [[String: Any]])?.first)
        let sessions = try #require(report["sessions"] as? [[String: Any]])
        return (capture["connectionsEvicted"] as? Int ?? 0, sessions.map { s in
            CheckIn(client: s["client"] as? String ?? "", failed: s["failed"] as? Bool ?? true,
                    findings: (s["findings"] as? [[String: Any]] ?? []).map { $0["code"] as? String ?? "?" })
        })
    }

    @Test func aSmallTableEvictsAndALargeEnoughOneKeepsEveryCheckInWhole() throws {
        let folder = TemporaryDirectory()
        let fleet = Self.keepAliveFleet(folder)

        let small = CLIRun(["analyze", "-F", "json", "--max-connections", "64", "--server", "10.1.0.10:8014", fleet])
        let (evicted, _) = try Self.evictionsAndCheckIns(small)
        #expect(evicted >= Self.clients - 64, "\(small.stderr)")
        let warnings = small.stderr.split(separator: "\n").filter { $0.contains("connections were evicted") }
        #expect(warnings.count == 1, "\(small.stderr)")
        #expect(warnings.first?.contains("table holds (64)") == true, "\(warnings)")
        #expect(warnings.first?.contains("raise the limit with --max-connections N") == true, "\(warnings)")
        let text = CLIRun(["analyze", "--color", "never", "--max-connections=64", "--server", "10.1.0.10:8014",
                           fleet])
        #expect(text.stdout.contains("odd: connections evicted \(evicted) (more open at once than the connection "
            + "table holds: each handed out early, its later packets a new piece; raise --max-connections)"),
                "\(text.stdout)")

        // Whole: every client's two check-ins, none failed, with the findings the packets give (plain HTTP,
        // and the first check-in's sizes against the model) and nothing of a cut.
        for limit in ["100", "262144"] {
            let large = CLIRun(["analyze", "-F", "json", "--max-connections", limit, "--server", "10.1.0.10:8014",
                                fleet])
            #expect(!large.stderr.contains("evicted"), "\(limit): \(large.stderr)")
            let (none, checkIns) = try Self.evictionsAndCheckIns(large)
            #expect(none == 0)
            #expect(checkIns.count == 2 * Self.clients, "\(limit)")
            #expect(Set(checkIns.map(\.client)).count == Self.clients)
            #expect(checkIns.filter(\.failed).isEmpty, "\(limit)")
            let findings = Set(checkIns.flatMap(\.findings))
            #expect(findings.isSubset(of: ["plaintext-http", "idle-size-out-of-range"]), "\(limit): \(findings)")
        }
    }

    /// The default needs no option: a fleet of 100 open connections is far below it.
    @Test func theDefaultTableHoldsTheFleet() throws {
        let folder = TemporaryDirectory()
        let run = CLIRun(["analyze", "-F", "json", "--server", "10.1.0.10:8014", Self.keepAliveFleet(folder)])
        #expect(try Self.evictionsAndCheckIns(run).evicted == 0)
        #expect(Options().maxConnections == 262_144)
    }

    @Test(arguments: ["analyze", "audit", "validate", "flows"])
    func theOptionIsRangeChecked(_ command: String) {
        let path = heartbeatCapture("https-idle")
        for bad in ["0", "63", "16777217", "-1", "1e5", "0x100", "", " 100", "100000000000000000000"] {
            let run = CLIRun([command, "-q", "--max-connections", bad, path])
            #expect(run.status == ExitStatus.usage, "'\(bad)': \(run.stderr)")
            #expect(run.stderr == "sepbeat \(command): --max-connections takes a whole number from 64 to 16777216, "
                + "got '\(bad)'\n")
        }
        for good in ["64", "16777216", "300000"] {
            let run = CLIRun([command, "-q", "--max-connections", good, path])
            #expect(run.status != ExitStatus.usage, "\(good): \(run.stderr)")
        }
    }

    @Test(arguments: ["analyze", "audit", "validate", "flows"])
    func aSecondValueIsRefused(_ command: String) {
        let path = heartbeatCapture("https-idle")
        let run = CLIRun([command, "-q", "--max-connections", "100000", "--max-connections=200000", path])
        #expect(run.status == ExitStatus.usage, "\(run.stderr)")
        #expect(run.stderr == "sepbeat \(command): --max-connections is given more than once; give it once "
            + "(a second value would replace the first)\n")
    }

    /// The value reaches the connection table of every command that reads captures.
    @Test func theValueSetsTheTable() throws {
        let options = try parseOptions(["--max-connections", "300000"], specs: SepbeatCommand.reportSpecs,
                                       command: "analyze")
        #expect(options.maxConnections == 300_000)
        #expect(options.analysisConfiguration().streamLimits.maxConnections == 300_000)
        #expect(Options().analysisConfiguration().streamLimits.maxConnections == 262_144)
    }

    /// The help of each command that reads captures names the option, its range and its cost.
    @Test(arguments: ["analyze", "audit", "validate", "flows"])
    func theHelpNamesTheOption(_ command: String) {
        let help = CLIRun([command, "--help"]).stdout
        #expect(help.contains("--max-connections N"), "\(help)")
        #expect(help.contains("64 to 16777216"))
        #expect(help.contains("about 3.5 KB each while idle"))
    }
}
