#if canImport(Glibc)
import Glibc
#endif

/// Why a capture could not be opened or read.
///
/// `message` is one line that names the file (or the interface) and the problem, ready to print.
/// `exitStatus` is 3 for unreadable input and 2 for a bad filter expression (a usage error).
public struct CaptureError: Error, CustomStringConvertible, Sendable {
    enum Kind: Sendable {
        case missing
        case directory
        case permissionDenied
        case cannotOpen(String)
        /// The process has as many files open as the system lets it (EMFILE; ENFILE: the whole system).
        case tooManyOpenFiles(systemWide: Bool)
        case empty
        case tooShort(size: Int, needed: Int)
        case notACapture(firstBytes: UInt32)
        /// A file compressed with `tool` that is not read (zstd, lz4), read back with `reader`.
        case compressed(tool: String, reader: String)
        /// A compressed file (gzip, xz, bzip2) whose decompressed bytes are no capture: `inner` says why.
        indirect case compressedContent(compression: CaptureCompression, inner: Kind)
        case refusedByLibpcap(String)
        case corruptHeader(offset: Int, problem: String)
        case readFailed(offset: Int, problem: String)
        case badFilter(expression: String, problem: String)
        case writeFailed(String)
        /// A problem already worded with its byte offset.
        case unreadable(String)
        /// A network interface that could not be captured from, or whose capture failed.
        case liveCapture(String)
    }

    /// The file the problem is about (empty for errors not tied to one file).
    public let path: String
    let kind: Kind

    init(path: String, _ kind: Kind) {
        self.path = path
        self.kind = kind
    }

    /// The error for a failed `fopen`.
    init(path: String, opening failure: CFile.OpenFailure) {
        if let kind = Self.openLimit(errno: failure.errno) {
            self.init(path: path, kind)
        } else {
            self.init(path: path, failure.isPermissionDenied ? .permissionDenied : .cannotOpen(failure.message))
        }
    }

    /// The kind for an `open` that failed because too many files are open, or nil for any other errno.
    static func openLimit(errno code: Int32) -> Kind? {
        switch code {
        case EMFILE: return .tooManyOpenFiles(systemWide: false)
        case ENFILE: return .tooManyOpenFiles(systemWide: true)
        default: return nil
        }
    }

    /// One line naming the file and the problem. A file that could not be opened only because too many
    /// files were open is named after the problem: the file itself is not at fault.
    public var message: String {
        if case .tooManyOpenFiles = kind { return problem + " (opening \(path))" }
        return "\(path): " + problem
    }

    /// The problem alone, without the file name.
    public var problem: String {
        switch kind {
        case .missing: return "no such file"
        case .directory: return "is a directory, not a capture file"
        case .permissionDenied: return "permission denied"
        case .cannotOpen(let why): return "cannot open: \(why)"
        case .tooManyOpenFiles(let systemWide):
            guard !systemWide else {
                return "too many files open at once on this system (the kernel's limit, fs.file-max, is reached)"
            }
            var limit = rlimit()
            let known = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0
                && limit.rlim_cur != rlim_t.max
            let value = known ? " (ulimit -n \(limit.rlim_cur))" : ""
            return "too many files open at once: the open-file limit\(value) is reached; raise it "
                + "(ulimit -n) or give fewer capture files that overlap in time"
        case .empty: return "empty file (0 bytes)"
        case .tooShort(let size, let needed):
            return "too short for a capture header (\(size) byte\(size == 1 ? "" : "s"), need at least \(needed))"
        case .notACapture(let first):
            return "not a pcap or pcapng file (starts with 0x\(hex32(first)))"
        case .compressed(let tool, let reader):
            return "compressed with \(tool), which sepbeat does not read: decompress it first, e.g. "
                + "`\(reader) \(path == "-" ? "FILE" : path) | sepbeat analyze -`"
        case .compressedContent(let compression, let inner):
            return CaptureError(path: path, inner).problem + " once decompressed (\(compression.rawValue))"
        case .refusedByLibpcap(let why): return "libpcap cannot read it: \(oneLine(why))"
        case .corruptHeader(let offset, let problem): return "corrupt header at byte offset \(offset): \(problem)"
        case .readFailed(let offset, let problem): return "read error at byte offset \(offset): \(problem)"
        case .writeFailed(let why): return "cannot write: \(why)"
        case .unreadable(let problem): return problem
        case .liveCapture(let problem): return problem
        case .badFilter(let expression, let problem):
            return "bad filter expression \"\(expression)\": \(oneLine(problem))"
        }
    }

    /// 2 for a bad filter expression (usage), 3 for every unreadable input.
    public var exitStatus: Int32 {
        if case .badFilter = kind { return 2 }
        return 3
    }

    /// Whether the file is compressed (its message then shows how to read it through a pipe).
    public var isCompressed: Bool {
        if case .compressed = kind { return true }
        return false
    }

    /// Whether the error comes from a filter expression rather than a file.
    public var isFilterError: Bool {
        if case .badFilter = kind { return true }
        return false
    }

    public var description: String { message }
}

func hex32(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 8 - digits.count) + digits
}

/// `text` with line breaks turned into spaces, so messages stay on one line.
func oneLine(_ text: String) -> String {
    String(text.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
}
