#if canImport(Glibc)
import Glibc
#endif

/// Appends integers in a chosen byte order; the base of the capture file builders.
public struct EndianBytes {
    public var bigEndian: Bool
    public var bytes: [UInt8] = []

    public init(bigEndian: Bool) {
        self.bigEndian = bigEndian
    }

    public mutating func u16(_ value: UInt16) {
        let v = bigEndian ? value.bigEndian : value.littleEndian
        withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) }
    }

    public mutating func u32(_ value: UInt32) {
        let v = bigEndian ? value.bigEndian : value.littleEndian
        withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) }
    }

    public mutating func u64(_ value: UInt64) {
        let v = bigEndian ? value.bigEndian : value.littleEndian
        withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) }
    }

    public mutating func pad4() {
        while bytes.count % 4 != 0 { bytes.append(0) }
    }
}

/// Builds a classic pcap file in memory, any magic and byte order.
///
///     var file = PcapBuilder(bigEndian: true, nanoseconds: false)
///     file.record(seconds: 1, fraction: 500_000, data: [0x45, 0x00])  // 1.5 s in microseconds
public struct PcapBuilder {
    public var bytes: EndianBytes

    public init(bigEndian: Bool = false, nanoseconds: Bool = false, linkType: UInt32 = 1,
                snapLength: UInt32 = 65_535) {
        bytes = EndianBytes(bigEndian: bigEndian)
        bytes.u32(nanoseconds ? 0xA1B2_3C4D : 0xA1B2_C3D4)
        bytes.u16(2)
        bytes.u16(4)
        bytes.u32(0)
        bytes.u32(0)
        bytes.u32(snapLength)
        bytes.u32(linkType)
    }

    /// Appends a record; `capturedLength` defaults to `data.count`, `originalLength` to the same.
    public mutating func record(seconds: UInt32, fraction: UInt32, data: [UInt8], capturedLength: UInt32? = nil,
                                originalLength: UInt32? = nil) {
        bytes.u32(seconds)
        bytes.u32(fraction)
        bytes.u32(capturedLength ?? UInt32(data.count))
        bytes.u32(originalLength ?? UInt32(data.count))
        bytes.bytes.append(contentsOf: data)
    }

    public var data: [UInt8] { bytes.bytes }
}

/// Builds a pcapng file in memory, block by block, in one byte order per section.
public struct PcapNGBuilder {
    public private(set) var data: [UInt8] = []
    public var bigEndian: Bool

    public init(bigEndian: Bool = false) {
        self.bigEndian = bigEndian
    }

    /// A Section Header Block (version 1.0, unknown section length), switching to `bigEndian`.
    public mutating func section(bigEndian: Bool? = nil) {
        if let bigEndian { self.bigEndian = bigEndian }
        var body = EndianBytes(bigEndian: self.bigEndian)
        body.u32(0x1A2B_3C4D)
        body.u16(1)
        body.u16(0)
        body.u64(UInt64.max)
        block(type: 0x0A0D_0D0A, body: body.bytes)
    }

    /// An Interface Description Block with optional `if_tsresol` and `if_tsoffset`.
    public mutating func interface(linkType: UInt16, snapLength: UInt32 = 0, tsresol: UInt8? = nil,
                                   tsoffset: Int64? = nil) {
        var body = EndianBytes(bigEndian: bigEndian)
        body.u16(linkType)
        body.u16(0)
        body.u32(snapLength)
        if let tsresol {
            body.u16(9)
            body.u16(1)
            body.bytes.append(tsresol)
            body.pad4()
        }
        if let tsoffset {
            body.u16(14)
            body.u16(8)
            body.u64(UInt64(bitPattern: tsoffset))
        }
        if tsresol != nil || tsoffset != nil {
            body.u32(0)  // opt_endofopt
        }
        block(type: 1, body: body.bytes)
    }

