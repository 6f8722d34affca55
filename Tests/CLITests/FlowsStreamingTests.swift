import Analysis
import Core
import Foundation
import Records
import Reports
import Testing
import TestSupport

/// `flows` writes its rows while the captures are read (`FlowsWriter`), in id order through a reorder window,
/// and the number of connections and the capture summary after them; every format says the same.
@Suite struct FlowsStreamingTests {
    static func report(_ capture: String, details: Bool) throws -> FlowsReport {
        var configuration = AnalysisConfiguration()
        configuration.keepProtocolDetails = details
        let run = CaptureRun(paths: [capture], configuration: configuration)
        let (files, connections) = try run.connections()
        return FlowsReport(captures: files, connections: connections.reversed(), showHTTP: details, showTLS: details)
    }

    static func written(chunkSize: Int, _ write: (Int, @escaping ([UInt8]) throws -> Void) throws -> Void) rethrows
        -> [UInt8] {
        let bytes = Box()
        try write(chunkSize) { bytes.value += $0 }
        return bytes.value
    }

    final class Box: @unchecked Sendable {
        var value: [UInt8] = []
    }

    static func parsed(_ bytes: [UInt8]) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary)
    }

    /// A connection with id `id`, a client port of `port` (a wider cell for a longer port).
    static func connection(_ id: UInt64, port: UInt16 = 40_000) -> CompletedConnection {
        let client = Endpoint(address: IPAddress(ipv4: 0x0a00_0001), port: port)
        let record = ConnectionRecord(
            id: id, client: client, server: Endpoint(address: IPAddress(ipv4: 0x0a00_0002), port: 443),
            start: Timestamp(seconds: 1_741_000_000 + Int64(id), nanoseconds: 0),
            end: Timestamp(seconds: 1_741_000_001 + Int64(id), nanoseconds: 0))
        return CompletedConnection(record: record)
    }

    @Test(arguments: [("fleet", false), ("https-full", true), ("http-plain", true), ("lossy-link", true)])
    func streamedJSONIsTheWholeReportsValue(name: String, details: Bool) throws {
        let report = try Self.report(heartbeatCapture(name), details: details)
        let whole = try Self.parsed(Array(report.json().reportText().utf8))
        let first = try Self.written(chunkSize: 1) { try report.writeJSON(chunkSize: $0, to: $1) }
        #expect(try Self.parsed(first) == whole)
        for chunk in [100, 1 << 16] {
            #expect(try Self.written(chunkSize: chunk) { try report.writeJSON(chunkSize: $0, to: $1) } == first)
        }
        // Rows first, the summary after them; the schema opens the object.
        let text = String(decoding: first, as: UTF8.self)
        #expect(text.hasPrefix("{\n  \"schema\" : \"sepbeat-flows/1\",\n  \"connections\" : [\n"))
        let connections = try #require(text.range(of: "\"connections\" : ["))
        let captures = try #require(text.range(of: "\n  \"captures\" : ["))
        #expect(connections.upperBound < captures.lowerBound)
        #expect(text.hasSuffix("\n  ]\n}\n"))
        #expect(report.connections.map(\.record.id) == report.connections.map(\.record.id).sorted())
    }

    @Test func streamedTextIsTheWholeText() throws {
        let report = try Self.report(heartbeatCapture("https-full"), details: true)
        let whole = Array(report.text().utf8)
        #expect(whole.count > 1000)
        for chunk in [1, 100, 1 << 16] {
            #expect(try Self.written(chunkSize: chunk) { try report.writeText(chunkSize: $0, to: $1) } == whole)
        }
        // The table first, each connection's detail lines under its row, then the count and the summary.
        let text = String(decoding: whole, as: UTF8.self)
        #expect(text.hasPrefix("#  client"))
        let count = "\n\(report.connections.count) TCP connection" + (report.connections.count == 1 ? "" : "s")
        let countAt = try #require(text.range(of: count + "\n\n"))
        let summaryAt = try #require(text.range(of: heartbeatCapture("https-full") + ": "))
        #expect(countAt.upperBound <= summaryAt.lowerBound)
        #expect(text.contains("\n    TLS client offers"))
        #expect(!text.contains("\nconnection 1 "))
    }

    @Test func noConnectionsGiveAnEmptyList() throws {
        let report = FlowsReport(captures: [], connections: [], showHTTP: false, showTLS: false)
        let streamed = try Self.written(chunkSize: 10) { try report.writeJSON(chunkSize: $0, to: $1) }
        #expect(try Self.parsed(streamed) == Self.parsed(Array(report.json().reportText().utf8)))
        #expect(String(decoding: streamed, as: UTF8.self).contains("\"connections\" : [\n\n  ],"))
        #expect(report.text() == "0 TCP connections\n")
    }

    // MARK: - The reorder window

    /// Ids ending out of order come out in id order; an id left out (a copy captured twice) is not waited for.
    @Test func rowsComeInIdOrderAsSoonAsTheLowerIdsEnded() throws {
        let bytes = Box()
        let writer = FlowsWriter(format: .json, showHTTP: false, showTLS: false, window: 100, chunkSize: 0) {
            bytes.value += $0
        }
        try writer.add(Self.connection(2))
        try writer.add(Self.connection(3))
        #expect(writer.written == 0)
        try writer.add(Self.connection(1))
        #expect(writer.written == 3)
        try writer.add(Self.connection(5))
        #expect(writer.written == 3)
        try writer.leftOut(id: 4)
        #expect(writer.written == 4)
        try writer.finish(captures: [])
        let json = try Self.parsed(bytes.value)
        let ids = try #require(json["connections"] as? [NSDictionary]).compactMap { $0["id"] as? Int }
        #expect(ids == [1, 2, 3, 5])
        #expect(json["connectionsListedLate"] as? Int == 0)
    }

    /// More rows waiting than the window holds: the lowest goes out, and the open id it passed is written
    /// when it ends, counted, in text and JSON alike.
    @Test(arguments: [FlowsWriter.Format.text, .json])
    func aConnectionOpenPastTheWindowIsListedLateAndCounted(format: FlowsWriter.Format) throws {
        let bytes = Box()
        let writer = FlowsWriter(format: format, showHTTP: false, showTLS: false, window: 3, measuredRows: 2,
                                 chunkSize: 0) { bytes.value += $0 }
        for id: UInt64 in 2...5 { try writer.add(Self.connection(id)) }
        // Four waited for id 1 with room for three: 2 went out, passing 1 over, and 3 to 5 after it.
        #expect(writer.written == 4)
        for id: UInt64 in 6...9 { try writer.add(Self.connection(id)) }
        try writer.add(Self.connection(1))
        try writer.finish(captures: [])
        #expect(writer.written == 9 && writer.listedLate == 1)
        let text = String(decoding: bytes.value, as: UTF8.self)
        switch format {
        case .json:
            let json = try Self.parsed(bytes.value)
            let ids = try #require(json["connections"] as? [NSDictionary]).compactMap { $0["id"] as? Int }
            #expect(ids == [2, 3, 4, 5, 6, 7, 8, 9, 1])
            #expect(json["connectionsListedLate"] as? Int == 1)
        case .text:
            let ids = text.split(separator: "\n").compactMap { line -> Int? in
                guard line.contains("10.0.0.1:"), let first = line.split(separator: " ").first else { return nil }
                return Int(first)
            }
            #expect(ids == [2, 3, 4, 5, 6, 7, 8, 9, 1])
            #expect(text.hasSuffix("\n9 TCP connections\n1 of them listed out of id order, when they ended: each was "
                + "still open while more than 3 connections after it had ended\n"), "\(text)")
        }
    }

    /// Memory stays with the window: a long run of ids with one connection open the whole time holds at
    /// most the window's rows, and the table measured on its first rows widens (its head written again)
    /// when a later row is wider.
    @Test func theTextTableWidensForALaterWiderRow() throws {
        let bytes = Box()
        let writer = FlowsWriter(format: .text, showHTTP: false, showTLS: false, window: 10, measuredRows: 3,
                                 chunkSize: 0) { bytes.value += $0 }
        for id: UInt64 in 1...5 { try writer.add(Self.connection(id, port: 80)) }
        try writer.add(Self.connection(6, port: 65_535))
        try writer.add(Self.connection(7, port: 81))
        try writer.finish(captures: [])
        let text = String(decoding: bytes.value, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let heads = lines.enumerated().filter { $0.element.hasPrefix("#  client") }.map(\.offset)
        #expect(heads.count == 2, "\(lines)")
        // The second head comes after a blank line, right above row 6, and rows 6 and 7 align under it.
        #expect(lines[heads[1] - 1].isEmpty && lines[heads[1] + 2].hasPrefix("6  10.0.0.1:65535"))
        let serverColumn = lines[heads[1]].range(of: "server")!.lowerBound.utf16Offset(in: lines[heads[1]])
        #expect(lines[heads[1] + 3].range(of: "10.0.0.2:443")!.lowerBound.utf16Offset(in: lines[heads[1] + 3])
            == serverColumn)
        #expect(lines[0].range(of: "server")!.lowerBound.utf16Offset(in: lines[0]) < serverColumn)
    }
}
