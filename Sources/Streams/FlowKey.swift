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
}
