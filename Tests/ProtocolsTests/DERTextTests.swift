import Core
@testable import Protocols
import Testing

/// The OID and time texts are built byte by byte; these check them against the plain
/// `String` forms they replace, over many inputs.
@Suite struct DERTextTests {
    /// The dotted text the straightforward way: arcs first, then `String(arc)` joined by dots.
    private func referenceOID(_ bytes: [UInt8]) -> String? {
        guard !bytes.isEmpty else { return nil }
        var arcs: [UInt64] = []
        var value: UInt64 = 0
        var bytesInArc = 0
        for b in bytes {
            guard bytesInArc < 8 else { return nil }
            value = value << 7 | UInt64(b & 0x7f)
            bytesInArc += 1
            if b & 0x80 == 0 {
                arcs.append(value)
                value = 0
                bytesInArc = 0
            }
        }
        guard bytesInArc == 0, let first = arcs.first else { return nil }
        let head = first < 40 ? "0.\(first)" : first < 80 ? "1.\(first - 40)" : "2.\(first - 80)"
        return ([head] + arcs.dropFirst().map { String($0) }).joined(separator: ".")
    }

    private func oid(_ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { DERReader.dottedOID($0) }
    }

    @Test func knownOIDs() {
        #expect(oid([0x55, 0x04, 0x03]) == "2.5.4.3")
        #expect(oid([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]) == "1.2.840.113549.1.1.11")
        #expect(oid([0x00]) == "0.0")
        #expect(oid([0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]) == "2.47.72057594037927935")
        #expect(oid([]) == nil)
        #expect(oid([0x55, 0x84]) == nil)
        #expect(oid([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]) == nil)
    }

    @Test func randomOIDsMatchTheReference() {
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        for _ in 0..<20_000 {
            let count = Int(next() % 14)
            // Mostly small arcs, with continuation bytes often enough to reach long arcs.
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: next() % 3 == 0 ? next() | 0x80 : next()) }
            #expect(oid(bytes) == referenceOID(bytes), "\(bytes)")
        }
    }

    @Test func commonNameByBytesMatchesText() {
        for bytes: [UInt8] in [[0x55, 0x04, 0x03], [0x55, 0x04, 0x06], [0x55, 0x80, 0x04, 0x03], [0x55, 0x04],
                               [0x55, 0x04, 0x03, 0x00], []] {
            let byText = oid(bytes) == X509.commonNameOID
            #expect(bytes.withUnsafeBytes { X509.isCommonName($0) } == byText, "\(bytes)")
        }
    }

    @Test func certificateTimes() {
        func time(_ tag: UInt8, _ text: String) -> Timestamp? {
            let der = [tag, UInt8(text.utf8.count)] + Array(text.utf8)
            return der.withUnsafeBytes { raw in
                var r = DERReader(raw)
                return r.next().flatMap(X509.time)
            }
        }
        #expect(time(DERReader.utcTime, "261204165701Z") == Timestamp(rfc3339: "2026-12-04T16:57:01Z"))
        #expect(time(DERReader.utcTime, "500101000000Z") == Timestamp(rfc3339: "1950-01-01T00:00:00Z"))
        #expect(time(DERReader.generalizedTime, "20810906165701Z") == Timestamp(rfc3339: "2081-09-06T16:57:01Z"))
        #expect(time(DERReader.generalizedTime, "00050102030405.123Z") == Timestamp(rfc3339: "0005-01-02T03:04:05Z"))
        #expect(time(DERReader.generalizedTime, "99991231235960Z") == Timestamp(rfc3339: "9999-12-31T23:59:60Z"))
        #expect(time(DERReader.utcTime, "261304165701Z") == nil)  // month 13
        #expect(time(DERReader.utcTime, "261204245701Z") == nil)  // hour 24
        #expect(time(DERReader.utcTime, "2612041657Z") == nil)
    }
}
