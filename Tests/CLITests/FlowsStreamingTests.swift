import Analysis
import Foundation
import Reports
import Testing
import TestSupport

/// `flows` writes its report a connection at a time; the bytes are those of the whole report.
@Suite struct FlowsStreamingTests {
    static func report(_ capture: String, details: Bool) throws -> FlowsReport {
        var configuration = AnalysisConfiguration()
        configuration.keepProtocolDetails = details
        let run = CaptureRun(paths: [capture], configuration: configuration)
        let (files, connections) = try run.connections()
        return FlowsReport(captures: files, connections: connections.reversed(), showHTTP: details, showTLS: details)
    }

    static func written(chunkSize: Int, _ write: (Int, ([UInt8]) throws -> Void) throws -> Void) rethrows -> [UInt8] {
        var bytes: [UInt8] = []
        try write(chunkSize) { bytes += $0 }
        return bytes
    }

    @Test(arguments: [("fleet", false), ("https-full", true), ("http-plain", true), ("lossy-link", true)])
    func streamedJSONIsTheWholeReportsText(name: String, details: Bool) throws {
        let report = try Self.report(heartbeatCapture(name), details: details)
        let whole = Array(report.json().reportText().utf8)
        for chunk in [1, 100, 1 << 16] {
            #expect(try Self.written(chunkSize: chunk) { try report.writeJSON(chunkSize: $0, to: $1) } == whole)
        }
        #expect(report.connections.map(\.record.id) == report.connections.map(\.record.id).sorted())
    }

    @Test func streamedTextIsTheWholeText() throws {
        let report = try Self.report(heartbeatCapture("https-full"), details: true)
        let whole = Array(report.text().utf8)
        #expect(whole.count > 1000)
        for chunk in [1, 100, 1 << 16] {
            #expect(try Self.written(chunkSize: chunk) { try report.writeText(chunkSize: $0, to: $1) } == whole)
        }
    }

    @Test func noConnectionsGiveAnEmptyArray() throws {
        let report = FlowsReport(captures: [], connections: [], showHTTP: false, showTLS: false)
        let streamed = try Self.written(chunkSize: 10) { try report.writeJSON(chunkSize: $0, to: $1) }
        #expect(streamed == Array(report.json().reportText().utf8))
    }
}
