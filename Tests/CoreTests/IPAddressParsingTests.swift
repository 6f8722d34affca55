import Testing

@testable import Core

/// IPv4 text is read only in the one form every resolver reads alike: four decimal numbers 0-255
/// without leading zeros. `inet_aton` (glibc, Windows) reads `012` as octal 10, so `012.1.0.11` is
/// refused rather than read as 12.1.0.11.
@Suite struct IPAddressParsingTests {
    @Test(arguments: ["10.1.0.10", "0.0.0.0", "10.0.0.1", "255.255.255.255", "100.64.0.0", "1.2.3.4"])
    func dottedDecimalIsRead(_ text: String) throws {
        let a = try #require(IPAddress(text))
        #expect(a.description == text)
    }

    @Test(arguments: ["012.1.0.11", "10.1.0.010", "00.0.0.0", "10.01.0.1", "10.1.0.00", "0377.1.1.1",
                      "::ffff:012.1.0.11", "0x0a.1.0.11", "10.1.11", "10.1.0.256"])
    func otherNumericFormsAreRefused(_ text: String) {
        #expect(IPAddress(text) == nil, "\(text)")
    }

    @Test func ipv6GroupsKeepTheirLeadingZeros() {
        #expect(IPAddress("2001:0db8:0000::0001") == IPAddress("2001:db8::1"))
        #expect(IPAddress("::ffff:0a01:000b")?.unmappingIPv4 == IPAddress("10.1.0.11"))
        #expect(IPAddress("::ffff:10.1.0.11")?.unmappingIPv4 == IPAddress("10.1.0.11"))
    }

    @Test func numericLookingTextIsTold() {
        for numeric in ["012.1.0.11", "0x0a.1.0.11", "10.1.11", "10.1.0.10.", "10", "sepm.10", "10.1.0.0XA"] {
            #expect(IPAddress.looksNumeric(numeric), "\(numeric)")
        }
        for name in ["sepm.example.net", "1e100.net", "10.1.0.x10", "0xsepm", "2001:db8::1", "", "."] {
            #expect(!IPAddress.looksNumeric(name), "\(name)")
        }
    }
}
