/// Why a capture could not be opened or read.
///
/// `message` is one line that names the file and the problem, ready to print.
/// `exitStatus` is 3 for unreadable input and 2 for a bad filter expression (a usage error).
public struct CaptureError: Error, CustomStringConvertible, Sendable {
    enum Kind: Sendable {
        case missing
        case directory
        case permissionDenied
        case cannotOpen(String)
        case empty
        case tooShort(size: Int, needed: Int)
        case notACapture(firstBytes: UInt32)
        case refusedByLibpcap(String)
        case corruptHeader(offset: Int, problem: String)
        case readFailed(offset: Int, problem: String)
        case badFilter(expression: String, problem: String)
        case writeFailed(String)
        /// A problem already worded with its byte offset.
        case unreadable(String)
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
        self.init(path: path, failure.isPermissionDenied ? .permissionDenied : .cannotOpen(failure.message))
    }

    /// One line naming the file and the problem.
    public var message: String {
        "\(path): " + problem
    }

    /// The problem alone, without the file name.
    public var problem: String {
        switch kind {
        case .missing: return "no such file"
        case .directory: return "is a directory, not a capture file"
        case .permissionDenied: return "permission denied"
        case .cannotOpen(let why): return "cannot open: \(why)"
        case .empty: return "empty file (0 bytes)"
        case .tooShort(let size, let needed):
            return "too short for a capture header (\(size) bytes, need at least \(needed))"
        case .notACapture(let first):
            return "not a pcap or pcapng file (starts with 0x\(hex32(first)))"
        case .refusedByLibpcap(let why): return "libpcap cannot read it: \(oneLine(why))"
        case .corruptHeader(let offset, let problem): return "corrupt header at byte offset \(offset): \(problem)"
        case .readFailed(let offset, let problem): return "read error at byte offset \(offset): \(problem)"
        case .writeFailed(let why): return "cannot write: \(why)"
        case .unreadable(let problem): return problem
        case .badFilter(let expression, let problem):
            return "bad filter expression \"\(expression)\": \(oneLine(problem))"
        }
    }

    /// 2 for a bad filter expression (usage), 3 for every unreadable input.
    public var exitStatus: Int32 {
        if case .badFilter = kind { return 2 }
        return 3
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
