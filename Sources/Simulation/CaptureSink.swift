import Foundation

/// The file formats the simulator writes.
public enum SimulationFileFormat: String, Sendable, CaseIterable, Codable {
    /// Classic pcap, little-endian, nanosecond timestamps (magic 0xa1b23c4d), Ethernet.
    case pcap
    /// pcapng: one section, one Ethernet interface with nanosecond resolution, Enhanced Packet Blocks.
    case pcapng
}

/// Errors of the simulator: a configuration it refuses (a usage error, naming the option), or its
/// file output failing (naming the path and the system's reason).
public struct SimulationError: Error, CustomStringConvertible, Sendable {
    public var message: String
    /// True when a file could not be opened, written or closed; false for a refused configuration.
    public var isOutputFailure = false
    public var description: String { message }

    public init(_ message: String) { self.message = message }

    /// An output failure.
    static func output(_ message: String) -> SimulationError {
        var e = SimulationError(message)
        e.isOutputFailure = true
        return e
    }
}

/// Writes capture records through one large buffer straight to a file (opened through its path:
/// see `OutputFile`).
///
/// Each record (header, frame, padding) is built in place in the buffer; the buffer goes to the
/// file whenever less than one record's room is left. One allocation for the whole run
/// (`bufferSize`, default 8 MiB); no per-packet allocation. Call `close()` to write the rest.
final class CaptureSink {
    let path: String
    let format: SimulationFileFormat
    private let file: OutputFile
    private let buffer: UnsafeMutableRawPointer
    private let capacity: Int
    private var used = 0
    /// Packets and file bytes written so far (headers included).
    private(set) var packets = 0
    private(set) var bytesWritten: Int64 = 0

    static let snapLength: UInt32 = 65_535
    private static let recordRoom = TCPFrame.maxFrameLength + 64

    init(path: String, format: SimulationFileFormat, bufferSize: Int = 8 << 20) throws(SimulationError) {
        self.path = path
        self.format = format
        file = try OutputFile(path: path)
        capacity = max(bufferSize, 1 << 16)
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        writeFileHeader()
    }

    deinit { buffer.deallocate() }

    private func put32(_ v: UInt32, _ at: Int) {
        buffer.storeBytes(of: v.littleEndian, toByteOffset: at, as: UInt32.self)
    }

    private func put16(_ v: UInt16, _ at: Int) {
        buffer.storeBytes(of: v.littleEndian, toByteOffset: at, as: UInt16.self)
    }

    private func writeFileHeader() {
        switch format {
        case .pcap:
            put32(0xA1B2_3C4D, 0)
            put16(2, 4)
            put16(4, 6)
            put32(0, 8)
            put32(0, 12)
            put32(Self.snapLength, 16)
            put32(1, 20)  // LINKTYPE_ETHERNET
            used = 24
        case .pcapng:
            // Section Header Block, 28 bytes.
            put32(0x0A0D_0D0A, 0)
            put32(28, 4)
            put32(0x1A2B_3C4D, 8)
            put16(1, 12)
            put16(0, 14)
            put32(0xFFFF_FFFF, 16)
            put32(0xFFFF_FFFF, 20)
            put32(28, 24)
            // Interface Description Block with if_tsresol = 9, 32 bytes.
            put32(1, 28)
            put32(32, 32)
            put16(1, 36)
            put16(0, 38)
            put32(Self.snapLength, 40)
            put16(9, 44)
            put16(1, 46)
            put32(9, 48)
            put32(0, 52)
            put32(32, 56)
            used = 60
        }
        bytesWritten = Int64(used)
    }

    /// Appends one packet record; `write` fills the frame at the given pointer and returns its length.
    @inline(__always)
    func append(time: Int64, _ write: (UnsafeMutableRawPointer) -> Int) throws(SimulationError) {
        if capacity - used < Self.recordRoom { try flush() }
        let t = UInt64(max(time, 0))
        let before = used
        switch format {
        case .pcap:
            let length = write(buffer + used + 16)
            put32(UInt32(truncatingIfNeeded: t / 1_000_000_000), used)
            put32(UInt32(truncatingIfNeeded: t % 1_000_000_000), used + 4)
            put32(UInt32(length), used + 8)
            put32(UInt32(length), used + 12)
            used += 16 + length
        case .pcapng:
            let length = write(buffer + used + 28)
            let padding = (4 - length % 4) % 4
            let total = 32 + length + padding
            put32(6, used)
            put32(UInt32(total), used + 4)
            put32(0, used + 8)
            put32(UInt32(truncatingIfNeeded: t >> 32), used + 12)
            put32(UInt32(truncatingIfNeeded: t), used + 16)
            put32(UInt32(length), used + 20)
            put32(UInt32(length), used + 24)
            let end = used + 28 + length
            for i in 0..<padding { buffer.storeBytes(of: UInt8(0), toByteOffset: end + i, as: UInt8.self) }
            put32(UInt32(total), end + padding)
            used += total
        }
        packets += 1
        bytesWritten += Int64(used - before)
    }

    /// Writes the buffer to the file.
    func flush() throws(SimulationError) {
        guard used > 0 else { return }
        try file.write(UnsafeRawBufferPointer(start: buffer, count: used))
        used = 0
    }

    /// Writes what is left and closes the file.
    func close() throws(SimulationError) {
        try flush()
        try file.close()
    }

    /// Drops what is left and removes the file when it is a regular file (see `OutputFile.discard`).
    @discardableResult
    func discard() -> Bool {
        used = 0
        return file.discard()
    }
}
