#if canImport(Glibc)
import Glibc
#endif
import Capture
import Reports

/// A one-line progress meter on stderr for long reads: bytes read of the total,
/// rate and time left. Drawn only when stderr is a terminal and `--quiet` is off.
///
/// With a compressed file among the inputs (gzip, xz, bzip2), the bytes read (decompressed) cannot be set
/// against the files' sizes (compressed): the meter then shows the packets and their rate only.
struct Progress {
    let enabled: Bool
    private let totalBytes: Int64
    private let paths: [String]
    private let started: Double
    private var lastDraw: Double = 0
    private var drawn = false

    init(enabled: Bool, paths: [String]) {
        self.enabled = enabled
        self.paths = paths
        var total: Int64 = 0
        if enabled {
            for p in paths {
                var st = stat()
                if stat(p, &st) == 0 { total += Int64(st.st_size) }
                if Progress.isCompressed(p) {
                    total = 0
                    break
                }
            }
        }
        totalBytes = total
        started = Progress.now()
    }

    /// Whether the regular file at `path` starts with a compressed capture's magic number (read without
    /// waiting; anything else is not read).
    static func isCompressed(_ path: String) -> Bool {
        InputRun.regularFileHead(path, bytes: 6).map { CaptureCompression(magic: $0) != nil } ?? false
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Redraws at most four times a second. `bytesRead` is an estimate (see
    /// `ByteCountingSource`), clamped to the files' total size.
    mutating func update(packets: Int, bytesRead: Int64? = nil) {
        guard enabled else { return }
        let t = Progress.now()
        guard t - lastDraw >= 0.25 else { return }
        lastDraw = t
        let elapsed = max(t - started, 0.001)
        var line = "\r\(packets) packets"
        if let estimate = bytesRead, totalBytes > 0 {
            let read = min(estimate, totalBytes)
            let rate = Double(read) / elapsed
            let left = rate > 0 ? Double(totalBytes - read) / rate : 0
            line += ", " + Progress.size(read) + " of " + Progress.size(totalBytes)
            line += " (\(read * 100 / totalBytes)%), " + Progress.size(Int64(rate)) + "/s, "
            line += Progress.duration(left) + " left"
        } else {
            line += ", \(Int(Double(packets) / elapsed)) packets/s"
        }
        writeAll(2, line + "\u{1b}[K")
        drawn = true
    }

    /// `512.0 KiB`, `3.4 MiB`, `1.2 GiB`: the binary units every report uses.
    static func size(_ n: Int64) -> String { formatBytes(n) }

    /// `42 s`, `3 min 5 s`, `1 h 2 min`.
    static func duration(_ s: Double) -> String {
        let t = Int(s.isFinite ? max(0, s) : 0)
        if t < 60 { return "\(t) s" }
        if t < 3600 { return "\(t / 60) min \(t % 60) s" }
        return "\(t / 3600) h \(t % 3600 / 60) min"
    }

    mutating func clear() {
        guard drawn else { return }
        writeAll(2, "\r\u{1b}[K")
        drawn = false
    }
}
