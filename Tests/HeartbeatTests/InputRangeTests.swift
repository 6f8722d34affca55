import Core
import Foundation
import Testing

@testable import Heartbeat

/// Intervals, sizes and names from untrusted sources: one range for every source, errors that
/// name the file and field, and arithmetic that saturates instead of trapping.
@Suite struct InputRangeTests {
    private func modelError(_ json: String) -> ModelError? {
        do {
            _ = try ReferenceModel.parse(data: Data(json.utf8), file: "model.json")
            return nil
        } catch {
            return error
        }
    }

    private func syLinkError(_ xml: String) -> String? {
        do {
            _ = try parseSyLink(xml)
            return nil
        } catch {
            return error.description
        }
    }

    private func serverError(_ spec: String) -> ModelError? {
        do {
            _ = try ReferenceModel.builtIn.withServer(spec)
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Interval range

    @Test func modelIntervalIsAcceptedAtOneWeekAndRefusedOnePast() {
        #expect(modelError(#"{"interval": {"seconds": 604800}}"#) == nil)
        let e = modelError(#"{"interval": {"seconds": 604801}}"#)
        #expect(e?.field == "interval.seconds")
        #expect(e?.description.contains("at most 604800") == true)
        #expect(modelError(#"{"interval": {"seconds": 1e12}}"#)?.field == "interval.seconds")
        #expect(modelError(#"{"push": {"heartbeatSeconds": 604801}}"#)?.field == "push.heartbeatSeconds")
    }

    @Test func syLinkIntervalsAreRangeCheckedNamingFileAndAttribute() {
        #expect(syLinkError(syLinkXML(push: "604800")) == nil)
        #expect(syLinkError(syLinkXML(push: "10")) == nil)
        let past = syLinkError(syLinkXML(push: "604801"))
        #expect(past?.hasPrefix("SyLink.xml: PushHeartbeatSeconds") == true)
        #expect(syLinkError(syLinkXML(push: "9223372036854775807"))?.contains("PushHeartbeatSeconds") == true)
        #expect(syLinkError(syLinkXML(extra: #"PullHeartbeatSeconds="99999999999""#))?
            .contains("PullHeartbeatSeconds must be a whole number of seconds from 10 to 604800") == true)
        #expect(syLinkError(syLinkXML(extra: #"PullHeartbeatSeconds="0""#))?.contains("PullHeartbeatSeconds") == true)
        #expect(syLinkError(syLinkXML(extra: #"PullHeartbeatSeconds="0x10""#)) != nil)
        #expect(syLinkError(syLinkXML(extra: #"PullHeartbeatSeconds="604800""#)) == nil)
    }

    @Test func pushIntervalHasThePullIntervalsFloorInModelFiles() {
        #expect(modelError(#"{"push": {"heartbeatSeconds": 10}}"#) == nil)
        for text in ["9.999", "1", "0.001"] {
            let e = modelError(#"{"push": {"heartbeatSeconds": "# + text + "}}")
            #expect(e?.field == "push.heartbeatSeconds", "\(text)")
            #expect(e?.description.hasPrefix("model.json: ") == true, "\(text)")
            #expect(e?.description.contains("must be at least 10 seconds, got \(text)") == true,
                    "\(text): \(e?.description ?? "accepted")")
        }
    }

    @Test func pushIntervalHasThePullIntervalsFloorInSyLink() {
        #expect(syLinkError(syLinkXML(push: "10")) == nil)
        for text in ["9", "1", "0"] {
            #expect(syLinkError(syLinkXML(push: text)) == "SyLink.xml: PushHeartbeatSeconds must be a whole number "
                + "of seconds from 10 to 604800, got \"\(text)\"")
        }
    }

    @Test func syLinkServerAddressesAreCheckedAsServerOptionHosts() {
        func addressError(_ address: String) -> String? {
            syLinkError(syLinkXML(servers: #"<ServerPriorityBlock Name="Priority1"><Server Address=""#
                + address + #"" HttpsPort="443"/></ServerPriorityBlock>"#))
        }
        for good in ["10.1.0.10", "2001:db8::1", "sepm.example.net", "sepm", "sepm.example.net."] {
            #expect(addressError(good) == nil, "\(good)")
            #expect(serverError(good) == nil, "--server \(good)")
        }
        for bad in ["https://10.1.0.10/", "10.1.0.10:443", "[2001:db8::1]", "sepm example", "-sepm"] {
            let e = addressError(bad)
            #expect(e?.hasPrefix("SyLink.xml: Server #1 (line ") == true, "\(bad): \(e ?? "accepted")")
            #expect(e?.hasSuffix("Address must be an IPv4 address, an IPv6 address or a host name (no scheme, port "
                + "or brackets), got \"\(bad)\"") == true, "\(bad): \(e ?? "accepted")")
        }
        // --server refuses the same hosts (a port or brackets are its own syntax there).
        for bad in ["https://10.1.0.10/", "sepm example", "10.1.0.256", "-sepm"] {
            #expect(serverError(bad) != nil, "--server \(bad)")
        }
        // A URL is named as such, not read as HOST:PORT (`//10.1.0.10` is no port).
        for url in ["http://10.1.0.10", "https://10.1.0.10/", "10.1.0.10:443/secars", "[2001:db8::1]/x"] {
            #expect(serverError(url)?.description == "--server: must be HOST or HOST:PORT: an IPv4 address, "
                + "[IPv6]:PORT or a host name (no scheme or path), got \"\(url)\"", "--server \(url)")
        }
    }

