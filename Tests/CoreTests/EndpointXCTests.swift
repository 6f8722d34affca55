import XCTest
@testable import Core

/// Endpoint and link-type text, checked with XCTest so that runners which only read XCTest's
/// summary also see the suite run (the rest of the suite uses Swift Testing).
final class EndpointXCTests: XCTestCase {
    func testEndpointTextBracketsIPv6() throws {
        let v6 = try XCTUnwrap(IPAddress("2001:db8::1"))
        XCTAssertEqual(Endpoint(address: v6, port: 443).description, "[2001:db8::1]:443")
        let v4 = try XCTUnwrap(IPAddress("192.0.2.7"))
        XCTAssertEqual(Endpoint(address: v4, port: 8014).description, "192.0.2.7:8014")
    }

    func testEndpointsOrderByAddressThenPort() throws {
        let a = Endpoint(address: try XCTUnwrap(IPAddress("192.0.2.1")), port: 9)
        let b = Endpoint(address: try XCTUnwrap(IPAddress("192.0.2.1")), port: 10)
        let c = Endpoint(address: try XCTUnwrap(IPAddress("192.0.2.2")), port: 1)
        XCTAssertEqual([c, b, a].sorted(), [a, b, c])
    }

    func testLinkTypeNames() {
        XCTAssertEqual(LinkType.ethernet.name, "EN10MB")
        XCTAssertEqual(LinkType.linuxSLL2.description, "LINUX_SLL2 (276)")
        XCTAssertEqual(LinkType(rawValue: 4242).name, "LINKTYPE_4242")
    }
}
