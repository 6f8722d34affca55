import Core
import Testing

@testable import Records

/// `ConnectionRecord` and `Exchange` store some fields in another form than they show (optional times as
/// integers and flags, the anomalies out of line): every field reads back as written, extremes included,
/// and equal values compare and hash equal however they were reached.
@Suite struct RecordStorageTests {
    private static let times: [Timestamp?] = [
        nil, Timestamp(nanoseconds: 0), Timestamp(nanoseconds: .min), Timestamp(nanoseconds: .max),
        Timestamp(nanoseconds: -1), Timestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789),
    ]

    private func blank() -> ConnectionRecord {
        ConnectionRecord(
            id: 1, client: Endpoint(address: IPAddress(ipv4: 0x0a14_0001), port: 50_000),
            server: Endpoint(address: IPAddress(ipv4: 0x0a01_000a), port: 443),
            start: Timestamp(nanoseconds: 10), end: Timestamp(nanoseconds: 20))
    }

    @Test func optionalTimesRoundTripOneByOne() {
        for t in Self.times {
            for field in 0..<3 {
                var r = blank()
                switch field {
                case 0: r.synTime = t
                case 1: r.synAckTime = t
                default: r.closeTime = t
                }
                #expect(r.synTime == (field == 0 ? t : nil))
                #expect(r.synAckTime == (field == 1 ? t : nil))
                #expect(r.closeTime == (field == 2 ? t : nil))
                #expect(r.vlanChanged == false)
                // Set back to nil: equal to a record that never had it.
                r.synTime = nil
                r.synAckTime = nil
                r.closeTime = nil
                #expect(r == blank())
                #expect(r.hashValue == blank().hashValue)
            }
        }
    }

    @Test func everyFieldRoundTripsAtItsExtremes() {
        var r = blank()
        r.id = .max
        r.client = Endpoint(address: IPAddress(ipv6High: .max, low: .max), port: .max)
        r.server = Endpoint(address: IPAddress(ipv6High: 0, low: 1), port: 0)
        r.vlan = VLANTags([4095, 1, 2, 3, 4])
        r.vlanDown = VLANTags([7])
        r.vlanChanged = true
        r.start = Timestamp(nanoseconds: .min)
        r.end = Timestamp(nanoseconds: .max)
        r.synTime = Timestamp(nanoseconds: .max)
        r.synAckTime = Timestamp(nanoseconds: .min)
        r.closeTime = Timestamp(nanoseconds: 0)
        r.packetsUp = .max
        r.packetsDown = .min
        r.bytesUp = .max
        r.bytesDown = .min
        r.state = ConnectionState(rawValue: .max)
        r.handshake = .refused
        r.synCount = .max
        r.application = .other
        r.foldedExchanges = .max
        var up = StreamAnomalies()
        up.gaps = .max
        up.gapBytes = .min
        up.repeatedBytes = Int64(UInt32.max)
        var down = StreamAnomalies()
        down.limitReached = 3
        r.anomaliesUp = up
        r.anomaliesDown = down
        #expect(r.id == .max)
        #expect(r.client == Endpoint(address: IPAddress(ipv6High: .max, low: .max), port: .max))
        #expect(r.server == Endpoint(address: IPAddress(ipv6High: 0, low: 1), port: 0))
        #expect(r.vlan == VLANTags([4095, 1, 2, 3, 4]))
        #expect(r.vlanDown == VLANTags([7]))
        #expect(r.vlanChanged)
        #expect(r.start == Timestamp(nanoseconds: .min))
        #expect(r.end == Timestamp(nanoseconds: .max))
        #expect(r.synTime == Timestamp(nanoseconds: .max))
        #expect(r.synAckTime == Timestamp(nanoseconds: .min))
        #expect(r.closeTime == Timestamp(nanoseconds: 0))
        #expect(r.packetsUp == .max && r.packetsDown == .min)
        #expect(r.bytesUp == .max && r.bytesDown == .min)
        #expect(r.state == ConnectionState(rawValue: .max))
        #expect(r.handshake == .refused)
        #expect(r.synCount == .max)
        #expect(r.application == .other)
        #expect(r.foldedExchanges == .max)
        #expect(r.anomaliesUp == up)
        #expect(r.anomaliesDown == down)
        #expect(r.anomaliesUp.gaps == Int(UInt32.max))
        #expect(r.anomaliesUp.gapBytes == .min)

        // Each flag alone leaves the others as they were.
        r.vlanChanged = false
        #expect(!r.vlanChanged)
        #expect(r.synTime == Timestamp(nanoseconds: .max) && r.synAckTime == Timestamp(nanoseconds: .min))
        r.synAckTime = nil
        #expect(r.synTime == Timestamp(nanoseconds: .max) && r.closeTime == Timestamp(nanoseconds: 0))
    }

    @Test func anomaliesOfOneDirectionLeaveTheOtherAndClearBackToNone() {
        var r = blank()
        #expect(r.anomalyStorage == nil)
        r.anomaliesDown.duplicates += 2
        #expect(r.anomaliesDown.duplicates == 2)
        #expect(r.anomaliesUp.isEmpty)
        r.anomaliesUp.gaps = 1
        #expect(r.anomaliesDown.duplicates == 2 && r.anomaliesUp.gaps == 1)
        let copy = r
        r.anomaliesUp.add(copy.anomaliesDown)
        #expect(copy.anomaliesUp.duplicates == 0)
        #expect(r.anomaliesUp.duplicates == 2)
        r.anomaliesUp = StreamAnomalies()
        r.anomaliesDown = StreamAnomalies()
        #expect(r.anomalyStorage == nil)
        #expect(r == blank())
        #expect(r.hashValue == blank().hashValue)
    }

    /// Both directions' anomalies set at once are what setting each gives; a single counter makes them not empty.
    @Test func anomaliesSetTogetherAreThoseSetOneByOne() {
        var counted: [StreamAnomalies] = [StreamAnomalies()]
        for field in 0..<9 {
            var a = StreamAnomalies()
            switch field {
            case 0: a.gaps = 1
            case 1: a.gapBytes = 1
            case 2: a.retransmissions = 1
            case 3: a.repeatedBytes = 1
            case 4: a.conflicts = 1
            case 5: a.duplicates = 1
            case 6: a.outOfOrder = 1
            case 7: a.truncatedPackets = 1
            default: a.limitReached = 1
            }
            #expect(!a.isEmpty)
            counted.append(a)
        }
        #expect(StreamAnomalies().isEmpty)
        for up in counted {
            for down in counted {
                var together = blank()
                together.setAnomalies(up: up, down: down)
                var oneByOne = blank()
                oneByOne.anomaliesUp = up
                oneByOne.anomaliesDown = down
                #expect(together == oneByOne)
                #expect(together.hashValue == oneByOne.hashValue)
                #expect(together.anomaliesUp == up && together.anomaliesDown == down)
                #expect((together.anomalyStorage == nil) == (up.isEmpty && down.isEmpty))
            }
        }
    }

    @Test func recordsReachedDifferentWaysCompareAndHashEqual() {
        var a = blank()
        a.synTime = Timestamp(nanoseconds: 5)
        a.anomaliesUp.gaps = 1
        var b = blank()
        b.synTime = Timestamp(nanoseconds: 99)
        b.closeTime = Timestamp(nanoseconds: 7)
        b.anomaliesUp.gaps = 4
        b.anomaliesDown.gaps = 1
        #expect(a != b)
        b.synTime = Timestamp(nanoseconds: 5)
        b.closeTime = nil
        b.anomaliesUp.gaps = 1
        b.anomaliesDown = StreamAnomalies()
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        var c = a
        c.synTime = Timestamp(nanoseconds: 0)
        #expect(c != a)
        c.synTime = nil
        var d = a
        d.synTime = nil
        #expect(c == d)
    }

    @Test func exchangeFieldsRoundTrip() {
        for t in Self.times {
            var e = Exchange(index: .max, kind: .other, start: Timestamp(nanoseconds: .min),
                             end: Timestamp(nanoseconds: .max))
            e.responseStart = t
            e.bytesUp = .max
            e.bytesDown = .min
            e.recordsUp = .max
            e.recordsDown = .min
            e.missingBytes = .max
            #expect(e.index == .max)
            #expect(e.kind == .other)
            #expect(e.start == Timestamp(nanoseconds: .min) && e.end == Timestamp(nanoseconds: .max))
            #expect(e.responseStart == t)
            #expect(e.bytesUp == .max && e.bytesDown == .min)
            #expect(e.recordsUp == .max && e.recordsDown == .min)
            #expect(e.missingBytes == .max)
            #expect(e.http == nil)
            e.responseStart = nil
            var fresh = Exchange(index: .max, kind: .other, start: Timestamp(nanoseconds: .min),
                                 end: Timestamp(nanoseconds: .max))
            fresh.bytesUp = .max
            fresh.bytesDown = .min
            fresh.recordsUp = .max
            fresh.recordsDown = .min
            fresh.missingBytes = .max
            #expect(e == fresh)
            #expect(e.hashValue == fresh.hashValue)
        }
        var optional = Exchange(index: 0, kind: .tls, start: .zero, end: .zero)
        optional.responseStart? = Timestamp(nanoseconds: 3)
        #expect(optional.responseStart == nil)
        optional.responseStart = .zero
        optional.responseStart? = Timestamp(nanoseconds: 3)
        #expect(optional.responseStart == Timestamp(nanoseconds: 3))
    }

    @Test func theStoredFormIsSmaller() {
        #expect(MemoryLayout<ConnectionRecord>.stride <= 200)
        #expect(MemoryLayout<Exchange>.stride <= 88)
    }
}
