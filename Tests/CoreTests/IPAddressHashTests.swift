import Testing

@testable import Core

/// `IPAddress` and `Endpoint` hash fewer words than their fields; equal values must still hash equal
/// and unequal ones stay apart as dictionary keys.
@Suite struct IPAddressHashTests {
    static let addresses: [IPAddress] = [
        IPAddress(ipv4: 0), IPAddress(ipv4: 1), IPAddress(ipv4: 0x0a00_0001), IPAddress(ipv4: .max),
        IPAddress(ipv6High: 0, low: 0), IPAddress(ipv6High: 0, low: 1), IPAddress(ipv6High: 0, low: 0x0a00_0001),
        IPAddress(ipv6High: 0, low: 0xffff_0a00_0001),  // ::ffff:10.0.0.1, not 10.0.0.1
        IPAddress(ipv6High: 0, low: 1 << 32 | 0x0a00_0001),  // words an IPv4 hash could feed
        IPAddress(ipv6High: 0x2001_0db8 << 32, low: 1), IPAddress(ipv6High: 1, low: 0),
    ]

    @Test func equalAddressesHashEqualAndEveryOneIsItsOwnKey() {
        var seen: [IPAddress: Int] = [:]
        for (i, a) in Self.addresses.enumerated() {
            let copy = a
            #expect(copy.hashValue == a.hashValue)
            seen[a] = i
        }
        #expect(seen.count == Self.addresses.count)
        for (i, a) in Self.addresses.enumerated() { #expect(seen[a] == i) }
        #expect(IPAddress("10.0.0.1")?.hashValue == IPAddress(ipv4: 0x0a00_0001).hashValue)
    }

    @Test func endpointsDifferingInAnyPartAreApart() {
        var seen: Set<Endpoint> = []
        var count = 0
        for a in Self.addresses {
            for port: UInt16 in [0, 1, 443, 8014, .max] {
                seen.insert(Endpoint(address: a, port: port))
                count += 1
                #expect(seen.contains(Endpoint(address: a, port: port)))
            }
        }
        #expect(seen.count == count)
    }
}
