import Testing

@testable import Core

/// `IPAddress.appendText` must give `description`'s bytes exactly.
@Suite struct IPAddressTextTests {
    static func text(_ a: IPAddress) -> String {
        var out: [UInt8] = [0x2a]  // bytes already there are kept
        a.appendText(to: &out)
        #expect(out.first == 0x2a)
        return String(decoding: out.dropFirst(), as: UTF8.self)
    }

    @Test(arguments: ["0.0.0.0", "255.255.255.255", "10.0.1.9", "192.0.2.100", "100.64.10.1", "1.22.103.0",
                      "::", "::1", "2001:db8::1", "fe80::1:0:0:2", "::ffff:192.0.2.7", "2001:db8:0:1:1:1:1:1"])
    func appendedTextEqualsDescription(_ literal: String) throws {
        let a = try #require(IPAddress(literal))
        #expect(Self.text(a) == a.description)
    }

    @Test func everyIPv4OctetValueIsWrittenAsDescriptionWritesIt() {
        for v in 0...255 {
            let a = IPAddress(ipv4: UInt32(v) << 24 | UInt32(v) << 16 | UInt32(255 - v) << 8 | UInt32(v / 3))
            #expect(Self.text(a) == a.description)
        }
    }
}
