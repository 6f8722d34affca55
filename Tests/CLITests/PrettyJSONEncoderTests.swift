import Analysis
import Core
import Foundation
import Heartbeat
@testable import Reports
import Testing
import TestSupport

/// `PrettyJSONEncoder` writes the same bytes as `HeartbeatReport.encoder()` (Foundation's `JSONEncoder`).
@Suite struct PrettyJSONEncoderTests {
    struct Inner: Encodable, Equatable {
        var name: String
        var values: [Double]
        var tags: [String: Int]
        var missing: Int?
        var present: Int?
    }

    struct Outer: Encodable {
        var text: String
        var numbers: [Double]
        var small: Float
        var empty: [Int]
        var emptyObject: [String: Int]
        var unsigned: UInt64
        var negative: Int64
        var flags: [Bool]
        var nested: [Inner]
        var nestedEmpty: [[String: Int]]
        var keys: [String: Int]
        var optional: String?
        var json: JSONValue

        enum CodingKeys: String, CodingKey {
            case text, numbers, small, empty, emptyObject, unsigned, negative, flags, nested, nestedEmpty, keys
            case optional, json, zNested
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(text, forKey: .text)
            try c.encode(numbers, forKey: .numbers)
            try c.encode(small, forKey: .small)
            try c.encode(empty, forKey: .empty)
            try c.encode(emptyObject, forKey: .emptyObject)
            try c.encode(unsigned, forKey: .unsigned)
            try c.encode(negative, forKey: .negative)
            try c.encode(flags, forKey: .flags)
            try c.encode(nested, forKey: .nested)
            try c.encode(nestedEmpty, forKey: .nestedEmpty)
            try c.encode(keys, forKey: .keys)
            try c.encode(optional, forKey: .optional)
            try c.encode(json, forKey: .json)
            var n = c.nestedContainer(keyedBy: CodingKeys.self, forKey: .zNested)
            try n.encode(1, forKey: .text)
            var u = n.nestedUnkeyedContainer(forKey: .empty)
            try u.encode("x")
            try u.encodeNil()
        }
    }

    static let sample = Outer(
        text: "a\u{0}\u{1}\u{8}\u{c}\u{1f}\u{7f}/\"\\\n\r\t\u{2028}é😀 ok",
        numbers: [0.1, 1e-7, 1e22, 1e16, 123_456_789_012_345_680, -0.0, 5, 1.5e300, 2.5e-5, 100, -3.25,
                  14392.562811324],
        small: 0.1, empty: [], emptyObject: [:], unsigned: .max, negative: .min, flags: [true, false],
        nested: [
            Inner(name: "b", values: [], tags: ["z": 1, "a10": 2, "a9": 3, "B": 4, "_": 5, "é": 6], present: 7),
            Inner(name: "", values: [1, 2.5], tags: [:]),
        ],
        nestedEmpty: [[:], ["k": 1]],
        keys: ["17": 1, "1": 2, "2": 3, "a-b": 4, "aB": 5, "ab": 6],
        optional: nil,
        json: .object([("zeta", .integer(1)), ("alpha", .array([.null, .bool(true), .number(2.5), .string("s")]))])
    )

    @Test func sameBytesAsJSONEncoder() throws {
        let expected = [UInt8](try HeartbeatReport.encoder().encode(Self.sample))
        let actual = try PrettyJSONEncoder.encode(Self.sample)
        #expect(String(decoding: actual, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
        #expect(actual == expected)
    }

    @Test func topLevelValuesAndArrays() throws {
        #expect(try PrettyJSONEncoder.encode([Int]()) == [UInt8](try HeartbeatReport.encoder().encode([Int]())))
        #expect(try PrettyJSONEncoder.encode("x/y") == [UInt8](try HeartbeatReport.encoder().encode("x/y")))
        let nested = [["b": [1.5], "a": []]]
        #expect(try PrettyJSONEncoder.encode(nested) == [UInt8](try HeartbeatReport.encoder().encode(nested)))
    }

    /// `JSONValue` trees are written by walking them: the bytes are still Foundation's, for keys out of
    /// order or written twice (the last kept), empty containers at any depth, non-finite numbers (null),
    /// and values alone or nested in an `Encodable` struct.
    @Test func jsonValueTreesWriteTheSameBytesAsJSONEncoder() throws {
        let leaves: [JSONValue] = [
            .null, .bool(false), .integer(-42), .integer(.max), .number(0.1), .number(-0.0), .number(1e22),
            .number(.nan), .number(-.infinity), .string(""), .string("a/b\u{0}\"\n\u{2028}é😀"),
            .object([]), .array([]),
        ]
        let tree: JSONValue = .object([
            ("z", .array(leaves)),
            ("a", .object([("b", .integer(1)), ("a", .integer(2)), ("b", .integer(3)), ("", .null)])),
            ("é", .array([.array([]), .object([]), .array([.object([("k", .array([.null]))])])])),
            ("a10", .integer(10)), ("a9", .integer(9)), ("B", .string("upper")),
            ("z", .string("z written twice: the last is kept")),
        ])
        let encoder = HeartbeatReport.encoder()
        for value in leaves + [tree, .array([tree, tree])] {
            #expect(try PrettyJSONEncoder.encode(value) == [UInt8](try encoder.encode(value)))
            let nested = Outer(text: "", numbers: [], small: 0, empty: [], emptyObject: [:], unsigned: 0,
                               negative: 0, flags: [], nested: [], nestedEmpty: [], keys: [:], optional: nil,
                               json: value)
            #expect(try PrettyJSONEncoder.encode(nested) == [UInt8](try encoder.encode(nested)))
            var appended: [UInt8] = Array("[".utf8)
            try PrettyJSONEncoder.append(value, level: 3, to: &appended)
            #expect(appended == Array("[".utf8) + (try PrettyJSONEncoder.encode(value, level: 3)))
        }
    }

