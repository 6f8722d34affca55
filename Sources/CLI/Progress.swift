#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress meter on stderr for long reads: bytes read of the total,
/// rate and time left. Drawn only when stderr is a terminal and `--quiet` is off.
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
            }
        }
        totalBytes = total
        started = Progress.now()
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Redraws at most four times a second. Bytes read are estimated from the
    /// packets' share of the files, which libpcap does not expose directly.
    mutating func update(packets: Int, bytesRead: Int64? = nil) {
        guard enabled else { return }
        let t = Progress.now()
        guard t - lastDraw >= 0.25 else { return }
        lastDraw = t
        let elapsed = max(t - started, 0.001)
        var line = "\r\(packets) packets"
        if let read = bytesRead, totalBytes > 0 {
            let rate = Double(read) / elapsed
            let left = rate > 0 ? Double(totalBytes - read) / rate : 0
            line += ", \(read / 1_000_000) of \(totalBytes / 1_000_000) MB, \(Int(rate / 1_000_000)) MB/s, "
            line += "\(Int(left)) s left"
        } else {
            line += ", \(Int(Double(packets) / elapsed)) packets/s"
        }
        writeAll(2, line + "\u{1b}[K")
        drawn = true
    }

    mutating func clear() {
        guard drawn else { return }
        writeAll(2, "\r\u{1b}[K")
        drawn = false
    }
}
