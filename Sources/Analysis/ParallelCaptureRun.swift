import Capture
import Core
import Records
import Streams

/// Reads several capture files at once: each file through its own `TrafficAnalyzer` on one of up
/// to `jobs` threads. The connection records are then numbered as one merged run (`CaptureRun` over
/// all files) numbers them: by first packet time, then file order, then the file's own order.
///
/// The answer must be the merged run's, and a file read on its own can differ from it: a connection
/// cut across files is two records here and one there, and the connection table's clock (idle
/// flush, close linger, hole timeouts, swept every 250 ms of capture time) runs on one file's
/// packets here and on all files' packets there. So `run` checks the records afterwards and
/// answers `Fallback` whenever the merged run could have decided anything differently; the caller
/// then reads the files in order with `CaptureRun`. The checks (see `fallback(_:limits:)`) are
/// conservative: they assume the worst about what the records do not show (the packet times inside
/// a connection), so a `Result` is always the merged run's records, and a fallback only costs time.
///
/// Cost: the files are each read once, on `jobs` threads; the records of all files are held until
/// the end (about 300 bytes each, as the merged run's report holds them anyway); the checks are
/// O(n log n) in records. Only for files that can be read twice (not standard input or a FIFO):
/// after a fallback they are read again.
public struct ParallelCaptureRun: Sendable {
    public var paths: [String]
    public var filter: String?
    public var configuration: AnalysisConfiguration
    /// Most files read at the same time (at least 1).
    public var jobs: Int

    public init(paths: [String], filter: String? = nil, configuration: AnalysisConfiguration = .init(), jobs: Int) {
        self.paths = paths
        self.filter = filter
        self.configuration = configuration
        self.jobs = max(1, jobs)
    }

    /// What the files gave: one summary per file (as `CaptureRun.run` returns them) and every
    /// connection numbered as the merged run numbers it, in id order.
    public struct Result: Sendable {
        public var files: [CaptureSummary]
        public var connections: [CompletedConnection]
    }

    /// Why the files must be read in order instead.
    public struct Fallback: Error, Sendable, Equatable {
        /// Short words for people, e.g. `IP fragments`.
        public var reason: String
        /// True when a file failed while being read: the merged run reports that error as it would
        /// anyway, so there is nothing more to say.
        public var readFailed = false

        public init(reason: String, readFailed: Bool = false) {
            self.reason = reason
            self.readFailed = readFailed
        }

        public static let sharedConnections = Fallback(reason: "shared connections")

        /// One line for stderr (without the program name).
        public var message: String {
            let why = self == .sharedConnections ? "files share connections" : "files cannot be read apart (\(reason))"
            return why + "; reading them in order instead"
        }
    }

    /// Opens every file and applies the filter, as `CaptureRun.open` does (the same first error is
    /// thrown). Each file gets its position in `paths` as its file index.
    public func open() throws(CaptureError) -> [PacketSource] {
        let sources = try CaptureReader.open(paths: paths)
        if let filter {
            for source in sources { try source.setFilter(filter) }
        }
        return sources
    }

    /// Runs every source (one per file of `paths`, in order, as `open` gives them) to its end on up to
    /// `jobs` threads, then checks and numbers the records. Each source is used by one thread only.
    public func run(_ sources: [PacketSource]) -> Swift.Result<Result, Fallback> {
        precondition(sources.count == paths.count, "one source per file")
        let jobs = sources.enumerated().map { FileJob(index: $0.offset, source: $0.element) }
        // Threads the system refuses are not waited for: the files then run on the threads there are.
        ParallelWork.perform(iterations: jobs.count, threads: self.jobs) { [configuration] i in
            jobs[i].run(configuration)
        }
        var outputs: [FileOutput] = []
        for job in jobs {
            guard let output = job.output else { return .failure(Fallback(reason: "read error", readFailed: true)) }
            outputs.append(output)
        }
        if let fallback = Self.fallback(outputs, limits: configuration.streamLimits) { return .failure(fallback) }
        return .success(Self.merged(outputs))
    }

    /// One file's share of the work: its summary, its connections in its own id order, and its
    /// connection table's counters.
    struct FileOutput {
        var summary: CaptureSummary
        var connections: [CompletedConnection]
        var streams: StreamStatistics
    }

    /// The records of all files numbered as the merged run numbers them. The merged source takes
    /// packets in time order, ties to the earlier file, so (with no file's clock running backwards,
    /// which `fallback` checks) the merged run opens connections in (start, file, own id) order.
    static func merged(_ outputs: [FileOutput]) -> Result {
        var all: [(file: Int, position: Int, connection: CompletedConnection)] = []
        for (f, output) in outputs.enumerated() {
            for (p, c) in output.connections.enumerated() { all.append((f, p, c)) }
        }
        all.sort { a, b in
            (a.connection.record.start, a.file, a.position) < (b.connection.record.start, b.file, b.position)
        }
        var connections: [CompletedConnection] = []
        connections.reserveCapacity(all.count)
        for (n, item) in all.enumerated() {
            var c = item.connection
            c.record.id = UInt64(n + 1)
            connections.append(c)
        }
        return Result(files: outputs.map(\.summary), connections: connections)
    }
}

/// One file's source and, once read, its output. Touched by one worker thread while it runs and by
/// the caller only after all workers are done (`ParallelWork.perform` returning orders the two).
private final class FileJob: @unchecked Sendable {
    let index: Int
    let source: PacketSource
    var output: ParallelCaptureRun.FileOutput?

    init(index: Int, source: PacketSource) {
        self.index = index
        self.source = source
    }

    func run(_ configuration: AnalysisConfiguration) {
        var connections: [CompletedConnection] = []
        // Each file has a thread of its own already: the jobs share the cores, not two stages of one analysis.
        var configuration = configuration
        configuration.applicationThread = false
        let run = CaptureRun(paths: [], configuration: configuration)
        do throws(CaptureError) {
            let result = try run.runCounting(source) { connections.append($0) }
            connections.sort { $0.record.id < $1.record.id }
            let summary = index < result.files.count ? result.files[index] : CaptureSummary(path: "")
            output = ParallelCaptureRun.FileOutput(summary: summary, connections: connections, streams: result.streams)
        } catch {
            output = nil
        }
    }
}
