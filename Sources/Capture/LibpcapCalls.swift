// Every call into libpcap made by sepbeat lives in this file.
//
// The rest of the Capture module sees three small classes: `LibpcapFile`, an open
// savefile read packet by packet, `LibpcapLive`, a network interface captured from,
// and `BPFProgram`, a compiled filter that can be run over any packet bytes. Each
// releases its C resources in `deinit`.

import CPcap
import Core
#if canImport(Glibc)
import Glibc
#endif

/// What one `pcap_next_ex` call produced.
enum LibpcapReadResult {
    /// A packet: header values and the bytes libpcap holds until its next read.
    case packet(seconds: Int64, nanoseconds: Int64, capturedLength: Int, originalLength: Int,
                bytes: UnsafeRawBufferPointer)
    /// The clean end of the file (for a live capture: `pcap_breakloop` was called).
    case endOfFile
    /// A live capture read without blocking found no packet waiting (never for a file).
    case timeout
    /// libpcap stopped with this message.
    case failure(String)

    /// The result of one `pcap_next_ex` on `handle`; `nanosecondStamps` false scales microsecond stamps.
    static func next(_ handle: OpaquePointer, nanosecondStamps: Bool = true) -> LibpcapReadResult {
        var header: UnsafeMutablePointer<pcap_pkthdr>? = nil
        var data: UnsafePointer<UInt8>? = nil
        switch pcap_next_ex(handle, &header, &data) {
        case 1:
            guard let h = header?.pointee else { return .failure("libpcap returned a packet without a header") }
            let captured = Int(h.caplen)
            let bytes = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : captured)
            // Opened with nanosecond precision where it could be, so tv_usec holds nanoseconds.
            let fraction = Int64(h.ts.tv_usec) * (nanosecondStamps ? 1 : 1_000)
            return .packet(seconds: Int64(h.ts.tv_sec), nanoseconds: fraction,
                           capturedLength: captured, originalLength: Int(h.len), bytes: bytes)
        case 0:
            return .timeout
        case PCAP_ERROR_BREAK:
            return .endOfFile
        default:
            return .failure(String(cString: pcap_geterr(handle)))
        }
    }
}

/// A savefile opened through libpcap with nanosecond timestamps.
///
/// Packet bytes returned by `next()` belong to libpcap and stay valid only until
/// the next call of `next()` or until this object is released.
final class LibpcapFile {
    private let handle: OpaquePointer

