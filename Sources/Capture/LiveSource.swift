import Core
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A request to end a live capture, or the reading of followed inputs, made from any thread or from a
/// signal handler.
///
/// Setting it is one lock-free atomic store and a one-byte `write` to a pipe of its own, so a signal
/// handler may do it. A live capture notices it within one read timeout
/// (`LiveCaptureSettings.readTimeoutMilliseconds`), ends as if the interface had no more packets, and the
/// run goes on to its report. A followed input (standard input, a pipe, a FIFO or a character device read
/// through a `FollowedInput`) waits for its bytes and this pipe together, so a read waiting on a silent
/// writer returns at once: the input ends there, as if its writer had closed it, and the packets read
/// before are reported.
public final class LiveStopRequest: Sendable {
    private let requested = Atomic<Bool>(false)
    /// Whether a capture is running that a request would end (see `Interruption` in the CLI: a signal
    /// then ends the capture instead of the process).
    private let capturing = Atomic<Bool>(false)
    /// How many followed inputs are being read that a request would end (`FollowedInput`).
    private let following = Atomic<Int>(0)
    /// The signal that made the request (`request(signal:)`); 0 when none did.
    private let requestingSignal = Atomic<Int32>(0)
    /// A pipe that turns readable at the request (a byte is written to it, never read): what a followed
    /// input's reads wait on beside the input. -1 when the system gave no pipe (the reads then look at
    /// the request every 200 ms instead).
    let wakeDescriptor: Int32
    private let wakeWriteDescriptor: Int32

    public init() {
        var ends: [Int32] = [-1, -1]
        if pipe(&ends) == 0 {
            for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            // A handler must never wait on the write (it cannot fill: one byte a request).
            _ = fcntl(ends[1], F_SETFL, fcntl(ends[1], F_GETFL) | O_NONBLOCK)
        } else {
            ends = [-1, -1]
        }
        wakeDescriptor = ends[0]
        wakeWriteDescriptor = ends[1]
    }

    deinit {
        if wakeDescriptor >= 0 { close(wakeDescriptor) }
        if wakeWriteDescriptor >= 0 { close(wakeWriteDescriptor) }
    }

    /// The request the process's signal handlers make.
    public static let process = LiveStopRequest()

    /// Asks the capture, and the followed inputs being read, to end; `signal` (when not 0) is the signal
    /// that asks, named in the summaries of the inputs it ends. Async-signal-safe; `errno` is kept.
    public func request(signal: Int32 = 0) {
        if signal != 0 { requestingSignal.store(signal, ordering: .sequentiallyConsistent) }
        requested.store(true, ordering: .sequentiallyConsistent)
        guard wakeWriteDescriptor >= 0 else { return }
        let saved = errno
        var byte: UInt8 = 1
        _ = write(wakeWriteDescriptor, &byte, 1)
        errno = saved
    }

    public var isRequested: Bool { requested.load(ordering: .sequentiallyConsistent) }

    /// Whether a capture or a followed input is being read and no stop was asked for yet: a first signal
    /// may end it.
    public var wouldEndCapture: Bool {
        (capturing.load(ordering: .sequentiallyConsistent) || following.load(ordering: .sequentiallyConsistent) > 0)
            && !isRequested
    }

    /// What ended the inputs: the requesting signal's name (`SIGINT`, `SIGTERM`, `SIGHUP`, or `signal N`),
    /// or `a stop request` when no signal made it.
    var endingName: String {
        switch requestingSignal.load(ordering: .sequentiallyConsistent) {
        case 0: return "a stop request"
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        case let other: return "signal \(other)"
        }
    }

    func setCapturing(_ value: Bool) { capturing.store(value, ordering: .sequentiallyConsistent) }

    /// A followed input starts (+1) or stops (-1) being read.
    func countFollowing(_ change: Int) { following.add(change, ordering: .sequentiallyConsistent) }
}

