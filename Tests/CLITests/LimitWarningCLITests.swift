import Foundation
import Testing
import TestSupport

/// Connections dropped by the heartbeat layer's limits: the text names the limit, and a warning goes
/// to stderr unless `-q`.
@Suite struct LimitWarningCLITests {
    /// One client opening 20,003 connections to 198.51.100.10:443, each refused (SYN, RST): three past
    /// the 20,000 connections kept per client.
    static func capture(_ folder: TemporaryDirectory) -> String {
        var pcap = PcapBuilder()
        let base: UInt32 = 1_741_000_000
        let client: [UInt8] = [203, 0, 113, 7]
        let server: [UInt8] = [198, 51, 100, 10]
        for i in 0..<20_003 {
            let port = UInt16(30_000 + i)
            let t = UInt32(i) * 3_000  // microseconds
            let syn = PacketBuilder.tcp(sourcePort: port, destinationPort: 443, sequence: 7, acknowledgement: 0,
                                        flags: 0x002)
            let rst = PacketBuilder.tcp(sourcePort: 443, destinationPort: port, sequence: 0, acknowledgement: 8,
                                        flags: 0x014)
            for (at, ip) in [(t, PacketBuilder.ipv4(source: client, destination: server, payload: syn)),
                             (t + 100, PacketBuilder.ipv4(source: server, destination: client, payload: rst))] {
                pcap.record(seconds: base + at / 1_000_000, fraction: at % 1_000_000,
                            data: PacketBuilder.ethernet(type: 0x0800, payload: ip))
            }
        }
        return folder.write("many.pcap", pcap.data)
    }

    @Test func droppedConnectionsNameTheirLimitAndWarn() {
        let folder = TemporaryDirectory()
        let path = Self.capture(folder)
        let run = CLIRun(["analyze", "--color", "never", "--server", "198.51.100.10", path])
        #expect(run.stdout.contains("Connections: 20003 read: 20000 to managers, 0 to other servers on management "
            + "ports, 0 on other ports, 3 dropped by limits (limit of 20000 connections per client: 3)\n"),
                "\(run.stdout.prefix(600))")
        #expect(run.stderr.contains("sepbeat analyze: warning: 3 connections to management ports were dropped "
            + "(limit of 20000 connections per client: 3); the report leaves them out\n"), "\(run.stderr)")
        let quiet = CLIRun(["audit", "-q", "--server", "198.51.100.10", path])
        #expect(quiet.stderr.isEmpty, "\(quiet.stderr)")
        // validate's capture-quality check fails: the analysis left connections out.
        let validate = CLIRun(["validate", "-q", "--server", "198.51.100.10", path])
        #expect(validate.stdout.contains("  capture-quality: 3 connections to management ports dropped by limits "
            + "(limit of 20000 connections per client: 3), left out of every check\n"), "\(validate.stdout)")
    }
}