    /// Numeric forms that are neither dotted-decimal IPv4 nor IPv6 (hex or octal parts, fewer than four
    /// parts, a trailing dot) would be taken as a host name that never resolves: refused, naming the value.
    @Test func numericAddressFormsOtherThanDottedDecimalAreRefused() throws {
        func addressError(_ address: String) -> String? {
            syLinkError(syLinkXML(servers: #"<ServerPriorityBlock Name="Priority1"><Server Address=""#
                + address + #"" HttpsPort="443"/></ServerPriorityBlock>"#))
        }
        let hint = " (an IPv4 address is four decimal numbers 0-255 without leading zeros, as in 10.1.0.10; hex, "
            + "octal (a leading 0, as in 012) or fewer parts are not read)"
        for bad in ["0x0a.1.0.10", "10.1.0.0xa", "0x0A010010", "0x0a", "10.1.10", "10.1.0.10.", "10.1.0.256",
                    "sepm.10", "10.0x1.0.10", "10.1.0.0X0A.", "012.1.0.11", "10.1.0.010", "00.0.0.0"] {
            let e = addressError(bad)
            #expect(e?.hasPrefix("SyLink.xml: Server #1 (line ") == true, "\(bad): \(e ?? "accepted")")
            #expect(e?.hasSuffix("Address must be an IPv4 address, an IPv6 address or a host name (no scheme, port "
                + "or brackets), got \"\(bad)\"" + hint) == true, "\(bad): \(e ?? "accepted")")
            let option = serverError(bad)?.description
            #expect(option == "--server: \"\(bad)\" is not an IPv4 address, an IPv6 address ([IPv6]:PORT with a port) "
                + "or a host name" + hint, "--server \(bad): \(option ?? "accepted")")
        }
        // Plain zeros are addresses, and a name with letters in its last label stays a name.
        let zeros = try parseSyLink(syLinkXML(servers: #"<ServerPriorityBlock Name="Priority1">"#
            + #"<Server Address="10.0.0.10" HttpsPort="443"/></ServerPriorityBlock>"#))
        #expect(zeros.servers.first?.ipAddress == IPAddress("10.0.0.10"))
        #expect(serverError("0.0.0.0") == nil && serverError("10.0.0.1:8443") == nil)
        for name in ["0x0a.example.net", "1e100.net", "sepm-10", "10.1.0.x10", "0xsepm"] {
            #expect(addressError(name) == nil, "\(name)")
            #expect(serverError(name) == nil, "--server \(name)")
        }
        // The hint is for numeric-looking values only.
        #expect(serverError("sepm example")?.description.contains("decimal numbers") == false)
    }

    /// A host name in its fully qualified form (a trailing dot) is the name an SNI or Host header gives,
    /// so it can be tied to an address; a numeric one with a trailing dot stays refused.
    @Test func aTrailingDotOfAHostNameIsDropped() throws {
        #expect(try ReferenceModel.builtIn.withServer("sepm1.example.test.").servers.last?.host == "sepm1.example.test")
        let sylink = try parseSyLink(syLinkXML(servers: #"<ServerPriorityBlock Name="Priority1">"#
            + #"<Server Address="sepm1.example.test." HttpsPort="443"/></ServerPriorityBlock>"#))
        #expect(sylink.servers.map(\.address) == ["sepm1.example.test"])
        #expect(throws: (any Error).self) { try ReferenceModel.builtIn.withServer("10.1.0.10.") }
    }

    /// An IPv4-mapped IPv6 address is the IPv4 address it maps: packets carry that one.
    @Test func ipv4MappedAddressesAreTakenAsTheirIPv4Address() throws {
        let sylink = try parseSyLink(syLinkXML(servers: #"<ServerPriorityBlock Name="Priority1">"#
            + #"<Server Address="::ffff:10.1.0.10" HttpsPort="443"/>"#
            + #"<Server Address="::FFFF:0a01:000b" HttpsPort="443"/>"#
            + #"<Server Address="2001:db8::1" HttpsPort="443"/></ServerPriorityBlock>"#))
        #expect(sylink.servers.map(\.address) == ["10.1.0.10", "10.1.0.11", "2001:db8::1"])
        #expect(sylink.servers.map(\.ipAddress) == [IPAddress("10.1.0.10"), IPAddress("10.1.0.11"),
                                                     IPAddress("2001:db8::1")])
        let option = try ReferenceModel.builtIn.withServer("::ffff:10.1.0.10")
        #expect(option.servers.last?.host == "10.1.0.10")
        let bracketed = try ReferenceModel.builtIn.withServer("[::ffff:10.1.0.10]:8443")
        #expect(bracketed.servers.last?.host == "10.1.0.10" && bracketed.servers.last?.port == 8443)
        #expect(try ReferenceModel.builtIn.withServer("::1").servers.last?.host == "::1")
        #expect(IPAddress("::ffff:192.0.2.1")?.unmappingIPv4 == IPAddress("192.0.2.1"))
        #expect(IPAddress("::192.0.2.1")?.unmappingIPv4.isIPv6 == true)
        #expect(IPAddress("192.0.2.1")?.unmappingIPv4 == IPAddress("192.0.2.1"))
        // Check-ins to the IPv4 address count for the mapped entry.
        var f = RecordFactory()
        let records = (0..<3).map { f.idle(server: "10.1.0.10", start: at(Double($0) * 300)) }
        let r = analyze(records, sylink: sylink)
        #expect(r.managers.first { $0.address == "10.1.0.10" }?.source == "sylink", "\(r.managers)")
        #expect(r.summary.checkIns == 3)
    }

    @Test func shortIntervalDerivesToleranceAndAcceleratedRange() throws {
        let m = try ReferenceModel.builtIn.withInterval(seconds: 60)
        #expect(m.interval.seconds == 60 && m.interval.toleranceSeconds == 6 && m.interval.acceleratedMaxSeconds == 12)
        let long = try ReferenceModel.builtIn.withInterval(seconds: 900)
        #expect(long.interval.toleranceSeconds == 30 && long.interval.acceleratedMaxSeconds == 60)
        let shortest = try ReferenceModel.builtIn.withInterval(seconds: ReferenceModel.minIntervalSeconds)
        #expect(shortest.interval.toleranceSeconds == 1)
        #expect(try ReferenceModel.builtIn.withInterval(seconds: 604_800).interval.seconds == 604_800)
        #expect(throws: ModelError.self) { try ReferenceModel.builtIn.withInterval(seconds: 604_801) }
        #expect(throws: ModelError.self) { try ReferenceModel.builtIn.withInterval(seconds: 0) }
    }

    /// One minimum pull interval (10 s) for --interval, SyLink.xml and model files alike.
    @Test func intervalsBelowTheMinimumAreRefusedFromEverySource() throws {
        #expect(ReferenceModel.minIntervalSeconds == 10)
        #expect(throws: ModelError.self) { try ReferenceModel.builtIn.withInterval(seconds: 0.5) }
        #expect(throws: ModelError.self) { try ReferenceModel.builtIn.withInterval(seconds: 9.999) }
        #expect(try ReferenceModel.builtIn.withInterval(seconds: 10).interval.seconds == 10)
        #expect(syLinkError(syLinkXML(extra: #"PullHeartbeatSeconds="9""#))?.contains("from 10") == true)
        #expect(syLinkError(syLinkXML(extra: #"PullHeartbeatSeconds="10""#)) == nil)
        var model = ReferenceModel.builtIn
        model.interval.seconds = 5
        model.interval.toleranceSeconds = 0.5
        model.interval.acceleratedMaxSeconds = 1
        #expect(throws: ModelError.self) { try model.validate(file: "model.json") }
        model.interval.seconds = 10
        try model.validate(file: "model.json")
    }

    @Test func syLinkPullIntervalOfThirtySecondsGetsDerivedExpectations() throws {
        var f = RecordFactory()
        let records = (0..<5).map { f.idle(start: at(Double($0) * 30)) }
        let sylink = try parseSyLink(syLinkXML(extra: #"PullHeartbeatSeconds="30""#))
        let r = analyze(records, sylink: sylink)
        #expect(r.expectations.pullIntervalSeconds == 30)
        #expect(r.expectations.intervalSource == "sylink")
        #expect(r.expectations.toleranceSeconds == 3)
        #expect(r.expectations.acceleratedMaxSeconds == 6)
        #expect(r.codes(.acceleratedHeartbeat).isEmpty)
        #expect(r.codes(.missedHeartbeat).isEmpty)
        let audit = FleetAudit(report: r, model: .builtIn)
        #expect(audit.acceleratedMaxSeconds == 6)
        #expect(audit.clients.first?.health == .healthy)
    }

    /// `sepbeat model --interval 13.7` printed a tolerance of 1.3699999999999999 and an accelerated range of
    /// 2.7399999999999998: a share of the interval is given to the microsecond.
    @Test func aShareOfTheIntervalIsToTheMicrosecond() throws {
        let m = try ReferenceModel.builtIn.withInterval(seconds: 13.7)
        #expect(m.interval.toleranceSeconds == 1.37 && m.interval.acceleratedMaxSeconds == 2.74)
        let file = try ReferenceModel.parse(data: Data(#"{"interval": {"seconds": 13.7}}"#.utf8), file: "m.json")
        #expect(file.interval.toleranceSeconds == 1.37 && file.interval.acceleratedMaxSeconds == 2.74)
    }

    /// A model tuned for its own interval keeps its tolerance and ranges when SyLink.xml or `--interval` gives
    /// that same interval; another interval still fits them to its share of it.
    @Test func aModelsOwnIntervalKeepsItsTunedToleranceUnderSyLink() throws {
        var tuned = ReferenceModel.builtIn
        tuned.interval.seconds = 600
        tuned.interval.toleranceSeconds = 90
        tuned.interval.acceleratedMaxSeconds = 150
        let same = try tuned.withDerivedInterval(seconds: 600, pinned: false, source: "SyLink.xml")
        #expect(same.interval.toleranceSeconds == 90 && same.interval.acceleratedMaxSeconds == 150)
        #expect(try tuned.withInterval(seconds: 600).interval.toleranceSeconds == 90)
        let shorter = try tuned.withDerivedInterval(seconds: 300, pinned: false, source: "SyLink.xml")
        #expect(shorter.interval.toleranceSeconds == 30 && shorter.interval.acceleratedMaxSeconds == 60)
        // Derived once, the values are no longer the model's own: the same interval again derives them again.
        let again = try shorter.withDerivedInterval(seconds: 300, pinned: false, source: "SyLink.xml")
        #expect(again.interval.toleranceSeconds == 30)

        var f = RecordFactory()
        let records = [0.0, 600, 1280, 1800].map { f.idle(start: at($0)) }
        let sylink = try parseSyLink(syLinkXML(extra: #"PullHeartbeatSeconds="600""#))
        let r = analyze(records, model: tuned, sylink: sylink)
        #expect(r.expectations.toleranceSeconds == 90)
        #expect(r.codes(.intervalLate).isEmpty && r.codes(.intervalEarly).isEmpty, "680 and 520 s: within ± 90 s")
    }

    @Test func hugeIntervalsInHandBuiltValuesSaturateInsteadOfTrapping() {
        var model = ReferenceModel.builtIn
        model.interval.seconds = 1e13  // past validation on purpose: the audits must not trap
        model.push.heartbeatSeconds = 9.3e18
        model.servers = [.init(host: "198.51.100.1", port: 443)]
        var f = RecordFactory()
        let records = [f.idle(start: at(0)), f.idle(start: at(300)), f.idle(start: at(700))]
        let r = analyze(records, model: model)
        let audit = FleetAudit(report: r, model: model)
        #expect(r.sessions.count == 3)
        #expect(audit.clients.first?.missed == 0)
        #expect(Saturating.add(Int64.max, 1) == Int64.max)
        #expect(Saturating.subtract(Int64.min, 1) == Int64.min)
        #expect(Saturating.multiply(Int64.max / 2, 3) == Int64.max)
        #expect(Saturating.clamp(.nan) == 0 && Saturating.clamp(1e30) == Int64.max)
    }

    // MARK: - Model sizes

    @Test func oversizedWholeNumberNamesTheFieldInOneShortLine() {
        let e = modelError(#"{"sizes": {"fullMaxBytes": 18446744073709551616}}"#)
        #expect(e?.field == "sizes.fullMaxBytes")
        #expect((e?.description.count ?? 999) < 160)
        #expect(e?.description.contains("\n") == false)
        #expect(modelError(#"{"sizes": {"fullMaxBytes": 1099511627776}}"#) == nil)
        #expect(modelError(#"{"sizes": {"fullMaxBytes": 1099511627777}}"#)?.field == "sizes.fullMaxBytes")
        #expect(modelError(#"{"sizes": {"logUploadMaxRecords": 1.5}}"#)?.field == "sizes.logUploadMaxRecords")
    }

    // MARK: - --server

    @Test func serverAcceptsAddressesAndHostNames() throws {
        for spec in ["198.51.100.1", "198.51.100.1:443", "[2001:db8::1]:443", "2001:db8::1", "[2001:db8::1]",
                     "mgr.example.com", "MGR-1.example.com:8014", String(repeating: "a", count: 63) + ".example"] {
            #expect(serverError(spec) == nil, "\(spec)")
        }
    }

    @Test func serverRejectsEverythingElseNamingTheValue() {
        for spec in ["256.1.1.1", "1.2.3.4:443:5", "<script>", "a\u{1}b", "[1.2.3.4]:443", "-bad.example",
                     "bad-.example", "a..b", "1.2.3", String(repeating: "a", count: 64) + ".example"] {
            let e = serverError(spec)
            #expect(e?.file == "--server", "\(spec)")
        }
        #expect(serverError("a\u{1}b")?.description.contains("a\\u{1}b") == true)
        #expect(serverError("256.1.1.1")?.description.contains("\"256.1.1.1\"") == true)
    }

    // MARK: - SyLink.xml DTD and size

    @Test func syLinkRefusesDoctypeAndEntityDeclarationsBeforeParsing() {
        let entity = #"<!DOCTYPE ServerSettings [<!ENTITY a "AAAA">]>"#
        let xml = syLinkXML().replacingOccurrences(of: "<ServerSettings", with: entity + "\n<ServerSettings")
        #expect(syLinkError(xml)?.contains("DOCTYPE and ENTITY declarations are refused") == true)
        let external = syLinkXML().replacingOccurrences(
            of: "<ServerSettings", with: "<!DOCTYPE ServerSettings SYSTEM \"file:///etc/passwd\">\n<ServerSettings")
        #expect(syLinkError(external)?.contains("<!DOCTYPE") == true)
    }

    @Test func syLinkSizeCapIsFourMiB() {
        let base = syLinkXML()
        let filler = SyLinkFile.maxFileBytes - base.utf8.count - "<!---->".utf8.count
        let atLimit = base + "<!--" + String(repeating: "x", count: filler) + "-->"
        #expect(atLimit.utf8.count == SyLinkFile.maxFileBytes)
        #expect(syLinkError(atLimit) == nil)
        let past = atLimit + " "
        #expect(syLinkError(past)?.contains("over the 4194304-byte (4 MiB) limit") == true)
    }

    // MARK: - Failed check-ins

    @Test func failedOnlyCheckInIsCountedAsFailedNotAsCheckIn() {
        var f = RecordFactory()
        let r = analyze([f.failed(server: "198.51.100.1", start: at(0), refused: true)],
                        sylink: try? parseSyLink(syLinkXML()))
        #expect(r.summary.sessions == 1)
        #expect(r.summary.checkIns == 0 && r.summary.failed == 1)
        #expect(r.clients.first?.checkIns == 0 && r.clients.first?.failed == 1)
    }
}