    /// Opens `path`; returns libpcap's message when it refuses the file.
    ///
    /// The file is opened here (given `bufferBytes`, with a stdio buffer of that size) and handed to
    /// libpcap: libpcap's own `fopen` reads in the file system's block size (4 KiB), one `read`
    /// system call every few packets, which cost the reading thread more than copying the packets
    /// out. When `fopen` fails because too many files are open, that errno is returned; on any
    /// other failure libpcap opens the path itself, so that its message is the one reported.
    static func open(path: String, bufferBytes: Int?) -> Result<LibpcapFile, LibpcapOpenFailure> {
        if let file = fopen(path, "rb") {
            return open(file: file, buffer: bufferBytes.flatMap { StdioBuffer(file, bytes: $0) })
        }
        if errno == EMFILE || errno == ENFILE {
            return .failure(LibpcapOpenFailure(message: FileCalls.describe(errno: errno), openErrno: errno))
        }
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        let opened = errbuf.withUnsafeMutableBufferPointer { buffer in
            pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), buffer.baseAddress)
        }
        guard let handle = opened else {
            return .failure(LibpcapOpenFailure(message: LibpcapFile.string(errbuf)))
        }
        return .success(LibpcapFile(handle: handle, buffer: nil))
    }

    /// Reads an already open stream; libpcap owns `file` from here on (`pcap_close` closes it),
    /// and on failure it is closed here; `buffer` (the stream's, if given) is released after it.
    /// Returns libpcap's message when it refuses the stream.
    static func open(file: UnsafeMutablePointer<FILE>, buffer: StdioBuffer? = nil)
        -> Result<LibpcapFile, LibpcapOpenFailure>
    {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        let opened = errbuf.withUnsafeMutableBufferPointer { buffer in
            pcap_fopen_offline_with_tstamp_precision(file, UInt32(PCAP_TSTAMP_PRECISION_NANO), buffer.baseAddress)
        }
        guard let handle = opened else {
            fclose(file)
            buffer?.release()
            return .failure(LibpcapOpenFailure(message: LibpcapFile.string(errbuf)))
        }
        return .success(LibpcapFile(handle: handle, buffer: buffer))
    }

    /// The stream's buffer, when one was given; released after the stream is closed.
    private let buffer: StdioBuffer?

    private init(handle: OpaquePointer, buffer: StdioBuffer?) {
        self.handle = handle
        self.buffer = buffer
    }

    deinit {
        pcap_close(handle)
        buffer?.release()
    }

    /// The file's link type, as a LINKTYPE_ number (libpcap reports DLT_ numbers).
    var linkType: LinkType { LinkType(dlt: pcap_datalink(handle)) }

    /// The snapshot length libpcap uses for this file.
    var snapshotLength: Int { Int(pcap_snapshot(handle)) }

    /// Bytes of the stdio buffer libpcap reads the file through (0 when unknown).
    var streamBufferBytes: Int {
        guard let file = pcap_file(handle), let base = file.pointee._IO_buf_base,
              let end = file.pointee._IO_buf_end else { return 0 }
        return end - base
    }

    /// The byte offset libpcap's reading has reached in the file, or nil when unknown.
    var fileOffset: Int? {
        guard let file = pcap_file(handle) else { return nil }
        let position = ftello(file)
        return position >= 0 ? Int(position) : nil
    }

    /// Reads the next `count` bytes of the file past libpcap (which reads its stream front to back and
    /// keeps no bytes of its own between records); nil when fewer are there.
    func readRaw(_ count: Int) -> [UInt8]? {
        guard let file = pcap_file(handle) else { return nil }
        var bytes = [UInt8](repeating: 0, count: count)
        let got = bytes.withUnsafeMutableBytes { raw in raw.baseAddress.map { fread($0, 1, count, file) } ?? 0 }
        return got == count ? bytes : nil
    }

    /// Moves libpcap's reading to the record at `offset` of its file (libpcap reads its stream front to back
    /// and keeps nothing of the file between records); false when the stream cannot seek.
    func seek(to offset: Int) -> Bool {
        guard let file = pcap_file(handle) else { return false }
        return fseeko(file, off_t(offset), SEEK_SET) == 0
    }

    /// Reads the next packet (`pcap_next_ex`).
    func next() -> LibpcapReadResult { LibpcapReadResult.next(handle) }

    fileprivate static func string(_ buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// How to capture on an interface: the values given to libpcap before it is activated.
struct LibpcapLiveSettings {
    var snapshotLength: Int32
    var promiscuous: Bool
    /// The kernel buffer packets wait in until they are read (bytes).
    var bufferBytes: Int32
    /// How long one read waits for packets before it returns with none (milliseconds).
    var timeoutMilliseconds: Int32
}

/// Why libpcap would not capture on an interface.
struct LibpcapLiveFailure: Error {
    enum Reason {
        case noSuchDevice
        case permissionDenied
        case promiscuousPermissionDenied
        case notUp
        case other
    }

    var reason: Reason
    var message: String
}

/// A network interface captured from through libpcap, with nanosecond timestamps when the system
/// gives them (microseconds otherwise, scaled).
///
/// Packet bytes returned by `next()` belong to libpcap and stay valid only until the next call of
/// `next()` or until this object is released.
final class LibpcapLive {
    private let handle: OpaquePointer
    /// Whether `tv_usec` holds nanoseconds (else microseconds).
    private let nanosecondStamps: Bool
    /// libpcap's warning when it activated the capture (e.g. no promiscuous mode), if any.
    let activationWarning: String?

    private init(handle: OpaquePointer, nanosecondStamps: Bool, activationWarning: String?) {
        self.handle = handle
        self.nanosecondStamps = nanosecondStamps
        self.activationWarning = activationWarning
    }

    deinit { pcap_close(handle) }

    /// Opens `interface` for capture with `settings`; libpcap's reason when it cannot.
    static func open(interface: String, settings: LibpcapLiveSettings) -> Result<LibpcapLive, LibpcapLiveFailure> {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        let created = errbuf.withUnsafeMutableBufferPointer { pcap_create(interface, $0.baseAddress) }
        guard let handle = created else {
            return .failure(LibpcapLiveFailure(reason: .other, message: LibpcapFile.string(errbuf)))
        }
        _ = pcap_set_snaplen(handle, settings.snapshotLength)
        _ = pcap_set_promisc(handle, settings.promiscuous ? 1 : 0)
        _ = pcap_set_timeout(handle, settings.timeoutMilliseconds)
        _ = pcap_set_buffer_size(handle, settings.bufferBytes)
        let nano = pcap_set_tstamp_precision(handle, Int32(PCAP_TSTAMP_PRECISION_NANO)) == 0
        let status = pcap_activate(handle)
        if status < 0 {
            let detail = String(cString: pcap_geterr(handle))
            let reason: LibpcapLiveFailure.Reason
            switch status {
            case PCAP_ERROR_NO_SUCH_DEVICE: reason = .noSuchDevice
            case PCAP_ERROR_PERM_DENIED: reason = .permissionDenied
            case PCAP_ERROR_PROMISC_PERM_DENIED: reason = .promiscuousPermissionDenied
            case PCAP_ERROR_IFACE_NOT_UP: reason = .notUp
            default: reason = .other
            }
            let text = detail.isEmpty ? String(cString: pcap_statustostr(status)) : detail
            pcap_close(handle)
            return .failure(LibpcapLiveFailure(reason: reason, message: text))
        }
        var warning: String?
        if status > 0 {
            let detail = String(cString: pcap_geterr(handle))
            warning = status == PCAP_WARNING_PROMISC_NOTSUP
                ? "the interface cannot capture in promiscuous mode; only its own traffic is seen"
                : (detail.isEmpty ? String(cString: pcap_statustostr(status)) : detail)
        }
        // Non-blocking, with `wait` polling the descriptor: a blocking read on Linux (TPACKET_V3) waits for
        // the first packet however long the timeout, so an idle interface would never let the capture stop.
        guard pcap_setnonblock(handle, 1, &errbuf) == 0, pcap_get_selectable_fd(handle) >= 0 else {
            let text = LibpcapFile.string(errbuf)
            pcap_close(handle)
            return .failure(LibpcapLiveFailure(
                reason: .other, message: text.isEmpty ? "the interface cannot be read without blocking" : text))
        }
        return .success(LibpcapLive(handle: handle, nanosecondStamps: nano, activationWarning: warning))
    }

    /// Waits up to `milliseconds` for packets to read (or a signal, or the interface going away).
    func wait(milliseconds: Int32) {
        var entry = pollfd(fd: pcap_get_selectable_fd(handle), events: Int16(POLLIN), revents: 0)
        _ = poll(&entry, 1, milliseconds)
    }

    /// The interface's link type, as a LINKTYPE_ number.
    var linkType: LinkType { LinkType(dlt: pcap_datalink(handle)) }

    /// The snapshot length in effect.
    var snapshotLength: Int { Int(pcap_snapshot(handle)) }

    /// Keeps only packets matching `expression`, filtered in the kernel where it can be; libpcap's
    /// message when the expression does not compile for this interface. Optimized as a file's filter is
    /// (`BPFProgram.optimizes`): a list of a thousand hosts took libpcap's optimizer minutes here too. A program
    /// too long for the kernel's filter (4,096 instructions) is run by libpcap in this process instead.
    func setFilter(_ expression: String) -> Result<Void, LibpcapOpenFailure> {
        var program = bpf_program()
        let optimize: Int32 = BPFProgram.optimizes(expression) ? 1 : 0
        guard pcap_compile(handle, &program, expression, optimize, PCAP_NETMASK_UNKNOWN) == 0 else {
            return .failure(LibpcapOpenFailure(message: String(cString: pcap_geterr(handle))))
        }
        defer { pcap_freecode(&program) }
        guard pcap_setfilter(handle, &program) == 0 else {
            return .failure(LibpcapOpenFailure(message: String(cString: pcap_geterr(handle))))
        }
        return .success(())
    }

    /// Reads the next packet if one is waiting (`pcap_next_ex` without blocking): `.timeout` when none is,
    /// `.endOfFile` after `pcap_breakloop`.
    func next() -> LibpcapReadResult { LibpcapReadResult.next(handle, nanosecondStamps: nanosecondStamps) }

    /// The kernel's counts so far: packets it received, dropped because the buffer was full, and
    /// dropped by the interface or its driver; nil when libpcap cannot tell.
    func counts() -> (received: UInt32, dropped: UInt32, interfaceDropped: UInt32)? {
        var stats = pcap_stat()
        guard pcap_stats(handle, &stats) == 0 else { return nil }
        return (stats.ps_recv, stats.ps_drop, stats.ps_ifdrop)
    }
}

/// libpcap's reason for refusing to open a file.
struct LibpcapOpenFailure: Error {
    var message: String
    /// The errno of a failed `fopen` of the file, when libpcap never got to read it.
    var openErrno: Int32? = nil
}

/// A BPF filter compiled for one link type, run with `pcap_offline_filter`.
final class BPFProgram {
    private var program = bpf_program()

    /// Longest expression (UTF-8 bytes) compiled with libpcap's optimizer.
    ///
    /// The optimizer's time grows about with the cube of the expression's length: a list of
    /// `host A or host B ...` takes 0.05 s at 100 hosts (1,800 bytes), 0.7 s at 250, 5.5 s at 500
    /// and 50 s at 1,000; a list of `port N or ...` is worse, 0.5 s at 150 ports (1,950 bytes) and
    /// 8 s at 400. A longer expression is compiled as written: the same packets match (the
    /// optimizer only removes redundant tests), the program is longer (about 6 times for a host
    /// list) and so slower to run per packet, and compiling takes 2.2 s for 1,000 hosts.
    static let optimizedExpressionBytes = 2_000

    /// Whether `expression` is compiled with libpcap's optimizer (see `optimizedExpressionBytes`), for a file's
    /// filter and an interface's alike.
    static func optimizes(_ expression: String) -> Bool { expression.utf8.count <= optimizedExpressionBytes }

    /// Compiles `expression` for `linkType`; returns libpcap's message when it cannot. Optimized
    /// unless the expression is longer than `optimizedExpressionBytes`.
    static func compile(_ expression: String, linkType: LinkType, snapshotLength: Int = 262_144)
        -> Result<BPFProgram, LibpcapOpenFailure>
    {
        guard let dead = pcap_open_dead(linkType.dlt, Int32(clamping: snapshotLength)) else {
            return .failure(LibpcapOpenFailure(message: "libpcap could not set up a compiler"))
        }
        defer { pcap_close(dead) }
        let compiled = BPFProgram()
        let optimize: Int32 = optimizes(expression) ? 1 : 0
        guard pcap_compile(dead, &compiled.program, expression, optimize, PCAP_NETMASK_UNKNOWN) == 0 else {
            return .failure(LibpcapOpenFailure(message: String(cString: pcap_geterr(dead))))
        }
        return .success(compiled)
    }

    private init() {}

    deinit {
        pcap_freecode(&program)
    }

    /// Instructions in the compiled program.
    var instructionCount: Int { Int(program.bf_len) }

    /// Whether the packet passes the filter.
    func matches(bytes: UnsafeRawBufferPointer, capturedLength: Int, originalLength: Int) -> Bool {
        var header = pcap_pkthdr()
        header.caplen = UInt32(clamping: min(capturedLength, bytes.count))
        header.len = UInt32(clamping: originalLength)
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            var empty: UInt8 = 0
            header.caplen = 0
            return pcap_offline_filter(&program, &header, &empty) != 0
        }
        return pcap_offline_filter(&program, &header, base) != 0
    }
}

/// The libpcap version string, e.g. `libpcap version 1.10.3 (with TPACKET_V3)`.
public var libpcapVersion: String { String(cString: pcap_lib_version()) }

extension LinkType {
    /// The LINKTYPE_ number for a DLT_ number as libpcap on this system reports it.
    ///
    /// They agree except for a few historical values; libpcap maps those on reading.
    init(dlt: Int32) {
        switch dlt {
        case 11: self.init(rawValue: 100)  // DLT_ATM_RFC1483
        case 12, 14: self.init(rawValue: 101)  // DLT_RAW
        case 15: self.init(rawValue: 102)  // DLT_SLIP_BSDOS
        case 16: self.init(rawValue: 103)  // DLT_PPP_BSDOS
        case 19: self.init(rawValue: 106)  // DLT_ATM_CLIP
        default: self.init(rawValue: UInt32(bitPattern: dlt))
        }
    }

    /// The DLT_ number libpcap on this system expects for this LINKTYPE_ number.
    var dlt: Int32 {
        switch rawValue {
        case 100: return 11
        case 101: return 12
        case 102: return 15
        case 103: return 16
        case 106: return 19
        default: return Int32(bitPattern: rawValue)
        }
    }
}