/// How `LiveSource` captures, and when it stops.
public struct LiveCaptureSettings: Sendable {
    /// Bytes kept of each packet (default 262,144: whole packets).
    public var snapshotLength = 262_144
    /// Whether the interface is put in promiscuous mode (default true, as tcpdump does).
    public var promiscuous = true
    /// The kernel buffer packets wait in until read (default 32 MiB, a few seconds of a busy gigabit link).
    public var bufferBytes = 32 << 20
    /// How long one read waits before the stop conditions are checked again (default 200 ms).
    public var readTimeoutMilliseconds = 200
    /// Stop after this long, measured on the system's monotonic clock from the start (nil: no limit).
    public var durationNanoseconds: Int64?
    /// Stop after this many packets (nil: no limit).
    public var packetLimit: Int?
    /// Stop when this is requested.
    public var stop = LiveStopRequest()

    public init() {}
}

/// Packets captured from a network interface through libpcap, as a `PacketSource`.
///
/// `next()` waits for the next packet and returns nil once the capture ends: when
/// `settings.stop` is requested, the duration has passed or the packet limit is reached (checked at
/// least every read timeout, so an idle interface still stops on time). An error of the interface
/// (it went away, or stopped working) ends the capture too, with a `captureEnded` warning in the
/// statistics: what was captured before it is kept.
///
/// `statistics` has one entry, for the interface (`path` is its name, `format` `live`), with the
/// packets the kernel dropped because the buffer was full or the interface dropped
/// (`CaptureStatistics.droppedByKernel`, `droppedByInterface`), read when the capture ends.
///
/// A filter is compiled for the interface and run in the kernel: packets it rejects are never seen,
/// so `filteredOut` stays 0 (a capture file's filter counts them).
public final class LiveSource: PacketSource {
    private let live: LibpcapLive
    private let settings: LiveCaptureSettings
    private var stats: CaptureStatistics
    private let linkType: LinkType
    private let snapshotLength: Int
    /// The monotonic time at which the duration ends, set at the first `next()`.
    private var deadline: Int64?
    private var started = false
    private var ended = false
    /// Since when the interface has been seen down (system time), while it is.
    private var downSince: Timestamp?
    /// The interface's operational state file (`/sys/class/net/NAME/operstate`), read when reads wait in
    /// vain; nil where there is none (`any`, other systems).
    private let operstatePath: String?
    /// Where the captured packets are saved (`startSaving(to:)`), until a write fails.
    private var saver: PcapFileWriter?
    /// The monotonic time of the saver's last flush.
    private var lastSaveFlush: Int64 = 0

    /// How often the saved file is flushed while packets come (1 s), so a reader of it, or a process
    /// killed mid-capture, loses at most about that much.
    static let saveFlushNanoseconds: Int64 = 1_000_000_000

    /// Opens `interface` for capture; throws a `CaptureError` naming it when libpcap cannot (no such
    /// device, no permission, interface down), with exit status 3.
    public init(interface: String, settings: LiveCaptureSettings = LiveCaptureSettings(), fileIndex: Int = 0)
        throws(CaptureError)
    {
        let opened = LibpcapLive.open(interface: interface, settings: LibpcapLiveSettings(
            snapshotLength: Int32(clamping: settings.snapshotLength), promiscuous: settings.promiscuous,
            bufferBytes: Int32(clamping: settings.bufferBytes),
            timeoutMilliseconds: Int32(clamping: max(1, settings.readTimeoutMilliseconds))))
        switch opened {
        case .failure(let failure):
            throw CaptureError(path: interface, .liveCapture(LiveSource.problem(failure)))
        case .success(let live):
            self.live = live
        }
        self.settings = settings
        let state = "/sys/class/net/\(interface)/operstate"
        operstatePath = !interface.contains("/") && access(state, R_OK) == 0 ? state : nil
        linkType = live.linkType
        snapshotLength = live.snapshotLength
        stats = CaptureStatistics(path: interface, fileIndex: fileIndex, format: .live,
                                  byteOrder: .littleEndian, reader: .libpcap)
        if let warning = live.activationWarning { stats.warn(.liveCapture, warning) }
    }

    deinit { settings.stop.setCapturing(false) }

    /// Saves every packet captured from now on to `path` as well (`-w`): a classic pcap file with
    /// nanosecond timestamps, the interface's link type and snapshot length, the packets as captured
    /// (after the filter). `path` is created or replaced. Throws a `CaptureError` naming `path` when it
    /// cannot be created.
    ///
    /// The file is flushed about every second, when reads wait in vain, and when the capture ends; a
    /// write that fails stops the saving only, with a `saveFailed` warning: the capture and its
    /// analysis go on.
    public func startSaving(to path: String) throws(CaptureError) {
        saver = try PcapFileWriter(path: path, linkType: linkType, snapLength: snapshotLength)
        stats.savedTo = path
        lastSaveFlush = SystemClock.monotonicNanoseconds()
    }

