import Core
import Records
import Testing

@testable import Heartbeat

/// Evidence texts built in a byte buffer read exactly as string interpolation writes them.
@Suite struct EvidenceTextTests {
    @Test func integersAsStringWritesThem() {
        var values: [Int64] = [0, 1, -1, 9, 10, 99, 100, 12_345, -98_765, .max, .min, .max - 1, .min + 1]
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<2_000 {
            x ^= x << 13
            x ^= x >> 7
            x ^= x << 17
            values.append(Int64(bitPattern: x) >> Int64(x % 64))
        }
        for v in values {
            var t = EvidenceText()
            t.add(v)
            #expect(t.text == String(v))
        }
    }

    @Test func paddedIntegers() {
        for (n, width, text) in [(Int64(0), 3, "000"), (5, 3, "005"), (45, 3, "045"), (123, 3, "123"),
                                 (1234, 3, "1234"), (0, 0, "0"), (7, 1, "7")] {
            var t = EvidenceText()
            t.add(n, width: width)
            #expect(t.text == text)
        }
    }

    @Test func countedNouns() {
        for n in [0, 1, 2, 17] {
            var t = EvidenceText()
            t.add(counts: .records, up: 5, down: 6, records: (n, n + 1))
            #expect(t.text == "5 bytes up in \(counted(n, "record")), 6 down in \(counted(n + 1, "record"))")
        }
    }

    @Test func byteCountsAsInterpolationWritesThem() {
        var t = EvidenceText()
        t.add(counts: .bytes, up: 133, down: -3692)
        #expect(t.text == ", 133 bytes up, -3692 down")
        t.removeAll()
        t.add(counts: .none, up: 1, down: 2)
        #expect(t.text == "")
    }

    /// The text the round-trip formatter gave before it wrote digits itself.
    static func reference(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "\(formatSeconds(seconds)) s" }
        let ms = seconds * 1000
        func fixed(_ v: Double, _ digits: Int, strip: Bool) -> String {
            var scale: Int64 = 1
            for _ in 0..<digits { scale *= 10 }
            let n = Int64((v * Double(scale)).rounded())
            guard digits > 0 else { return String(n) }
            var fraction = String(n % scale)
            while fraction.count < digits { fraction = "0" + fraction }
            if strip { while fraction.last == "0" { fraction.removeLast() } }
            return fraction.isEmpty ? String(n / scale) : "\(n / scale).\(fraction)"
        }
        if seconds >= 0.9995 { return seconds < 1e12 ? fixed(seconds, 1, strip: false) + " s" : "\(seconds) s" }
        if ms >= 99.95 { return fixed(ms, 0, strip: false) + " ms" }
        if ms >= 9.995 { return fixed(ms, 1, strip: false) + " ms" }
        if ms >= 1 { return fixed(ms, 2, strip: false) + " ms" }
        return fixed(ms, 3, strip: true) + " ms"
    }

    @Test func roundTripTextIsUnchanged() {
        var values: [Double] = [0, 1e-9, 0.000_000_4, 0.000_000_5, 0.000_001, 0.000_04, 0.000_1, 0.000_999_5,
                                0.000_999_4, 0.001, 0.009_995, 0.009_994, 0.099_95, 0.099_94, 0.5, 0.999_5,
                                0.999_4, 1, 59.95, 3_600, 1e11, 2e12, -1, .infinity, .nan]
        var x: UInt64 = 0x2545_F491_4F6C_DD1D
        for _ in 0..<20_000 {
            x ^= x << 13
            x ^= x >> 7
            x ^= x << 17
            values.append(Double(x % 10_000_000) / 1e9 * Double(1 + x % 1_000))
        }
        for v in values { #expect(formatRoundTrip(v) == Self.reference(v), "\(v)") }
    }
}

