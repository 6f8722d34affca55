import Core

/// A regular capture file that holds no open descriptor until its packets are needed, and lets go
/// of it once they are read.
///
/// Opening checks the file as `CaptureReader.open` does (the same errors, before anything is read),
/// notes the time of its first record, and closes it again. `MergedSource` reads the file only once
/// that time comes up in the merge, and the file is closed as soon as its last record is read. So
/// captures that follow each other in time (the rotated files `tcpdump -G` or `-C` writes) have one
/// or two files open at any moment, however many are named: 3,000 files run under an open-file
/// limit of 64. Files whose times overlap are all open together while they overlap.
///
/// Standard input, FIFOs and pipes cannot be opened twice and are never deferred.
///
/// Cost: a regular file is opened three times instead of once (check, filter check, reading), and
/// its first record is read twice.
final class DeferredFileSource: PacketSource {
    private enum State {
        case waiting
        case reading(CaptureFileSource)
        case finished([CaptureStatistics])
    }

    private let path: String
    private let fileIndex: Int
    private let header: CaptureReader.FileHeader
    private let limits: CaptureLimits
    private let readBufferBytes: Int?
    private let ownPcapReader: Bool
    private var filter: String?
    private var state: State
    /// The time of the file's first record (before any filter): no record of the file is earlier,
    /// except in a file whose clock runs backwards, which the merge then takes as it comes.
    /// Nil once the file is opened for reading, or when it holds no record.
    private(set) var firstTimestamp: Timestamp?

    init(path: String, fileIndex: Int, header: CaptureReader.FileHeader, limits: CaptureLimits,
         readBufferBytes: Int?, ownPcapReader: Bool = true) throws(CaptureError)
    {
        self.path = path
        self.fileIndex = fileIndex
        self.header = header
        self.limits = limits
        self.readBufferBytes = readBufferBytes
        self.ownPcapReader = ownPcapReader
        let probe = try CaptureFileSource(path: path, fileIndex: fileIndex, header: header, limits: limits,
                                          readBufferBytes: nil)
        if let first = try probe.next() {
            firstTimestamp = first.timestamp
            state = .waiting
        } else {
            // No record at all: what the reader says about it (empty, truncated, corrupt) is final.
            state = .finished(probe.statistics)
        }
    }

    /// Whether the file has not been opened for reading yet (its first record's time is known).
    var isWaiting: Bool {
        if case .waiting = state { return true }
        return false
    }

    var statistics: [CaptureStatistics] {
        switch state {
        case .waiting:
            var waiting = CaptureStatistics(path: path, fileIndex: fileIndex, format: header.format,
                                            byteOrder: header.byteOrder, reader: .libpcap)
            waiting.compression = header.compression
            return [waiting]
        case .reading(let source): return source.statistics
        case .finished(let statistics): return statistics
        }
    }

    /// Checks the expression against the file (opened for that moment) and keeps it for the reading.
    func setFilter(_ expression: String) throws(CaptureError) {
        switch state {
        case .reading(let source):
            try source.setFilter(expression)
        case .waiting, .finished:
            let check = try CaptureFileSource(path: path, fileIndex: fileIndex, header: header, limits: limits,
                                              readBufferBytes: nil)
            try check.setFilter(expression)
        }
        filter = expression
    }

    func next() throws(CaptureError) -> PacketRecord? {
        switch state {
        case .finished:
            return nil
        case .waiting:
            let source = try CaptureFileSource(path: path, fileIndex: fileIndex, header: header, limits: limits,
                                               readBufferBytes: readBufferBytes, ownPcapReader: ownPcapReader)
            if let filter { try source.setFilter(filter) }
            state = .reading(source)
            firstTimestamp = nil
            return try read(source)
        case .reading(let source):
            return try read(source)
        }
    }

    private func read(_ source: CaptureFileSource) throws(CaptureError) -> PacketRecord? {
        if let record = try source.next() { return record }
        // Read to its end: keep what it said and close it.
        state = .finished(source.statistics)
        return nil
    }
}
