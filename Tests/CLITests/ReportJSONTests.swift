import Core
import Foundation
@testable import Heartbeat
import Reports
import Testing

/// `ReportJSON` writes check-ins, steps, attempts and findings without their `Encodable` conformances:
/// its bytes must stay those of `JSONEncoder` (and `PrettyJSONEncoder`) for every member and odd string.
@Suite struct ReportJSONTests {
    /// Every control character, quotes, slashes, DEL, C1, line separators and characters beyond ASCII.
    static let oddText = "a\u{0}\u{1}\u{8}\u{9}\u{a}\u{c}\u{d}\u{1f} \"q\" \\ / \u{7f}\u{85}\u{2028}\u{2029} é😀 ,́"

    static func time(_ n: Int64) -> Timestamp { Timestamp(nanoseconds: n) }

    static let findings: [Finding] = [
        Finding(code: .intervalLate, severity: .warning, message: "late by 35 s"),
        Finding(code: .plaintextHTTP, severity: .error, message: oddText, client: IPAddress("10.0.0.1"),
                server: Endpoint(address: IPAddress("2001:db8::1") ?? IPAddress(ipv4: 1), port: 443),
                time: time(-1), session: 7, sessions: [7, 9, 12]),
        Finding(code: .captureGap, severity: .info, message: "", sessions: []),
        Finding(code: .connectFailed, severity: .error, message: "refused", server: Endpoint(
            address: IPAddress(ipv4: 0x0a01_0001), port: 8014), time: time(1_705_305_604_079_371_640)),
    ]

    static let steps: [StepReport] = [0.9, 0.95, 1, 0, 0.7, 1.0 / 3, 1e-7, 0.5 + 1e-16, 123_456.789, -0.0, 0.01]
        .enumerated().map { i, confidence in
            StepReport(step: i % 7 + 1, start: time(Int64(i) * 999_999_937),
                       end: time(Int64(i) * 1_000_000_001 + 5), bytesUp: Int64(i) * 1000 - 3, bytesDown: .max,
                       confidence: confidence, evidence: i == 1 ? oddText : "GET /secars/secars.dll, reply 4096 bytes")
        } + madeEvidence

    /// Steps whose evidence is made when written (`StepReport.evidenceIsMade`), odd heads and counts among them.
    static let madeEvidence: [StepReport] = [
        (StepReport.Tail.bytes, "GET /secars/secars.dll?… → 200, request #1", Int64(133), Int64(3692), 0, 0),
        (.bytes, oddText, .min, .max, 0, 0),
        (.records, "exchange #1: ", 515, 3696, 1, 2),
        (.records, "", -1, 0, 255, 0),
    ].enumerated().map { i, made in
        var st = StepReport(step: 3 + i, start: time(Int64(i)), end: time(Int64(i) + 7), bytesUp: made.2,
                            bytesDown: made.3, confidence: 0.9, evidence: "")
        st.setEvidence(head: made.1, tail: made.0, records: (made.4, made.5))
        return st
    }

    static let sessions: [SessionReport] = {
        let a = SessionReport(
            id: 1, client: IPAddress(ipv4: 0x0a14_0067), clientPort: 53501, server: IPAddress(ipv4: 0x0a01_000a),
            serverPort: 443, transport: .https, mode: .pull, start: time(1_705_305_604_079_371_640),
            end: time(1_705_305_604_092_611_640), bytesUp: 1082, bytesDown: 3929, failed: false,
            attempts: [], steps: steps, findings: [], connections: [6])
        var b = a
        b.id = 2
        b.client = IPAddress("2001:db8::17") ?? IPAddress(ipv4: 2)
        b.server = IPAddress("::ffff:10.1.0.10") ?? IPAddress(ipv4: 3)
        b.clientPort = 0
        b.serverPort = .max
        b.transport = .http
        b.mode = .push
        b.failed = true
        b.pending = true
        b.bytesUp = .min
        b.attempts = [
            AttemptReport(server: "10.1.0.9", serverPort: 443, time: "2024-01-15T08:00:04.079371640Z",
                          outcome: "refused", syns: 1),
            AttemptReport(server: oddText, serverPort: 0, time: "", outcome: "unanswered", syns: -3),
        ]
        b.steps = []
        b.findings = findings
        b.connections = [0, .max, 17]
        var c = a
        c.id = 3
        c.connections = []
        c.findings = [findings[0]]
        c.start = time(.min)
        c.end = time(.max)
        return [a, b, c]
    }()