    @Test func nonFiniteNumbersThrowLikeJSONEncoder() {
        #expect(throws: EncodingError.self) { try HeartbeatReport.encoder().encode([Double.nan]) }
        #expect(throws: EncodingError.self) { try PrettyJSONEncoder.encode([Double.nan]) }
        #expect(throws: EncodingError.self) { try PrettyJSONEncoder.encode(["x": Double.infinity]) }
    }

    /// The whole analyze document, as Foundation encodes it in one piece.
    private struct Whole: Encodable {
        var report: AnalyzeReport
        private enum Keys: String, CodingKey { case captures }

        func encode(to encoder: Encoder) throws {
            try report.heartbeat.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(report.captures.map(CaptureSummaryReport.json), forKey: .captures)
        }
    }

    @Test(arguments: ["fleet", "old-tls"], [true, false])
    func streamedAnalyzeJSONMatchesJSONEncoder(_ capture: String, _ withSessions: Bool) throws {
        let run = try CaptureRun(paths: [Fixtures.captures + "/heartbeat/" + capture + ".pcap"]).connections()
        var builder = SessionBuilder(model: .builtIn)
        for c in run.connections { builder.ingest(c.record) }
        var heartbeat = builder.finish()
        if !withSessions { heartbeat.sessions = [] }
        #expect(withSessions == !heartbeat.sessions.isEmpty)
        let report = AnalyzeReport(heartbeat: heartbeat, captures: run.files)
        // With a one-byte chunk size every top-level member and every check-in is handed over on its own.
        var pieces = 0
        var streamed: [UInt8] = []
        try report.writeJSON(chunkSize: 1) { chunk in
            pieces += 1
            streamed += chunk
        }
        var expected = [UInt8](try HeartbeatReport.encoder().encode(Whole(report: report)))
        expected.append(10)
        #expect(String(decoding: streamed, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
        #expect(try report.json() == String(decoding: expected, as: UTF8.self))
        #expect(pieces >= 9 + heartbeat.sessions.count)
    }

