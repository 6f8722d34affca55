import Foundation

/// The records of a little-endian classic pcap file (as `sepbeat simulate` writes it), read whole: for tests that
/// write a changed copy of a capture through `PcapBuilder` (cut, filtered, retagged, split into files).
public struct PcapFileRecords {
    public struct Record {
        public var seconds: UInt32
        /// Microseconds or nanoseconds (`nanoseconds`), as the file gives them.
        public var fraction: UInt32
        public var originalLength: UInt32
        /// The captured bytes (fewer when the file ends inside the record).
        public var frame: [UInt8]
    }

    public var nanoseconds: Bool
    public var linkType: UInt32
    public var records: [Record] = []

    /// nil when `path` cannot be read or holds no little-endian classic pcap header.
    public init?(path: String) {
        guard let data = FileManager.default.contents(atPath: path), data.count >= 24 else { return nil }
        let bytes = [UInt8](data)
        func u32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        guard u32(0) == 0xA1B2_C3D4 || u32(0) == 0xA1B2_3C4D else { return nil }
        nanoseconds = u32(0) == 0xA1B2_3C4D
        linkType = u32(20)
        var at = 24
        while at + 16 <= bytes.count {
            let length = Int(u32(at + 8))
            records.append(Record(seconds: u32(at), fraction: u32(at + 4), originalLength: u32(at + 12),
                                  frame: Array(bytes[(at + 16)..<min(bytes.count, at + 16 + length)])))
            at += 16 + length
        }
    }
}
