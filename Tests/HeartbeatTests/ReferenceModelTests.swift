import Core
import Foundation
import Testing

@testable import Heartbeat

@Suite struct ReferenceModelTests {
    private func parse(_ json: String) throws(ModelError) -> ReferenceModel {
        try ReferenceModel.parse(data: Data(json.utf8), file: "model.json")
    }

    private func error(_ json: String) -> ModelError? {
        do {
            _ = try parse(json)
            return nil
        } catch {
            return error
        }
    }

    @Test func builtInModelCarriesThePublicFacts() {
        let m = ReferenceModel.builtIn
        #expect(m.ports.https == [443])
        #expect(m.ports.http == [8014, 80])
        #expect(m.ports.gup == [2967])
        #expect(m.http.secarsPath == "/secars/secars.dll")
        #expect(m.http.userAgent == "Smc")
        #expect(m.interval.seconds == 300)
        #expect(m.interval.acceleratedMaxSeconds == 60)
        #expect(m.connect.timeoutSeconds == 30)
        #expect(m.tls.minimumVersion == "1.2")
        #expect(m.minimumTLSVersion == 0x0303)
        #expect(m.steps.map(\.id) == ReferenceModel.stepIDs)
        #expect(m.steps.filter(\.mandatory).map(\.number) == [1, 2, 3, 7])
        #expect(m.sizes.idleMinBytes == 3072 && m.sizes.idleMaxBytes == 5120)
        #expect(m.sizes.logUploadMaxRecords == 100 && m.sizes.logRecordBytes == 1024)
        for code in FindingCode.allCases { #expect(m.severities[code.rawValue] != nil, "\(code)") }
        #expect(m.severity(of: .acceleratedHeartbeat) == .info)
        #expect(m.severity(of: .missedHeartbeat) == .error)
    }

    @Test func encodedModelLoadsBackUnchanged() throws {
        let data = try JSONEncoder().encode(ReferenceModel.builtIn)
        #expect(try ReferenceModel.parse(data: data, file: "round-trip.json") == ReferenceModel.builtIn)
    }

    @Test func partialFileKeepsBuiltInValuesForOmittedFields() throws {
        let m = try parse(#"{"interval": {"seconds": 600}, "_comment": "site model"}"#)
        #expect(m.interval.seconds == 600)
        #expect(m.interval.toleranceSeconds == 30)
        #expect(m.ports == ReferenceModel.builtIn.ports)
    }

    /// A file that gives only a short interval gets the tolerance and accelerated range `--interval` would
    /// derive, not the built-in ones written for 300 s (refused over a 30 s tolerance
    /// it never wrote); the values a file gives are kept, and refused when they do not fit.
    @Test func aShortIntervalAloneDerivesItsToleranceAndAcceleratedRange() throws {
        let m = try parse(#"{"interval": {"seconds": 60}}"#)
        let derived = try ReferenceModel.builtIn.withDerivedInterval(seconds: 60, pinned: false, source: "test")
        #expect(m.interval == derived.interval)
        #expect(m.interval.toleranceSeconds == 6)
        #expect(m.interval.acceleratedMaxSeconds == 12)
        #expect(m.interval.acceleratedRunMaxSeconds == 60)
        // The push heartbeat (300 s) keeps the built-in rules, as with `--interval 60`.
        #expect(m.intervalRules(forSeconds: 300) == derived.intervalRules(forSeconds: 300))
        #expect(m.intervalRules(forSeconds: 300).toleranceSeconds == 30)
        let given = try parse(#"{"interval": {"seconds": 60, "toleranceSeconds": 10}}"#)
        #expect(given.interval.toleranceSeconds == 10)
        #expect(given.interval.acceleratedMaxSeconds == 12)
        #expect(given.intervalRules(forSeconds: 300)
            == IntervalRules(toleranceSeconds: 10, acceleratedMaxSeconds: 60, acceleratedRunMaxSeconds: 300))
        // A file whose values all fit its interval has no rules apart from them.
        #expect(try parse(#"{"interval": {"seconds": 600}}"#).interval.ownRules == nil)
        #expect(error(#"{"interval": {"seconds": 60, "toleranceSeconds": 30}}"#)?.field == "interval.toleranceSeconds")
    }

    /// The value refused is shown as given, not rounded to one that looks valid.
    @Test func aRefusedValueIsShownAsGiven() {
        let e = error(#"{"interval": {"seconds": 604800.0000001}}"#)
        #expect(e?.description.hasSuffix("got 604800.0000001") == true, "\(e?.description ?? "")")
    }

    @Test func negativeIntervalNamesTheField() {
        let e = error(#"{"interval": {"seconds": -5}}"#)
        #expect(e?.description == #"model.json: field "interval.seconds" must be a positive number, got -5"#)
    }

    @Test func wrongTypeNamesTheFieldAndTheValue() {
        let e = error(#"{"interval": {"seconds": "300"}}"#)
        #expect(e?.field == "interval.seconds")
        #expect(e?.description.contains("must be a number, got \"300\"") == true)
    }

    @Test func unknownFieldsAreRejected() {
        #expect(error(#"{"interval": {"secnds": 300}}"#)?.field == "interval.secnds")
        #expect(error(#"{"colour": 1}"#)?.description == #"model.json: field "colour" is not a model field"#)
        #expect(error(#"{"severities": {"missed-heartbeats": "info"}}"#)?.field == "severities.missed-heartbeats")
    }

    @Test func badValuesAreNamed() {
        #expect(error(#"{"ports": {"https": [70000]}}"#)?.description
            == #"model.json: field "ports.https[0]" must be a port number 1-65535, got 70000"#)
        #expect(error(#"{"servers": [{"host": "a", "port": -1}]}"#)?.field == "servers[0].port")
        #expect(error(#"{"ports": {"https": [0]}}"#)?.field == "ports.https[0]")
        // A server's port 0 was taken as no port at all (any management port), silently.
        #expect(error(#"{"servers": [{"host": "a", "port": 0}]}"#)?.description
            == #"model.json: field "servers[0].port" must be a port number 1-65535, got 0"#)
        #expect(error(#"{"severities": {"failover": "fatal"}}"#)?.description
            == #"model.json: field "severities.failover" must be one of info, warning, error, got "fatal""#)
        #expect(error(#"{"tls": {"minimumVersion": "1.5"}}"#)?.field == "tls.minimumVersion")
        #expect(error(#"{"interval": {"toleranceSeconds": 200}}"#)?.field == "interval.toleranceSeconds")
        #expect(error(#"{"sizes": {"idleMinBytes": 6000}}"#)?.field == "sizes.idleMaxBytes")
        #expect(error(#"{"connect": {"timeoutSeconds": 0}}"#)?.field == "connect.timeoutSeconds")
        #expect(error(#"{"http": {"secarsPath": "secars"}}"#)?.field == "http.secarsPath")
    }

    /// 1 is the first choice: a priority of 0 or below was taken as a better one than any SyLink priority.
    @Test func serverPrioritiesStartAtOne() {
        for p in [0, -3] {
            #expect(error(#"{"servers": [{"host": "a", "priority": "# + "\(p)}]}")?.description
                == #"model.json: field "servers[0].priority" must be 1 (first choice) or more, got "# + "\(p)")
        }
        #expect(error(#"{"servers": [{"host": "a", "priority": 1}]}"#) == nil)
    }

    /// `origin` (what `sepbeat model` writes: where it found a manager) is one of three words, and read back a
    /// manager is the model file's, whatever wrote it.
    @Test func serverOriginsAreCheckedAndReadAsTheModels() throws {
        #expect(error(#"{"servers": [{"host": "a", "origin": "bogus"}]}"#)?.description
            == #"model.json: field "servers[0].origin" must be one of model, option, sylink, got "bogus""#)
        for origin in ["model", "option", "sylink"] {
            let model = try parse(#"{"servers": [{"host": "10.1.0.10", "origin": ""# + origin + #""}]}"#)
            #expect(model.servers.map(\.host) == ["10.1.0.10"])
            #expect(model.servers.first?.origin == nil)
        }
    }

    /// A repeated port, server or method says nothing more and is likely a typo: refused, naming both.
    @Test func repeatsAreRefusedNamingTheFirst() throws {
        #expect(error(#"{"ports": {"https": [443, 8443, 443]}}"#)?.description
            == #"model.json: field "ports.https[2]" repeats 443, already ports.https[0]"#)
        #expect(error(#"{"servers": [{"host": "10.1.0.10", "port": 443}, {"host": "b"}, "#
            + #"{"host": "::ffff:10.1.0.10", "port": 443, "priority": 2}]}"#)?.description
            == #"model.json: field "servers[2]" repeats ::ffff:10.1.0.10 port 443, already servers[0]"#)
        #expect(error(#"{"servers": [{"host": "SEPM.example.net"}, {"host": "sepm.example.net"}]}"#)?.description
            == #"model.json: field "servers[1]" repeats sepm.example.net, already servers[0]"#)
        var steps = try JSONSerialization.jsonObject(
            with: JSONEncoder().encode(ReferenceModel.builtIn.steps)) as? [[String: Any]] ?? []
        steps[3]["httpMethods"] = ["POST", "GET", "POST"]
        let text = String(decoding: try JSONSerialization.data(withJSONObject: ["steps": steps]), as: UTF8.self)
        #expect(error(text)?.description
            == #"model.json: field "steps[3].httpMethods[2]" repeats "POST", already steps[3].httpMethods[0]"#)
        // Another port is another entry.
        #expect(error(#"{"servers": [{"host": "a", "port": 443}, {"host": "a", "port": 8014}, {"host": "a"}]}"#)
            == nil)
    }

    @Test func serverHostsAreBareHostsAsInSyLink() {
        // 012 is octal to inet_aton (10.1.0.11): refused, not read as 12.1.0.11.
        #expect(error(#"{"servers": [{"host": "012.1.0.11"}]}"#)?.description
            == #"model.json: field "servers[0].host" must be an IPv4 address, an IPv6 address or a host name "#
            + #"(no scheme, port or brackets), got "012.1.0.11" (an IPv4 address is four decimal numbers 0-255 "#
            + #"without leading zeros, as in 10.1.0.10; hex, octal (a leading 0, as in 012) or fewer parts are "#
            + #"not read)"#)
        for bad in ["0x0a.1.0.10", "10.1.10", "https://10.1.0.10", "10.1.0.10:443", "[2001:db8::1]"] {
            #expect(error(#"{"servers": [{"host": ""# + bad + #""}]}"#)?.field == "servers[0].host", "\(bad)")
        }
        for good in ["10.1.0.10", "0.0.0.0", "10.0.0.1", "2001:db8::1", "sepm.example.net"] {
            #expect(error(#"{"servers": [{"host": ""# + good + #""}]}"#) == nil, "\(good)")
        }
    }

    @Test func stepListIsCheckedElementByElement() throws {
        var steps = try JSONSerialization.jsonObject(
            with: JSONEncoder().encode(ReferenceModel.builtIn.steps)) as? [[String: Any]] ?? []
        steps[2]["id"] = "index"
        let text = String(decoding: try JSONSerialization.data(withJSONObject: ["steps": steps]), as: UTF8.self)
        let e = error(text)
        #expect(e?.field == "steps[2].id")
        #expect(e?.description.contains(#"must be "index-check", got "index""#) == true)
        // A step's shape is fixed as its id is: no rule reads another one.
        steps[2]["id"] = "index-check"
        steps[0]["tlsShape"] = "close"
        let shape = String(decoding: try JSONSerialization.data(withJSONObject: ["steps": steps]), as: UTF8.self)
        #expect(error(shape)?.field == "steps[0].tlsShape")
        #expect(error(shape)?.description.contains(#"must be "syn" (each step's shape is fixed"#) == true)
        steps[0]["tlsShape"] = "syn"
        let same = String(decoding: try JSONSerialization.data(withJSONObject: ["steps": steps]), as: UTF8.self)
        #expect(error(same) == nil)
        #expect(ReferenceModel.builtIn.steps.map(\.tlsShape) == ReferenceModel.stepTLSShapes)
        #expect(error(#"{"steps": []}"#)?.field == "steps")
        #expect(error(#"{"steps": [{"number": 1, "nme": "x"}]}"#)?.field == "steps[0].nme")
    }

    @Test func malformedFilesNameTheFile() {
        #expect(error("{ not json")?.description.hasPrefix("model.json: is not valid JSON") == true)
        #expect(error("[1, 2]")?.description == "model.json: must hold a JSON object at the top level")
        #expect(throws: ModelError.self) { try ReferenceModel.load(path: "/nonexistent/model.json") }
    }

    @Test func loadsAFileFromDisk() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hb-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("model.json").path
        try Data(#"{"connect": {"timeoutSeconds": 45}}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect(try ReferenceModel.load(path: path).connect.timeoutSeconds == 45)
    }

    @Test func intervalOverridePinsAndValidates() throws {
        let m = try ReferenceModel.builtIn.withInterval(seconds: 120)
        #expect(m.interval.seconds == 120 && m.interval.pinned)
        #expect(throws: ModelError.self) { try ReferenceModel.builtIn.withInterval(seconds: -1) }
        // A short interval works: tolerance and accelerated range are derived (I / 10, I / 5).
        let short = try ReferenceModel.builtIn.withInterval(seconds: 50)
        #expect(short.interval.toleranceSeconds == 5 && short.interval.acceleratedMaxSeconds == 10)
    }

    @Test func serverOverrideParsesHostAndPort() throws {
        let m = try ReferenceModel.builtIn.withServer("198.51.100.7:8443").withServer("sepm.example.net")
            .withServer("[2001:db8::1]:443")
        #expect(m.servers.map(\.host) == ["198.51.100.7", "sepm.example.net", "2001:db8::1"])
        #expect(m.servers.map(\.port) == [8443, nil, 443])
        #expect(m.servers.allSatisfy { $0.origin == "option" })
        #expect(throws: ModelError.self) { try ReferenceModel.builtIn.withServer("host:99999") }
        #expect(throws: ModelError.self) { try ReferenceModel.builtIn.withServer("") }
        #expect(throws: ModelError.self) { try ReferenceModel.builtIn.withServer("[2001:db8::1") }
    }

    /// A bare IPv6 address that also reads as an address and a port is refused as ambiguous; one that reads
    /// one way only stays accepted, and brackets settle either reading.
    @Test func aBareIPv6AddressThatAlsoReadsAsAddressAndPortIsRefused() throws {
        for text in ["::1:443", "fe80::1:8014", "2001:db8::1:443", "::1:1"] {
            do {
                _ = try ReferenceModel.builtIn.withServer(text)
                Issue.record("\(text) was accepted")
            } catch {
                let colon = try #require(text.lastIndex(of: ":"))
                let address = text[..<colon], port = text[text.index(after: colon)...]
                #expect(error.problem == "\"\(text)\" is ambiguous: write [\(address)]:\(port) for \(address) port "
                    + "\(port), or [\(text)] for the address \(text)")
            }
        }
        let m = try ReferenceModel.builtIn.withServer("fe80::1").withServer("2001:db8::443").withServer("::1:abcd")
            .withServer("2001:db8:0:0:0:0:1:443").withServer("[::1]:443").withServer("[::1:443]")
            .withServer("::ffff:10.1.0.10").withServer("::443")
        #expect(m.servers.map(\.host) == ["fe80::1", "2001:db8::443", "::1:abcd", "2001:db8:0:0:0:0:1:443", "::1",
                                          "::1:443", "10.1.0.10", "::443"])
        #expect(m.servers.map(\.port) == [nil, nil, nil, nil, 443, nil, nil, nil])
    }

    /// a sign in a port or an IPv6 group is refused (`::1:+443` read as the address
    /// ::1:443 slipped past the ambiguity refusal), and an IPv4-mapped address with a port is told its
    /// bracketed form.
    @Test func signsInPortsAndAddressGroupsAreRefused() throws {
        for text in ["::1:+443", "10.1.0.10:+443", "[::1]:+443", "2001:db8::+1", "+1::", "[+1::]", "10.1.0.10:-443",
                     "::-1"] {
            #expect(throws: ModelError.self, "\(text)") { _ = try ReferenceModel.builtIn.withServer(text) }
        }
        #expect(IPAddress("2001:db8::+1") == nil)
        #expect(IPAddress("+1::") == nil)
        #expect(IPAddress("2001:db8::1") != nil)
        do {
            _ = try ReferenceModel.builtIn.withServer("::ffff:10.1.0.10:443")
            Issue.record("::ffff:10.1.0.10:443 was accepted")
        } catch {
            #expect(error.problem.hasSuffix("; for ::ffff:10.1.0.10 port 443 write [::ffff:10.1.0.10]:443"),
                    "\(error.problem)")
        }
    }

    @Test func modelFileOverTheLimitIsRefusedBeforeItIsRead() throws {
        let path = FileManager.default.temporaryDirectory.path + "/sepbeat-model-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(repeating: 0x20, count: ReferenceModel.maxFileBytes + 1).write(to: URL(fileURLWithPath: path))
        do {
            _ = try ReferenceModel.load(path: path)
            Issue.record("a model file over the limit was accepted")
        } catch {
            #expect(error.field == nil)
            #expect(error.problem == "is \(ReferenceModel.maxFileBytes + 1) bytes, over the 1048576-byte (1 MiB) limit "
                + "for model files")
        }
    }

    @Test func tinyIntervalIsShownAsGivenNotAsZero() {
        let e = error(#"{"interval": {"seconds": 1e-300}}"#)
        #expect(e?.field == "interval.seconds")
        #expect(e?.problem == "must be at least 10 seconds, got 1e-300")
    }
}
