import Core
@testable import Streams
import Testing

@Suite("Flow keys and the duplicate filter")
struct FlowKeyTests {
    private func segment(
        _ source: Endpoint, _ destination: Endpoint, vlan: VLANTags = .none, sequence: UInt32 = 1,
        ipID: UInt32? = 7, length: Int = 0, at nanoseconds: Int64 = 0
    ) -> TCPSegment {
        TCPSegment(
            timestamp: Timestamp(nanoseconds: nanoseconds), vlan: vlan, source: source, destination: destination,
            sequence: sequence, acknowledgement: 9, flags: [.ack], window: 100, ipID: ipID, checksum: 0xbeef,
            payloadLength: length, payload: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    private func hash(_ key: FlowKey) -> Int {
        var h = Hasher()
        key.hash(into: &h)
        return h.finalize()
    }

    private let v4a = Endpoint(address: IPAddress(ipv4: 0x0a00_0001), port: 40_000)
    private let v4b = Endpoint(address: IPAddress(ipv4: 0xc0a8_0002), port: 443)
    private let v6a = Endpoint(address: IPAddress(ipv6High: 0x2001_0db8_0000_0000, low: 1), port: 40_000)
    /// ::ffff:10.0.0.1, the IPv4-mapped form of `v4a`'s address: another key.
    private let mapped = Endpoint(address: IPAddress(ipv6High: 0, low: 0xffff_0a00_0001), port: 40_000)

    @Test func bothDirectionsShareOneKeyAndHash() {
        for (a, b) in [(v4a, v4b), (v6a, v4b), (mapped, v4b)] {
            let up = FlowKey(segment(a, b))
            let down = FlowKey(segment(b, a))
            #expect(up == down)
            #expect(hash(up) == hash(down))
            #expect(up.low < up.high)
        }
    }

    @Test func keysThatDifferHashAsDifferentKeys() {
        let keys = [
            FlowKey(segment(v4a, v4b)), FlowKey(segment(mapped, v4b)), FlowKey(segment(v6a, v4b)),
            FlowKey(segment(v4a, v4b, vlan: VLANTags([10]))),
            FlowKey(segment(Endpoint(address: v4a.address, port: 40_001), v4b)),
        ]
        var table: [FlowKey: Int] = [:]
        for (i, k) in keys.enumerated() { table[k] = i }
        #expect(table.count == keys.count)
        for (i, k) in keys.enumerated() { #expect(table[k] == i) }
        #expect(Set(keys.map(hash)).count == keys.count)
    }

    @Test func twoIPv4AddressesShareOneWord() {
        #expect(FlowKey.ipv4Pair(v4a.address, v4b.address) == 0xc0a8_0002_0a00_0001)
        #expect(FlowKey.ipv4Pair(v4a.address, v6a.address) == nil)
        #expect(FlowKey.ipv4Pair(mapped.address, v4b.address) == nil)
    }

    @Test func duplicateFilterMatchesEveryField() {
        var filter = DuplicateFilter()
        /// Whether each segment in turn is a copy (the filter remembers those that are not).
        func copies(_ segments: [TCPSegment], in filter: inout DuplicateFilter) -> [Bool] {
            segments.map { filter.verdict($0, window: 1_000) != .new }
        }
        let seen = copies([
            segment(v4a, v4b, length: 10, at: 0),
            segment(v4a, v4b, length: 10, at: 500),
            // Another identification, sequence or length: not a copy.
            segment(v4a, v4b, ipID: 8, length: 10, at: 600),
            segment(v4a, v4b, sequence: 2, length: 10, at: 600),
            segment(v4a, v4b, length: 11, at: 600),
            // Past the window of every slot that holds it: remembered again, not a copy.
            segment(v4a, v4b, length: 10, at: 5_000),
        ], in: &filter)
        #expect(seen == [false, true, false, false, false, false])
        // Identification 0 and none at all (IPv6) differ; two without one match.
        var v6 = DuplicateFilter()
        let v6Seen = copies([
            segment(v4a, v4b, ipID: 0, at: 0), segment(v4a, v4b, ipID: nil, at: 10),
            segment(v4a, v4b, ipID: nil, at: 20),
        ], in: &v6)
        #expect(v6Seen == [false, false, true])
    }
}
