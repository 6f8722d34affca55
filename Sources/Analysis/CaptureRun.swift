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
    /// How far `open()` reads ahead of the analysis, on a thread of its own (default: eight batches
    /// of 512 KiB); nil reads on the calling thread. The packets, errors and final statistics are the same
    /// either way; reading ahead lets reading and analysis use two cores.
    public var readAhead: ReadAheadConfiguration? = .default
    /// Reports made while the run goes on (the rolling report of a live capture or a followed input, see
    /// `drainFollowed`); nil: none.
    public var rolling: RollingReports?
    /// Ends the inputs that can be followed forever (standard input that is no regular file, pipes, FIFOs,
    /// devices) when requested, as if their writers had closed them; regular files are read to their end
    /// regardless. nil: every input is read to its end (`CaptureReader.open(path:)`).
    public var stop: LiveStopRequest?
    /// Whether plain classic pcap files are read by the own classic pcap reader (default) or through libpcap
    /// alone (`sepbeat-bench read`, the benchmark's floor, stays a libpcap loop).
    public var ownPcapReader = true

    public init(paths: [String], filter: String? = nil, configuration: AnalysisConfiguration = .init()) {
        self.paths = paths
        self.filter = filter
        self.configuration = configuration
    }

    /// Opens every file and applies the filter; throws the first file's error.
    /// With `readAhead` set, the source returned reads on its own thread from its first `next()`.
    public func open() throws(CaptureError) -> PacketSource {
        let sources = try CaptureReader.open(paths: paths, stop: stop, ownPcapReader: ownPcapReader)
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
        do throws(CaptureError) {
            if let live = source as? LiveSource {
                try drainLive(live, into: analyzer)
            } else if let rolling {
                try drainFollowed(source, rolling: rolling, into: analyzer)
            } else {
                try drain(source, into: analyzer)
            }
        } catch {
            // The connections ended before the error are handed out, as without the application layer's thread.
            analyzer.synchronize()
            throw error
        }
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

    /// `drain` for a live capture: while the interface is quiet the connection table's clock follows the
    /// system's (less `RollingReports.clockMargin`, for packets stamped but not read yet), so connections
    /// that closed are handed out without waiting for the next packet; and `rolling.report`, if set, gets
    /// the capture so far each time its interval has passed (on the monotonic clock, looked at every 64
    /// packets and whenever the source waits in vain).
    private func drainLive(_ source: LiveSource, into analyzer: TrafficAnalyzer) throws(CaptureError) {
        let rolling = self.rolling
        var due = SystemClock.monotonicNanoseconds() &+ (rolling?.intervalNanoseconds ?? 0)
        let tick = {
            guard let rolling, SystemClock.monotonicNanoseconds() >= due else { return }
            rolling.report(analyzer.soFar(fileStatistics: source.statistics))
            due = SystemClock.monotonicNanoseconds() &+ rolling.intervalNanoseconds
        }
        source.onIdle = {
            analyzer.advanceClock(to: SystemClock.now().adding(nanoseconds: -RollingReports.clockMargin))
            tick()
        }
        defer { source.onIdle = nil }
        var n = 0
        while let packet = try source.next() {
            analyzer.process(packet)
            n &+= 1
            if n & 63 == 0 { tick() }
            if n & 0xffff == 0, let onProgress { onProgress(n) }
        }
    }

    /// `drain` with rolling reports, for inputs that may be followed (standard input, a pipe, a FIFO): `rolling`
    /// gets the capture so far as in `drainLive`, looked at every 64 packets and while the source waits
    /// (`PacketSource.setWaitHandler`). While it waits, the connection table's clock follows the system's only
    /// when the packets are recent (`FollowedClock`): then from the last packet's time on, as much as the
    /// system's has run since it was read (less `RollingReports.clockMargin`); otherwise the packets' clock
    /// alone moves it.
    private func drainFollowed(_ source: PacketSource, rolling: RollingReports, into analyzer: TrafficAnalyzer)
        throws(CaptureError)
    {
        var due = SystemClock.monotonicNanoseconds() &+ rolling.intervalNanoseconds
        var clock = FollowedClock()
        let tick = {
            guard SystemClock.monotonicNanoseconds() >= due else { return }
            rolling.report(analyzer.soFar(fileStatistics: source.statistics))
            due = SystemClock.monotonicNanoseconds() &+ rolling.intervalNanoseconds
        }
        source.setWaitHandler {
            if let time = clock.now(wall: SystemClock.now(), monotonic: SystemClock.monotonicNanoseconds()) {
                analyzer.advanceClock(to: time)
            }
            tick()
        }
        defer { source.setWaitHandler(nil) }
        var n = 0
        while let packet = try source.next() {
            analyzer.process(packet)
            clock.read(packet.timestamp, monotonic: SystemClock.monotonicNanoseconds())
            n &+= 1
            if n & 63 == 0 { tick() }
            if n & 0xffff == 0, let onProgress { onProgress(n) }
        }
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

/// Reports made while a run goes on: every `intervalNanoseconds` (monotonic clock), `report` gets the
/// capture so far (`TrafficAnalyzer.soFar`), on the thread that runs the analysis, between two packets. The
/// connections handed out so far have all been given to `onConnection` by then; those still open come with
/// it, as provisional records (the capture's end at that moment), and are not given to `onConnection`.
public struct RollingReports {
    public var intervalNanoseconds: Int64
    public var report: (CaptureSoFar) -> Void

    public init(intervalNanoseconds: Int64, report: @escaping (CaptureSoFar) -> Void) {
        self.intervalNanoseconds = max(1, intervalNanoseconds)
        self.report = report
    }

    /// How far behind the system's time a quiet live capture's connection clock is kept (2 s).
    static let clockMargin: Int64 = 2_000_000_000
}

/// The connection clock of a followed input while it is quiet (`CaptureRun.drainFollowed`).
///
/// A followed input may carry packets being captured now (`ssh sensor tcpdump -U -w - | ...`) or packets
/// of long ago (`tail -c +1 -f old.pcap | ...`). For the first, connections that closed or went idle before
/// the quiet stretch should be handed out as a live capture's are, without waiting for the next packet; for
/// the second, the system's clock says nothing of the packets' (moving the table's clock to now would end
/// every connection open at the end of an old capture). So the system's clock is followed only when the
/// last packet read was stamped within `recentNanoseconds` of the system's time when it was read; and it is
/// followed from that packet's time, by the time run since (monotonic clock), less
/// `RollingReports.clockMargin`: a sensor whose clock is some seconds off this system's, or packets that
/// took a while through the pipe, are followed at their own distance, never ahead of the packets to come.
struct FollowedClock {
    /// How far from the system's time the last packet may be stamped for the input to count as captured
    /// now (5 minutes: a sensor's clock a few minutes off, a slow pipe; a capture replayed from a file is
    /// usually older).
    static let recentNanoseconds: Int64 = 300_000_000_000

    /// The last packet's time and when it was read (monotonic clock).
    private var last: (time: Timestamp, monotonic: Int64)?
    /// Whether the last packet was recent; nil until looked at (at the first wait after it).
    private var recent: Bool?

    /// Notes a packet read at `monotonic`.
    mutating func read(_ time: Timestamp, monotonic: Int64) {
        last = (time, monotonic)
        recent = nil
    }

    /// The time the connection table's clock may move to while the input waits, given the system's time
    /// and monotonic clock now; nil when the last packet is not recent (or none was read).
    mutating func now(wall: Timestamp, monotonic: Int64) -> Timestamp? {
        guard let last else { return nil }
        let elapsed = max(0, monotonic &- last.monotonic)
        // The system's time when the packet was read, against the packet's own.
        let isRecent = recent ?? ((wall.nanoseconds(since: last.time) &- elapsed).magnitude
            <= UInt64(Self.recentNanoseconds))
        recent = isRecent
        guard isRecent else { return nil }
        return last.time.adding(nanoseconds: elapsed &- RollingReports.clockMargin)
    }
}
