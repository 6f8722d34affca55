import Testing

@testable import Heartbeat

/// How numbers and counts read in finding messages and step evidence.
@Suite struct MessageWordingTests {
    @Test func countsUseTheSingularForOneAndThePluralOtherwise() {
        #expect(counted(1, "check-in") == "1 check-in")
        #expect(counted(0, "check-in") == "0 check-ins")
        #expect(counted(2, "SYN") == "2 SYNs")
        #expect(counted(1, "memory limit hit") == "1 memory limit hit")
        #expect(counted(3, "accelerated run") == "3 accelerated runs")
        #expect(counted(2, "child", "children") == "2 children")
    }

    @Test func roundTripsReadInMillisecondsWithSensiblePrecision() {
        #expect(formatRoundTrip(0) == "0 ms")
        #expect(formatRoundTrip(0.000_04) == "0.04 ms")
        #expect(formatRoundTrip(0.000_123_4) == "0.123 ms")
        #expect(formatRoundTrip(0.001) == "1.00 ms")
        #expect(formatRoundTrip(0.002_5) == "2.50 ms")
        #expect(formatRoundTrip(0.012_3) == "12.3 ms")
        #expect(formatRoundTrip(0.140) == "140 ms")
        #expect(formatRoundTrip(0.999_4) == "999 ms")
        #expect(formatRoundTrip(1.2) == "1.2 s")
        #expect(formatRoundTrip(31) == "31.0 s")
    }

    @Test func secondsAreWholeOrCarryUpToThreeDecimals() {
        #expect(formatSeconds(35) == "35")
        #expect(formatSeconds(35.000_1) == "35")
        #expect(formatSeconds(47.999_9) == "48")
        #expect(formatSeconds(300.079) == "300.079")
        #expect(formatSeconds(0.5) == "0.5")
        #expect(formatSeconds(0.000_4) == "0")
        #expect(formatSeconds(-0.25) == "-0.25")
        #expect(formatSeconds(516_890.981_2) == "516890.981")
    }

    @Test func stepEvidenceGivesTheSynAckTimeInMilliseconds() {
        var f = RecordFactory()
        let model = (try? ReferenceModel.builtIn.withServer("198.51.100.1")) ?? .builtIn
        let r = analyze([f.idle(start: at(0))], model: model)
        let connect = r.sessions.first?.steps.first { $0.step == 2 }
        #expect(connect?.evidence.contains("SYN-ACK after 1.00 ms") == true)
        #expect(r.sessions.first?.steps.first { $0.step == 3 }?.evidence.contains("in 1 record,") == true)
    }
}
