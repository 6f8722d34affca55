import Core
import Streams
import Testing
import TestSupport
@testable import Analysis

/// The analysis layer over whole captures: connection counts, per-connection state, coverage.
@Suite struct AnalysisCostAndCoverageTests {
    @Test func pushModeCaptureIsOneConnection() throws {
        let run = CaptureRun(paths: [Fixtures.captures + "/heartbeat/push-mode.pcap"])
        let result = try run.connections()
        #expect(result.connections.count == 1)
        #expect(result.connections.first?.record.state.contains(.midstream) == false)
    }

    @Test func connectionsWithoutPayloadGetNoApplicationState() {
        let analyzer = TrafficAnalyzer { _ in }
        let table = ConnectionTable(delegate: analyzer)
        for i in 0..<3 {
            let client = Endpoint(address: IPAddress(ipv4: 0x0a00_0001), port: UInt16(40_000 + i))
            let server = Endpoint(address: IPAddress(ipv4: 0x0a00_0002), port: 443)
            table.process(TCPSegment(timestamp: Timestamp(seconds: 1, nanoseconds: 0), source: client,
                                     destination: server, sequence: 1, flags: [.syn], payloadLength: 0,
                                     payload: UnsafeRawBufferPointer(start: nil, count: 0)))
        }
        #expect(table.openConnections == 3)
        #expect(analyzer.applicationStates == 0)
        let client = Endpoint(address: IPAddress(ipv4: 0x0a00_0001), port: 40_000)
        let server = Endpoint(address: IPAddress(ipv4: 0x0a00_0002), port: 443)
        let bytes: [UInt8] = Array("GET / HTTP/1.1\r\n".utf8)
        bytes.withUnsafeBytes { payload in
            table.process(TCPSegment(timestamp: Timestamp(seconds: 2, nanoseconds: 0), source: client,
                                     destination: server, sequence: 2, flags: [.ack],
                                     payloadLength: payload.count, payload: payload))
        }
        #expect(analyzer.applicationStates == 1)
        table.finish()
        #expect(analyzer.applicationStates == 0)
    }
}
