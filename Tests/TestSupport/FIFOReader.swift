import Foundation

#if canImport(Glibc)
import Glibc

/// Reads everything written into the FIFO at a path, on another thread, for tests of commands that
/// write into one. The FIFO is opened (without waiting) when this is made, before any writer, so that a
/// writer opening it without waiting finds a reader.
public final class FIFOReader: @unchecked Sendable {
    // Safety: `bytes` is written by the reading thread only, and read by `wait()` after `done` is signalled.
    private var bytes: [UInt8] = []
    private let done = DispatchSemaphore(value: 0)

    public init(_ path: String) {
        let fd = open(path, O_RDONLY | O_NONBLOCK)
        Thread.detachNewThread { [self] in
            if fd >= 0 {
                // Until a writer comes a read finds none and ends: wait for its first bytes or its close.
                var waiting = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&waiting, 1, 60_000)
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
                var chunk = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if n <= 0 { break }
                    bytes += chunk[0..<n]
                }
                close(fd)
            }
            done.signal()
        }
    }

    /// What was read once the writer closed; nil when no writer closed within 60 s.
    public func wait() -> [UInt8]? {
        done.wait(timeout: .now() + 60) == .success ? bytes : nil
    }
}
#endif
