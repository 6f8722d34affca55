import Core

/// The identity of a connection in the table: VLAN tags and the unordered pair of endpoints.
struct FlowKey: Hashable {
    var vlan: VLANTags
    /// The lower endpoint of the two, then the higher, so both directions share one key.
    var low: Endpoint
    var high: Endpoint

    init(_ segment: TCPSegment) {
        vlan = segment.vlan
        if FlowKey.precedes(segment.source, segment.destination) {
            low = segment.source
            high = segment.destination
        } else {
            low = segment.destination
            high = segment.source
        }
    }

    /// Whether `segment` is of this key: the same as `FlowKey(segment) == self`, without building that key.
    /// A key's `low` never follows its `high` (see `init`), so the segment's endpoints match them in one order
    /// or the other exactly when its key's would match them in order.
    @inline(__always)
    func holds(_ segment: TCPSegment) -> Bool {
        guard segment.vlan == vlan else { return false }
        return segment.source == low ? segment.destination == high
            : segment.source == high && segment.destination == low
    }

    /// Six words into the hasher instead of the thirteen fields one by one (the per-packet
    /// table lookup hashes a key), three when both addresses are IPv4 (their two 32-bit values
    /// share a word). Equal keys feed equal words; different keys of one form feed different
    /// words, and the two forms differ in length, so the seeded hash keeps crafted keys apart.
    func hash(into hasher: inout Hasher) {
        let families = UInt64(low.address.isIPv6 ? 1 : 0) | UInt64(high.address.isIPv6 ? 2 : 0)
        let ports = UInt64(low.port) | UInt64(high.port) << 16 | families << 32
        let tags = UInt64(vlan.outer) | UInt64(vlan.inner) << 16 | UInt64(vlan.third) << 32 | UInt64(vlan.depth) << 48
        if let pair = FlowKey.ipv4Pair(low.address, high.address) {
            hasher.combine(pair)
        } else {
            hasher.combine(low.address.high)
            hasher.combine(low.address.low)
            hasher.combine(high.address.high)
            hasher.combine(high.address.low)
        }
        hasher.combine(ports)
        hasher.combine(tags)
    }

    /// `a < b` for endpoints (address family, IPv4 first, then the address's words, then the port), in
    /// one pass over the fields.
    @inline(__always)
    static func precedes(_ a: Endpoint, _ b: Endpoint) -> Bool {
        if a.address.isIPv6 != b.address.isIPv6 { return !a.address.isIPv6 }
        if a.address.high != b.address.high { return a.address.high < b.address.high }
        if a.address.low != b.address.low { return a.address.low < b.address.low }
        return a.port < b.port
    }

    /// Two IPv4 addresses in one word (`a` low, `b` high); nil unless both are IPv4 values.
    @inline(__always)
    static func ipv4Pair(_ a: IPAddress, _ b: IPAddress) -> UInt64? {
        guard !a.isIPv6, !b.isIPv6, a.high == 0, b.high == 0, a.low >> 32 == 0, b.low >> 32 == 0 else { return nil }
        return a.low | b.low << 32
    }
}
