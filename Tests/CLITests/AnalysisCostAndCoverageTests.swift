import Core
@testable import CLI
import Heartbeat
import Records
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

/// Capture silences: stretches with no packet at all, within files and between them.
@Suite struct CaptureSilenceTests {
    static let frame: [UInt8] = Array(repeating: 0x22, count: 30)
    static let t0: UInt32 = 1_700_000_000

    /// A classic pcap with one packet at each of `seconds` (plus `micros` on the last).
    static func file(_ folder: TemporaryDirectory, _ name: String, _ seconds: [UInt32], lastMicros: UInt32 = 0)
        -> String
    {
        var file = PcapBuilder()
        for (i, s) in seconds.enumerated() {
            file.record(seconds: s, fraction: i == seconds.count - 1 ? lastMicros : 0, data: Self.frame)
        }
        return folder.write(name, file.data)
    }

    static func summaries(_ paths: [String]) throws -> (files: [CaptureSummary], merged: CaptureSummary) {
        let files = try CaptureRun(paths: paths).connections().files
        return (files, CaptureSummary.merged(files))
    }

    @Test func quietStretchAtTheThresholdIsNoSilenceOnePastIsOne() throws {
        let folder = TemporaryDirectory()
        let at = Self.file(folder, "at.pcap", [Self.t0, Self.t0 + 60])
        #expect(try Self.summaries([at]).merged.silences.isEmpty)
        let past = Self.file(folder, "past.pcap", [Self.t0, Self.t0 + 60], lastMicros: 1)
        let silences = try Self.summaries([past]).merged.silences
        #expect(silences.count == 1)
        #expect(silences.first?.start == Timestamp(seconds: Int64(Self.t0), nanoseconds: 0))
        #expect(silences.first?.end == Timestamp(seconds: Int64(Self.t0) + 60, nanoseconds: 1_000))
        #expect(silences.first?.betweenFiles == false)
    }

    @Test func filesDaysApartLeaveOneSilenceBetweenThem() throws {
        let folder = TemporaryDirectory()
        let day: UInt32 = 86_400
        let a = Self.file(folder, "a.pcap", [Self.t0, Self.t0 + 10])
        let b = Self.file(folder, "b.pcap", [Self.t0 + 3 * day, Self.t0 + 3 * day + 50])
        let (files, merged) = try Self.summaries([b, a])
        #expect(files.allSatisfy { $0.silences.isEmpty })
        #expect(merged.silences == [CaptureSilence(start: Timestamp(seconds: Int64(Self.t0) + 10, nanoseconds: 0),
                                                   end: Timestamp(seconds: Int64(Self.t0 + 3 * day), nanoseconds: 0),
                                                   betweenFiles: true)])
    }

    @Test func oneFilesPacketsFillAnothersSilence() throws {
        let folder = TemporaryDirectory()
        let a = Self.file(folder, "a.pcap", [Self.t0, Self.t0 + 500, Self.t0 + 1000])
        let b = Self.file(folder, "b.pcap", [Self.t0 + 30, Self.t0 + 80, Self.t0 + 130, Self.t0 + 180, Self.t0 + 700])
        let (files, merged) = try Self.summaries([a, b])
        #expect(files[0].silences.count == 2)
        #expect(files[1].silences.count == 1)
        // a's 0-500 silence is mostly filled by b (packets to 180); b's 180-700 by a's packet at 500.
        #expect(merged.silences.map { $0.start.seconds(since: Timestamp(seconds: Int64(Self.t0), nanoseconds: 0)) }
                == [180, 500, 700])
        #expect(merged.silences.map(\.end.nanoseconds)
                == [500, 700, 1000].map { (Int64(Self.t0) + $0) * 1_000_000_000 })
        #expect(merged.silences.allSatisfy { !$0.betweenFiles })
    }

    @Test func silenceListStopsAtItsBoundAndCountsTheRest() throws {
        let folder = TemporaryDirectory()
        let limit = CaptureSummary.maxSilencesListed
        let atLimit = Self.file(folder, "at.pcap", (0...limit).map { Self.t0 + UInt32($0) * 61 })
        let at = try Self.summaries([atLimit]).merged
        #expect(at.silences.count == limit)
        #expect(at.silencesNotListed == 0)
        let pastLimit = Self.file(folder, "past.pcap", (0...(limit + 1)).map { Self.t0 + UInt32($0) * 61 })
        let past = try Self.summaries([pastLimit]).merged
        #expect(past.silences.count == limit)
        // The stretch past the list is a pause inside the file that the clock ran through, as the listed ones.
        #expect(past.quietStretchesNotListed == 1)
        #expect(past.silencesNotListed == 0)
    }

    /// Past the list's bound, only the kinds of silence a finding is raised for (between files, across a
    /// jump of the clock) are counted for the `capture-gap` message; quiet stretches are counted apart.
    @Test func silencesPastTheListAreCountedByKind() {
        var s = CaptureSummary(path: "x.pcap")
        let t = Timestamp(seconds: Int64(Self.t0), nanoseconds: 0)
        for i in 0..<CaptureSummary.maxSilencesListed {
            s.noteSilence(from: t.adding(nanoseconds: Int64(i) * 200_000_000_000),
                          to: t.adding(nanoseconds: Int64(i) * 200_000_000_000 + 100_000_000_000))
        }
        let after = t.adding(nanoseconds: Int64(CaptureSummary.maxSilencesListed) * 200_000_000_000)
        let end = after.adding(nanoseconds: 100_000_000_000)
        s.noteSilence(from: after, to: end)
        s.noteSilence(from: after, to: end, betweenFiles: true)
        s.noteSilence(from: after, to: end, clockJump: true)
        s.noteSilence(from: after, to: end)
        #expect(s.silences.count == CaptureSummary.maxSilencesListed)
        #expect(s.silencesNotListed == 2)
        #expect(s.quietStretchesNotListed == 2)
        let merged = CaptureSummary.merged([s, CaptureSummary(path: "y.pcap")])
        #expect(merged.quietStretchesNotListed == 2)
    }

    /// A continuous capture with more quiet minutes than the list holds raises no `capture-gap` (as the
    /// listed quiet minutes raise none); a count of uncovered stretches past the list still does.
    @Test func quietMinutesPastTheListRaiseNoCaptureGap() throws {
        let folder = TemporaryDirectory()
        let limit = CaptureSummary.maxSilencesListed
        let path = Self.file(folder, "long.pcap", (0...(limit + 5)).map { Self.t0 + UInt32($0) * 61 })
        let files = try Self.summaries([path]).files
        var builder = SessionBuilder(model: .builtIn)
        let quiet = ReportCommand.finish(&builder, files: files)
        #expect(!quiet.findings.contains { $0.code == .captureGap })
        var uncovered = files
        uncovered[0].silencesNotListed = 3
        var again = SessionBuilder(model: .builtIn)
        let gaps = ReportCommand.finish(&again, files: uncovered).findings.filter { $0.code == .captureGap }
        #expect(gaps.count == 1)
        #expect(gaps.first?.message.hasPrefix("3 further stretches with no packet for over 60 s between capture files")
                == true)
    }
}
