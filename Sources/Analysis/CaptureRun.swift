import Capture
import Core
import Streams

/// Reads capture files from start to end through a `TrafficAnalyzer`.
///
/// All files are opened before the first packet is read, so a missing or broken
/// file fails at once instead of after minutes of work. Several files are merged
/// in time order. Files are read on their own thread, a few batches ahead of the
/// analysis (`ReadAheadSource`, see `readAhead`).
public struct CaptureRun {
    public var paths: [String]
    public var filter: String?
    public var configuration: AnalysisConfiguration
    /// Called every 65,536 packets with the packet count so far (for progress meters).
    public var onProgress: ((Int) -> Void)?
    /// Told each connection id that no record will have (`TrafficAnalyzer.onLeftOut`).
    public var onLeftOut: ((UInt64) -> Void)?
    /// How far `open()` reads ahead of the analysis, on a thread of its own (default: three batches
    /// of 512 KiB); nil reads on the calling thread. The packets, errors and final statistics are the same
    /// either way; reading ahead lets reading and analysis use two cores.
    public var readAhead: ReadAheadConfiguration? = .default

    public init(paths: [String], filter: String? = nil, configuration: AnalysisConfiguration = .init()) {
        self.paths = paths
        self.filter = filter
        self.configuration = configuration
    }

    /// Opens every file and applies the filter; throws the first file's error.
    /// With `readAhead` set, the source returned reads on its own thread from its first `next()`.
    public func open() throws(CaptureError) -> PacketSource {
        let sources = try CaptureReader.open(paths: paths)
        let source: PacketSource = sources.count == 1 ? sources[0] : MergedSource(sources)
        if let filter { try source.setFilter(filter) }
        guard let readAhead else { return source }
        return ReadAheadSource(source, configuration: readAhead)
    }

    /// Runs `source` to its end, handing each finished connection to `onConnection`.
    /// Returns one summary per file.
    public func run(
        _ source: PacketSource, onConnection: @escaping (CompletedConnection) -> Void
    ) throws(CaptureError) -> [CaptureSummary] {
        try runCounting(source, onConnection: onConnection).files
    }

    /// `run`, also returning the connection table's counters (read by `ParallelCaptureRun`).
    func runCounting(
        _ source: PacketSource, onConnection: @escaping (CompletedConnection) -> Void
    ) throws(CaptureError) -> (files: [CaptureSummary], streams: StreamStatistics) {
        let analyzer = TrafficAnalyzer(configuration: configuration, onConnection: onConnection)
        analyzer.onLeftOut = onLeftOut
        try drain(source, into: analyzer)
        analyzer.finish()
        analyzer.adopt(fileStatistics: source.statistics)
        return (analyzer.files, analyzer.streamStatistics)
    }

    /// Convenience for tests and tools: every connection of `paths`, in id order.
    public func connections() throws(CaptureError) -> (files: [CaptureSummary], connections: [CompletedConnection]) {
        var connections: [CompletedConnection] = []
        let files = try run(try open()) { connections.append($0) }
        connections.sort { $0.record.id < $1.record.id }
        return (files, connections)
    }

    /// The hot loop, kept in its own function so the optimiser sees it whole.
    private func drain(_ source: PacketSource, into analyzer: TrafficAnalyzer) throws(CaptureError) {
        var n = 0
        while let packet = try source.next() {
            analyzer.process(packet)
            n &+= 1
            if n & 0xffff == 0, let onProgress { onProgress(n) }
        }
    }
}