    @Test func checkInsAreWhatJSONEncoderWrites() throws {
        for s in Self.sessions {
            var out: [UInt8] = []
            try ReportJSON.append(s, level: 0, to: &out)
            let expected = [UInt8](try HeartbeatReport.encoder().encode(s))
            #expect(String(decoding: out, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
            #expect(out == expected)
        }
    }

    @Test func nestedCheckInsAreWhatPrettyJSONEncoderWrites() throws {
        for level in [1, 2, 5, 9, 10, 11, 12, 40] {  // member heads are made up to level 12
            for s in Self.sessions {
                var out: [UInt8] = []
                try ReportJSON.append(s, level: level, to: &out)
                #expect(out == (try PrettyJSONEncoder.encode(s, level: level)))
            }
        }
    }

    @Test func findingListsAreWhatJSONEncoderWrites() throws {
        for list in [Self.findings, [], [Self.findings[1]]] {
            var out: [UInt8] = []
            ReportJSON.append(list, level: 0, to: &out)
            #expect(out == [UInt8](try HeartbeatReport.encoder().encode(list)))
            var nested: [UInt8] = []
            ReportJSON.append(list, level: 3, to: &nested)
            #expect(nested == (try PrettyJSONEncoder.encode(list, level: 3)))
        }
    }

    @Test func nonFiniteConfidenceThrowsLikeJSONEncoder() {
        for bad in [Double.nan, .infinity, -.infinity] {
            var s = Self.sessions[0]
            s.steps[2].confidence = bad
            var out: [UInt8] = []
            #expect(throws: EncodingError.self) { try HeartbeatReport.encoder().encode(s) }
            #expect(throws: EncodingError.self) { try ReportJSON.append(s, level: 0, to: &out) }
        }
    }

    // MARK: - Pieces

    @Test func stringsEscapeAsJSONEncoderDoes() throws {
        for text in [Self.oddText, "", "plain", "é", String(repeating: "x\u{1}", count: 40)] {
            var out: [UInt8] = []
            JSONText.appendQuoted(text, to: &out)
            #expect(out == [UInt8](try HeartbeatReport.encoder().encode(text)))
        }
    }

    /// The plain-text path copies eight bytes at a time: a byte to escape at any place of a string of
    /// any length up to a few words is found, and a `ByteBuffer` gets the bytes an array gets.
    @Test func escapesAnywhereInShortAndLongStringsAreFound() throws {
        for dialect in [JSONText.Dialect.foundation, .lineSafe] {
            for length in 0...26 {
                for at in -1..<length {
                    for odd in ["\"", "\\", "\n", "\u{1}", "\u{7f}", "\u{2028}", "é"] {
                        var text = String(repeating: "abcdefgh", count: 4).prefix(length).map(String.init)
                        if at >= 0 { text[at] = odd }
                        let string = text.joined()
                        var array: [UInt8] = []
                        var buffer = ByteBuffer(capacity: 16)
                        JSONText.appendQuoted(string, dialect: dialect, to: &array)
                        JSONText.appendQuoted(string, dialect: dialect, to: &buffer)
                        #expect(buffer.bytes == array)
                        if dialect == .foundation {
                            #expect(array == [UInt8](try HeartbeatReport.encoder().encode(string)), "\(string)")
                        }
                    }
                }
            }
        }
    }

    @Test func checkInsInABufferAreTheBytesOfAnArray() throws {
        for level in [0, 2, 13] {
            for s in Self.sessions {
                var array: [UInt8] = []
                var buffer = ByteBuffer(capacity: 16)
                try ReportJSON.append(s, level: level, to: &array)
                try ReportJSON.append(s, level: level, to: &buffer)
                #expect(buffer.bytes == array)
            }
        }
    }