    /// The interface's link type.
    public var interfaceLinkType: LinkType { linkType }

    /// Called on the reading thread each time a read waits in vain (about every read timeout while the
    /// interface is idle), so that a caller can do periodic work between packets, such as a rolling
    /// report (`CaptureRun.rolling`). It must not call `next()`.
    public var onIdle: (() -> Void)?

    /// `onIdle` (see `PacketSource.setWaitHandler`).
    public func setWaitHandler(_ handler: (() -> Void)?) { onIdle = handler }

    /// The interface's one summary. While capturing, it is what the end of the capture would make of it now
    /// (`noteEnd(_:at:)`: a stretch the interface is still down ends now, the kernel's drop counts are read anew,
    /// each with its warning), so that a report so far says what the final report would; once the capture
    /// has ended, it is the summary its end made.
    public var statistics: [CaptureStatistics] {
        guard started, !ended else { return [stats] }
        var now = stats
        noteEnd(&now, at: SystemClock.now())
        return [now]
    }

    public func setFilter(_ expression: String) throws(CaptureError) {
        if case .failure(let failure) = live.setFilter(expression) {
            throw CaptureError(path: stats.path, .badFilter(expression: expression, problem: failure.message))
        }
    }

    public func next() throws(CaptureError) -> PacketRecord? {
        guard !ended else { return nil }
        if !started {
            started = true
            settings.stop.setCapturing(true)
            if let d = settings.durationNanoseconds {
                deadline = SystemClock.monotonicNanoseconds().addingReportingOverflow(d).partialValue
            }
        }
        while true {
            if shouldStop() {
                end()
                return nil
            }
            switch live.next() {
            case .packet(let seconds, let nanoseconds, let captured, let original, let bytes):
                let time = Timestamp(seconds: seconds, nanoseconds: nanoseconds)
                stats.count(timestamp: time, linkType: linkType, capturedLength: captured,
                            originalLength: original, snapshotLength: snapshotLength)
                if saver != nil { save(time, bytes, originalLength: original) }
                return PacketRecord(timestamp: time, linkType: linkType, capturedLength: captured,
                                    originalLength: original, fileIndex: stats.fileIndex, interfaceIndex: 0,
                                    bytes: bytes)
            case .timeout:
                flushSaved()
                live.wait(milliseconds: Int32(clamping: max(1, settings.readTimeoutMilliseconds)))
                checkLink()
                onIdle?()
            case .endOfFile:
                end()
                return nil
            case .failure(let message):
                // An interface going away is seen down for a moment first: that moment is part of its going.
                if let since = downSince, SystemClock.now().seconds(since: since) < 1 { downSince = nil }
                // What was captured stays: the report covers it, and says the capture ended early.
                let at = stats.lastTimestamp.map { " after \($0.rfc3339(fractionDigits: 3))" } ?? ""
                stats.warn(.captureEnded, "the capture ended early\(at): \(LiveSource.midSentence(oneLine(message))); "
                    + "the report covers the \(stats.packets) packet\(stats.packets == 1 ? "" : "s") captured before")
                end()
                return nil
            }
        }
    }

