import Foundation
import Testing
import TestSupport

/// A proxied fleet captured with a small snap length, and captures whose headers an encapsulation lengthens: what
/// the cut or the filter lost is said, with advice worded for them, not for plain Ethernet, IP and TCP.
@Suite struct CutProxyCaptureTests {
    /// Four HTTPS clients checking in for 20 minutes through the proxy 10.9.9.9:3128; the capture's path.
    static func proxiedFleet(in folder: TemporaryFolder) throws -> String {
        let capture = folder.path + "/proxied.pcap"
        let made = CLIRun(["simulate", "-o", capture, "--clients", "4", "--duration", "20m", "--http-share", "0",
                           "--proxy", "10.9.9.9:3128", "-q"])
        try #require(made.status == 0, "\(made.stderr)")
        return capture
    }

    /// An HTTPS fleet through a proxy, cut to 96 bytes: each `CONNECT` head is cut, so no tunnel is followed and
    /// no check-in is found. Before, nothing said so (`validate` passed `capture-quality`); now each client has a
    /// `capture-truncated` finding naming the proxy, and the note on a capture with no manager says why.
    @Test func cutConnectsAreSaid() throws {
        let folder = try TemporaryFolder()
        let capture = try Self.proxiedFleet(in: folder)
        let cut = try SnapLengthCaptureTests.cut(capture, to: 96, into: folder, name: "proxied96.pcap")
        let validate = CLIRun(["validate", "--server", "10.1.0.10", "--server", "10.1.0.11", cut])
        #expect(validate.stdout.contains("FAIL    warning   capture-quality                 4"), "\(validate.stdout)")
        let run = CLIRun(["analyze", "-q", "-F", "json", cut])
        let truncated = try OneDirectionCaptureTests.findings(run).filter { $0.code == "capture-truncated" }
        #expect(truncated.count == 4)
        #expect(truncated.allSatisfy {
            $0.message.contains(" to proxy 10.9.9.9:3128 had ")
                && $0.message.contains(" cut by the snap length: no tunnel could be followed")
        })
        let text = CLIRun(["analyze", cut]).stdout.replacingOccurrences(of: "\n", with: " ")
        #expect(text.contains("No connection went to a manager: the "))
        #expect(text.contains(" to a proxy had their CONNECT cut by the snap length, so neither the tunnels' "
            + "targets nor the check-ins in them could be read."), "\(text)")
        let flows = CLIRun(["flows", "--http", cut])
        #expect(flows.stdout.contains("up: connect_cut (CONNECT head cut by the snap length"))
        // Whole, the same fleet has neither the finding nor the anomaly.
        let whole = CLIRun(["analyze", "-q", "-F", "json", capture])
        #expect(try OneDirectionCaptureTests.findings(whole).allSatisfy { $0.code != "capture-truncated" })
    }

    /// Cut to 56 bytes, two payload bytes of each `CONNECT` are left (`CO`, which `COPY` starts too), so no finding
    /// can name the cut: with no check-in set up, `capture-quality` said the capture was complete while packets were
    /// cut; it fails on them.
    @Test func aCaptureCutBeforeAnyCheckInFailsCaptureQuality() throws {
        let folder = try TemporaryFolder()
        let capture = try Self.proxiedFleet(in: folder)
        let cut = try SnapLengthCaptureTests.cut(capture, to: 56, into: folder, name: "proxied56.pcap")
        let validate = CLIRun(["validate", "--server", "10.1.0.10", "--server", "10.1.0.11", cut])
        let line = try #require(validate.stdout.split(separator: "\n").first { $0.contains("capture-quality") })
        #expect(line.contains("FAIL    warning   capture-quality                 -"), "\(line)")
        #expect(line.contains(" packets cut by the snap length and no check-in set up: "), "\(line)")
        let run = CLIRun(["analyze", "-q", "-F", "json", cut])
        #expect(try OneDirectionCaptureTests.findings(run).allSatisfy { $0.code != "capture-truncated" })
        // Whole, it passes.
        let whole = CLIRun(["validate", "--server", "10.1.0.10", "--server", "10.1.0.11", capture])
        #expect(whole.stdout.contains("pass    warning   capture-quality"), "\(whole.stdout)")
    }

    /// `path` (a little-endian Ethernet pcap) with each frame's EtherType replaced by a stack of `labels` MPLS labels
    /// (`mpls`) or a PPPoE session header.
    static func encapsulated(_ path: String, mpls: Bool, labels: Int = 1, into folder: TemporaryFolder) throws
        -> String {
        let pcap = try #require(PcapFileRecords(path: path))
        var file = PcapBuilder(nanoseconds: pcap.nanoseconds)
        // Labels 100, 101, ..., TTL 64, the last one with the bottom-of-stack bit; or a PPPoE session 0x1234
        // carrying PPP's IPv4 (0x0021).
        let stack = (0..<labels).flatMap { i -> [UInt8] in
            [0x00, 0x06, UInt8(0x40 + 0x10 * i) | (i == labels - 1 ? 0x01 : 0x00), 0x40]
        }
        for r in pcap.records {
            let ip = Array(r.frame[14...])
            let shim: [UInt8] = mpls ? [0x88, 0x47] + stack
                : [0x88, 0x64, 0x11, 0x00, 0x12, 0x34] + PacketBuilder.be16(UInt16(ip.count + 2)) + [0x00, 0x21]
            file.record(seconds: r.seconds, fraction: r.fraction, data: Array(r.frame[..<12]) + shim + ip)
        }
        let out = folder.path + (mpls ? "/mpls.pcap" : "/pppoe.pcap")
        try Data(file.data).write(to: URL(fileURLWithPath: out))
        return out
    }

    /// Cut to 57-62 bytes (over the simulator's 20-byte TCP headers), 3 to 8 bytes of each `CONNECT ` are left: too
    /// few for detection, which wants the target too, but no other registered method starts with `CON`. Each client
    /// has a `capture-truncated` finding naming the proxy, as when the cut falls in the target. Before, none did.
    @Test(arguments: [57, 60, 62]) func aConnectCutToItsFirstBytesIsSaid(snapLength: Int) throws {
        let folder = try TemporaryFolder()
        let capture = try Self.proxiedFleet(in: folder)
        let cut = try SnapLengthCaptureTests.cut(capture, to: snapLength, into: folder, name: "proxied.cut.pcap")
        let truncated = try OneDirectionCaptureTests.findings(CLIRun(["analyze", "-q", "-F", "json", cut]))
            .filter { $0.code == "capture-truncated" }
        #expect(truncated.count == 4)
        #expect(truncated.allSatisfy {
            $0.message.contains(" to proxy 10.9.9.9:3128 had ")
                && $0.message.contains(" cut by the snap length: no tunnel could be followed")
        })
        let validate = CLIRun(["validate", "--server", "10.1.0.10", "--server", "10.1.0.11", cut])
        #expect(validate.stdout.contains("FAIL    warning   capture-quality                 4"), "\(validate.stdout)")
        let flows = CLIRun(["flows", "--http", cut]).stdout
        #expect(flows.contains("up: connect_cut (CONNECT head cut by the snap length"))
    }

    /// A filter on the IP headers leaves out every packet with MPLS labels or in PPPoE sessions: the hint names
    /// the form that reads them (`mpls and (...)`, `pppoes and (...)`), and that form keeps the check-ins.
    @Test(arguments: [true, false]) func aFilterHintNamesMPLSAndPPPoE(mpls: Bool) throws {
        let folder = try TemporaryFolder()
        let path = try Self.encapsulated(Fixtures.captures + "/heartbeat/fleet.pcap", mpls: mpls, into: folder)
        let form = mpls ? "mpls and (tcp port 443)" : "pppoes and (tcp port 443)"
        let run = CLIRun(["analyze", "-f", "tcp port 443", path])
        #expect(run.stderr.contains("left out every one of the "))
        #expect(run.stderr.contains(" write \"\(form)\""), "\(run.stderr)")
        let kept = CLIRun(["analyze", "-f", form, path])
        #expect(!kept.stderr.contains("left out every one"))
        #expect(kept.stdout.contains("check-in"))
        // A capture of neither kind keeps the hint as it was.
        let plain = CLIRun(["analyze", "-f", "udp port 9", Fixtures.captures + "/heartbeat/fleet.pcap"])
        #expect(plain.stderr.contains("a filter sees the outermost headers: for packets with VLAN tags"))
    }

    /// A filter reads past one MPLS label per `mpls` (libpcap's rule, as `tcpdump -r F 'mpls and mpls and tcp'`
    /// shows): for frames with two labels the hint writes it twice, and that form keeps the check-ins. Before, it
    /// wrote one, which still left out every packet.
    @Test func aFilterHintWritesOneMPLSPerLabel() throws {
        let folder = try TemporaryFolder()
        let path = try Self.encapsulated(Fixtures.captures + "/heartbeat/fleet.pcap", mpls: true, labels: 2,
                                         into: folder)
        let run = CLIRun(["analyze", "-f", "tcp port 443", path])
        #expect(run.stderr.contains(" with MPLS labels write \"mpls and mpls and (tcp port 443)\" (one \"mpls and\" "
            + "per label: up to 2 were stacked)"), "\(run.stderr)")
        let one = CLIRun(["analyze", "-f", "mpls and (tcp port 443)", path])
        #expect(one.stderr.contains("left out every one"))
        let kept = CLIRun(["analyze", "-f", "mpls and mpls and (tcp port 443)", path])
        #expect(!kept.stderr.contains("left out every one"))
        #expect(kept.stdout.contains("check-in"))
    }

    /// A filter reads past one VLAN tag per `vlan`, as per MPLS label (`tcpdump -r F 'vlan and vlan and tcp'` keeps a
    /// QinQ capture's packets, `vlan and tcp` none): for frames with two tags the hint writes it twice, and that form
    /// keeps the check-ins. Before, it wrote one, which still left out every packet.
    @Test func aFilterHintWritesOneVLANPerTag() throws {
        let folder = try TemporaryFolder()
        let pcap = try #require(PcapFileRecords(path: Fixtures.captures + "/heartbeat/fleet.pcap"))
        var file = PcapBuilder(nanoseconds: pcap.nanoseconds)
        // An 802.1ad service tag (VLAN 5) over an 802.1Q customer tag (VLAN 7).
        let tags: [UInt8] = [0x88, 0xA8, 0x00, 0x05, 0x81, 0x00, 0x00, 0x07]
        for r in pcap.records {
            file.record(seconds: r.seconds, fraction: r.fraction,
                        data: Array(r.frame[..<12]) + tags + Array(r.frame[12...]))
        }
        let path = folder.path + "/qinq.pcap"
        try Data(file.data).write(to: URL(fileURLWithPath: path))
        let run = CLIRun(["analyze", "-f", "tcp port 443", path])
        #expect(run.stderr.contains(" write \"vlan and vlan and (tcp port 443)\" (one \"vlan and\" per tag: up to 2 "
            + "were stacked) (or \"(tcp port 443) or (vlan and vlan and (tcp port 443))\" for a mix)"), "\(run.stderr)")
        #expect(CLIRun(["analyze", "-f", "vlan and (tcp port 443)", path]).stderr.contains("left out every one"))
        let kept = CLIRun(["analyze", "-f", "vlan and vlan and (tcp port 443)", path])
        #expect(!kept.stderr.contains("left out every one"))
        #expect(kept.stdout.contains("check-in"))
    }

    /// Mirrored through VXLAN and cut to 96 bytes, every packet is cut inside its headers: the warning no longer
    /// says that 96 bytes keep the headers, but how far they ran and what keeps them.
    @Test func aTunnelledCaptureCutInItsHeadersGetsItsOwnSnapLengthAdvice() throws {
        let folder = try TemporaryFolder()
        let tunnelled = TemporaryDirectory()
        let wrapped = try TunnelledCaptureTests.tunnelled(Fixtures.captures + "/heartbeat/fleet.pcap", port: 4789,
                                                          into: tunnelled)
        let cut = try SnapLengthCaptureTests.cut(wrapped, to: 96, into: folder, name: "vxlan96.pcap")
        let run = CLIRun(["analyze", cut])
        #expect(run.stderr.contains("could not be read: connections and check-ins in them are missing or incomplete"))
        #expect(!run.stderr.contains("a snap length of 96 bytes or more keeps the headers"), "\(run.stderr)")
        #expect(run.stderr.contains("(their headers run past byte "))
        #expect(run.stderr.contains("a snap length of 256 bytes or more keeps them)"))
        let kept = try SnapLengthCaptureTests.cut(wrapped, to: 256, into: folder, name: "vxlan256.pcap")
        let whole = CLIRun(["analyze", kept])
        #expect(!whole.stderr.contains("inside their headers"))
        #expect(whole.stdout.contains("check-in"))
    }
}
