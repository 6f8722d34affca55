import Foundation

/// Where a log's bytes come from: a file, or (for the command line) a decompressing reader of one.
public protocol ZeekByteSource {
    /// Fills the start of `buffer` and says how many bytes it put there; 0 at the end.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A plain file read in pieces.
public struct ZeekFileSource: ZeekByteSource {
    private let handle: FileHandle
    private let path: String

    /// Opens `path`; throws a `ZeekLogError` when it cannot be read.
    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ZeekLogError(path: path, "no such file")
        }
        guard !isDirectory.boolValue else { throw ZeekLogError(path: path, "is a directory, not a log") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ZeekLogError(path: path, "cannot be opened for reading")
        }
        self.handle = handle
        self.path = path
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let data: Data?
        do {
            data = try handle.read(upToCount: buffer.count)
        } catch {
            throw ZeekLogError(path: path, "read failed: \(error.localizedDescription)")
        }
        guard let data, !data.isEmpty else { return 0 }
        return data.copyBytes(to: buffer)
    }
}

/// A log's lines, one at a time, from a byte source read in pieces: the whole file is never held.
///
/// A line longer than `maximumLineBytes` is handed out cut to that length, marked `tooLong`, and the rest
/// of it is skipped up to its line end.
struct LineSource {
    struct Line {
        var text: String
        var number: Int
        /// The file ended before this line's line end.
        var unterminated: Bool
        var tooLong: Bool
    }

    static let maximumLineBytes = 1 << 20
    private static let pieceBytes = 1 << 16

    private var source: any ZeekByteSource
    private var buffer: [UInt8] = []
    /// What each read fills, then adds to `buffer`.
    private var piece = [UInt8](repeating: 0, count: pieceBytes)
    private var start = 0
    private var ended = false
    private(set) var lineNumber = 0

    init(_ source: any ZeekByteSource) {
        self.source = source
    }

    /// The next line without its line end (a `\r` before it dropped too), or nil at the end.
    mutating func next() throws -> Line? {
        var tooLong = false
        // Bytes of this line already searched for its end, so that a line read in many pieces is searched once.
        var searched = start
        while true {
            if let end = buffer[searched...].firstIndex(of: 0x0a) {
                let line = take(upTo: end, tooLong: tooLong, unterminated: false)
                start = end + 1
                return line
            }
            if buffer.count - start > Self.maximumLineBytes {
                // Keep the line's head and drop the rest as it comes.
                tooLong = true
                buffer.removeSubrange(start + Self.maximumLineBytes..<buffer.count)
            }
            searched = buffer.count
            if ended {
                guard start < buffer.count else { return nil }
                let line = take(upTo: buffer.count, tooLong: tooLong, unterminated: true)
                start = buffer.count
                return line
            }
            let moved = start
            try fill()
            searched -= moved - start
        }
    }

    private mutating func take(upTo end: Int, tooLong: Bool, unterminated: Bool) -> Line {
        var last = min(end, start + Self.maximumLineBytes)
        if last > start, buffer[last - 1] == 0x0d { last -= 1 }
        lineNumber += 1
        return Line(text: String(decoding: buffer[start..<last], as: UTF8.self), number: lineNumber,
                    unterminated: unterminated, tooLong: tooLong)
    }

    private mutating func fill() throws {
        if start > 0 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        let n = try piece.withUnsafeMutableBytes { try source.read(into: $0) }
        buffer.append(contentsOf: piece[0..<n])
        if n == 0 { ended = true }
    }
}