/// Texts shared between a client's check-ins are equal byte for byte, not merely canonically equal.
@Suite struct SharedTextTests {
    @Test func canonicallyEqualTextsKeepTheirOwnBytes() {
        let composed = "SNI caf\u{e9}.example"
        let decomposed = "SNI cafe\u{301}.example"
        #expect(composed == decomposed)  // what Swift's String equality says
        #expect(ExactText(composed) != ExactText(decomposed))
        #expect(ExactText(composed) == ExactText("SNI caf\u{e9}.example"))
        var set = Set<ExactText>()
        #expect(set.insert(ExactText(composed)).inserted)
        #expect(set.insert(ExactText(decomposed)).inserted)
        #expect(Array(set.insert(ExactText(decomposed)).memberAfterInsert.text.utf8) == Array(decomposed.utf8))
    }

    /// Two check-ins of one client whose SNIs are canonically equal but differ in bytes: each step
    /// text keeps its own capture's bytes.
    @Test func eachCheckInKeepsItsOwnServerName() throws {
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        var f = RecordFactory()
        let composed = "caf\u{e9}.example"
        let decomposed = "cafe\u{301}.example"
        let records = [
            f.connection(start: at(0), exchanges: [.tls(900, 3_100)], sni: composed),
            f.connection(start: at(300), exchanges: [.tls(900, 3_100)], sni: decomposed),
        ]
        for threads in [1, 2] {
            var b = SessionBuilder(model: model)
            b.threads = threads
            for r in records { b.ingest(r) }
            let report = b.finish()
            #expect(report.sessions.count == 2)
            let connects = report.sessions.map { s in s.steps.first { $0.step == 2 }?.evidence ?? "" }
            #expect(connects.count == 2)
            guard connects.count == 2 else { return }
            #expect(Array(connects[0].utf8).firstRange(of: Array(composed.utf8)) != nil)
            #expect(Array(connects[1].utf8).firstRange(of: Array(decomposed.utf8)) != nil)
        }
    }
}

/// A connect step names the TLS server name only when the ClientHello carried one.
@Suite struct ConnectEvidenceTests {
    @Test func emptyServerNameIsNotShown() throws {
        let model = try ReferenceModel.builtIn.withServer("198.51.100.1")
        var f = RecordFactory()
        let records = [f.connection(start: at(0), exchanges: [.tls(900, 3_100)], sni: ""),
                       f.connection(start: at(300), exchanges: [.tls(900, 3_100)], sni: "sepm.example")]
        let report = analyze(records, model: model)
        let connects = report.sessions.compactMap { s in s.steps.first { $0.step == 2 }?.evidence }
        #expect(connects.count == 2)
        #expect(connects.first.map { !$0.contains("SNI") } == true, "\(connects)")
        #expect(connects.last?.contains("(SNI sepm.example)") == true, "\(connects)")
    }
}

/// Exchange descriptions take a request target's path by bytes only when that is what splitting
/// its characters gives.
@Suite struct TargetPathTests {
    func characterPath(_ t: String) -> (String, Bool) {
        (t.split(separator: "?" as Character, maxSplits: 1).first.map(String.init) ?? t, t.contains("?" as Character))
    }

    func bytePath(_ t: String) -> (String, Bool) {
        let u = t.utf8
        let path = u.split(separator: UInt8(ascii: "?"), maxSplits: 1).first ?? u[...]
        return (String(decoding: path, as: UTF8.self), u.contains(UInt8(ascii: "?")))
    }

    @Test func bytesAgreeWithCharactersWheneverTheyAreUsed() {
        let targets = ["/secars/secars.dll?…", "/a?b?c", "?x", "??", "", "/plain", "/caf\u{e9}?q", "/x?\u{301}y",
                       "\u{600}?z", "/a\u{301}?b", "?\u{2026}", "/\u{1F600}?\u{1F600}", "/a?b\u{301}"]
        for t in targets where StepClassifier.questionMarksStandAlone(t.utf8) {
            #expect(bytePath(t) == characterPath(t), "\(t)")
        }
        #expect(StepClassifier.questionMarksStandAlone("/secars/secars.dll?…".utf8))
        #expect(!StepClassifier.questionMarksStandAlone("/x?\u{301}y".utf8))
        #expect(!StepClassifier.questionMarksStandAlone("\u{600}?z".utf8))
    }
}
