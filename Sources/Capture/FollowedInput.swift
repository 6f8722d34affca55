// An input that can be followed forever (standard input that is no regular file, a pipe, a FIFO, a
// character device) read so that a stop request ends it at once.
//
// Such an input ends when its writer closes it, which may be never (`tail -f x.pcap | ...`,
// `tcpdump -w - | ...`). libpcap and the own pcapng reader read it through a `FILE *`, and a `read`
// on an empty pipe waits in the kernel: neither the flag a signal handler sets nor the signal itself
// wakes it reliably (the signal may go to another thread, or come just before the read starts). So
// the `FILE *` of a followed input is a glibc cookie stream whose read function waits in `poll` on the
// input and on the stop request's pipe together: once the request is made, the read that waits, or the
// next one, returns 0 and the reader sees the input end there.

#if canImport(Glibc)
import Glibc
#endif

/// The read side of a followed input's `FILE *` (see the file's notes).
///
/// After a stop request no byte more is read from the descriptor: the bytes already in the stream's
/// buffer are read to their end, and a record they hold only part of is cut by the stop (`stopped`
/// says so, so the reader does not take it for a file cut short). While it is read (from `makeFile`
/// until it ends, fails or is closed) it counts as a followed input of the request, so that a first
/// signal ends it instead of the process (`LiveStopRequest.wouldEndCapture`).
///
/// Used by one reading thread at a time (the `FILE *`'s, which may change before the first read).
final class FollowedInput {
    private let descriptor: Int32
    private let stop: LiveStopRequest
    /// Bytes read from the start before the stream was made (the sniffed header), handed out first.
    private var prefix: [UInt8]
    private var prefixUsed = 0
    /// Bytes handed out so far, the prefix's and the descriptor's: the stream's position, which `ftello`
    /// asks for so that records libpcap cut to the snaplen are found as in a file (more bytes passed than kept).
    private(set) var position = 0
    /// The input ended (its end, a failure, the stop, or closing): no descriptor read is made after.
    private var ended = false
    /// The stop request ended the input before its end.
    private(set) var stopped = false
    /// Called on the reading thread while a read waits for bytes (`PacketSource.setWaitHandler`): when it finds
    /// none ready, and every `PacketSourceWaiting.interval` while none come.
    var waitHandler: (() -> Void)?

    private init(descriptor: Int32, prefix: [UInt8], stop: LiveStopRequest) {
        self.descriptor = descriptor
        self.prefix = prefix
        self.stop = stop
        stop.countFollowing(1)
    }

    /// What ended the input when `stopped`: the signal's name (`SIGINT`), or `a stop request`.
    var endingName: String { stop.endingName }

    /// A buffered `FILE *` reading `prefix`, then `descriptor` until its end or `stop`, with a stdio buffer of
    /// `bufferBytes` (nil: glibc's own), and the object behind it. The stream owns the descriptor (closed by
    /// `fclose`, or libpcap's `pcap_close`) and the caller the buffer, released after the stream is closed.
    /// Nil when the C library cannot make one; the descriptor is then still open.
    static func makeFile(descriptor: Int32, prefix: [UInt8], stop: LiveStopRequest, bufferBytes: Int?)
        -> (file: UnsafeMutablePointer<FILE>, buffer: StdioBuffer?, input: FollowedInput)?
    {
        let input = FollowedInput(descriptor: descriptor, prefix: prefix, stop: stop)
        guard let file = CookieStream.open(input) else {
            input.end()
            return nil
        }
        let buffer = bufferBytes.flatMap { StdioBuffer(file, bytes: $0) }
        return (file, buffer, input)
    }

    /// The cookie read: the prefix first, then up to `count` bytes of the descriptor once some are there;
    /// 0 at the input's end or at the stop request, -1 (and `errno`) when the input fails.
    func read(into buffer: UnsafeMutableRawPointer, count: Int) -> Int {
        guard !ended, count > 0 else { return 0 }
        if prefixUsed < prefix.count {
            let n = min(count, prefix.count - prefixUsed)
            prefix.withUnsafeBytes { raw in
                if let base = raw.baseAddress {
                    buffer.copyMemory(from: base + prefixUsed, byteCount: n)
                }
            }
            prefixUsed += n
            position += n
            if prefixUsed == prefix.count { prefix = [] }
            return n
        }
        let wake = stop.wakeDescriptor
        // With a wait handler, the first poll only looks: nothing ready calls it before the waiting starts.
        var looking = waitHandler != nil
        while true {
            if stop.isRequested {
                stopped = true
                end()
                return 0
            }
            var waits = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
                         pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            // Without the request's pipe, the request is looked at every 200 ms; with a wait handler, it is
            // called that often.
            let timeout = looking ? 0 : (wake < 0 || waitHandler != nil ? PacketSourceWaiting.interval : -1)
            let ready = poll(&waits, wake >= 0 ? 2 : 1, timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                end()
                return -1
            }
            if ready == 0 {
                looking = false
                waitHandler?()
                continue
            }
            // The pipe is written to only by a request: the loop's first check ends the input.
            if wake >= 0, waits[1].revents != 0 { continue }
            guard waits[0].revents != 0 else { continue }
            let got = Glibc.read(descriptor, buffer, count)
            if got < 0 {
                // A descriptor another process put in non-blocking mode: wait again.
                if errno == EINTR || errno == EAGAIN { continue }
                end()
                return -1
            }
            if got == 0 { end() }
            position += got
            return got
        }
    }

    /// Reading is over: the input no longer counts as followed.
    private func end() {
        guard !ended else { return }
        ended = true
        stop.countFollowing(-1)
    }

    func close() {
        end()
        Glibc.close(descriptor)
    }
}

extension FollowedInput: CookieReader {}
