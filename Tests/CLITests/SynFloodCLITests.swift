import Foundation
import Testing
import TestSupport

/// Clients whose connects to a manager (`--server`) all go unanswered: judged only once the capture
/// ran for longer than the connect timeout after the first SYN.
@Suite struct SynFloodCLITests {
    /// 50 clients each sending a SYN and two retries (after 1 and 3 s) to 198.51.100.10:443, with no
    /// answer; the capture's last packet (an ARP frame) comes `tail` seconds after the last SYN was due
    /// from the first client, i.e. `3 + tail` s after its first SYN.
    private func capture(tail: Double, refused: Bool = false) -> (TemporaryDirectory, String) {
        let folder = TemporaryDirectory()
        var pcap = PcapBuilder()
        let base: UInt32 = 1_741_000_000
        var records: [(UInt64, [UInt8])] = []  // microseconds after base
        for c in 0..<50 {
            let client: [UInt8] = [203, 0, 113, UInt8(c + 1)]
            let start = UInt64(c) * 20_000
            for retry: UInt64 in [0, 1_000_000, 3_000_000] {
                let tcp = PacketBuilder.tcp(sourcePort: UInt16(40_000 + c), destinationPort: 443, sequence: 7,
                                            acknowledgement: 0, flags: 0x002)
                let ip = PacketBuilder.ipv4(source: client, destination: [198, 51, 100, 10], payload: tcp)
                records.append((start + retry, PacketBuilder.ethernet(type: 0x0800, payload: ip)))
                if refused {
                    let rst = PacketBuilder.tcp(sourcePort: 443, destinationPort: UInt16(40_000 + c), sequence: 0,
                                                acknowledgement: 8, flags: 0x014)
                    let back = PacketBuilder.ipv4(source: [198, 51, 100, 10], destination: client, payload: rst)
                    records.append((start + retry + 100, PacketBuilder.ethernet(type: 0x0800, payload: back)))
                    break
                }
            }
        }
        let arp = PacketBuilder.ethernet(type: 0x0806, payload: [UInt8](repeating: 0, count: 28))
        records.append((3_000_000 + UInt64(tail * 1e6), arp))
        for (t, data) in records.sorted(by: { $0.0 < $1.0 }) {
            pcap.record(seconds: base + UInt32(t / 1_000_000), fraction: UInt32(t % 1_000_000), data: data)
        }
        return (folder, folder.write("flood.pcap", pcap.data))
    }

    @Test func synsUnansweredForTheTimeoutAtTheCaptureEndAreNotYetFailures() {
        // The first client's SYN came exactly 30 s before the capture ended; the others later.
        let (folder, path) = capture(tail: 27)
        let run = CLIRun(["analyze", "--color", "never", "--server", "198.51.100.10:443", path])
        #expect(run.status == 0)
        #expect(!run.stdout.contains("connect-timeout"))
        #expect(run.stdout.contains("connect to 198.51.100.10:443 unanswered when the capture ended (3 SYNs, 30 s "
            + "after the first; not judged before the 30 s timeout)"))
        #expect(!run.stdout.contains("failed (connect, TLS handshake or answer failed)"))
        // Nothing set up and nothing failed yet: nothing was judged, so no pass either (exit status 0).
        #expect(run.stdout.contains("Verdict: n/a (no check-in set up: 50 clients, 0 check-ins, 50 pending "
            + "(unanswered when the capture ended))"), "\(run.stdout)")
        let json = CLIRun(["analyze", "--format", "json", "--server", "198.51.100.10:443", path])
        #expect(json.stdout.contains("\"pending\" : 50"))
        #expect(json.stdout.contains("\"failed\" : 0,"))
        _ = folder
    }

    @Test func synsUnansweredPastTheTimeoutFailTheVerdict() {
        // One microsecond past: the first client's connect timed out; the rest (20 ms apart) did not yet.
        let (folder, path) = capture(tail: 27.000_001)
        let run = CLIRun(["analyze", "--color", "never", "--server", "198.51.100.10:443", path])
        #expect(run.status == 1)
        #expect(run.stdout.contains("Findings: 1 error, 0 warning, 0 info"))
        #expect(run.stdout.contains("connect-timeout"))
        let audit = CLIRun(["audit", "--color", "never", "--server", "198.51.100.10:443", path])
        #expect(audit.status == 1)
        #expect(audit.stdout.contains("1 failed (no connect, TLS handshake or answer), "
            + "0 answered with HTTP errors, 0 connects refused, 0 missed"))

        let (later, laterPath) = capture(tail: 60)
        let all = CLIRun(["analyze", "--color", "never", "--server", "198.51.100.10:443", laterPath])
        #expect(all.status == 1)
        #expect(all.stdout.contains("Findings: 50 error, 0 warning, 0 info"))
        #expect(all.stdout.contains(
            "Verdict: fail (50 clients, 0 check-ins, 50 failed (connect, TLS handshake or answer failed))"))
        _ = (folder, later)
    }

    @Test func refusedConnectsFailTheVerdictWhenTheCaptureEndsAtOnce() {
        let (folder, path) = capture(tail: 0, refused: true)
        let run = CLIRun(["analyze", "--color", "never", "--server", "198.51.100.10:443", path])
        #expect(run.status == 1)
        #expect(run.stdout.contains("Findings: 50 error, 0 warning, 0 info"))
        #expect(run.stdout.contains("connect-failed"))
        _ = folder
    }
}