    @Test func lineSafeStringsEscapeLineBreaksDELAndSeparators() {
        var out: [UInt8] = []
        let text = "a\u{8}\u{c}\n\r\t\u{1f}\u{7f}\u{85}\u{2028}\u{2029}\"\\/é"
        JSONText.appendQuoted(text, dialect: .lineSafe, to: &out)
        let expected = #""a\u0008\u000c\n\r\t\u001f\u007f"# + "\u{85}" + #"\u2028\u2029\"\\/é""#
        #expect(String(decoding: out, as: UTF8.self) == expected)
        #expect(JSONValue.string("\u{2028}x").serialized() == #""\u2028x""#)
        #expect(JSONValue.object([("k\"", .array([.number(0.5), .number(3), .number(.nan)]))]).serialized()
            == #"{"k\"":[0.5,3,null]}"#)
    }

    @Test func numbersAreWhatJSONEncoderWrites() throws {
        var values: [Double] = (0...100).map { Double($0) / 100 }
        values += [-0.0, 0.1 + 0.2, 1e-7, 1e16, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -1.5, 1.0 / 3]
        for d in values {
            var out: [UInt8] = []
            try JSONText.appendNumber(d, to: &out)
            #expect(out == [UInt8](try HeartbeatReport.encoder().encode(d)), "\(d)")
        }
        for n: Int64 in [0, 7, 10, -10, .min, .max] {
            var out: [UInt8] = []
            DecimalText.append(n, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == String(n))
        }
        var out: [UInt8] = []
        DecimalText.append(UInt64.max, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == String(UInt64.max))
    }

    @Test func csvCellsTakeTheSlowPathWhenAByteAsksForIt() {
        #expect(CSV.cell("plain é") == "plain é")
        #expect(CSV.cell("a,b") == #""a,b""#)
        #expect(CSV.cell("say \"hi\"") == #""say ""hi""""#)
        #expect(CSV.cell("=1+2") == "'=1+2")
        #expect(CSV.cell("-5.25") == "-5.25")
        #expect(CSV.cell("-x,y") == #""'-x,y""#)
        #expect(CSV.cell("a\r\nb") == "\"a\r\nb\"")
        // A comma with a combining accent is one character that is not a comma: never quoted.
        #expect(CSV.cell(",\u{301}") == ",\u{301}")
        #expect(CSV.line(["a", "b,c", ""]) == "a,\"b,c\",\r\n")
    }

    @Test func sanitizeKeepsTextWithoutControlCharacters() {
        #expect(TextTable.sanitize("é Â \u{a0} ok") == "é Â \u{a0} ok")
        #expect(TextTable.sanitize("a\u{85}b\u{1b}[31m\u{7f}") == "a?b?[31m?")
    }

    /// bidi controls, line separators and tag characters from a capture reordered or split
    /// report lines on screen; they are shown as `?` in text and U+FFFD in HTML. Other non-ASCII text stays.
    @Test func sanitizeHidesBidiSeparatorsAndTags() {
        #expect(TextTable.sanitize("sepm\u{202e}tset.elpmaxe") == "sepm?tset.elpmaxe")
        #expect(TextTable.sanitize("a\u{2066}b\u{2069}c\u{2028}d\u{2029}e\u{200e}f\u{61c}g") == "a?b?c?d?e?f?g")
        #expect(TextTable.sanitize("x\u{e0001}\u{e0041}y\u{feff}\u{200b}") == "x??y??")
        #expect(TextTable.sanitize("GET → 200 ± 30 s, café, 日本") == "GET → 200 ± 30 s, café, 日本")
        #expect(HTML.escape("a\u{202e}b\u{2028}c\u{e007f}") == "a\u{fffd}b\u{fffd}c\u{fffd}")
        var table = TextTable([("sni", .left)])
        table.append(["m\u{202e}x"])
        #expect(table.render().contains("m?x"))
    }
}