    /// Notes the interface going down or coming up again (its `operstate`: `down` or `lowerlayerdown`),
    /// as a stretch the capture could not see (`CaptureStatistics.interfaceDown`), with a warning.
    private func checkLink() {
        guard let path = operstatePath, let file = fopen(path, "r") else { return }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 32)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return }
        let state = String(decoding: buffer.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let down = state == "down" || state == "lowerlayerdown"
        let now = SystemClock.now()
        if down, downSince == nil {
            downSince = now
        } else if !down, let since = downSince {
            downSince = nil
            Self.noteDown(since, now, in: &stats)
        }
    }

    private static func noteDown(_ start: Timestamp, _ end: Timestamp, in stats: inout CaptureStatistics) {
        stats.interfaceDown.append((start, end))
        stats.warn(.interfaceDown, "the interface was down from \(start.rfc3339(fractionDigits: 3)) to "
            + "\(end.rfc3339(fractionDigits: 3)) (\(Int(end.seconds(since: start).rounded())) s): nothing was "
            + "captured then")
    }

    /// Whether a stop condition holds before the next read.
    private func shouldStop() -> Bool {
        if settings.stop.isRequested { return true }
        if let limit = settings.packetLimit, stats.packets >= limit { return true }
        if let deadline, SystemClock.monotonicNanoseconds() >= deadline { return true }
        return false
    }

    private func save(_ time: Timestamp, _ bytes: UnsafeRawBufferPointer, originalLength: Int) {
        guard let file = saver else { return }
        do throws(CaptureError) {
            try file.append(timestamp: time, bytes: bytes, originalLength: originalLength)
            stats.savedPackets += 1
            let now = SystemClock.monotonicNanoseconds()
            if now - lastSaveFlush >= Self.saveFlushNanoseconds {
                lastSaveFlush = now
                try file.flush()
            }
        } catch {
            stopSaving(error)
        }
    }

    /// Flushes the saved file, if any (when reads wait in vain).
    private func flushSaved() {
        guard let file = saver else { return }
        do throws(CaptureError) {
            try file.flush()
            lastSaveFlush = SystemClock.monotonicNanoseconds()
        } catch {
            stopSaving(error)
        }
    }

    private func stopSaving(_ error: CaptureError) {
        guard let file = saver else { return }
        saver = nil
        // Buffered records may have been lost with the failed write: what the file holds is what reached it.
        stats.warn(.saveFailed, "saving the packets to \(file.path) failed after about \(stats.savedPackets) packets: "
            + "\(oneLine(error.problem)); the capture and its analysis went on, but that file holds only packets "
            + "from before")
    }

    /// Ends the capture: the kernel's drop counts go into the statistics, with a warning when any.
    private func end() {
        ended = true
        if let file = saver {
            do throws(CaptureError) {
                try file.close()
            } catch {
                stopSaving(error)
            }
            saver = nil
        }
        settings.stop.setCapturing(false)
        noteEnd(&stats, at: SystemClock.now())
        downSince = nil
    }

    /// Makes `stats` what the capture's end at `now` makes of the summary: a stretch the interface is still
    /// down ends at `now`, and the kernel's drop counts go in, with a warning when any.
    private func noteEnd(_ stats: inout CaptureStatistics, at now: Timestamp) {
        if let since = downSince { Self.noteDown(since, now, in: &stats) }
        guard let counts = live.counts() else { return }
        stats.droppedByKernel = Int(counts.dropped)
        stats.droppedByInterface = Int(counts.interfaceDropped)
        let lost = Int(counts.dropped) + Int(counts.interfaceDropped)
        if lost > 0 {
            stats.warn(.packetsDropped, "\(lost) packets were lost while capturing (\(counts.dropped) dropped by "
                + "the kernel with its buffer full, \(counts.interfaceDropped) by the interface); check-ins "
                + "around them may be incomplete")
        }
    }

    /// libpcap's message as part of a sentence: a capital first letter lowered when the word goes on in lower
    /// case ("The interface disappeared"), so names such as "BIOCSETIF" or "SIOCGIFINDEX" stay as they are.
    static func midSentence(_ message: String) -> String {
        let letters = Array(message.prefix(2))
        guard letters.count == 2, letters[0].isUppercase, letters[1].isLowercase else { return message }
        return letters[0].lowercased() + message.dropFirst()
    }

    /// The problem of a failed open, without the interface's name.
    static func problem(_ failure: LibpcapLiveFailure) -> String {
        let detail = oneLine(failure.message)
        switch failure.reason {
        case .noSuchDevice:
            return "no such network interface (`ip link` lists them)"
        case .permissionDenied:
            return "permission denied to capture (run as root, or give the program CAP_NET_RAW, and CAP_NET_ADMIN "
                + "where the system asks for it too): "
                + detail
        case .promiscuousPermissionDenied:
            return "permission denied to capture in promiscuous mode (try --no-promiscuous): " + detail
        case .notUp:
            return "the interface is down (bring it up with `ip link set dev NAME up`)"
        case .other:
            return "cannot capture: " + detail
        }
    }
}
