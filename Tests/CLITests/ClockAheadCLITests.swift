import Foundation
import Testing
import TestSupport

/// A capture whose every packet is followed by a stray ACK between two other hosts stamped far ahead (one
/// interface of a multi-interface capture with its clock off): the fleet's check-ins are those of the
/// capture without the strays, and the strays are counted in the capture summary.
@Suite struct ClockAheadCLITests {
    /// Copies the classic pcap `path` (little-endian, as `simulate` writes it) to `out` with a stray pure
    /// ACK (192.0.2.1:1234 -> 192.0.2.2:9) after every record, dated `ahead` seconds after it.
    /// Returns the number of strays.
    static func withStrays(_ path: String, to out: String, ahead: UInt32) throws -> Int {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let ack = PacketBuilder.tcp(sourcePort: 1234, destinationPort: 9, flags: 0x010)
        let frame = PacketBuilder.ethernet(type: 0x0800, payload: PacketBuilder.ipv4(payload: ack))
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) } }
        func le(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
        var written = Array(bytes.prefix(24))
        var strays = 0
        var at = 24
        while at + 16 <= bytes.count {
            let end = at + 16 + Int(u32(at + 8))
            try #require(end <= bytes.count)
            written += bytes[at..<end]
            written += le(u32(at) &+ ahead) + le(u32(at + 4)) + le(UInt32(frame.count)) + le(UInt32(frame.count))
            written += frame
            strays += 1
            at = end
        }
        try Data(written).write(to: URL(fileURLWithPath: out))
        return strays
    }

    /// The audit's fleet line (`Fleet: ... check-ins, ... failed, ... missed`).
    static func fleetLine(_ capture: String) -> String {
        let lines = sepbeat("audit", "-q", capture).stdout.split(separator: "\n")
        return lines.first { $0.hasPrefix("Fleet") }.map(String.init) ?? ""
    }

    @Test(arguments: [UInt32(3_600), 86_400])
    func strayFlowAheadLeavesCheckInsAsTheyAreAndIsCounted(ahead: UInt32) throws {
        let dir = try TemporaryFolder()
        let capture = try dir.simulatedCapture(
            "fleet.pcap", ["--clients", "3", "--duration", "1h", "--push-share", "0", "--seed", "11"])
        let stray = dir.path + "/stray.pcap"
        let strays = try Self.withStrays(capture, to: stray, ahead: ahead)

        let clean = Self.fleetLine(capture)
        #expect(clean.contains(" 0 failed"))
        #expect(Self.fleetLine(stray) == clean)
        // Every stray but the last is followed by a fleet packet near the capture's clock; the last one
        // ends the capture, where nothing says it was ahead of anything.
        let analyze = sepbeat("analyze", "-q", stray)
        let odd = "odd: timestamps going backwards \(strays - 1), packets stamped ahead of the capture's clock "
        // The strays repeat one frame (the same IP id): copies of one just before, counted too.
        #expect(analyze.stdout.contains(odd + "\(strays - 1)\n")
            || analyze.stdout.contains(odd + "\(strays - 1), exact duplicate packets "))
        let json = sepbeat("analyze", "-q", "-F", "json", stray)
        #expect(json.stdout.contains("\"packetsAheadOfClock\" : \(strays - 1),"))
        #expect(sepbeat("analyze", "-q", "-F", "json", capture).stdout.contains("\"packetsAheadOfClock\" : 0,"))
    }
}
