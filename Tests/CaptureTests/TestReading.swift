import Core
import Testing
import TestSupport
@testable import Capture

/// What reading a source to its end gave, with record bytes copied out.
struct ReadBack {
    struct Record: Equatable {
        var time: Int64
        var linkType: UInt32
        var captured: Int
        var original: Int
        var fileIndex: Int
        var interface: Int
        var bytes: [UInt8]
    }

    var records: [Record] = []
    var statistics: [CaptureStatistics] = []

    var times: [Int64] { records.map(\.time) }
    var first: CaptureStatistics? { statistics.first }
    var warnings: [CaptureWarning] { statistics.flatMap(\.warnings) }

    /// Reads every record of `source`, copying bytes (they are only borrowed).
    init(_ source: PacketSource) throws(CaptureError) {
        while let r = try source.next() {
            #expect(r.bytes.count == r.capturedLength)
            records.append(Record(time: r.timestamp.nanoseconds, linkType: r.linkType.rawValue,
                                  captured: r.capturedLength, original: r.originalLength, fileIndex: r.fileIndex,
                                  interface: r.interfaceIndex, bytes: Array(r.bytes)))
        }
        statistics = source.statistics
    }

    init(path: String, fileIndex: Int = 0) throws(CaptureError) {
        try self.init(CaptureReader.open(path: path, fileIndex: fileIndex))
    }
}

/// The error opening (and reading) `path` throws, or nil when it reads fine.
func openingError(_ path: String) -> CaptureError? {
    do throws(CaptureError) {
        _ = try ReadBack(path: path)
        return nil
    } catch {
        return error
    }
}
