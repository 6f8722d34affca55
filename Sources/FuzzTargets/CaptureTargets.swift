@_spi(Fuzzing) import Capture
import Analysis
import Core
import Records

/// Capture files: the own pcapng and classic pcap readers, and the whole traffic analysis of a capture.
enum CaptureTargets {
    /// The bytes as a classic pcap file, read to its end by the own classic pcap reader (a read buffer given)
    /// and by libpcap alone (none): the same records, and the same statistics but for the reader's name, or
    /// the same error.
    static func pcap(_ bytes: UnsafeRawBufferPointer) {
        TemporaryFile.with(bytes) { path in
            let own = readClassic(path, bufferBytes: 4096)
            let libpcap = readClassic(path, bufferBytes: nil)
            precondition(own.records == libpcap.records, "the own pcap reader's records differ from libpcap's")
            precondition(own.statistics == libpcap.statistics, "the own pcap reader's statistics differ")
        }
    }

    /// Every record of `path` (time, lengths, bytes) and the statistics as text with the reader left out, or
    /// the error's message.
    private static func readClassic(_ path: String, bufferBytes: Int?) -> (records: [[Int64]], statistics: String) {
        do throws(CaptureError) {
            let source = try CaptureReader.open(path: path, readBufferBytes: bufferBytes)
            var records: [[Int64]] = []
            while let record = try source.next() {
                records.append([record.timestamp.nanoseconds, Int64(record.capturedLength),
                                Int64(record.originalLength)] + record.bytes.map { Int64($0) })
            }
            let statistics = source.statistics.map { statistics in
                var neutral = statistics
                neutral.reader = .libpcap
                return String(describing: neutral) + statistics.warnings.map { " \($0.code) \($0.byteOffset ?? -1)" }
                    .joined()
            }
            return (records, statistics.joined(separator: "\n"))
        } catch {
            return ([], error.message)
        }
    }

    /// The bytes as a pcapng file, read by the own pcapng reader to its end.
    static func pcapng(_ bytes: UnsafeRawBufferPointer) {
        TemporaryFile.with(bytes) { path in
            guard let source = try? CaptureReader.openWithOwnPcapNGReader(path: path) else { return }
            var packets = 0
            while true {
                let next: PacketRecord?
                do { next = try source.next() } catch { break }
                guard let record = next else { break }
                precondition(record.bytes.count == record.capturedLength, "captured length is not the byte count")
                precondition(record.capturedLength <= bytes.count, "a packet larger than the file")
                _ = record.bytes.reduce(0, &+)  // every byte readable (ASan checks the range)
                packets += 1
            }
            let statistics = source.statistics
            precondition(statistics.count == 1, "one file, one statistics entry")
            precondition(statistics[0].packets == packets, "packets counted differ from packets returned")
            precondition(statistics[0].capturedBytes <= bytes.count, "more bytes captured than the file holds")
        }
    }

    /// The bytes as a capture file (classic pcap or pcapng, either reader) through `CaptureRun` and
    /// `TrafficAnalyzer`, with protocol details kept: every connection record must add up.
    static func capture(_ bytes: UnsafeRawBufferPointer) {
        TemporaryFile.with(bytes) { path in
            var configuration = AnalysisConfiguration()
            configuration.keepProtocolDetails = true
            var run = CaptureRun(paths: [path], configuration: configuration)
            run.readAhead = nil
            guard let (files, connections) = try? run.connections() else { return }
            precondition(files.count == 1, "one file, one summary")
            let summary = files[0]
            precondition(summary.capturedBytes <= Int64(bytes.count), "more bytes captured than the file holds")
            let kinds = summary.tcpPackets + summary.nonIP + summary.otherIPTotal + summary.unsupportedTotal
                + summary.malformedTotal
            precondition(kinds <= summary.packets, "packet kinds add up to more than the packets")
            var tcpPackets = 0
            var lastID: UInt64?
            for connection in connections {
                let record = connection.record
                if let lastID { precondition(record.id > lastID, "connection ids repeat") }
                lastID = record.id
                precondition(record.packetsUp >= 0 && record.packetsDown >= 0, "negative packet count")
                precondition(record.bytesUp >= 0 && record.bytesDown >= 0, "negative byte count")
                if let tunnel = record.tunnel {
                    // A forward proxy's requests (absolute form) set nothing up; a CONNECT tunnel, open or
                    // refused, holds the CONNECT exchange.
                    precondition(tunnel.kind == .forward
                                     || !tunnel.setUp.isEmpty && tunnel.setUp.allSatisfy { $0.kind == .http },
                                 "a tunnel without the CONNECT exchange that set it up")
                }
                tcpPackets += record.packetsUp + record.packetsDown
            }
            precondition(tcpPackets <= summary.tcpPackets + summary.fragments,
                         "connections hold \(tcpPackets) packets, the file \(summary.tcpPackets) TCP packets")
        }
    }
}
