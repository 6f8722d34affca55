import Core

/// The identity of a connection in the table: VLAN tags and the unordered pair of endpoints.
struct FlowKey: Hashable {
    var vlan: VLANTags
    /// The lower endpoint of the two, then the higher, so both directions share one key.
    var low: Endpoint
    var high: Endpoint

    init(_ segment: TCPSegment) {
        vlan = segment.vlan
        if segment.source < segment.destination {
            low = segment.source
            high = segment.destination
        } else {
            low = segment.destination
            high = segment.source
        }
    }

    /// Six words into the hasher instead of the thirteen fields one by one (the per-packet
    /// table lookup hashes a key). Equal keys feed equal words.
    func hash(into hasher: inout Hasher) {
        hasher.combine(low.address.high)
        hasher.combine(low.address.low)
        hasher.combine(high.address.high)
        hasher.combine(high.address.low)
        let families = UInt64(low.address.isIPv6 ? 1 : 0) | UInt64(high.address.isIPv6 ? 2 : 0)
        hasher.combine(UInt64(low.port) | UInt64(high.port) << 16 | families << 32)
        hasher.combine(
            UInt64(vlan.outer) | UInt64(vlan.inner) << 16 | UInt64(vlan.third) << 32 | UInt64(vlan.depth) << 48)
    }
}
