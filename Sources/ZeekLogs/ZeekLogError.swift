/// A log that cannot be read as a Zeek log at all: missing, unreadable, of neither form, or without the
/// header lines its rows need. Said in one line naming the file and, where there is one, the line.
///
/// Odd rows inside a readable log are no error: they are counted (`LogFileRows.skipped`) and the reading
/// goes on.
public struct ZeekLogError: Error, CustomStringConvertible, Sendable {
    public var path: String
    /// The 1-based line, or nil for the file as a whole.
    public var line: Int?
    public var message: String

    public init(path: String, line: Int? = nil, _ message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String {
        line.map { "\(path):\($0): \(message)" } ?? "\(path): \(message)"
    }
}