    /// `periodicOtherServers` streamed as the encoder writes it (an IPv6 server in brackets, an interval with a
    /// fraction), and as `audit` and `validate` write it.
    @Test func periodicOtherServersStreamAsEncodedAndAsTheOtherCommandsWriteThem() throws {
        let run = try CaptureRun(paths: [Fixtures.captures + "/heartbeat/old-tls.pcap"]).connections()
        var builder = SessionBuilder(model: .builtIn)
        for c in run.connections { builder.ingest(c.record) }
        var heartbeat = builder.finish()
        let v6 = Endpoint(address: try #require(IPAddress("2001:db8::9")), port: 8443)
        let v4 = Endpoint(address: try #require(IPAddress("10.1.0.11")), port: 9443)
        heartbeat.periodicOtherPorts = [
            .init(server: v6, clients: 3, connections: 37, intervalSeconds: 300.243592, addressIsManager: true),
            .init(server: v4, clients: 1, connections: 9, intervalSeconds: 301, portListed: true),
        ]
        let report = AnalyzeReport(heartbeat: heartbeat, captures: run.files)
        var streamed: [UInt8] = []
        try report.writeJSON(chunkSize: 1) { streamed += $0 }
        var expected = [UInt8](try HeartbeatReport.encoder().encode(Whole(report: report)))
        expected.append(10)
        let text = String(decoding: streamed, as: UTF8.self)
        #expect(text == String(decoding: expected, as: UTF8.self))
        #expect(text.contains(#""server" : "[2001:db8::9]:8443""#), "\(text)")
        let analyzed = try #require(try JSONSerialization.jsonObject(with: Data(streamed)) as? [String: Any])
        let bundle = ReportBundle(kind: .audit, heartbeat: heartbeat, captures: run.files, model: .builtIn)
        for json in [bundle.auditJSON().reportText(), bundle.validationJSON().reportText()] {
            let other = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            #expect((other["periodicOtherServers"] as? NSArray) == (analyzed["periodicOtherServers"] as? NSArray))
            #expect(other["periodicOtherServers"] != nil)
        }
    }

    /// Check-ins are rendered in blocks on two threads: a bad value in a later block throws the
    /// encoder's error, after handing over exactly the check-ins before it, whole.
    @Test func badCheckInInALaterBlockThrowsAfterTheOnesBeforeIt() throws {
        let run = try CaptureRun(paths: [Fixtures.captures + "/heartbeat/fleet.pcap"]).connections()
        var builder = SessionBuilder(model: .builtIn)
        for c in run.connections { builder.ingest(c.record) }
        var heartbeat = builder.finish()
        let bad = AnalyzeReport.sessionBlock * 2 + 3
        try #require(heartbeat.sessions.count > bad + 1)
        let good = AnalyzeReport(heartbeat: heartbeat, captures: run.files)
        var whole: [UInt8] = []
        try good.writeJSON(chunkSize: 1) { whole += $0 }
        heartbeat.sessions[bad].steps[0].confidence = .nan
        var streamed: [UInt8] = []
        #expect(throws: EncodingError.self) {
            try AnalyzeReport(heartbeat: heartbeat, captures: run.files).writeJSON(chunkSize: 1) { streamed += $0 }
        }
        // Everything handed over is the start of the good report, and ends where check-in `bad` begins.
        #expect(Array(whole.prefix(streamed.count)) == streamed)
        let text = String(decoding: streamed, as: UTF8.self)
        #expect(text.hasSuffix("}"))
        let sessionsPart = try #require(text.components(separatedBy: "\"sessions\" : [").last)
        #expect(sessionsPart.components(separatedBy: "\n    {").count - 1 == bad)
    }

    /// Blocks of any size, on one thread or two, render the same bytes, handed over in order; a block never
    /// holds more check-ins than asked, and blocks follow one another without a gap.
    @Test func blocksOfAnySizeRenderTheSameBytes() throws {
        let run = try CaptureRun(paths: [Fixtures.captures + "/heartbeat/fleet.pcap"]).connections()
        var builder = SessionBuilder(model: .builtIn)
        for c in run.connections { builder.ingest(c.record) }
        let sessions = builder.finish().sessions
        func render(_ most: Int, threads: Int = 2, slots: Int = 16) throws -> [UInt8] {
            var out: [UInt8] = []
            var next = 0
            try sessions.withUnsafeBufferPointer { all in
                try CheckInRenderer.render(all, blockBytes: 1 << 30, mostPerBlock: most, threads: threads,
                                           slots: slots) { block in
                    #expect(block.error == nil)
                    #expect(block.ends.count == block.items.count)
                    #expect(block.items.count <= max(1, most))
                    #expect(block.items.lowerBound == next)
                    next = block.items.upperBound
                    out += block.bytes
                }
            }
            #expect(next == sessions.count)
            return out
        }
        let whole = try render(AnalyzeReport.sessionBlock)
        #expect(!whole.isEmpty)
        for most in [0, 1, 3, 7, 200] { #expect(try render(most) == whole, "block \(most)") }
        #expect(try render(5, threads: 1) == whole)
        #expect(try render(2, threads: 3, slots: 1) == whole)
    }

    /// Several rendering threads on rings down to one slot hand every block over once, in order, whatever
    /// thread rendered it: the calling thread renders too while the next block is not ready.
    @Test func severalRenderersOnATinyRingHandBlocksOverInOrder() throws {
        let count = 3_000
        let expected = (0..<count).flatMap { Array("\($0);".utf8) }
        let items: BlockRenderer.RenderItems = { range, bytes, ends in
            for n in range {
                bytes += Array("\(n);".utf8)
                ends.append(bytes.count)
            }
        }
        for (threads, slots) in [(1, 1), (2, 1), (2, 2), (3, 1), (4, 2), (4, 3), (2, 32)] {
            var out: [UInt8] = []
            var next = 0
            try BlockRenderer.render(count: count, blockBytes: 40, mostPerBlock: 7, threads: threads, slots: slots,
                                     items: items) { block in
                #expect(block.items.lowerBound == next, "threads \(threads), slots \(slots)")
                next = block.items.upperBound
                out += block.bytes
            }
            #expect(next == count)
            #expect(out == expected, "threads \(threads), slots \(slots)")
        }
    }

    struct SinkFailed: Error {}

    /// A sink that throws part-way stops the rendering threads and passes its error on; the pieces before
    /// it are the start of the whole report.
    @Test func aFailingSinkStopsTheRenderingAndPassesItsErrorOn() throws {
        let run = try CaptureRun(paths: [Fixtures.captures + "/heartbeat/fleet.pcap"]).connections()
        var builder = SessionBuilder(model: .builtIn)
        for c in run.connections { builder.ingest(c.record) }
        let report = AnalyzeReport(heartbeat: builder.finish(), captures: run.files)
        let whole = Array(try report.json().utf8)
        for failAt in [1, 9, 12, 40] {
            var pieces = 0
            var streamed: [UInt8] = []
            #expect(throws: SinkFailed.self) {
                try report.writeJSON(chunkSize: 256) { piece in
                    pieces += 1
                    if pieces == failAt { throw SinkFailed() }
                    streamed += piece
                }
            }
            #expect(pieces == failAt)
            #expect(Array(whole.prefix(streamed.count)) == streamed)
        }
    }
}
