// A C `FILE *` over a reader of our own (glibc's `fopencookie`), so that libpcap and the own pcapng reader,
// which read through stdio, can read a decompressed file or a followed input as they read a file.

import CPcap
#if canImport(Glibc)
import Glibc
#endif

/// What a stream made by `CookieStream.open` reads through.
protocol CookieReader: AnyObject {
    /// Up to `count` bytes into `buffer`: how many, 0 at the end, or -1 (and `errno`) when reading fails.
    func read(into buffer: UnsafeMutableRawPointer, count: Int) -> Int
    /// The bytes handed out so far: the stream's position, which `ftello` asks for (libpcap, for the offsets of
    /// records it cut to the snaplen).
    var position: Int { get }
    /// The stream is closed (`fclose`, or libpcap's `pcap_close`): the reader lets go of what it holds.
    func close()
}

enum CookieStream {
    /// A read-only `FILE *` over `reader`, which the stream keeps until it is closed; nil when the C library
    /// cannot make one (the reader is then not closed). Only the position can be asked for; any other seek
    /// fails (`ESPIPE`): the stream cannot move.
    static func open(_ reader: any CookieReader) -> UnsafeMutablePointer<FILE>? {
        var functions = sepbeat_cookie_functions()
        functions.read = { cookie, buffer, size in
            guard let cookie, let buffer else { return -1 }
            return Box.reader(cookie).read(into: UnsafeMutableRawPointer(buffer), count: size)
        }
        functions.seek = { cookie, position, whence in
            guard let cookie, let position, whence == SEEK_CUR, position.pointee == 0 else {
                errno = ESPIPE
                return -1
            }
            position.pointee = Int64(Box.reader(cookie).position)
            return 0
        }
        functions.close = { cookie in
            guard let cookie else { return 0 }
            Unmanaged<Box>.fromOpaque(cookie).takeRetainedValue().reader.close()
            return 0
        }
        let cookie = Unmanaged.passRetained(Box(reader)).toOpaque()
        guard let file = sepbeat_fopencookie(cookie, "rb", functions) else {
            Unmanaged<Box>.fromOpaque(cookie).release()
            return nil
        }
        return file
    }

    /// The reader behind a cookie: a class of one type, as a C callback can name no generic type.
    private final class Box {
        let reader: any CookieReader
        init(_ reader: any CookieReader) { self.reader = reader }

        /// The reader of `cookie` (retained by the stream).
        static func reader(_ cookie: UnsafeMutableRawPointer) -> any CookieReader {
            Unmanaged<Box>.fromOpaque(cookie).takeUnretainedValue().reader
        }
    }
}
