/// A NUL-terminated copy of a text, for code that may run in a signal handler (which must not allocate,
/// nor read a `String`). Never freed, unless its owner knows no handler can read it any more (as
/// `PartialFiles.unregister` does); costs the text's bytes plus one until then.
public struct PermanentCText {
    /// The bytes, then a 0.
    public let bytes: UnsafeMutablePointer<CChar>
    /// Bytes before the 0.
    public let count: Int

    public init(_ text: String) {
        let utf8 = Array(text.utf8)
        bytes = .allocate(capacity: utf8.count + 1)
        for (i, byte) in utf8.enumerated() { bytes[i] = CChar(bitPattern: byte) }
        bytes[utf8.count] = 0
        count = utf8.count
    }
}