    /// An Enhanced Packet Block.
    public mutating func enhancedPacket(interface: UInt32, ticks: UInt64, data packet: [UInt8],
                                        originalLength: UInt32? = nil) {
        var body = EndianBytes(bigEndian: bigEndian)
        body.u32(interface)
        body.u32(UInt32(ticks >> 32))
        body.u32(UInt32(ticks & 0xFFFF_FFFF))
        body.u32(UInt32(packet.count))
        body.u32(originalLength ?? UInt32(packet.count))
        body.bytes.append(contentsOf: packet)
        body.pad4()
        block(type: 6, body: body.bytes)
    }

    /// A Simple Packet Block.
    public mutating func simplePacket(data packet: [UInt8], originalLength: UInt32? = nil) {
        var body = EndianBytes(bigEndian: bigEndian)
        body.u32(originalLength ?? UInt32(packet.count))
        body.bytes.append(contentsOf: packet)
        body.pad4()
        block(type: 3, body: body.bytes)
    }

    /// An obsolete Packet Block (type 2).
    public mutating func obsoletePacket(interface: UInt16, ticks: UInt64, data packet: [UInt8]) {
        var body = EndianBytes(bigEndian: bigEndian)
        body.u16(interface)
        body.u16(0)
        body.u32(UInt32(ticks >> 32))
        body.u32(UInt32(ticks & 0xFFFF_FFFF))
        body.u32(UInt32(packet.count))
        body.u32(UInt32(packet.count))
        body.bytes.append(contentsOf: packet)
        body.pad4()
        block(type: 2, body: body.bytes)
    }

    /// Bytes as they are (blocks built elsewhere, or a broken piece of one).
    public mutating func appendRaw(_ bytes: [UInt8]) {
        data.append(contentsOf: bytes)
    }

    /// Any block: type, total length, body (padded to 4), total length again.
    /// `totalLength` and `trailingLength` override the computed lengths to build corrupt blocks.
    public mutating func block(type: UInt32, body: [UInt8], totalLength: UInt32? = nil,
                               trailingLength: UInt32? = nil) {
        var out = EndianBytes(bigEndian: bigEndian)
        var padded = body
        while padded.count % 4 != 0 { padded.append(0) }
        let length = UInt32(12 + padded.count)
        out.u32(type)
        out.u32(totalLength ?? length)
        out.bytes.append(contentsOf: padded)
        out.u32(trailingLength ?? totalLength ?? length)
        data.append(contentsOf: out.bytes)
    }
}

/// A fresh folder under /tmp for one test, removed with the files written through it.
public final class TemporaryDirectory {
    public let path: String
    private var files: [String] = []
    private var subfolders: [String] = []

    public init() {
        var template = Array("/tmp/sepbeat-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) }
        }
        guard let made else { preconditionFailure("cannot create a temporary folder") }
        path = made
    }

    deinit {
        for file in files {
            chmod(file, 0o644)
            unlink(file)
        }
        for folder in subfolders.reversed() {
            chmod(folder, 0o755)
            rmdir(folder)
        }
        rmdir(path)
    }

    /// Writes `bytes` to `name` inside the folder and returns the full path.
    @discardableResult
    public func write(_ name: String, _ bytes: [UInt8]) -> String {
        let full = path + "/" + name
        let file = fopen(full, "wb")
        precondition(file != nil, "cannot write \(full)")
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
        files.append(full)
        return full
    }

    /// A path inside the folder that the caller will create (removed at the end too).
    public func reserve(_ name: String) -> String {
        let full = path + "/" + name
        files.append(full)
        return full
    }

    /// Makes a sub-folder (removed at the end) and returns its path.
    public func makeFolder(_ name: String) -> String {
        let full = path + "/" + name
        mkdir(full, 0o755)
        subfolders.append(full)
        return full
    }

}

/// Names of the entries of a folder, sorted, without `.` and `..`.
public func listFolder(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}
